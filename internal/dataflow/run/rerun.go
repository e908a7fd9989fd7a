package run

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ciel-mlops/ciel/internal/dataflow/factory"
)

// RerunOptions says how much of an earlier run a rerun reuses. With
// neither set the whole pipeline runs again. FromFailure reuses every
// top-level activity that succeeded and runs the rest (a control
// activity that failed runs again whole). StartActivity runs that
// top-level activity and every one downstream of it, reusing the others
// as they ended.
type RerunOptions struct {
	FromFailure   bool
	StartActivity string
	InvokedBy     InvokedBy
}

// Rerun modes recorded on the new run.
const (
	rerunFull         = "Full"
	rerunFromFailure  = "FromFailure"
	rerunFromActivity = "FromActivity"
)

// Rerun starts a new run of an ended run's pipeline with its parameters,
// in its run group (the new run is the latest). Reused activities are not
// run and not recorded again: their earlier outputs are what activity()
// returns. ErrNotDone when the run has not ended; an *InvalidError when
// StartActivity names no top-level activity.
func (r *Runner) Rerun(ctx context.Context, ws, runID string, opts RerunOptions) (PipelineRun, error) {
	old, err := r.GetRun(ctx, ws, runID)
	if err != nil {
		return PipelineRun{}, err
	}
	if !old.Status.Done() {
		return PipelineRun{}, fmt.Errorf("rerun %q: %w", runID, ErrNotDone)
	}
	link := runLink{groupID: old.RunGroupID, reference: old.RunID, rerunMode: rerunFull, parentRunID: old.ParentRunID}
	if opts.FromFailure || opts.StartActivity != "" {
		prior, err := r.lastResults(ctx, old)
		if err != nil {
			return PipelineRun{}, err
		}
		p, err := r.cfg.Resources.Pipeline(ctx, ws, old.PipelineName)
		if err != nil {
			return PipelineRun{}, fmt.Errorf("pipeline %q: %w", old.PipelineName, err)
		}
		if opts.StartActivity != "" {
			link.reuse, err = reuseBefore(p.Activities, opts.StartActivity, prior)
			link.rerunMode = rerunFromActivity
		} else {
			link.reuse = reuseSucceeded(p.Activities, prior)
			link.rerunMode = rerunFromFailure
		}
		if err != nil {
			return PipelineRun{}, err
		}
	}
	params, _ := renumber(old.Parameters).(map[string]any)
	// Secure parameters were not kept: they take their defaults again.
	for k, v := range params {
		if v == masked {
			delete(params, k)
		}
	}
	req := RunRequest{Workspace: ws, Pipeline: old.PipelineName, Parameters: params, InvokedBy: opts.InvokedBy, Trigger: old.Trigger}
	ex, err := r.prepare(ctx, req, link)
	if err != nil {
		return PipelineRun{}, err
	}
	return r.launch(ctx, ex)
}

// lastResults returns how each top-level activity of a run last ended
// (its last attempt). A rerun did not record the activities it reused,
// so those come from the run it reran, and so on back.
func (r *Runner) lastResults(ctx context.Context, run PipelineRun) (map[string]*result, error) {
	out := map[string]*result{}
	for depth := 0; depth < 100; depth++ {
		acts, err := r.cfg.Store.ListActivityRuns(ctx, run.Workspace, run.RunID)
		if err != nil {
			return nil, fmt.Errorf("activity runs of %q: %w", run.RunID, err)
		}
		mine := map[string]*result{}
		for _, a := range acts {
			if a.ParentActivityRunID == "" && a.Status.Done() {
				mine[a.ActivityName] = newResult(a.Status, renumber(a.Output), a.Error, a.ActivityRunID)
			}
		}
		for k, v := range mine {
			if out[k] == nil {
				out[k] = v
			}
		}
		if run.ReferenceRunID == "" || run.Rerun == rerunFull {
			break
		}
		if run, err = r.GetRun(ctx, run.Workspace, run.ReferenceRunID); err != nil {
			break
		}
	}
	return out, nil
}

// reuseSucceeded keeps the top-level activities that succeeded.
func reuseSucceeded(acts []factory.Activity, prior map[string]*result) map[string]*result {
	out := map[string]*result{}
	for _, a := range acts {
		if p := prior[a.Name]; p != nil && p.status == StatusSucceeded {
			out[a.Name] = p
		}
	}
	return out
}

// reuseBefore keeps every top-level activity that is neither start nor
// downstream of it, as it ended.
func reuseBefore(acts []factory.Activity, start string, prior map[string]*result) (map[string]*result, error) {
	found := false
	for _, a := range acts {
		found = found || a.Name == start
	}
	if !found {
		return nil, invalidf("rerun: %q is not a top-level activity of the pipeline", start)
	}
	downstream := map[string]bool{start: true}
	for changed := true; changed; {
		changed = false
		for _, a := range acts {
			if downstream[a.Name] {
				continue
			}
			for _, d := range a.DependsOn {
				if downstream[d.Activity] {
					downstream[a.Name], changed = true, true
					break
				}
			}
		}
	}
	out := map[string]*result{}
	for _, a := range acts {
		if p := prior[a.Name]; p != nil && !downstream[a.Name] {
			out[a.Name] = p
		}
	}
	return out, nil
}

// renumber gives values read back from a JSON record the numbers a run
// had: integral ones int64 again, not float64.
func renumber(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	out, err := decodeJSON(b)
	if err != nil {
		return v
	}
	return out
}
