package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ciel-mlops/ciel/internal/artifacts"
	"github.com/ciel-mlops/ciel/internal/guard"
	"github.com/ciel-mlops/ciel/internal/store"
)

// MLflow error codes the registry answers with, and the statuses MLflow
// gives them.
const (
	codeNotFound      = "RESOURCE_DOES_NOT_EXIST"
	codeAlreadyExists = "RESOURCE_ALREADY_EXISTS"
	codeInvalid       = "INVALID_PARAMETER_VALUE"
	codeInternal      = "INTERNAL_ERROR"
	// codeUnauthenticated is answered with 401.
	codeUnauthenticated = "UNAUTHENTICATED"
)

// ServerConfig configures a Server.
type ServerConfig struct {
	// Service is the registry the API speaks for.
	Service *Service
	// Logger receives internal errors.
	Logger *slog.Logger
	// Token, when set, is required as "Authorization: Bearer <token>", the
	// header mlflow sends when MLFLOW_TRACKING_TOKEN is set.
	Token string
}

// Server serves MLflow's model-registry REST API (registered-models/...,
// model-versions/...) for each workspace, beside the tracking API.
type Server struct {
	svc   *Service
	log   *slog.Logger
	token string
}

// NewServer returns a Server.
func NewServer(cfg ServerConfig) *Server {
	s := &Server{svc: cfg.Service, log: cfg.Logger, token: cfg.Token}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

// mlHandler answers one MLflow call for workspace ws; the result is
// encoded as JSON, an error as MLflow's error body.
type mlHandler func(r *http.Request, ws string, p params) (any, error)

// Mux is where Register adds routes; *http.ServeMux is one.
type Mux interface {
	Handle(pattern string, handler http.Handler)
}

// Register adds the registry's routes to mux under both
// /ws/{ws}/api/2.0/mlflow/ (the client's) and /ws/{ws}/ajax-api/2.0/mlflow/
// (MLflow's web UI's). The patterns are method-qualified and name each
// call, so they coexist with the tracking API's routes on the same mux.
func (s *Server) Register(mux Mux) {
	routes := []struct {
		method, path string
		fn           mlHandler
	}{
		{"POST", "registered-models/create", s.createModel},
		{"GET", "registered-models/get", s.getModel},
		{"POST", "registered-models/rename", s.renameModel},
		{"PATCH", "registered-models/update", s.updateModel},
		{"DELETE", "registered-models/delete", s.deleteModel},
		{"GET", "registered-models/search", s.searchModels},
		{"GET", "registered-models/get-latest-versions", s.latestVersions},
		{"POST", "registered-models/get-latest-versions", s.latestVersions},
		{"POST", "registered-models/set-tag", s.setModelTag},
		{"DELETE", "registered-models/delete-tag", s.deleteModelTag},
		{"POST", "registered-models/alias", s.setAlias},
		{"DELETE", "registered-models/alias", s.deleteAlias},
		{"GET", "registered-models/alias", s.versionByAlias},
		{"POST", "model-versions/create", s.createVersion},
		{"GET", "model-versions/get", s.getVersion},
		{"PATCH", "model-versions/update", s.updateVersion},
		{"POST", "model-versions/transition-stage", s.transitionStage},
		{"DELETE", "model-versions/delete", s.deleteVersion},
		{"GET", "model-versions/search", s.searchVersions},
		{"GET", "model-versions/get-download-uri", s.downloadURI},
		{"POST", "model-versions/set-tag", s.setVersionTag},
		{"DELETE", "model-versions/delete-tag", s.deleteVersionTag},
	}
	for _, prefix := range []string{"/ws/{ws}/api/2.0/mlflow/", "/ws/{ws}/ajax-api/2.0/mlflow/"} {
		for _, rt := range routes {
			mux.Handle(rt.method+" "+prefix+rt.path, s.handle(rt.fn))
		}
		mux.Handle("GET "+prefix+"model-versions/get-artifact", http.HandlerFunc(s.versionArtifact))
	}
}

// errUnauthenticated answers a request without the server's token.
var errUnauthenticated = errors.New("missing or wrong token (set MLFLOW_TRACKING_TOKEN to ciel's token)")

// handle authenticates, runs fn and writes its answer.
func (s *Server) handle(fn mlHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.token != "" && !guard.TokenOK(r, s.token) && !guard.BySession(r) {
			writeMLflowError(w, errUnauthenticated)
			return
		}
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("registry handler panic", "path", r.URL.Path, "panic", p)
				writeMLflowError(w, errors.New("internal error"))
			}
		}()
		p, err := readParams(r)
		var v any
		if err == nil {
			v, err = fn(r, r.PathValue("ws"), p)
		}
		if err != nil {
			if mlflowStatus(err) >= 500 {
				s.log.Error("registry request failed", "method", r.Method, "path", r.URL.Path, "err", err)
			}
			writeMLflowError(w, err)
			return
		}
		if v == nil {
			v = struct{}{}
		}
		writeMLflowJSON(w, http.StatusOK, v)
	})
}

