package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"os"
	"strings"
	"time"

	"github.com/ciel-mlops/ciel/client"
	"github.com/ciel-mlops/ciel/internal/authlimit"
	"github.com/ciel-mlops/ciel/internal/batch"
	"github.com/ciel-mlops/ciel/internal/blob"
	"github.com/ciel-mlops/ciel/internal/changefeed"
	"github.com/ciel-mlops/ciel/internal/cicd"
	"github.com/ciel-mlops/ciel/internal/cicd/githost"
	"github.com/ciel-mlops/ciel/internal/dataflow"
	"github.com/ciel-mlops/ciel/internal/datastore"
	"github.com/ciel-mlops/ciel/internal/engine"
	"github.com/ciel-mlops/ciel/internal/guard"
	"github.com/ciel-mlops/ciel/internal/registry"
	"github.com/ciel-mlops/ciel/internal/schedule"
	"github.com/ciel-mlops/ciel/internal/serving"
	"github.com/ciel-mlops/ciel/internal/spec"
	"github.com/ciel-mlops/ciel/internal/store"
	"github.com/ciel-mlops/ciel/internal/tracking"
	"github.com/ciel-mlops/ciel/internal/ui"
)

// server holds what the handlers share.
type server struct {
	cfg   Config
	st    store.Store
	blobs blob.Store
	eng   *engine.Engine
	base  string
	log   *slog.Logger

	// registry is the model registry and regAPI its MLflow API (models.go).
	registry *registry.Service
	regAPI   *registry.Server
	// tracking serves the MLflow tracking API and artifact proxy under
	// /ws/{ws}/ (nil in tests that need none).
	tracking *tracking.Handler
	arts     artifactRoot // MLflow artifacts
	// serving runs the online endpoints (endpoints.go; nil in tests that
	// need none).
	serving *serving.Manager
	// batch keeps the batch endpoints (batch.go; nil in tests that need
	// none).
	batch *batch.Service
	// repos hosts git repositories (repos.go; nil when git is missing).
	repos *githost.Host
	// cicd runs pipelines from them (pipelines.go; nil without git or a
	// store that keeps pipelines).
	cicd *cicd.Service
	// wsCleanups stop a workspace's work when it is deleted
	// (workspace_delete.go); add one with onWorkspaceDelete.
	wsCleanups []workspaceCleanup
	// schedules fires job schedules (schedules.go; nil in tests that need
	// none).
	schedules *schedule.Service
	// data resolves datastores, job outputs and URLs as data paths
	// (datastores.go; nil with a store that keeps no datastores).
	data *datastore.Service
	// dataflow keeps the Data Factory resources and runs their pipelines
	// (datafactory.go; nil in tests that need none).
	dataflow *dataflow.Service

	// studio serves the web studio and its sign-in (studio.go; nil in
	// tests that need none).
	studio *ui.Studio
	// envs says where environment builds log (env_build_log.go; nil in
	// tests that need none).
	envs buildLogs
	// eventSlots bounds the event streams open at once (events.go).
	eventSlots chan struct{}
	// flows tells the event streams of CI/CD and Data Factory runs that
	// a run changed (flow_events.go; nil in tests that need none).
	flows *changefeed.Feed
	// replicas reads the live logs of jobs other servers sharing the
	// store run (replica_logs.go; its addrs is nil for a server alone).
	replicas replicaLogs
	// attempts limits wrong tokens per client, at the guard and the
	// studio's sign-in alike (nil: no limit, as in tests that need none).
	attempts *authlimit.Limiter
}

// handlerFunc is a handler that returns data to encode as JSON or an error
// to map to a status; it writes the response itself only for streams.
type handlerFunc func(w http.ResponseWriter, r *http.Request) (any, error)

// created wraps a result answered with 201.
type created struct{ v any }

// streamed marks a response the handler already wrote.
type streamed struct{}

// routeMux is a ServeMux that keeps its patterns, so a test can walk every
// route the server serves.
type routeMux struct {
	*http.ServeMux
	patterns []string
	// subs serve the paths under a prefix with a mux of their own
	// (mount.go).
	subs []subMux
}

