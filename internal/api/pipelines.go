package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/ciel-mlops/ciel/client"
	"github.com/ciel-mlops/ciel/internal/blob"
	"github.com/ciel-mlops/ciel/internal/cicd"
	"github.com/ciel-mlops/ciel/internal/cicd/agent"
	"github.com/ciel-mlops/ciel/internal/cicd/githost"
	"github.com/ciel-mlops/ciel/internal/guard"
	"github.com/ciel-mlops/ciel/internal/store"
)

// pipelineRoutes adds the CI/CD pipelines and their runs.
func (s *server) pipelineRoutes(h func(string, handlerFunc)) {
	const base = "/api/v1/workspaces/{ws}/pipelines"
	h("POST "+base, s.createPipeline)
	h("GET "+base, s.listPipelines)
	h("GET "+base+"/{name}", s.getPipeline)
	h("DELETE "+base+"/{name}", s.deletePipeline)
	h("POST "+base+"/{name}/runs", s.runPipeline)
	h("POST "+base+"/{name}/hooks", s.pipelineHook) // public: see isPipelineHook
	const runs = "/api/v1/workspaces/{ws}/pipeline-runs"
	h("GET "+runs, s.listPipelineRuns)
	h("GET "+runs+"/{id}", s.getPipelineRun)
	h("POST "+runs+"/{id}/cancel", s.cancelPipelineRun)
	h("GET "+runs+"/{id}/logs", s.pipelineRunLog)
	h("GET "+runs+"/events", s.pipelineRunsEvents)
	h("GET "+runs+"/{id}/events", s.pipelineRunEvents)
	h("GET "+runs+"/{id}/artifacts", s.listRunArtifacts)
	h("GET "+runs+"/{id}/artifacts/{artifact}", s.downloadRunArtifact)
	h("GET /api/v1/workspaces/{ws}/pipeline-pool", s.getAgentPool)
	h("PUT /api/v1/workspaces/{ws}/pipeline-pool", s.updateAgentPool)
	const groups = "/api/v1/workspaces/{ws}/variable-groups"
	h("POST "+groups, s.createVariableGroup)
	h("GET "+groups, s.listVariableGroups)
	h("GET "+groups+"/{name}", s.getVariableGroup)
	h("DELETE "+groups+"/{name}", s.deleteVariableGroup)
}

// cicdAgentConfig is the job runner's configuration. CIEL_CICD_MINUTE (a Go
// duration) shortens timeoutInMinutes' minute so tests can reach a job
// timeout; it is not a user setting.
func cicdAgentConfig() agent.Config {
	var cfg agent.Config
	if d, err := time.ParseDuration(os.Getenv("CIEL_CICD_MINUTE")); err == nil && d > 0 {
		cfg.Minute = d
	}
	return cfg
}

// cicdPollInterval is how often external pipelines' repositories are
// fetched: CIEL_CICD_POLL (a Go duration, or seconds) for tests, else the
// service's default. It is not a user setting.
func cicdPollInterval() time.Duration {
	v := os.Getenv("CIEL_CICD_POLL")
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return d
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	return 0
}

var errNoCICD = &httpError{status: http.StatusNotImplemented, code: "NotImplemented",
	msg: "pipelines need git on the server's machine; install git and restart ciel"}

// pipelines returns the CI/CD service after checking the workspace.
func (s *server) pipelines(r *http.Request) (*cicd.Service, error) {
	if s.cicd == nil {
		return nil, errNoCICD
	}
	if _, err := s.workspace(r); err != nil {
		return nil, err
	}
	return s.cicd, nil
}

// cicdError maps the service's refusals to 400s and its not-founds to
// 404s naming the thing.
func cicdError(err error, what string) error {
	switch {
	case errors.Is(err, cicd.ErrInvalid), errors.Is(err, githost.ErrBadName):
		return &httpError{status: http.StatusBadRequest, code: "UserError", msg: err.Error()}
	case errors.Is(err, store.ErrNotFound), errors.Is(err, githost.ErrNotFound):
		return &httpError{status: http.StatusNotFound, code: "NotFound", msg: what + " not found: " + err.Error()}
	case errors.Is(err, store.ErrConflict):
		return &httpError{status: http.StatusConflict, code: "Conflict", msg: what + " already exists"}
	}
	return err
}

