package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/ciel-mlops/ciel/client"
	"github.com/ciel-mlops/ciel/internal/dataflow"
	"github.com/ciel-mlops/ciel/internal/dataflow/factory"
	"github.com/ciel-mlops/ciel/internal/dataflow/run"
	"github.com/ciel-mlops/ciel/internal/dataflow/triggers"
	"github.com/ciel-mlops/ciel/internal/guard"
	"github.com/ciel-mlops/ciel/internal/store"
)

// factoryKinds maps the API's path segments (ADF REST's) to kinds.
var factoryKinds = map[string]factory.Kind{
	client.FactoryLinkedServices: factory.KindLinkedService,
	client.FactoryDatasets:       factory.KindDataset,
	client.FactoryPipelines:      factory.KindPipeline,
	client.FactoryTriggers:       factory.KindTrigger,
}

// dataFactoryRoutes adds the Data Factory API (`ciel data-factory`), shaped
// like ADF's REST API under /api/v1/workspaces/{ws}/datafactory. Its routes
// live on a mux of their own (mount.go).
func (s *server) dataFactoryRoutes(mux *routeMux) {
	const base = "/api/v1/workspaces/{ws}/datafactory"
	sub := mux.mount("", "api", "v1", "workspaces", "*", "datafactory")
	h := func(pattern string, fn factoryHandler) { sub(pattern, s.wrap(s.onFactory(fn))) }
	for seg := range factoryKinds {
		h("PUT "+base+"/"+seg+"/{name}", s.putFactoryResource)
		h("GET "+base+"/"+seg, s.listFactoryResources)
		h("GET "+base+"/"+seg+"/{name}", s.getFactoryResource)
		h("DELETE "+base+"/"+seg+"/{name}", s.deleteFactoryResource)
	}
	h("POST "+base+"/pipelines/{name}/createRun", s.createFactoryRun)
	h("GET "+base+"/pipelineruns/{runId}", s.getFactoryRun)
	h("POST "+base+"/pipelineruns/{runId}/cancel", s.cancelFactoryRun)
	h("POST "+base+"/pipelineruns/{runId}/rerun", s.rerunFactoryRun)
	h("POST "+base+"/pipelineruns/{runId}/queryActivityruns", s.queryActivityRuns)
	h("GET "+base+"/pipelineruns/events", s.factoryRunsEvents)
	h("GET "+base+"/pipelineruns/{runId}/events", s.factoryRunEvents)
	h("POST "+base+"/queryPipelineRuns", s.queryFactoryRuns)
	h("POST "+base+"/triggers/{name}/start", s.setTriggerState)
	h("POST "+base+"/triggers/{name}/stop", s.setTriggerState)
	h("POST "+base+"/queryTriggerRuns", s.queryTriggerRuns)
	h("GET "+base+"/triggers/{name}/windows", s.listTriggerWindows)
	h("POST "+base+"/triggers/{name}/windows/rerun", s.rerunTriggerWindow)
	h("POST "+base+"/triggers/{name}/triggerRuns/{triggerRunId}/rerun", s.rerunTriggerWindow)
	h("POST "+base+"/import", s.importFactoryTemplate)
	h("POST "+base+"/importFolder", s.importFactoryFolder)
	h("PUT "+base+"/secrets/{name}", s.setFactorySecret)
	h("GET "+base+"/secrets", s.listFactorySecrets)
	h("DELETE "+base+"/secrets/{name}", s.deleteFactorySecret)
	sub(base+"/", s.wrap(func(http.ResponseWriter, *http.Request) (any, error) {
		return nil, &httpError{status: http.StatusNotFound, code: "NotFound", msg: "no such Data Factory API route"}
	}))
}

// factoryHandler is a Data Factory API handler: it is given the service
// and the workspace, both checked, and its errors are mapped to statuses by
// dataflowErr.
type factoryHandler func(w http.ResponseWriter, r *http.Request, svc *dataflow.Service, ws string) (any, error)

