package api

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"

	"github.com/ciel-mlops/ciel/client"
	"github.com/ciel-mlops/ciel/internal/engine"
	"github.com/ciel-mlops/ciel/internal/spec"
	"github.com/ciel-mlops/ciel/internal/store"
	"github.com/ciel-mlops/ciel/internal/tracking"
)

// viewDetail is how much of a job a view holds.
type viewDetail int

const (
	viewJob          viewDetail = iota // the job's own fields
	viewSteps                          // and its steps, outputs and warnings
	viewStepsAndRuns                   // and each step's MLflow run
)

// jobView shapes a job like `az ml job show`, with as much as detail asks.
func (s *server) jobView(r *http.Request, j store.Job, detail viewDetail) (client.Job, error) {
	var sj spec.Job
	_ = json.Unmarshal(j.Spec, &sj)
	v := client.Job{
		Name: j.Name, Type: j.Type, DisplayName: j.DisplayName, Description: sj.Description,
		ExperimentName: j.ExperimentName, Status: j.Status, Error: j.Error, Tags: sj.Tags, Archived: j.Archived,
		CreationContext: client.CreationContext{CreatedAt: j.CreatedAt, CreatedBy: "local"},
		StartTime:       j.StartedAt, EndTime: j.EndedAt,
		ID: fmt.Sprintf("azureml:/workspaces/%s/jobs/%s", j.Workspace, j.Name),
		Services: map[string]client.Service{
			"Studio": {Endpoint: s.studioURL(j.Workspace, "jobs", j.Name)},
		},
		Compute: sj.Compute,
	}
	if sj.Settings != nil {
		v.Settings = map[string]any{}
		if sj.Settings.DefaultCompute != "" {
			v.Settings["default_compute"] = sj.Settings.DefaultCompute
			v.Compute = sj.Settings.DefaultCompute
		}
		if sj.Settings.ForceRerun != nil {
			v.Settings["force_rerun"] = *sj.Settings.ForceRerun
		}
		if sj.Settings.ContinueOnStepFailure != nil {
			v.Settings["continue_on_step_failure"] = *sj.Settings.ContinueOnStepFailure
		}
	}
	if len(sj.Inputs) > 0 {
		v.Inputs = map[string]any{}
		for name, in := range sj.Inputs {
			switch {
			case in.Value != nil:
				v.Inputs[name] = *in.Value
			default:
				v.Inputs[name] = map[string]string{"type": orDefault(in.Type, spec.TypeURIFolder), "path": in.Path}
			}
		}
	}
	if detail == viewJob {
		return v, nil
	}
	var plan engine.Plan
	if err := json.Unmarshal(j.Plan, &plan); err != nil {
		return v, fmt.Errorf("decode plan of %s: %w", j.Name, err)
	}
	for _, w := range plan.Warnings {
		v.Warnings = append(v.Warnings, w.Error())
	}
	steps, err := s.st.ListSteps(r.Context(), j.Workspace, j.Name)
	if err != nil {
		return v, err
	}
	byName := map[string]store.Step{}
	for _, st := range steps {
		byName[st.Name] = st
	}
	v.Outputs = map[string]client.JobOutput{}
	for name, ref := range plan.Outputs {
		t := ""
		for _, ps := range plan.Steps {
			if ps.Name == ref.Step {
				t = ps.Outputs[ref.Port].Type
			}
		}
		v.Outputs[name] = client.JobOutput{Type: t, Digest: byName[ref.Step].Outputs[ref.Port]}
	}
	var runs map[string]client.RunTracking
	if detail == viewStepsAndRuns {
		runs = s.stepRuns(r, j)
	}
	if plan.Type == spec.JobCommand || plan.Type == spec.JobParallel {
		v.RunTracking = runs["main"]
		if len(plan.Steps) > 0 {
			v.Distribution, v.Resources = distributionView(plan.Steps[0].Distribution)
		}
		if st, ok := byName["main"]; ok {
			if v.Error == "" {
				v.Error = st.Error
			}
			v.Compute = orDefault(v.Compute, plan.Steps[0].Compute)
		}
		return v, nil
	}
	v.RunTracking = runs[""]
	v.Jobs = map[string]*client.Step{}
	for _, ps := range plan.Steps {
		st := byName[ps.Name]
		cs := &client.Step{
			Name: ps.Name, Status: st.Status, Component: ps.Component, Compute: ps.Compute, ReusedFrom: st.ReusedFrom,
			Attempt: st.Attempt, ExitCode: st.ExitCode, Error: st.Error, StartTime: st.StartedAt, EndTime: st.EndedAt,
			Outputs: map[string]client.JobOutput{}, RunTracking: runs[ps.Name],
		}
		for o, decl := range ps.Outputs {
			cs.Outputs[o] = client.JobOutput{Type: decl.Type, Digest: st.Outputs[o]}
		}
		describeStep(cs, ps)
		if ps.Sweep != nil {
			cs.Properties = sweepProperties(st, runs)
			if plan.Type == spec.JobSweep {
				// A sweep job's step is only its trials' template: the job
				// itself shows its outcome, and its trials are its steps.
				v.Properties = cs.Properties
				continue
			}
		}
		v.Jobs[ps.Name] = cs
	}
	addTrials(&v, &plan, steps, runs)
	return v, nil
}