func (s *server) pipelineView(p cicd.Pipeline) client.Pipeline {
	v := client.Pipeline{ID: p.ID, Name: p.Name, Path: `\`, CreatedDate: p.CreatedAt,
		Repository: client.PipelineRepository{Name: p.Repository, Type: "TfsGit", URL: s.base + gitPrefix + "/" + p.Workspace + "/" + p.Repository + ".git"},
		Process:    client.PipelineProcess{YAMLFilename: p.YAMLPath},
		URL:        s.base + "/api/v1/workspaces/" + p.Workspace + "/pipelines/" + p.Name}
	if p.RepositoryURL != "" {
		v.Repository.Type, v.Repository.URL = "Git", githost.RedactURL(p.RepositoryURL)
		v.WebhookURL = v.URL + "/hooks"
	}
	return v
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (s *server) runView(r cicd.Run, pipelineID int64) client.PipelineRun {
	v := client.PipelineRun{ID: r.ID, BuildNumber: strconv.FormatInt(r.ID, 10), Status: r.Status, Result: r.Result,
		Reason: r.Reason, SourceBranch: r.SourceBranch, SourceVersion: r.SourceVersion, Parameters: r.Parameters,
		QueueTime: r.QueueTime, StartTime: timePtr(r.StartTime), FinishTime: timePtr(r.FinishTime),
		Definition: client.RunDefinition{ID: pipelineID, Name: r.Pipeline}, Error: r.Error,
		URL:   fmt.Sprintf("%s/api/v1/workspaces/%s/pipeline-runs/%d", s.base, r.Workspace, r.ID),
		Links: &client.RunLinks{Web: client.Link{Href: s.studioURL(r.Workspace, "pipeline-runs", strconv.FormatInt(r.ID, 10))}}}
	if pr := r.PullRequest; pr != nil {
		v.PullRequest = &client.RunPullRequest{Number: pr.Number, SourceBranch: pr.SourceBranch,
			TargetBranch: pr.TargetBranch, SourceCommitID: pr.SourceCommitID}
	}
	for _, j := range r.Jobs {
		cj := client.RunJob{Stage: j.Stage, Name: j.Name, DisplayName: j.DisplayName, Status: j.Status, Result: j.Result,
			StartTime: timePtr(j.StartTime), FinishTime: timePtr(j.FinishTime)}
		for _, st := range j.Steps {
			cj.Steps = append(cj.Steps, client.RunStep{Name: st.Name, DisplayName: st.DisplayName, Status: st.Status,
				StartTime: timePtr(st.StartTime), FinishTime: timePtr(st.FinishTime), ExitCode: st.ExitCode, Error: st.Error})
		}
		v.Jobs = append(v.Jobs, cj)
	}
	if tr := r.TestResults; tr != nil {
		v.TestResults = &client.RunTestResults{Total: tr.Total, Passed: tr.Passed, Failed: tr.Failed, Skipped: tr.Skipped, Files: tr.Files}
	}
	return v
}

func (s *server) createPipeline(_ http.ResponseWriter, r *http.Request) (any, error) {
	svc, err := s.pipelines(r)
	if err != nil {
		return nil, err
	}
	var in client.PipelineCreate
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	if (in.Repository == "") == (in.RepositoryURL == "") {
		return nil, badRequest("repository", "give one of repository (ciel repos create --name <name> makes one) and repositoryUrl")
	}
	ws := r.PathValue("ws")
	p, err := svc.CreatePipeline(r.Context(), cicd.Pipeline{Workspace: ws, Name: in.Name,
		Repository: in.Repository, YAMLPath: in.YAMLPath, RepositoryURL: in.RepositoryURL, DefaultBranch: in.Branch})
	if err == nil && in.RepositoryURL != "" {
		v := s.pipelineView(p)
		v.WebhookSecret = p.WebhookSecret // shown here and with showSecret only
		return created{v}, nil
	}
	if errors.Is(err, githost.ErrNotFound) || errors.Is(err, githost.ErrBadName) {
		return nil, repoError(err, ws, in.Repository)
	}
	if err != nil {
		return nil, cicdError(err, fmt.Sprintf("pipeline %q", in.Name))
	}
	return created{s.pipelineView(p)}, nil
}

func (s *server) listPipelines(_ http.ResponseWriter, r *http.Request) (any, error) {
	svc, err := s.pipelines(r)
	if err != nil {
		return nil, err
	}
	list, err := svc.Store().ListPipelines(r.Context(), r.PathValue("ws"))
	if err != nil {
		return nil, err
	}
	return views(list, s.pipelineView), nil
}

func (s *server) getPipeline(_ http.ResponseWriter, r *http.Request) (any, error) {
	svc, err := s.pipelines(r)
	if err != nil {
		return nil, err
	}
	p, err := svc.Store().GetPipeline(r.Context(), r.PathValue("ws"), r.PathValue("name"))
	if err != nil {
		return nil, cicdError(err, fmt.Sprintf("pipeline %q", r.PathValue("name")))
	}
	v := s.pipelineView(p)
	if r.URL.Query().Get("showSecret") == "true" {
		v.WebhookSecret = p.WebhookSecret
	}
	return v, nil
}

func (s *server) deletePipeline(_ http.ResponseWriter, r *http.Request) (any, error) {
	svc, err := s.pipelines(r)
	if err != nil {
		return nil, err
	}
	p, _ := svc.Store().GetPipeline(r.Context(), r.PathValue("ws"), r.PathValue("name"))
	if err := svc.Store().DeletePipeline(r.Context(), r.PathValue("ws"), r.PathValue("name")); err != nil {
		return nil, cicdError(err, fmt.Sprintf("pipeline %q", r.PathValue("name")))
	}
	if p.RepositoryURL != "" { // its mirror goes with it
		if err := s.repos.Delete(r.Context(), p.Workspace, p.Repository); err != nil {
			s.log.Warn("delete the mirror of a pipeline", "repository", p.Repository, "err", err)
		}
	}
	return map[string]string{"status": "deleted"}, nil
}

func (s *server) runPipeline(_ http.ResponseWriter, r *http.Request) (any, error) {
	svc, err := s.pipelines(r)
	if err != nil {
		return nil, err
	}
	var in client.RunRequest
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	ws, name := r.PathValue("ws"), r.PathValue("name")
	run, err := svc.Queue(r.Context(), ws, name, in.Branch, "", cicd.ReasonManual, in.Parameters)
	if err != nil {
		return nil, cicdError(err, fmt.Sprintf("pipeline %q", name))
	}
	p, _ := svc.Store().GetPipeline(r.Context(), ws, name)
	return created{s.runView(run, p.ID)}, nil
}

func (s *server) listPipelineRuns(_ http.ResponseWriter, r *http.Request) (any, error) {
	svc, err := s.pipelines(r)
	if err != nil {
		return nil, err
	}
	ws := r.PathValue("ws")
	top := 0
	if t := r.URL.Query().Get("top"); t != "" {
		if top, err = strconv.Atoi(t); err != nil || top < 0 {
			return nil, badRequest("top", "top %q: expected a whole number", t)
		}
	}
	return s.runList(r.Context(), svc, ws, r.URL.Query().Get("pipeline"), top)
}

// runList is the views of the workspace's latest top runs (all when 0),
// of one pipeline when pipeline is set.
func (s *server) runList(ctx context.Context, svc *cicd.Service, ws, pipeline string, top int) ([]client.PipelineRun, error) {
	runs, err := svc.Store().ListRuns(ctx, ws, pipeline, top)
	if err != nil {
		return nil, err
	}
	ids := map[string]int64{}
	out := make([]client.PipelineRun, 0, len(runs))
	for _, run := range runs {
		if _, ok := ids[run.Pipeline]; !ok {
			p, _ := svc.Store().GetPipeline(ctx, ws, run.Pipeline)
			ids[run.Pipeline] = p.ID
		}
		out = append(out, s.runView(run, ids[run.Pipeline]))
	}
	return out, nil
}

// run returns the run the path names, with a 404 that names it.
func (s *server) run(r *http.Request) (*cicd.Service, cicd.Run, error) {
	svc, err := s.pipelines(r)
	if err != nil {
		return nil, cicd.Run{}, err
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return nil, cicd.Run{}, badRequest("id", "run id %q: expected a positive whole number", r.PathValue("id"))
	}
	run, err := svc.Store().GetRun(r.Context(), r.PathValue("ws"), id)
	if err != nil {
		return nil, run, cicdError(err, fmt.Sprintf("run %d", id))
	}
	return svc, run, nil
}

func (s *server) getPipelineRun(_ http.ResponseWriter, r *http.Request) (any, error) {
	svc, run, err := s.run(r)
	if err != nil {
		return nil, err
	}
	p, _ := svc.Store().GetPipeline(r.Context(), run.Workspace, run.Pipeline)
	v := s.runView(run, p.ID)
	v.Created = s.runCreated(r.Context(), run)
	return v, nil
}

func (s *server) cancelPipelineRun(_ http.ResponseWriter, r *http.Request) (any, error) {
	svc, run, err := s.run(r)
	if err != nil {
		return nil, err
	}
	run, err = svc.Cancel(r.Context(), run.Workspace, run.ID)
	if err != nil {
		return nil, err
	}
	p, _ := svc.Store().GetPipeline(r.Context(), run.Workspace, run.Pipeline)
	return s.runView(run, p.ID), nil
}

func (s *server) pipelineRunLog(w http.ResponseWriter, r *http.Request) (any, error) {
	guard.Streaming(w)
	svc, run, err := s.run(r)
	if err != nil {
		return nil, err
	}
	fl, _ := w.(http.Flusher)
	flush := func() {
		if fl != nil {
			fl.Flush()
		}
	}
	follow := r.URL.Query().Get("follow") == "true"
	stream := func() error { return svc.StreamLog(r.Context(), run.Workspace, run.ID, w, flush, follow) }
	if j := r.URL.Query().Get("job"); j != "" {
		// One job's lines alone: ?job=<its index in the run's jobs>.
		job, err := strconv.Atoi(j)
		if err != nil || job < 0 || (run.Status == cicd.StatusCompleted && job >= len(run.Jobs)) {
			return nil, badRequest("job", "job %q: expected the index of one of the run's %d jobs", j, len(run.Jobs))
		}
		stream = func() error { return svc.StreamJobLog(r.Context(), run.Workspace, run.ID, job, w, flush, follow) }
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	if err := stream(); err != nil {
		s.log.Debug("pipeline log ended", "run", run.ID, "err", err)
	}
	return streamed{}, nil
}

func (s *server) listRunArtifacts(_ http.ResponseWriter, r *http.Request) (any, error) {
	_, run, err := s.run(r)
	if err != nil {
		return nil, err
	}
	out := make([]client.RunArtifact, 0, len(run.Artifacts))
	for _, a := range run.Artifacts {
		out = append(out, client.RunArtifact{Name: a.Name, Resource: client.ArtifactResource{Type: "Container", Files: a.Files, Size: a.Size,
			DownloadURL: fmt.Sprintf("%s/api/v1/workspaces/%s/pipeline-runs/%d/artifacts/%s", s.base, run.Workspace, run.ID, url.PathEscape(a.Name))}})
	}
	return out, nil
}

func (s *server) downloadRunArtifact(w http.ResponseWriter, r *http.Request) (any, error) {
	guard.Streaming(w)
	_, run, err := s.run(r)
	if err != nil {
		return nil, err
	}
	name := r.PathValue("artifact")
	for _, a := range run.Artifacts {
		if a.Name != name {
			continue
		}
		w.Header().Set("Content-Type", "application/x-tar")
		w.Header().Set("Content-Disposition", "attachment; filename="+url.PathEscape(name+".tar"))
		if err := blob.WriteTar(r.Context(), s.blobs, a.Digest, w); err != nil {
			s.log.Error("write artifact tar", "run", run.ID, "artifact", name, "err", err)
		}
		return streamed{}, nil
	}
	return nil, &httpError{status: http.StatusNotFound, code: "NotFound", target: "artifact",
		msg: fmt.Sprintf("run %d published no artifact %q", run.ID, name)}
}

func (s *server) getAgentPool(_ http.ResponseWriter, r *http.Request) (any, error) {
	svc, err := s.pipelines(r)
	if err != nil {
		return nil, err
	}
	return client.AgentPool{Name: "Default", Parallel: svc.Pool().Parallel}, nil
}

func (s *server) updateAgentPool(_ http.ResponseWriter, r *http.Request) (any, error) {
	svc, err := s.pipelines(r)
	if err != nil {
		return nil, err
	}
	var in client.AgentPool
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	p, err := svc.SetPool(cicd.Pool{Parallel: in.Parallel})
	if err != nil {
		return nil, cicdError(err, "agent pool")
	}
	return client.AgentPool{Name: "Default", Parallel: p.Parallel}, nil
}

func variableGroupView(g cicd.VariableGroup) client.VariableGroup {
	v := client.VariableGroup{ID: g.ID, Name: g.Name, Description: g.Description, Type: "Vsts",
		Variables: map[string]client.VariableValue{}, CreatedOn: g.CreatedAt}
	for k, val := range g.Variables {
		v.Variables[k] = client.VariableValue{Value: val}
	}
	return v
}

func (s *server) createVariableGroup(_ http.ResponseWriter, r *http.Request) (any, error) {
	svc, err := s.pipelines(r)
	if err != nil {
		return nil, err
	}
	var in client.VariableGroupCreate
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	g, err := svc.CreateVariableGroup(r.Context(), cicd.VariableGroup{Workspace: r.PathValue("ws"), Name: in.Name,
		Description: in.Description, Variables: in.Variables})
	if err != nil {
		return nil, cicdError(err, fmt.Sprintf("variable group %q", in.Name))
	}
	return created{variableGroupView(g)}, nil
}

func (s *server) listVariableGroups(_ http.ResponseWriter, r *http.Request) (any, error) {
	svc, err := s.pipelines(r)
	if err != nil {
		return nil, err
	}
	list, err := svc.Store().ListVariableGroups(r.Context(), r.PathValue("ws"))
	if err != nil {
		return nil, err
	}
	return views(list, variableGroupView), nil
}

func (s *server) getVariableGroup(_ http.ResponseWriter, r *http.Request) (any, error) {
	svc, err := s.pipelines(r)
	if err != nil {
		return nil, err
	}
	g, err := svc.Store().GetVariableGroup(r.Context(), r.PathValue("ws"), r.PathValue("name"))
	if err != nil {
		return nil, cicdError(err, fmt.Sprintf("variable group %q", r.PathValue("name")))
	}
	return variableGroupView(g), nil
}

func (s *server) deleteVariableGroup(_ http.ResponseWriter, r *http.Request) (any, error) {
	svc, err := s.pipelines(r)
	if err != nil {
		return nil, err
	}
	if err := svc.Store().DeleteVariableGroup(r.Context(), r.PathValue("ws"), r.PathValue("name")); err != nil {
		return nil, cicdError(err, fmt.Sprintf("variable group %q", r.PathValue("name")))
	}
	return map[string]string{"status": "deleted"}, nil
}
