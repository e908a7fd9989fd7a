package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/ciel-mlops/ciel/client"
	"github.com/ciel-mlops/ciel/internal/blob"
	"github.com/ciel-mlops/ciel/internal/engine"
	"github.com/ciel-mlops/ciel/internal/guard"
	"github.com/ciel-mlops/ciel/internal/spec"
	"github.com/ciel-mlops/ciel/internal/store"
)

func (s *server) createJob(_ http.ResponseWriter, r *http.Request) (any, error) {
	if _, err := s.workspace(r); err != nil {
		return nil, err
	}
	var job spec.Job
	if err := decode(r, &job); err != nil {
		return nil, err
	}
	if job.Name != "" {
		if err := checkName("name", job.Name); err != nil {
			return nil, err
		}
	}
	if err := spec.CheckSubmittedJob(&job); err != nil {
		return nil, submitted(err)
	}
	ws := r.PathValue("ws")
	j, err := s.eng.Submit(r.Context(), ws, &job)
	if errors.Is(err, store.ErrConflict) {
		return nil, &httpError{status: http.StatusConflict, code: "Conflict", target: "name",
			msg: fmt.Sprintf("a job named %q already exists in workspace %s", job.Name, ws)}
	}
	if err != nil {
		return nil, err
	}
	v, err := s.jobView(r, j, viewStepsAndRuns)
	if err != nil {
		return nil, err
	}
	return created{v}, nil
}

// job returns the job named in the path, with a 404 that names it.
func (s *server) job(r *http.Request) (store.Job, error) {
	if _, err := s.workspace(r); err != nil {
		return store.Job{}, err
	}
	j, err := s.st.GetJob(r.Context(), r.PathValue("ws"), r.PathValue("name"))
	if errors.Is(err, store.ErrNotFound) {
		return j, &httpError{status: http.StatusNotFound, code: "NotFound", target: "name",
			msg: fmt.Sprintf("job %q not found in workspace %s", r.PathValue("name"), r.PathValue("ws"))}
	}
	return j, err
}

// getJob returns a job with its steps and, unless ?runs=false, each step's
// MLflow run: `job create --stream` waits on a job without them, since
// loading every step's run is most of what the view costs for a wide
// pipeline.
func (s *server) getJob(_ http.ResponseWriter, r *http.Request) (any, error) {
	detail := viewStepsAndRuns
	switch q := r.URL.Query().Get("runs"); q {
	case "", "true":
	case "false":
		detail = viewSteps
	default:
		return nil, &httpError{status: http.StatusBadRequest, code: "UserError", target: "runs",
			msg: fmt.Sprintf("runs must be true or false, not %q", q)}
	}
	j, err := s.job(r)
	if err != nil {
		return nil, err
	}
	return s.jobView(r, j, detail)
}

