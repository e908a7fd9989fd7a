package tracking

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ciel-mlops/ciel/internal/guard"
	"github.com/ciel-mlops/ciel/internal/store"
)

// Workspaces is how the handler tells an unknown workspace from an unknown
// experiment or run, for a clearer error; store.Store satisfies it.
type Workspaces interface {
	// GetWorkspace returns an error wrapping store.ErrNotFound when there
	// is no such workspace.
	GetWorkspace(ctx context.Context, name string) (store.Workspace, error)
}

// Config configures a Handler.
type Config struct {
	Store      Store
	Workspaces Workspaces
	// Artifacts is where run and logged-model artifacts live: a folder
	// (CIEL_HOME/mlartifacts) or a bucket's prefix.
	Artifacts ArtifactStore
	// PartsDir is the local folder where the parts of multipart uploads
	// sent through the proxy wait; the handler owns it and empties it when
	// it starts. It is unused with a store that has DirectUploads; with
	// neither, multipart uploads are refused as MLflow refuses them (the
	// client then sends one PUT).
	PartsDir string
	// ReadOnly are folders of each workspace's artifact root that the
	// proxy serves but never writes or deletes: the model registry's
	// versions, whose files must stay what was registered and deployed.
	ReadOnly []string
	// Token, when set, is required as "Authorization: Bearer <token>", the
	// header mlflow sends when MLFLOW_TRACKING_TOKEN is set.
	Token  string
	Logger *slog.Logger
	// BaseURL is the server's URL as clients reach it ("http://host:port");
	// the multipart part URLs handed out start with it.
	BaseURL string
	// MaxUploadBytes caps the body of one artifact PUT or multipart part;
	// 0 means DefaultMaxUploadBytes. A body over it is a 413 and leaves
	// nothing behind.
	MaxUploadBytes int64
	// WorkspaceQuotaBytes caps the bytes of artifacts one workspace holds
	// (its files, uploads in flight and multipart parts waiting); an
	// upload past it is a 413. 0, the default, sets no quota: a local
	// server's disk is its user's; a shared server sets one.
	WorkspaceQuotaBytes int64
}

// Handler serves the MLflow tracking REST API and artifact proxy of every
// workspace. Its methods may be called concurrently.
type Handler struct {
	cfg       Config
	uploads   *uploads
	maxUpload int64
	quota     *quota
}

// NewHandler returns a handler for cfg. It removes the multipart parts
// uploads of an earlier run left (see Handler.sweepParts): one Handler
// uses a PartsDir at a time.
func NewHandler(cfg Config) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{cfg: cfg, uploads: newUploads(), maxUpload: cfg.MaxUploadBytes,
		quota: newQuota(cfg.WorkspaceQuotaBytes, cfg.Artifacts.Usage)}
	if h.maxUpload <= 0 {
		h.maxUpload = DefaultMaxUploadBytes
	}
	h.sweepParts()
	return h
}

// apiFunc handles one MLflow call in workspace ws and returns the value to
// answer with as JSON (nil for {}), or an error.
type apiFunc func(r *http.Request, ws string) (any, error)

// route is one endpoint whose fn answers with JSON.
type route struct {
	method, path string
	fn           apiFunc
}

// Prefixes under which the API is served in each workspace: the REST API
// and the copy MLflow's web UI calls.
var apiPrefixes = []string{"/ws/{ws}/api/2.0/mlflow", "/ws/{ws}/ajax-api/2.0/mlflow"}

// handleRoutes serves each of routes under each of prefixes.
func (h *Handler) handleRoutes(mux Mux, prefixes []string, routes []route) {
	for _, prefix := range prefixes {
		for _, rt := range routes {
			mux.Handle(rt.method+" "+prefix+rt.path, h.api(rt.fn))
		}
	}
}

// Mux is where Register adds routes; *http.ServeMux is one.
type Mux interface {
	Handle(pattern string, handler http.Handler)
}

// Register adds every route to mux: the MLflow API under /ws/{ws}/api/2.0/
// (and ajax-api), the trace API under 3.0, the artifact proxy, server-info,
// and at the root a hint for clients pointed at the server without a
// workspace.
func (h *Handler) Register(mux Mux) {
	h.handleRoutes(mux, apiPrefixes, h.routes())
	for _, prefix := range apiPrefixes {
		mux.Handle("GET "+prefix+"/logged-models/{model_id}/artifacts/files", h.stream(h.getLoggedModelArtifact))
		mux.Handle(prefix+"/", h.api(notFoundRoute))
	}
	mux.Handle("GET "+artifactsPrefix+"/artifacts/{path...}", h.stream(h.getArtifact))
	mux.Handle(artifactsPrefix+"/", h.api(notFoundRoute))
	h.registerTraces(mux)
	// Of the 3.0 API ciel serves traces and server-info; the rest answers
	// ENDPOINT_NOT_FOUND, which the client takes as "use the 2.0 call".
	for _, prefix := range traceV3Prefixes {
		mux.Handle(prefix+"/", h.api(notFoundRoute))
	}
	h.handleRoutes(mux, []string{""}, h.artifactRoutes())
	// Multipart parts are PUT by the client to the URL create handed out,
	// without its credentials: the unguessable upload ID is the capability.
	mux.Handle("PUT /ws/{ws}/api/2.0/mlflow-artifacts/mpu/parts/{upload}/{part}", h.raw(h.putPart))
	for _, p := range []string{"/api/2.0/mlflow/", "/api/2.0/mlflow-artifacts/", "/ajax-api/2.0/mlflow/", "/api/3.0/mlflow/", "/ajax-api/3.0/mlflow/"} {
		mux.Handle(p, h.api(noWorkspaceRoute))
	}
}