// Handle registers h for pattern and keeps the pattern.
func (m *routeMux) Handle(pattern string, h http.Handler) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.Handle(pattern, h)
}

func (s *server) routes() *routeMux {
	mux := &routeMux{ServeMux: http.NewServeMux()}
	h := func(pattern string, fn handlerFunc) { mux.Handle(pattern, s.wrap(fn)) }
	h("GET /api/v1/health", func(http.ResponseWriter, *http.Request) (any, error) {
		return map[string]string{"status": "ok"}, nil
	})
	s.openAPIRoutes(h)
	h("GET /api/v1/workspaces", s.listWorkspaces)
	h("POST /api/v1/workspaces", s.createWorkspace)
	h("GET /api/v1/workspaces/{ws}", s.getWorkspace)
	h("DELETE /api/v1/workspaces/{ws}", s.deleteWorkspace)
	h("POST /api/v1/workspaces/{ws}/uploads", s.upload)

	h("POST /api/v1/workspaces/{ws}/{kind}", s.createAsset)
	h("GET /api/v1/workspaces/{ws}/{kind}", s.listAssets)
	h("GET /api/v1/workspaces/{ws}/{kind}/{name}", s.getAsset)
	h("DELETE /api/v1/workspaces/{ws}/{kind}/{name}", s.deleteAsset)
	h("GET /api/v1/workspaces/{ws}/{kind}/{name}/versions", s.listAssetVersions)
	h("GET /api/v1/workspaces/{ws}/{kind}/{name}/versions/{version}", s.getAsset)
	h("POST /api/v1/workspaces/{ws}/{kind}/{name}/{verb}", s.archiveAsset)
	h("POST /api/v1/workspaces/{ws}/{kind}/{name}/versions/{version}/{verb}", s.archiveAsset)

	h("POST /api/v1/workspaces/{ws}/jobs", s.createJob)
	h("GET /api/v1/workspaces/{ws}/jobs", s.listJobs)
	h("GET /api/v1/workspaces/{ws}/jobs/{name}", s.getJob)
	h("POST /api/v1/workspaces/{ws}/jobs/{name}/cancel", s.cancelJob)
	h("POST /api/v1/workspaces/{ws}/jobs/{name}/rerun", s.rerunJob)
	h("POST /api/v1/workspaces/{ws}/jobs/{name}/archive", s.archiveJob)
	h("POST /api/v1/workspaces/{ws}/jobs/{name}/restore", s.archiveJob)
	h("GET /api/v1/workspaces/{ws}/jobs/{name}/stream", s.streamJob)
	h("GET /api/v1/workspaces/{ws}/jobs/{name}/logs", s.jobLog)
	h("GET /api/v1/workspaces/{ws}/jobs/{name}/outputs/{output}", s.downloadOutput)
	s.eventRoutes(h)
	s.metricHistoryRoutes(h)
	s.modelRoutes(mux, h)
	s.datastoreRoutes(h)
	s.endpointRoutes(h)
	s.batchRoutes(h)
	s.repoRoutes(mux, h)
	s.pipelineRoutes(h)
	s.scheduleRoutes(h)
	s.registryRoutes(h)
	s.envBuildLogRoutes(h)
	s.imageRoutes(mux)
	s.dataFactoryRoutes(mux)
	if s.tracking != nil {
		s.tracking.Register(mux)
	}
	if os.Getenv("CIEL_PPROF") != "" {
		// Opt-in profiling of a running server, for performance work: it
		// dumps stacks, so it is behind the token like all else, and
		// answers this machine only.
		mux.Handle("GET /debug/pprof/", loopbackOnly(http.HandlerFunc(pprof.Index)))
		mux.Handle("GET /debug/pprof/profile", loopbackOnly(http.HandlerFunc(pprof.Profile)))
		mux.Handle("GET /debug/pprof/trace", loopbackOnly(http.HandlerFunc(pprof.Trace)))
	}
	s.studioRoutes(mux)
	mux.Handle("/", s.notFound())
	return mux
}

