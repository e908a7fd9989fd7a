package spec

import (
	"gopkg.in/yaml.v3"
)

// Distribution types of a command job.
const (
	// DistPyTorch starts process_count_per_instance processes per
	// instance, with torch.distributed's variables (MASTER_ADDR, RANK, ...).
	DistPyTorch = "pytorch"
	// DistTensorFlow starts worker_count workers and parameter_server_count
	// parameter servers, each with its TF_CONFIG.
	DistTensorFlow = "tensorflow"
	// DistMPI starts the processes with mpirun.
	DistMPI = "mpi"
)

var distTypes = []string{DistPyTorch, DistTensorFlow, DistMPI}

// MaxDistProcesses bounds the processes one distributed step starts on
// this machine.
const MaxDistProcesses = 64

// Distribution is a command job's (or command component's) distribution:
// how many processes run its command, and how they find each other.
type Distribution struct {
	Type string `json:"type"`
	// ProcessCountPerInstance is pytorch's and mpi's processes per instance
	// (resources.instance_count); 0 means 1.
	ProcessCountPerInstance int `json:"process_count_per_instance,omitempty"`
	// WorkerCount and ParameterServerCount are tensorflow's; a worker count
	// of 0 means one worker per instance.
	WorkerCount          int `json:"worker_count,omitempty"`
	ParameterServerCount int `json:"parameter_server_count,omitempty"`
	Pos                  Pos `json:"pos"`
}

// Processes is how many processes d starts over instances instances;
// anything over MaxDistProcesses reads as MaxDistProcesses+1, so no count
// overflows.
func (d *Distribution) Processes(instances int) int {
	c := func(n int) int { return min(max(n, 0), MaxDistProcesses+1) }
	instances = max(c(instances), 1)
	n := instances * max(c(d.ProcessCountPerInstance), 1)
	if d.Type == DistTensorFlow {
		workers := c(d.WorkerCount)
		if workers == 0 {
			workers = instances
		}
		n = workers + c(d.ParameterServerCount)
	}
	return min(n, MaxDistProcesses+1)
}

// distribution reads a distribution block.
func (d *decoder) distribution(path string, v *yaml.Node) *Distribution {
	if isNull(v) {
		return nil
	}
	dist := &Distribution{Pos: d.pos(v)}
	t := d.lookup(v, "type")
	if v.Kind != yaml.MappingNode || t == nil {
		d.errorf(v, path, "expected a mapping with type: pytorch, tensorflow or mpi")
		return nil
	}
	var ok bool
	if dist.Type, ok = d.oneOf(joinPath(path, "type"), t, distTypes); !ok {
		return nil
	}
	fields := map[string]fieldFunc{"type": func(string, *yaml.Node) {}}
	if dist.Type == DistTensorFlow {
		fields["worker_count"] = d.nonNegativeInto(&dist.WorkerCount)
		fields["parameter_server_count"] = d.nonNegativeInto(&dist.ParameterServerCount)
	} else {
		fields["process_count_per_instance"] = d.positiveInto(&dist.ProcessCountPerInstance)
	}
	d.fields(v, path, "a "+dist.Type+" distribution", fields, nil)
	return dist
}

// checkDistribution checks that a distribution over instances starts a
// number of processes ciel runs.
func (d *decoder) checkDistribution(dist *Distribution, instances int, path string) {
	if dist == nil {
		return
	}
	if n := dist.Processes(instances); n > MaxDistProcesses {
		d.errorAt(dist.Pos, joinPath(path, "distribution"), "%d processes; ciel runs at most %d for one step", n, MaxDistProcesses)
	}
}