func (h *Handler) routes() []route {
	return []route{
		{"POST", "/experiments/create", h.createExperiment},
		{"GET", "/experiments/get", h.getExperiment},
		{"GET", "/experiments/get-by-name", h.getExperimentByName},
		{"POST", "/experiments/search", h.searchExperiments},
		{"GET", "/experiments/search", h.searchExperiments},
		{"POST", "/experiments/update", h.updateExperiment},
		{"POST", "/experiments/delete", h.stageExperiment(StageDeleted)},
		{"POST", "/experiments/restore", h.stageExperiment(StageActive)},
		{"POST", "/experiments/set-experiment-tag", h.setExperimentTag},
		{"POST", "/experiments/delete-experiment-tag", h.deleteExperimentTag},
		{"POST", "/runs/create", h.createRun},
		{"GET", "/runs/get", h.getRun},
		{"POST", "/runs/update", h.updateRun},
		{"POST", "/runs/delete", h.stageRun(StageDeleted)},
		{"POST", "/runs/restore", h.stageRun(StageActive)},
		{"POST", "/runs/search", h.searchRuns},
		{"POST", "/runs/log-metric", h.logMetric},
		{"POST", "/runs/log-parameter", h.logParam},
		{"POST", "/runs/set-tag", h.setTag},
		{"POST", "/runs/delete-tag", h.deleteTag},
		{"POST", "/runs/log-batch", h.logBatch},
		{"POST", "/runs/log-inputs", h.logInputs},
		{"POST", "/runs/outputs", h.logOutputs},
		{"POST", "/runs/log-model", h.logModelHistory},
		{"GET", "/metrics/get-history", h.metricHistory},
		{"GET", "/metrics/get-history-bulk-interval", h.metricHistoryBulk},
		{"GET", "/artifacts/list", h.listRunArtifacts},
		{"POST", "/logged-models", h.createLoggedModel},
		{"POST", "/logged-models/search", h.searchLoggedModels},
		{"GET", "/logged-models/{model_id}", h.getLoggedModel},
		{"PATCH", "/logged-models/{model_id}", h.finalizeLoggedModel},
		{"DELETE", "/logged-models/{model_id}", h.deleteLoggedModel},
		{"PATCH", "/logged-models/{model_id}/tags", h.setLoggedModelTags},
		{"DELETE", "/logged-models/{model_id}/tags/{tag_key}", h.deleteLoggedModelTag},
		{"POST", "/logged-models/{model_id}/params", h.logLoggedModelParams},
		{"GET", "/logged-models/{model_id}/artifacts/directories", h.listLoggedModelArtifacts},
	}
}

func notFoundRoute(r *http.Request, _ string) (any, error) {
	return nil, Errorf(CodeEndpointNotFound, "ciel does not serve %s %s", r.Method, r.URL.Path)
}

func noWorkspaceRoute(r *http.Request, _ string) (any, error) {
	return nil, Errorf(CodeEndpointNotFound,
		"%s: ciel serves MLflow per workspace; set the tracking URI to http://%s/ws/<workspace> "+
			"(`ciel workspace show --name <workspace> -o json` gives mlflow_tracking_uri)", r.URL.Path, r.Host)
}

// authorized reports whether r carries the configured token, or the guard
// admitted it on the studio's session.
func (h *Handler) authorized(r *http.Request) bool {
	return h.cfg.Token == "" || guard.TokenOK(r, h.cfg.Token) || guard.BySession(r)
}

// api wraps fn: it authenticates, recovers panics, and writes fn's result
// as JSON or its error in MLflow's shape.
func (h *Handler) api(fn apiFunc) http.Handler {
	return h.raw(func(w http.ResponseWriter, r *http.Request) error {
		if !h.authorized(r) {
			return Errorf(CodeUnauthenticated, "missing or wrong token (set MLFLOW_TRACKING_TOKEN to ciel's token)")
		}
		v, err := fn(r, r.PathValue("ws"))
		if err != nil {
			return err
		}
		return writeJSON(w, v)
	})
}

// writeJSON answers with v as JSON; nil is {}.
func writeJSON(w http.ResponseWriter, v any) error {
	w.Header().Set("Content-Type", "application/json")
	if v == nil {
		_, _ = io.WriteString(w, "{}")
		return nil
	}
	b, err := encodeJSON(v)
	if err != nil {
		return fmt.Errorf("encode answer: %w", err)
	}
	_, _ = w.Write(b)
	return nil
}

// streamFunc handles a call whose answer it writes itself (a download).
type streamFunc func(w http.ResponseWriter, r *http.Request, ws string) error

