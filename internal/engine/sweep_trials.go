package engine

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/ciel-mlops/ciel/internal/envs"
	"github.com/ciel-mlops/ciel/internal/optuna"
	"github.com/ciel-mlops/ciel/internal/spec"
	"github.com/ciel-mlops/ciel/internal/sweep"
)

// trialResult is a finished trial as a sampler that learns sees it.
type trialResult struct {
	Params map[string]string
	Status string
	Value  *float64 // the last value of the primary metric, when completed
}

// trialSource gives a sweep the values of its trials.
type trialSource interface {
	// next returns up to n new trials' values, drawn knowing that i were
	// drawn before and how the finished ones did.
	next(ctx context.Context, i, n int, finished []trialResult) ([]map[string]string, error)
	// size is how many trials the source can give at most; 0 for no bound.
	size() int
}

// newTrialSource returns the sampler a sweep step asks for.
func (r *jobRun) newTrialSource(ps *PlanStep) (trialSource, error) {
	sw := ps.Sweep
	space, err := sw.Space()
	if err != nil {
		return nil, err
	}
	switch {
	case sw.Algorithm == spec.SamplingGrid:
		configs, err := sweep.Grid{}.Sample(space, sw.MaxTotalTrials)
		if err != nil {
			return nil, err
		}
		return fixedTrials(configs), nil
	case sw.Algorithm == spec.SamplingBayesian:
		return &bayesTrials{r: r, sw: sw}, nil
	case sw.Algorithm == spec.SamplingRandom && sw.Rule == spec.RuleSobol:
		configs, err := r.sobolConfigs(space, sw)
		if err != nil {
			return nil, err
		}
		return fixedTrials(configs), nil
	default:
		configs, err := sweep.Random{Seed: *sw.Seed}.Sample(space, sw.MaxTotalTrials)
		if err != nil {
			return nil, err
		}
		return fixedTrials(configs), nil
	}
}

// sobolConfigs draws a sweep's trials from a scrambled Sobol sequence
// (scipy's, in the sampler environment ciel builds), one dimension per
// parameter (nested ones too), mapped to the search space through each distribution's
// quantile. The same seed gives the same trials, so a resumed sweep draws
// what it drew before.
func (r *jobRun) sobolConfigs(space sweep.SearchSpace, sw *spec.Sweep) ([]sweep.Config, error) {
	if err := space.Validate(); err != nil {
		return nil, err
	}
	env, err := r.e.cfg.Envs.Ensure(r.ctx, envs.Spec{CondaFile: optuna.CondaFile}, io.Discard)
	if err != nil {
		return nil, fmt.Errorf("sobol sampling: build the sampler environment: %w", err)
	}
	points, err := optuna.Sobol(r.ctx, env.Python, space.Dims(), sw.MaxTotalTrials, *sw.Seed)
	if err != nil {
		return nil, err
	}
	return sweep.FromUnit(space, points)
}

// fixedTrials are drawn in advance: random sampling with its seed, or the
// grid.

type fixed struct{ configs []map[string]string }

func fixedTrials(configs []sweep.Config) *fixed {
	f := &fixed{}
	for _, c := range configs {
		m := make(map[string]string, len(c))
		for k, v := range c {
			m[k] = formatValue(v)
		}
		f.configs = append(f.configs, m)
	}
	return f
}

func (f *fixed) size() int { return len(f.configs) }

func (f *fixed) next(_ context.Context, i, n int, _ []trialResult) ([]map[string]string, error) {
	if i >= len(f.configs) {
		return nil, nil
	}
	return f.configs[i:min(i+n, len(f.configs))], nil
}

// formatValue writes a sampled value as a trial's command receives it.
func formatValue(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int:
		return strconv.Itoa(x)
	case float64:
		// 15 digits: quantized values print as 0.3, not 0.30000000000000004.
		return strconv.FormatFloat(x, 'g', 15, 64)
	}
	return fmt.Sprint(v)
}

// bayesTrials asks Optuna's TPE sampler, in an environment ciel builds for
// it, for trials that improve on the finished ones.
type bayesTrials struct {
	r  *jobRun
	sw *spec.Sweep
}

func (b *bayesTrials) size() int { return 0 }

func (b *bayesTrials) next(ctx context.Context, i, n int, finished []trialResult) ([]map[string]string, error) {
	env, err := b.r.e.cfg.Envs.Ensure(ctx, envs.Spec{CondaFile: optuna.CondaFile}, io.Discard)
	if err != nil {
		return nil, fmt.Errorf("bayesian sampling: build the optuna environment: %w", err)
	}
	req := optuna.Request{Space: map[string]optuna.Param{}, Goal: b.sw.Goal, Seed: (*b.sw.Seed + int64(i)) & 0xffffffff, N: n}
	for name, p := range b.sw.SearchSpace {
		req.Space[name] = optuna.Param{Type: p.Type, Values: p.Values, Min: p.MinValue, Max: p.MaxValue, Q: p.Q}
	}
	for _, f := range finished {
		req.History = append(req.History, optuna.Trial{Params: f.Params, Value: f.Value})
	}
	return optuna.Suggest(ctx, env.Python, req)
}