func (s *server) listJobs(_ http.ResponseWriter, r *http.Request) (any, error) {
	if _, err := s.workspace(r); err != nil {
		return nil, err
	}
	if parent := r.URL.Query().Get("parent_job_name"); parent != "" {
		return s.childJobs(r, parent)
	}
	list, err := s.st.ListJobs(r.Context(), r.PathValue("ws"), r.URL.Query().Get("include_archived") == "true")
	if err != nil {
		return nil, err
	}
	out := make([]client.Job, 0, len(list))
	for _, j := range list {
		v, err := s.jobView(r, j, viewJob)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// childJobs lists the children of a job, as `az ml job list
// --parent-job-name` does: a pipeline's steps, a sweep job's trials, or,
// for "<job>/<sweep step>", that sweep step's trials.
func (s *server) childJobs(r *http.Request, parent string) ([]client.Job, error) {
	name, step, _ := strings.Cut(parent, "/")
	if err := checkName("parent_job_name", name); err != nil {
		return nil, err
	}
	j, err := s.st.GetJob(r.Context(), r.PathValue("ws"), name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &httpError{status: http.StatusNotFound, code: "NotFound", target: "parent_job_name",
			msg: fmt.Sprintf("job %q not found in workspace %s", name, r.PathValue("ws"))}
	}
	if err != nil {
		return nil, err
	}
	v, err := s.jobView(r, j, viewStepsAndRuns)
	if err != nil {
		return nil, err
	}
	if step != "" {
		if _, ok := v.Jobs[step]; !ok {
			return nil, &httpError{status: http.StatusNotFound, code: "NotFound", target: "parent_job_name",
				msg: fmt.Sprintf("job %s has no step %q", name, step)}
		}
	}
	out := []client.Job{}
	for _, n := range sortedStepNames(v.Jobs) {
		cs := v.Jobs[n]
		if cs.Parent != step {
			continue
		}
		typ := spec.JobCommand
		if hasTrials(v.Jobs, cs.Name) {
			typ = spec.JobSweep
		}
		out = append(out, client.Job{
			Name: cs.Name, Type: typ, DisplayName: cs.Name, ExperimentName: v.ExperimentName, Status: cs.Status,
			Error: cs.Error, Compute: cs.Compute, StartTime: cs.StartTime, EndTime: cs.EndTime, Outputs: cs.Outputs,
			Properties: cs.Properties, ParentJobName: parent, RunTracking: cs.RunTracking,
			CreationContext: client.CreationContext{CreatedAt: j.CreatedAt, CreatedBy: "local"},
		})
	}
	return out, nil
}

// sortedStepNames orders steps by name, trials by number.
func sortedStepNames(steps map[string]*client.Step) []string {
	names := make([]string, 0, len(steps))
	for n := range steps {
		names = append(names, n)
	}
	sort.Slice(names, func(a, b int) bool {
		na, nb := names[a], names[b]
		pa, ia := trialNumber(na)
		pb, ib := trialNumber(nb)
		if pa == pb && ia >= 0 && ib >= 0 {
			return ia < ib
		}
		return na < nb
	})
	return names
}

// trialNumber splits "…trial_N" into its prefix and N (-1 if not a trial).
func trialNumber(name string) (string, int) {
	i := strings.LastIndex(name, "trial_")
	if i < 0 {
		return name, -1
	}
	n, err := strconv.Atoi(name[i+len("trial_"):])
	if err != nil {
		return name, -1
	}
	return name[:i], n
}

// hasTrials reports whether a step has trials among steps.
func hasTrials(steps map[string]*client.Step, step string) bool {
	for _, cs := range steps {
		if cs.Parent == step {
			return true
		}
	}
	return false
}

func (s *server) cancelJob(_ http.ResponseWriter, r *http.Request) (any, error) {
	if _, err := s.job(r); err != nil {
		return nil, err
	}
	j, err := s.eng.Cancel(r.Context(), r.PathValue("ws"), r.PathValue("name"))
	if err != nil {
		return nil, err
	}
	return s.jobView(r, j, viewStepsAndRuns)
}

// rerunJob submits a job's spec again as a new job, as Azure ML studio's
// "Resubmit" does: the same code, inputs and settings under a new name. A
// step whose inputs did not change is reused as for any submission.
func (s *server) rerunJob(_ http.ResponseWriter, r *http.Request) (any, error) {
	j, err := s.job(r)
	if err != nil {
		return nil, err
	}
	var job spec.Job
	if err := json.Unmarshal(j.Spec, &job); err != nil {
		return nil, fmt.Errorf("decode spec of job %s: %w", j.Name, err)
	}
	job.Name = ""
	nj, err := s.eng.Submit(r.Context(), j.Workspace, &job)
	if err != nil {
		return nil, err
	}
	v, err := s.jobView(r, nj, viewStepsAndRuns)
	if err != nil {
		return nil, err
	}
	return created{v}, nil
}

func (s *server) archiveJob(_ http.ResponseWriter, r *http.Request) (any, error) {
	j, err := s.job(r)
	if err != nil {
		return nil, err
	}
	j.Archived = strings.HasSuffix(r.URL.Path, "/archive")
	if err := s.st.UpdateJob(r.Context(), j); err != nil {
		return nil, err
	}
	return s.jobView(r, j, viewStepsAndRuns)
}

func (s *server) streamJob(w http.ResponseWriter, r *http.Request) (any, error) {
	guard.Streaming(w)
	j, err := s.job(r)
	if err != nil {
		return nil, err
	}
	// ?step= follows one step's log alone (the studio's log panel).
	step := r.URL.Query().Get("step")
	if step != "" {
		if err := checkStep(step); err != nil {
			return nil, err
		}
		steps, err := s.st.ListSteps(r.Context(), j.Workspace, j.Name)
		if err != nil {
			return nil, err
		}
		if !slices.ContainsFunc(steps, func(st store.Step) bool { return st.Name == step }) {
			return nil, &httpError{status: http.StatusNotFound, code: "NotFound", target: "step",
				msg: fmt.Sprintf("job %s has no step %q", j.Name, step)}
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	flush := func() {
		if fl != nil {
			fl.Flush()
		}
	}
	if step != "" {
		err = s.eng.FollowStep(r.Context(), r.PathValue("ws"), r.PathValue("name"), step, w, flush, s.replicas.remote(r))
	} else {
		err = s.eng.Follow(r.Context(), r.PathValue("ws"), r.PathValue("name"), w, flush, s.replicas.remote(r))
	}
	if err != nil {
		s.log.Debug("stream ended", "job", r.PathValue("name"), "err", err)
	}
	return streamed{}, nil
}

// downloadOutput answers a tar of a job output, a step output
// ("step.output"), or "artifacts" (every step's ./outputs and ./logs).
func (s *server) downloadOutput(w http.ResponseWriter, r *http.Request) (any, error) {
	guard.Streaming(w)
	j, err := s.job(r)
	if err != nil {
		return nil, err
	}
	steps, err := s.st.ListSteps(r.Context(), j.Workspace, j.Name)
	if err != nil {
		return nil, err
	}
	var plan engine.Plan
	if err := json.Unmarshal(j.Plan, &plan); err != nil {
		return nil, fmt.Errorf("decode plan: %w", err)
	}
	byName := map[string]store.Step{}
	for _, st := range steps {
		byName[st.Name] = st
	}
	name := r.PathValue("output")
	var digest string
	if name == "artifacts" {
		digest, err = s.artifactTree(r.Context(), j, steps)
		if err != nil {
			return nil, err
		}
	} else {
		digest = outputDigest(name, &plan, byName)
	}
	if digest == "" {
		return nil, &httpError{status: http.StatusNotFound, code: "NotFound", target: "output_name",
			msg: fmt.Sprintf("job %s has no output %q produced (status %s); outputs: %s", j.Name, name, j.Status, strings.Join(outputNames(&plan), ", "))}
	}
	w.Header().Set("Content-Type", "application/x-tar")
	if err := blob.WriteTar(r.Context(), s.blobs, digest, w); err != nil {
		s.log.Error("write output tar", "job", j.Name, "output", name, "err", err)
	}
	return streamed{}, nil
}

// outputDigest finds the tree of a named output.
func outputDigest(name string, plan *engine.Plan, steps map[string]store.Step) string {
	ref, ok := outputRef(name, plan)
	if !ok {
		return ""
	}
	return steps[ref.Step].Outputs[ref.Port]
}

// outputRef finds the step output a name means: a job output, a
// "step.output", or a step output named uniquely across the pipeline.
func outputRef(name string, plan *engine.Plan) (engine.PortRef, bool) {
	if ref, ok := plan.Outputs[name]; ok {
		return ref, true
	}
	if i := strings.LastIndex(name, "."); i > 0 {
		return engine.PortRef{Step: name[:i], Port: name[i+1:]}, true
	}
	var found engine.PortRef
	for _, ps := range plan.Steps {
		if _, ok := ps.Outputs[name]; ok {
			if found.Step != "" {
				return engine.PortRef{}, false
			}
			found = engine.PortRef{Step: ps.Name, Port: name}
		}
	}
	return found, found.Step != ""
}

func outputNames(plan *engine.Plan) []string {
	var names []string
	for n := range plan.Outputs {
		names = append(names, n)
	}
	for _, ps := range plan.Steps {
		for o := range ps.Outputs {
			if plan.Type == spec.JobCommand || plan.Type == spec.JobParallel {
				names = append(names, o)
			} else {
				names = append(names, ps.Name+"."+o)
			}
		}
	}
	sort.Strings(names)
	return append(names, "artifacts")
}

// artifactTree merges every step's ./outputs and ./logs into one tree:
// outputs/..., logs/... for a command job, <step>/outputs/... for pipelines.
func (s *server) artifactTree(ctx context.Context, j store.Job, steps []store.Step) (string, error) {
	var merged blob.Tree
	for _, st := range steps {
		prefix := ""
		if j.Type != spec.JobCommand && j.Type != spec.JobParallel {
			prefix = st.Name + "/"
		}
		if err := engine.AppendArtifacts(ctx, s.blobs, &merged, st.Outputs, prefix); err != nil {
			return "", err
		}
	}
	sort.Slice(merged.Entries, func(a, b int) bool { return merged.Entries[a].Path < merged.Entries[b].Path })
	return blob.PutTree(ctx, s.blobs, merged)
}