// stream wraps fn like api does, for handlers that write their answer.
func (h *Handler) stream(fn streamFunc) http.Handler {
	return h.raw(func(w http.ResponseWriter, r *http.Request) error {
		if !h.authorized(r) {
			return Errorf(CodeUnauthenticated, "missing or wrong token (set MLFLOW_TRACKING_TOKEN to ciel's token)")
		}
		guard.Streaming(w)
		return fn(w, r, r.PathValue("ws"))
	})
}

// raw wraps a handler that writes its own success answer.
func (h *Handler) raw(fn func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				h.cfg.Logger.Error("mlflow handler panic", "path", r.URL.Path, "panic", p)
				h.writeError(w, r, Errorf(CodeInternalError, "internal error"))
			}
		}()
		if err := fn(w, r); err != nil {
			h.writeError(w, r, err)
		}
	})
}

// writeError answers with err in MLflow's shape and status. A not-found in
// a workspace that does not exist says so.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := asError(err, "")
	if e.Code == CodeResourceDoesNotExist {
		if ws := r.PathValue("ws"); ws != "" && h.cfg.Workspaces != nil {
			if _, werr := h.cfg.Workspaces.GetWorkspace(r.Context(), ws); errors.Is(werr, store.ErrNotFound) {
				e = Errorf(CodeResourceDoesNotExist, "workspace %q not found; create it with: ciel workspace create --name %s", ws, ws)
			}
		}
	}
	status := HTTPStatus(e.Code)
	if status == http.StatusRequestEntityTooLarge {
		// The rest of the body stays unread: close rather than read it
		// to reuse the connection.
		w.Header().Set("Connection", "close")
	}
	if status >= 500 {
		h.cfg.Logger.Error("mlflow request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	b, _ := json.Marshal(map[string]string{"error_code": e.Code, "message": e.Message})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// readJSON decodes a request body into v; fields it does not know are
// ignored, as MLflow's server does.
func readJSON(r *http.Request, v any) error {
	body, err := io.ReadAll(r.Body) // bounded by the guard in front
	if err != nil {
		return bodyError(err)
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return invalidf("Invalid value for parameter '%s' supplied: expected %s", te.Field, te.Type)
		}
		return invalidf("Malformed request body: %v", err)
	}
	return nil
}

// bodyError is the answer to a failed read of a request body: 413 or 408
// for one the guard cut off, else 400.
func bodyError(err error) *Error {
	if ge := guard.BodyError(err); ge != nil {
		code := CodeResourceExhausted
		if ge.Status == http.StatusRequestTimeout {
			code = CodeDeadlineExceeded
		}
		return Errorf(code, "%s", ge.Message)
	}
	return Errorf(CodeBadRequest, "read request body: %v", err)
}

// missing is MLflow's message for a required parameter left out.
func missing(name string) error {
	return invalidf("Missing value for required parameter '%s'. See the API docs for more information about request parameters.", name)
}

// queryInt reads an optional integer query parameter.
func queryInt(r *http.Request, name string) (*int64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return nil, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return nil, invalidf("Invalid value %q for parameter '%s': expected an integer", s, name)
	}
	return &v, nil
}

// checkExperimentID checks an experiment ID is a decimal integer.
func checkExperimentID(id string) error {
	if _, err := strconv.ParseInt(id, 10, 64); err != nil {
		return invalidf("Invalid experiment ID '%s'. Experiment ID must be a valid integer.", id)
	}
	return nil
}

// maxSearchResults is the most results one search page may ask for.
const maxSearchResults = 50000

// pageOf turns max_results and page_token into a Page asking for one result
// more than wanted, so the caller knows whether another page follows.
func pageOf(maxResults *jsonInt, def int, token string) (Page, error) {
	n := def
	if maxResults != nil {
		n = int(*maxResults)
	}
	if n <= 0 || n > maxSearchResults {
		return Page{}, invalidf("Invalid value %d for parameter 'max_results' supplied: it must be at most %d and positive", n, maxSearchResults)
	}
	off := 0
	if token != "" {
		// An offset token, or a keyset one ({"after": ...}, see
		// cursorToken) whose offset is 0.
		raw, err := base64.StdEncoding.DecodeString(token)
		var t struct {
			Offset int `json:"offset"`
		}
		if err != nil || json.Unmarshal(raw, &t) != nil || t.Offset < 0 {
			return Page{}, invalidf("Invalid page token %q", token)
		}
		off = t.Offset
	}
	return Page{Offset: off, Limit: n + 1}, nil
}

// nextToken returns the token of the page after p when got holds more than
// the page wanted (see pageOf), and how many results to keep.
func nextToken(p Page, got int) (string, int) {
	want := p.Limit - 1
	if got <= want {
		return "", got
	}
	b, _ := json.Marshal(map[string]int{"offset": p.Offset + want})
	return base64.StdEncoding.EncodeToString(b), want
}

// newHexID returns n random bytes as lowercase hex.
func newHexID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// nowMS is the current time in unix milliseconds.
func nowMS() int64 { return time.Now().UnixMilli() }