// onFactory serves fn as a handlerFunc.
func (s *server) onFactory(fn factoryHandler) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) (any, error) {
		svc, err := s.factoryFor(r)
		if err != nil {
			return nil, err
		}
		v, err := fn(w, r, svc, r.PathValue("ws"))
		return v, dataflowErr(r, err)
	}
}

// factoryFor checks the workspace of r and that the server keeps
// factories.
func (s *server) factoryFor(r *http.Request) (*dataflow.Service, error) {
	if _, err := s.workspace(r); err != nil {
		return nil, err
	}
	if s.dataflow == nil {
		return nil, &httpError{status: http.StatusServiceUnavailable, code: "Unavailable", msg: "this server keeps no Data Factory resources"}
	}
	return s.dataflow, nil
}

// factoryKind is the kind r's path names, and its name checked.
func factoryKind(r *http.Request) (factory.Kind, string, error) {
	var kind factory.Kind
	if seg := strings.Split(r.URL.Path, "/"); len(seg) > 6 {
		kind = factoryKinds[seg[6]] // /api/v1/workspaces/{ws}/datafactory/{kind}
	}
	name := r.PathValue("name")
	if name == "" {
		return kind, "", nil
	}
	return kind, name, dataflow.CheckName(kind, name)
}

// kindName is how messages name a kind.
func kindName(k factory.Kind) string {
	if k == factory.KindLinkedService {
		return "linked service"
	}
	return string(k)
}

// dataflowErr maps the service's errors to statuses and JSON bodies.
func dataflowErr(r *http.Request, err error) error {
	if err == nil {
		return nil
	}
	var (
		ie      *dataflow.InvalidError
		inUse   *dataflow.InUseError
		missing *dataflow.MissingReferenceError
		pre     *dataflow.PreconditionError
		started *dataflow.TriggerStartedError
		fe      *factory.Error
		trig    *triggers.InvalidError
		runBad  *run.InvalidError
	)
	switch {
	case errors.As(err, &runBad):
		return badRequest("", "%s", runBad.Error())
	case errors.Is(err, run.ErrDone), errors.Is(err, run.ErrNotDone), errors.Is(err, triggers.ErrStarted):
		return &httpError{status: http.StatusConflict, code: "Conflict", msg: err.Error()}
	case errors.As(err, &fe):
		// One problem or several (a factory.ErrorList), each at its
		// file:line:col.
		return badRequest("", "%s", err.Error())
	case errors.As(err, &trig):
		return badRequest(trig.Field, "%s", trig.Error())
	case errors.As(err, &ie):
		return badRequest(ie.Field, "%s", ie.Msg)
	case errors.As(err, &inUse):
		return &httpError{status: http.StatusConflict, code: "ResourceInUse", msg: inUse.Error()}
	case errors.As(err, &missing):
		return &httpError{status: http.StatusBadRequest, code: "InvalidReference", target: "properties", msg: missing.Error()}
	case errors.As(err, &pre):
		return &httpError{status: http.StatusPreconditionFailed, code: "PreconditionFailed", msg: pre.Error()}
	case errors.As(err, &started):
		return &httpError{status: http.StatusConflict, code: "TriggerStarted", msg: started.Error()}
	case errors.Is(err, dataflow.ErrNoRuntime):
		return &httpError{status: http.StatusServiceUnavailable, code: "Unavailable", msg: err.Error()}
	case errors.Is(err, store.ErrNotFound):
		what := "resource"
		if kind, _, _ := factoryKind(r); kind != "" {
			what = kindName(kind)
		}
		switch {
		case r.PathValue("runId") != "":
			return &httpError{status: http.StatusNotFound, code: "NotFound", target: "runId",
				msg: fmt.Sprintf("pipeline run %q not found in workspace %s", r.PathValue("runId"), r.PathValue("ws"))}
		case r.PathValue("name") != "" && strings.Contains(r.URL.Path, "/secrets/"):
			what = "secret"
		}
		if r.PathValue("name") != "" {
			return &httpError{status: http.StatusNotFound, code: "NotFound", target: "name",
				msg: fmt.Sprintf("%s %q not found in workspace %s", what, r.PathValue("name"), r.PathValue("ws"))}
		}
	}
	return err
}