// describeStep adds to cs what its plan step runs: command, environment
// and inputs, each input shaped as `az ml job show` writes a step's.
func describeStep(cs *client.Step, ps *engine.PlanStep) {
	cs.Command = ps.Command
	cs.EnvironmentVariables = ps.EnvVars
	cs.Distribution, cs.Resources = distributionView(ps.Distribution)
	switch env := ps.Env; {
	case env.Name != "" && env.Version != "":
		cs.Environment = "azureml:" + env.Name + ":" + env.Version
	case env.Name != "":
		cs.Environment = "azureml:" + env.Name
	default:
		cs.Environment = env.Image
	}
	if len(ps.Inputs) == 0 {
		return
	}
	cs.Inputs = make(map[string]any, len(ps.Inputs))
	for name, in := range ps.Inputs {
		switch {
		case in.From != nil:
			cs.Inputs[name] = "${{parent.jobs." + in.From.Step + ".outputs." + in.From.Port + "}}"
		case in.Value != nil:
			cs.Inputs[name] = *in.Value
		default:
			path := orDefault(in.Asset, in.URI)
			if path == "" {
				path = in.Digest // a local folder uploaded at submit: its tree
			}
			cs.Inputs[name] = map[string]string{"type": orDefault(in.Type, spec.TypeURIFolder), "path": path}
		}
	}
}

// distributionView is a distributed step's distribution and resources as
// az ml job show writes them; nil for a step that is not distributed.
func distributionView(d *engine.DistPlan) (dist, resources map[string]any) {
	if d == nil {
		return nil, nil
	}
	dist = map[string]any{"type": d.Type}
	if d.Type == spec.DistTensorFlow {
		dist["worker_count"], dist["parameter_server_count"] = d.Workers, d.ParameterServers
	} else {
		dist["process_count_per_instance"] = d.PerInstance
	}
	return dist, map[string]any{"instance_count": d.Instances}
}

// sweepProperties are a sweep step's Azure ML properties once it has a
// best trial: best_child_run_id (the trial's MLflow run) and best_trial.
func sweepProperties(st store.Step, runs map[string]client.RunTracking) map[string]string {
	best := st.Outputs[engine.SweepBestKey]
	if best == "" {
		return nil
	}
	return map[string]string{"best_trial": best, "best_child_run_id": runs[best].RunID}
}

// addTrials adds the trials of the job's sweeps to its steps.
func addTrials(v *client.Job, plan *engine.Plan, steps []store.Step, runs map[string]client.RunTracking) {
	byName := map[string]*engine.PlanStep{}
	for _, ps := range plan.Steps {
		byName[ps.Name] = ps
	}
	for _, st := range steps {
		sw, ok := engine.TrialOf(plan, st.Name)
		if !ok {
			continue
		}
		ps := byName[sw]
		cs := &client.Step{
			Name: st.Name, Status: st.Status, Component: ps.Component, Compute: ps.Compute, Attempt: st.Attempt,
			ExitCode: st.ExitCode, Error: st.Error, StartTime: st.StartedAt, EndTime: st.EndedAt,
			Outputs: map[string]client.JobOutput{}, RunTracking: runs[st.Name], Trial: true,
		}
		if plan.Type != spec.JobSweep {
			cs.Parent = sw
		}
		for o, decl := range ps.Outputs {
			cs.Outputs[o] = client.JobOutput{Type: decl.Type, Digest: st.Outputs[o]}
		}
		v.Jobs[st.Name] = cs
	}
}

// stepRuns returns the MLflow run of each step of j ("" for a pipeline's
// parent run) with its latest metrics and params, when the store keeps
// tracking data; what it cannot read is left out. The runs are read in one
// search, however many steps the job has.
func (s *server) stepRuns(r *http.Request, j store.Job) map[string]client.RunTracking {
	ts, ok := s.st.(tracking.Store)
	if !ok {
		return nil
	}
	links, err := ts.JobRuns(r.Context(), j.Workspace, j.Name)
	if err != nil || len(links) == 0 {
		return nil
	}
	first, err := ts.GetRun(r.Context(), j.Workspace, links[0].RunID)
	if err != nil {
		return nil
	}
	ids := make([]string, len(links))
	for i, l := range links {
		ids[i] = l.RunID
	}
	runs, err := ts.SearchRuns(r.Context(), j.Workspace, tracking.RunQuery{
		ExperimentIDs: []string{first.Info.ExperimentID}, ViewType: tracking.ViewAll,
		Filter: []tracking.Clause{{Kind: tracking.KindAttribute, Key: "run_id", Op: "IN", List: ids}},
		Page:   tracking.Page{Limit: len(ids)},
	})
	if err != nil {
		return nil
	}
	byID := make(map[string]tracking.Run, len(runs))
	for _, run := range runs {
		byID[run.Info.RunID] = run
	}
	out := make(map[string]client.RunTracking, len(links))
	for _, l := range links {
		if run, ok := byID[l.RunID]; ok {
			out[l.Step] = runTracking(run)
		}
	}
	return out
}

// runTracking is the view of a run in a job or step: its ID, latest
// metrics (JSON cannot carry NaN or infinities, so those are left out) and
// params.
func runTracking(run tracking.Run) client.RunTracking {
	rt := client.RunTracking{RunID: run.Info.RunID}
	for _, m := range run.Metrics {
		if !math.IsNaN(m.Value) && !math.IsInf(m.Value, 0) {
			if rt.Metrics == nil {
				rt.Metrics = map[string]float64{}
			}
			rt.Metrics[m.Key] = m.Value
		}
	}
	for _, p := range run.Params {
		if rt.Params == nil {
			rt.Params = map[string]string{}
		}
		rt.Params[p.Key] = p.Value
	}
	return rt
}
