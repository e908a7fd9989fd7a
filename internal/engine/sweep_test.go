package engine

import (
	"testing"

	"github.com/ciel-mlops/ciel/internal/spec"
)

func TestTrialOf(t *testing.T) {
	t.Parallel()
	sw := &spec.Sweep{}
	job := &Plan{Type: spec.JobSweep, Steps: []*PlanStep{{Name: SweepStep, Sweep: sw}}}
	pipe := &Plan{Type: spec.JobPipeline, Steps: []*PlanStep{{Name: "prep"}, {Name: "tune", Sweep: sw}, {Name: "sub/tune", Sweep: sw}}}
	tests := []struct {
		plan       *Plan
		step, for_ string
		ok         bool
	}{
		{job, "trial_0", SweepStep, true},
		{job, "trial_12", SweepStep, true},
		{job, "trial_", "", false},
		{job, "trial_x", "", false},
		{job, SweepStep, "", false},
		{pipe, "tune/trial_3", "tune", true},
		{pipe, "sub/tune/trial_0", "sub/tune", true},
		{pipe, "trial_0", "", false},
		{pipe, "prep/trial_0", "", false},
	}
	for _, tt := range tests {
		got, ok := TrialOf(tt.plan, tt.step)
		if got != tt.for_ || ok != tt.ok {
			t.Errorf("TrialOf(%s plan, %q) = %q, %v; want %q, %v", tt.plan.Type, tt.step, got, ok, tt.for_, tt.ok)
		}
	}
}

func TestFormatValue(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		v    any
		want string
	}{
		{"adam", "adam"}, {3, "3"}, {0.1 + 0.2, "0.3"}, {0.5634, "0.5634"}, {1e-7, "1e-07"}, {2.0, "2"},
	} {
		if got := formatValue(tt.v); got != tt.want {
			t.Errorf("formatValue(%v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}