// bodyRefused is a request body the guard cut off (too large or slow).
type bodyRefused struct{ ge *guard.Error }

func (b *bodyRefused) Error() string { return b.ge.Message }

// mlflowCode maps an error to MLflow's error code and HTTP status.
func mlflowCode(err error) (string, int) {
	var br *bodyRefused
	switch {
	case errors.Is(err, errUnauthenticated):
		return codeUnauthenticated, http.StatusUnauthorized
	case errors.Is(err, store.ErrNotFound):
		return codeNotFound, http.StatusNotFound
	case errors.Is(err, store.ErrConflict):
		return codeAlreadyExists, http.StatusBadRequest
	case errors.As(err, &br):
		if br.ge.Status == http.StatusRequestTimeout {
			return "DEADLINE_EXCEEDED", br.ge.Status
		}
		return "RESOURCE_EXHAUSTED", br.ge.Status
	case errors.Is(err, ErrInvalid), errors.Is(err, artifacts.ErrBadPath):
		return codeInvalid, http.StatusBadRequest
	}
	return codeInternal, http.StatusInternalServerError
}

func mlflowStatus(err error) int {
	_, st := mlflowCode(err)
	return st
}

// writeMLflowError writes MLflow's error body: {"error_code", "message"}.
func writeMLflowError(w http.ResponseWriter, err error) {
	code, st := mlflowCode(err)
	msg := err.Error()
	if st >= 500 {
		// The details (paths, driver errors) are in the server log.
		msg = "internal error; the server log has the details"
	}
	writeMLflowJSON(w, st, map[string]string{"error_code": code, "message": msg})
}

func writeMLflowJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// params are a request's fields: the JSON body's, else the query's (the
// client sends GET calls as query parameters, the rest as JSON bodies).
type params struct {
	q    url.Values
	body map[string]json.RawMessage
}

// maxBody bounds a request body.
const maxBody = 4 << 20

func readParams(r *http.Request) (params, error) {
	p := params{q: r.URL.Query()}
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		if ge := guard.BodyError(err); ge != nil {
			return p, &bodyRefused{ge}
		}
		return p, invalid(fmt.Sprintf("read request body: %v", err))
	}
	if strings.TrimSpace(string(raw)) == "" {
		return p, nil
	}
	if err := json.Unmarshal(raw, &p.body); err != nil {
		return p, invalid(fmt.Sprintf("Malformed request body: expected a JSON object: %v", err))
	}
	return p, nil
}

// str returns a field as text: a JSON string or number, or a query value.
func (p params) str(key string) string {
	if raw, ok := p.body[key]; ok {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
		var n json.Number
		if json.Unmarshal(raw, &n) == nil {
			return n.String()
		}
		return ""
	}
	return p.q.Get(key)
}

// has reports whether a field was given.
func (p params) has(key string) bool {
	_, inBody := p.body[key]
	return inBody || p.q.Has(key)
}

// required returns a field that must be given and not empty.
func (p params) required(key string) (string, error) {
	v := p.str(key)
	if v == "" {
		return "", invalid(fmt.Sprintf("Missing value for required parameter '%s'. See the API docs for more information about request parameters.", key))
	}
	return v, nil
}

// requiredAll returns the values of keys, each required, in order: the
// MLflow registry's calls each name their object by two or three fields.
func (p params) requiredAll(keys ...string) ([]string, error) {
	out := make([]string, len(keys))
	for i, k := range keys {
		v, err := p.required(k)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// strs returns a repeated field: a JSON array of strings or repeated
// query values.
func (p params) strs(key string) []string {
	if raw, ok := p.body[key]; ok {
		var out []string
		if json.Unmarshal(raw, &out) == nil {
			return out
		}
		if s := p.str(key); s != "" {
			return []string{s}
		}
		return nil
	}
	return p.q[key]
}

// boolean returns a boolean field (false when absent).
func (p params) boolean(key string) bool {
	if raw, ok := p.body[key]; ok {
		var b bool
		return json.Unmarshal(raw, &b) == nil && b
	}
	b, _ := strconv.ParseBool(p.q.Get(key))
	return b
}

// integer returns a numeric field, def when absent.
func (p params) integer(key string, def int) (int, error) {
	s := p.str(key)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, invalid(fmt.Sprintf("Invalid value %q for parameter '%s': expected an integer", s, key))
	}
	return n, nil
}

// version returns the "version" field as a version number.
func (p params) version() (int, error) {
	s, err := p.required("version")
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, invalid(fmt.Sprintf("Parameter 'version' must be an integer, got '%s'.", s))
	}
	return n, nil
}

// tags returns the "tags" field: a JSON array of {key, value}.
func (p params) tags() (map[string]string, error) {
	raw, ok := p.body["tags"]
	if !ok {
		return nil, nil
	}
	var list []mlTag
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, invalid(fmt.Sprintf("Invalid value for parameter 'tags': expected a list of {key, value}: %v", err))
	}
	out := map[string]string{}
	for _, t := range list {
		out[t.Key] = t.Value
	}
	return out, nil
}
