package spec

import (
	"path/filepath"
	"testing"
)

func TestParseDistribution(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, main string
		want       Distribution
		processes  int
	}{
		{"pytorch", "command: python train.py\nresources: {instance_count: 2}\ndistribution: {type: pytorch, process_count_per_instance: 3}\n",
			Distribution{Type: DistPyTorch, ProcessCountPerInstance: 3}, 6},
		{"pytorch default count", "command: python train.py\ndistribution: {type: pytorch}\n", Distribution{Type: DistPyTorch}, 1},
		{"tensorflow", "command: python train.py\ndistribution: {type: tensorflow, worker_count: 2, parameter_server_count: 1}\n",
			Distribution{Type: DistTensorFlow, WorkerCount: 2, ParameterServerCount: 1}, 3},
		{"tensorflow workers by instance", "command: python train.py\nresources: {instance_count: 3}\ndistribution: {type: tensorflow}\n",
			Distribution{Type: DistTensorFlow}, 3},
		{"mpi", "command: python train.py\ndistribution: {type: mpi, process_count_per_instance: 1}\n", Distribution{Type: DistMPI, ProcessCountPerInstance: 1}, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := writeFiles(t, map[string]string{"main.yml": tt.main})
			j, err := ParseJobFile(filepath.Join(dir, "main.yml"), Options{})
			if err != nil {
				t.Fatal(err)
			}
			d := j.Distribution
			if d == nil || d.Type != tt.want.Type || d.ProcessCountPerInstance != tt.want.ProcessCountPerInstance ||
				d.WorkerCount != tt.want.WorkerCount || d.ParameterServerCount != tt.want.ParameterServerCount {
				t.Fatalf("distribution = %+v, want %+v", d, tt.want)
			}
			instances := 1
			if j.Resources != nil {
				instances = j.Resources.InstanceCount
			}
			if got := d.Processes(instances); got != tt.processes {
				t.Errorf("processes = %d, want %d", got, tt.processes)
			}
		})
	}
}

func TestParseDistributionErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, main, want string }{
		{"unknown type", "command: x\ndistribution: {type: horovod}\n", `main.yml:2:22: distribution.type: unknown value "horovod"; expected one of pytorch, tensorflow, mpi`},
		{"zero processes", "command: x\ndistribution: {type: pytorch, process_count_per_instance: 0}\n", "main.yml:2:59: distribution.process_count_per_instance: expected a number >= 1, got 0"},
		{"tensorflow takes no process count", "command: x\ndistribution: {type: tensorflow, process_count_per_instance: 2}\n", `main.yml:2:34: distribution: unknown key "process_count_per_instance" in a tensorflow distribution`},
		{"no type", "command: x\ndistribution: {process_count_per_instance: 2}\n", "main.yml:2:15: distribution: expected a mapping with type: pytorch, tensorflow or mpi"},
		{"too many processes", "command: x\nresources: {instance_count: 100}\ndistribution: {type: pytorch, process_count_per_instance: 8}\n", "main.yml:3:15: distribution: 65 processes; ciel runs at most 64 for one step"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := writeFiles(t, map[string]string{"main.yml": tt.main})
			_, err := ParseJobFile(filepath.Join(dir, "main.yml"), Options{})
			checkErrors(t, dir, err, []string{tt.want})
		})
	}
}

// A command component carries a distribution; a pipeline job file's
// distribution key is still accepted and ignored, as before.
func TestParseDistributionElsewhere(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{
		"train.yml": "name: train\ncommand: python t.py\ndistribution: {type: pytorch, process_count_per_instance: 2}\n",
		"main.yml":  "type: pipeline\ndistribution: {type: pytorch}\njobs:\n  t:\n    component: ./train.yml\n",
	})
	j, err := ParseJobFile(filepath.Join(dir, "main.yml"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d := j.Jobs["t"].Component.Inline.Distribution; d == nil || d.ProcessCountPerInstance != 2 {
		t.Errorf("component distribution = %+v", d)
	}
}
