package engine

import (
	"crypto/rand"
	"encoding/binary"
	"maps"
	"strings"

	"github.com/ciel-mlops/ciel/internal/spec"
)

// SweepStep is the name of the step that holds a standalone sweep job's
// trial template; its trials are the steps trial_0, trial_1, ...
const SweepStep = "sweep"

// Keys a sweep keeps in its steps' Outputs beside the output digests: a
// trial's sampled values (JSON), so a resumed sweep runs the same trial
// again, and the sweep step's best trial.
const (
	SweepParamsKey = "sweep/params"
	SweepBestKey   = "sweep/best_trial"
)

// addStandaloneSweep plans a sweep job: one sweep step whose trial is the
// job's inline command or its trial component.
func (p *planner) addStandaloneSweep(job *spec.Job) (map[string]PortRef, error) {
	comp, err := p.component(job)
	if err != nil {
		return nil, err
	}
	ins, err := p.stepInputs(SweepStep, job, comp, nil, nil, nil)
	if err != nil {
		return nil, err
	}
	outs, err := p.addSweep(SweepStep, job, comp, ins, job.Compute)
	if err != nil {
		return nil, err
	}
	// The job's outputs are its trial's outputs, taken from the best trial.
	return outs, nil
}

// addSweep adds a sweep step: the trial's command step, with every
// search-space parameter as an input (its value given per trial) and the
// sweep settings that drive it. A random sweep without a seed gets one
// here, so that a resumed sweep draws the same values.
func (p *planner) addSweep(name string, step *spec.Job, comp *spec.Component, inputs map[string]PlanInput, compute string) (map[string]PortRef, error) {
	sw := *step.Sweep
	if _, err := sw.Space(); err != nil {
		return nil, spec.Errorf(step.Pos, "%v", err)
	}
	if sw.Seed == nil {
		var b [8]byte
		_, _ = rand.Read(b[:])
		seed := int64(binary.LittleEndian.Uint64(b[:]) >> 1)
		sw.Seed = &seed
	}
	ins := maps.Clone(inputs)
	if ins == nil {
		ins = map[string]PlanInput{}
	}
	conditional := sw.Conditional()
	for pname, types := range sw.ParamTypes() {
		t := spec.TypeNumber
		switch {
		case len(types) > 1 || types[0] == "choice":
			t = spec.TypeString
		case types[0] == "randint":
			t = spec.TypeInteger
		}
		if d := comp.Inputs[pname]; d != nil && d.Type != "" {
			t = d.Type
		}
		// A conditional parameter has no value until a trial's nested
		// choice gives it one, so $[[ ]] around it drops out otherwise.
		in := PlanInput{Type: t}
		if !conditional[pname] {
			empty := ""
			in.Value = &empty
		}
		ins[pname] = in
	}
	outs, err := p.addCommand(name, step, comp, ins, compute)
	if err != nil {
		return nil, err
	}
	ps := p.plan.Steps[len(p.plan.Steps)-1]
	ps.Sweep = &sw
	ps.TimeoutSecs = sw.TrialTimeout
	// Trials always run: their values differ from run to run.
	ps.Deterministic = false
	return outs, nil
}

// TrialOf reports which sweep step of plan a step named step is a trial
// of: trial_N of a sweep job, <sweep step>/trial_N in a pipeline.
func TrialOf(plan *Plan, step string) (string, bool) {
	for _, ps := range plan.Steps {
		if ps.Sweep == nil {
			continue
		}
		prefix := ps.Name + "/trial_"
		if plan.Type == spec.JobSweep {
			prefix = "trial_"
		}
		if rest, ok := strings.CutPrefix(step, prefix); ok && rest != "" && strings.Trim(rest, "0123456789") == "" {
			return ps.Name, true
		}
	}
	return "", false
}
