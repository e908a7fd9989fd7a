package tracking

import (
	"context"
	"fmt"
	"sort"
	"strconv"

	"github.com/ciel-mlops/ciel/internal/engine"
)

var _ engine.SweepTracker = (*Observer)(nil)

// Tags a sweep sets on its run, Azure ML's names for the best trial.
const (
	TagBestChildRunID = "best_child_run_id"
	TagBestTrial      = "ciel.best_trial"
	TagBestMetric     = "best_metric_value"
)

// TrialStarting creates the trial's run, a child of its sweep's run, and
// logs the sampled values as its params.
func (o *Observer) TrialStarting(ctx context.Context, s engine.StepInfo, params map[string]string) error {
	runID, _, err := o.stepRun(ctx, s)
	if err != nil {
		return fmt.Errorf("tracking run of trial %s: %w", s.Step, err)
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b Batch
	for _, k := range keys {
		b.Params = append(b.Params, Param{Key: k, Value: params[k]})
	}
	if err := o.cfg.Store.LogBatch(ctx, s.Workspace, runID, b); err != nil {
		return fmt.Errorf("log params of trial %s: %w", s.Step, err)
	}
	return nil
}

// MetricHistory returns what the step's run logged for key, in order.
func (o *Observer) MetricHistory(ctx context.Context, s engine.StepInfo, key string) ([]float64, error) {
	runID, _, err := o.stepRun(ctx, s)
	if err != nil {
		return nil, err
	}
	ms, err := o.cfg.Store.MetricHistory(ctx, s.Workspace, runID, key, 0, 100000)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(ms))
	for i, m := range ms {
		out[i] = m.Value
	}
	return out, nil
}

// SweepFinished tags the sweep's run (the job's run for a sweep job) with
// its best trial's run and value.
func (o *Observer) SweepFinished(ctx context.Context, sw, best engine.StepInfo, value float64) {
	err := func() error {
		bestRun, _, err := o.stepRun(ctx, best)
		if err != nil {
			return err
		}
		var runID string
		if sw.JobType == "sweep" {
			runID, _, err = o.jobRun(ctx, sw, "", RunInfo{}, nil)
		} else {
			runID, _, err = o.stepRun(ctx, sw)
		}
		if err != nil {
			return err
		}
		return o.cfg.Store.LogBatch(ctx, sw.Workspace, runID, Batch{Tags: []Tag{
			{Key: TagBestChildRunID, Value: bestRun}, {Key: TagBestTrial, Value: best.Step},
			{Key: TagBestMetric, Value: strconv.FormatFloat(value, 'g', -1, 64)},
		}})
	}()
	if err != nil {
		o.cfg.Logger.Error("record sweep result", "workspace", sw.Workspace, "job", sw.Job, "err", err)
	}
}
