package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ciel-mlops/ciel/internal/engine"
	"github.com/ciel-mlops/ciel/internal/spec"
)

// A step's distribution is its own, else its component's, over its
// resources.instance_count; a sweep's trials carry their template's.
func TestPlanDistribution(t *testing.T) {
	t.Parallel()
	e, _ := setup(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "train.yml"), []byte("name: train\nversion: 1\ncommand: python t.py\ndistribution: {type: pytorch, process_count_per_instance: 2}\n"), 0o644)
	for _, tt := range []struct {
		name, yml, step string
		want            engine.DistPlan
	}{
		{"command job", "command: python t.py\nresources: {instance_count: 2}\ndistribution: {type: pytorch, process_count_per_instance: 3}\n", "main",
			engine.DistPlan{Type: "pytorch", Instances: 2, PerInstance: 3}},
		{"component's", "type: pipeline\njobs:\n  t:\n    component: ./train.yml\n", "t",
			engine.DistPlan{Type: "pytorch", Instances: 1, PerInstance: 2}},
		{"step's over component's", "type: pipeline\njobs:\n  t:\n    component: ./train.yml\n    resources: {instance_count: 2}\n    distribution: {type: tensorflow, worker_count: 3}\n", "t",
			engine.DistPlan{Type: "tensorflow", Instances: 2, Workers: 3}},
		{"sweep trial", "type: sweep\nsampling_algorithm: grid\nsearch_space: {lr: {type: choice, values: [1, 2]}}\nobjective: {goal: maximize, primary_metric: acc}\nlimits: {max_total_trials: 2}\n" +
			"trial:\n  command: python t.py --lr ${{search_space.lr}}\n  distribution: {type: pytorch, process_count_per_instance: 2}\n", "",
			engine.DistPlan{Type: "pytorch", Instances: 1, PerInstance: 2}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := e.BuildPlan(context.Background(), "ws", parse(t, dir, tt.yml))
			if err != nil {
				t.Fatal(err)
			}
			ps := plan.Steps[0]
			for _, s := range plan.Steps {
				if s.Name == tt.step {
					ps = s
				}
			}
			if ps.Distribution == nil || *ps.Distribution != tt.want {
				t.Errorf("step %s: distribution %+v, want %+v", ps.Name, ps.Distribution, tt.want)
			}
		})
	}
	// What the parser refuses at the file's line, a job sent over the API
	// is refused for at planning.
	_, err := e.BuildPlan(context.Background(), "ws", &spec.Job{Type: spec.JobCommand, Command: "x",
		Resources: &spec.Resources{InstanceCount: 9}, Distribution: &spec.Distribution{Type: spec.DistMPI, ProcessCountPerInstance: 8}})
	if err == nil || !strings.Contains(err.Error(), "at most 64") {
		t.Errorf("72 mpi processes: %v", err)
	}
}