// resourceView shapes a resource as ADF's REST API answers it; a
// trigger's properties carry its runtimeState.
func resourceView(ws string, r dataflow.Resource) client.FactoryResource {
	seg := ""
	for k, v := range factoryKinds {
		if v == r.Kind {
			seg = k
		}
	}
	props := r.Properties
	if r.Kind == factory.KindTrigger {
		var m map[string]json.RawMessage
		if json.Unmarshal(props, &m) == nil {
			m["runtimeState"], _ = json.Marshal(r.RuntimeState)
			if b, err := json.Marshal(m); err == nil {
				props = b
			}
		}
	}
	return client.FactoryResource{
		ID:   "/workspaces/" + ws + "/datafactory/" + seg + "/" + r.Name,
		Name: r.Name, Type: "Microsoft.DataFactory/factories/" + seg, Properties: props, ETag: r.ETag,
		SystemData: client.SystemData{CreatedAt: r.CreatedAt, LastModifiedAt: r.UpdatedAt},
	}
}

// bodyFile is how errors name a resource's body: the file the client read
// it from (?file=, as the CLI sends a file unchanged), or "body".
func bodyFile(r *http.Request) string {
	return cleanFileName(r.URL.Query().Get("file"), "body")
}

// readBody reads a JSON request body, bounded by the guard.
func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		if ge := guard.BodyError(err); ge != nil {
			return nil, refusal(ge)
		}
		return nil, badRequest("", "read the request body: %v", err)
	}
	return b, nil
}

func (s *server) putFactoryResource(_ http.ResponseWriter, r *http.Request, svc *dataflow.Service, ws string) (any, error) {
	kind, name, err := factoryKind(r)
	if err != nil {
		return nil, err
	}
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	d, err := dataflow.ParseDocument(kind, name, bodyFile(r), body)
	if err != nil {
		return nil, err
	}
	res, err := svc.Put(r.Context(), ws, d, r.Header.Get("If-Match"))
	if err != nil {
		return nil, err
	}
	return resourceView(ws, res), nil
}

func (s *server) getFactoryResource(_ http.ResponseWriter, r *http.Request, svc *dataflow.Service, ws string) (any, error) {
	kind, name, err := factoryKind(r)
	if err != nil {
		return nil, err
	}
	res, err := svc.Get(r.Context(), ws, kind, name)
	if err != nil {
		return nil, err
	}
	return resourceView(ws, res), nil
}

func (s *server) listFactoryResources(_ http.ResponseWriter, r *http.Request, svc *dataflow.Service, ws string) (any, error) {
	kind, _, err := factoryKind(r)
	if err != nil {
		return nil, err
	}
	list, err := svc.List(r.Context(), ws, kind)
	if err != nil {
		return nil, err
	}
	return listAnswer(views(list, func(x dataflow.Resource) client.FactoryResource { return resourceView(ws, x) })), nil
}

func (s *server) deleteFactoryResource(_ http.ResponseWriter, r *http.Request, svc *dataflow.Service, ws string) (any, error) {
	kind, name, err := factoryKind(r)
	if err != nil {
		return nil, err
	}
	if err := svc.Delete(r.Context(), ws, kind, name); err != nil {
		return nil, err
	}
	return map[string]string{"status": "deleted"}, nil
}

// listAnswer is ADF's list shape: {"value": [...], "continuationToken"}.
func listAnswer[T any](v []T) client.FactoryList[T] {
	if v == nil {
		v = []T{}
	}
	return client.FactoryList[T]{Value: v}
}

// decodeOptional decodes a JSON body into v when there is one.
func decodeOptional(r *http.Request, v any) error {
	body, err := readBody(r)
	if err != nil || len(bytes.TrimSpace(body)) == 0 {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("", "bad request body: %v", err)
	}
	return nil
}