// wrap runs fn and writes its result or error. The guard in front of the
// whole mux (guard.go) has already checked the Host, Origin, content type
// and token.
func (s *server) wrap(fn handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("handler panic", "path", r.URL.Path, "panic", p)
				writeError(w, errors.New("internal error"))
			}
		}()
		v, err := fn(w, r)
		if err != nil {
			if status(err) >= 500 {
				s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
			}
			writeError(w, err)
			return
		}
		switch v := v.(type) {
		case streamed:
		case created:
			writeJSON(w, http.StatusCreated, v.v)
		default:
			writeJSON(w, http.StatusOK, v)
		}
	})
}

// httpError is an error with a status, code and the field at fault.
type httpError struct {
	status int
	code   string
	msg    string
	target string
}

func (e *httpError) Error() string { return e.msg }

func badRequest(target, format string, args ...any) error {
	return &httpError{status: http.StatusBadRequest, code: "UserError", msg: fmt.Sprintf(format, args...), target: target}
}

// status maps an error to its HTTP status.
func status(err error) int {
	var he *httpError
	var se *spec.Error
	var sl spec.ErrorList
	switch {
	case errors.As(err, &he):
		return he.status
	case errors.As(err, &se), errors.As(err, &sl):
		return http.StatusBadRequest
	case errors.Is(err, store.ErrNotFound), errors.Is(err, blob.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, store.ErrConflict):
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

func writeError(w http.ResponseWriter, err error) {
	code := status(err)
	var body client.ErrorBody
	body.Error.Message = err.Error()
	var he *httpError
	if errors.As(err, &he) {
		body.Error.Code, body.Error.Target = he.code, he.target
	}
	if body.Error.Code == "" {
		switch code {
		case http.StatusBadRequest:
			body.Error.Code = "UserError"
		case http.StatusNotFound:
			body.Error.Code = "NotFound"
		case http.StatusConflict:
			body.Error.Code = "Conflict"
		default:
			// The details (paths under CIEL_HOME, driver errors) go to the
			// server log, which wrap writes; the client learns only that
			// and when.
			body.Error.Code = "InternalError"
			body.Error.Message = "internal error; the server log has the details (" + time.Now().UTC().Format(time.RFC3339) + ")"
		}
	}
	writeJSON(w, code, body)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// decode reads a JSON body into v, naming the field at fault on error.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body) // bounded by the guard
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if ge := guard.BodyError(err); ge != nil {
			return refusal(ge)
		}
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te):
			return badRequest(te.Field, "field %q: expected %s, got JSON %s", te.Field, te.Type, te.Value)
		case errors.As(err, &se):
			return badRequest("", "request body is not valid JSON at byte %d: %v", se.Offset, err)
		case errors.Is(err, io.EOF):
			return badRequest("", "request body is empty; expected a JSON object")
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return badRequest(f, "unknown field %q", f)
		}
		return badRequest("", "bad request body: %v", err)
	}
	return nil
}

// checkName answers a 400 naming field when v is not a name Azure ML takes
// (spec.CheckName): names become folders and URL segments.
func checkName(field, v string) error {
	if err := spec.CheckName(field, v); err != nil {
		return badRequest(field, "%v", err)
	}
	return nil
}

// views maps what a list handler read to what it answers, one view each.
// listIn answers a list route of a workspace: 404 when the workspace
// does not exist, else what list gives for it, each shaped by view.
func listIn[T, V any](s *server, r *http.Request, list func(context.Context, string) ([]T, error), view func(T) V) (any, error) {
	if _, err := s.workspace(r); err != nil {
		return nil, err
	}
	items, err := list(r.Context(), r.PathValue("ws"))
	if err != nil {
		return nil, err
	}
	return views(items, view), nil
}

// getIn answers a get route of an object named by the path's {name} in
// its workspace, shaped by view.
func getIn[T, V any](r *http.Request, get func(context.Context, string, string) (T, error), view func(T) V) (any, error) {
	x, err := get(r.Context(), r.PathValue("ws"), r.PathValue("name"))
	if err != nil {
		return nil, err
	}
	return view(x), nil
}

func views[T, V any](list []T, view func(T) V) []V {
	out := make([]V, 0, len(list))
	for _, x := range list {
		out = append(out, view(x))
	}
	return out
}
