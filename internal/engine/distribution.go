package engine

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/ciel-mlops/ciel/internal/spec"
)

// DistPlan is a distributed command step's processes (Azure ML's
// distribution: pytorch, tensorflow or mpi), all started on the step's
// machine, its instances side by side.
type DistPlan struct {
	Type      string `json:"type"`
	Instances int    `json:"instances"`
	// PerInstance is pytorch's process_count_per_instance.
	PerInstance int `json:"per_instance,omitempty"`
	// Workers and ParameterServers are tensorflow's.
	Workers          int `json:"workers,omitempty"`
	ParameterServers int `json:"parameter_servers,omitempty"`
}

// distPlan resolves what a step says of its distribution: the step's own
// over its component's, over resources.instance_count instances.
func distPlan(name string, dist *spec.Distribution, instances int) (*DistPlan, error) {
	if dist == nil {
		return nil, nil
	}
	instances = max(instances, 1)
	n := dist.Processes(instances)
	if n > spec.MaxDistProcesses {
		return nil, spec.Errorf(dist.Pos, "step %s: distribution starts %d processes; ciel runs at most %d for one step", name, n, spec.MaxDistProcesses)
	}
	p := &DistPlan{Type: dist.Type, Instances: instances}
	if dist.Type == spec.DistTensorFlow {
		p.Workers, p.ParameterServers = cmp.Or(dist.WorkerCount, instances), dist.ParameterServerCount
	} else {
		p.PerInstance = max(dist.ProcessCountPerInstance, 1)
	}
	return p, nil
}

// processes is how many processes d starts.
func (d *DistPlan) processes() int {
	if d.Type == spec.DistTensorFlow {
		return d.Workers + d.ParameterServers
	}
	return d.Instances * d.PerInstance
}

// distLauncher runs $CIEL_DIST_SCRIPT once per process with that process's
// variables (CIEL_DIST_<i>_<NAME> for each NAME in $CIEL_DIST_VARS). What a
// process prints goes to the step's log and to its own
// user_logs/std_log_process_<i>.txt, as Azure ML keeps a distributed job's
// logs. Each process reports its exit code on a FIFO as it ends (bash's
// wait -n misses a child that ended before it was called), and the first
// failure ends the step with its code, as a distributed job fails when one
// of its processes does; the executor then kills the step's other
// processes with its process group (locally) or its container (on
// Kubernetes).
const distLauncher = `n=$CIEL_DIST_PROCS
fifo=$(mktemp -u "${TMPDIR:-/tmp}/ciel-dist.XXXXXXXX") && mkfifo -m 600 "$fifo" && exec 3<>"$fifo" || exit 1
rm -f "$fifo"
mkdir -p user_logs || exit 1
for ((i = 0; i < n; i++)); do
  (
    for name in $CIEL_DIST_VARS; do v="CIEL_DIST_${i}_${name}"; export "$name=${!v}"; done
    s=$CIEL_DIST_SCRIPT
    unset "${!CIEL_DIST_@}"
    /bin/bash -c "$s" 2>&1 3>&- | tee -a "user_logs/std_log_process_$i.txt" 3>&-
    echo "$i ${PIPESTATUS[0]}" >&3
  ) &
done
for ((left = n; left > 0; left--)); do
  read -r i rc <&3
  if ((rc != 0)); then
    echo "[ciel] process $i of $n of the distributed step exited with code $rc; stopping the others" >&2
    exit "$rc"
  fi
done
`

// mpiLauncher starts $CIEL_DIST_PROCS processes of $CIEL_DIST_SCRIPT with
// the mpirun on the step's PATH, as Azure ML starts an mpi job's (Open MPI
// gives each its OMPI_COMM_WORLD_RANK, ...), each one's output also in
// user_logs/std_log_process_<rank>.txt; mpirun ends them all when one
// fails.
const mpiLauncher = `command -v mpirun >/dev/null || {
  echo "[ciel] distribution type mpi starts its processes with mpirun (Open MPI), which is not on the step's PATH; install it in the step's environment, as Azure ML's MPI images have it" >&2
  exit 127
}
s=$CIEL_DIST_SCRIPT n=$CIEL_DIST_PROCS
unset CIEL_DIST_SCRIPT CIEL_DIST_PROCS CIEL_DIST_VARS
mkdir -p user_logs || exit 1
exec mpirun --oversubscribe -np "$n" /bin/bash -c '
/bin/bash -c "$1" 2>&1 | tee -a "user_logs/std_log_process_$OMPI_COMM_WORLD_RANK.txt"
exit "${PIPESTATUS[0]}"' ciel-rank "$s"
`

// distributedLaunch returns the script that starts d's processes of
// script on this machine, and the variables it needs: pytorch's
// MASTER_ADDR, MASTER_PORT, WORLD_SIZE, LOCAL_WORLD_SIZE and, per process,
// RANK, LOCAL_RANK and NODE_RANK (what Azure ML sets; init_method env://
// reads them), or tensorflow's TF_CONFIG per process, or mpirun for mpi.
// Ports are free ones of 127.0.0.1, picked now.
func distributedLaunch(d *DistPlan, script string) (string, []string, error) {
	n := d.processes()
	env := []string{"CIEL_DIST_PROCS=" + strconv.Itoa(n), "CIEL_DIST_SCRIPT=" + script}
	var names []string
	switch d.Type {
	case spec.DistMPI:
		// Open MPI refuses root unless told; a step runs as the server's
		// user, which may be root in a container.
		return mpiLauncher, append(env, "OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1"), nil
	case spec.DistTensorFlow:
		ports, err := freePorts(n)
		if err != nil {
			return "", nil, err
		}
		cluster := map[string][]string{}
		for i, port := range ports {
			role := "worker"
			if i >= d.Workers {
				role = "ps"
			}
			cluster[role] = append(cluster[role], "127.0.0.1:"+strconv.Itoa(port))
		}
		names = []string{"TF_CONFIG"}
		for i := range n {
			task := map[string]any{"type": "worker", "index": i}
			if i >= d.Workers {
				task = map[string]any{"type": "ps", "index": i - d.Workers}
			}
			b, err := json.Marshal(map[string]any{"cluster": cluster, "task": task})
			if err != nil {
				return "", nil, err
			}
			env = append(env, fmt.Sprintf("CIEL_DIST_%d_TF_CONFIG=%s", i, b))
		}
	default:
		ports, err := freePorts(1)
		if err != nil {
			return "", nil, err
		}
		env = append(env, "MASTER_ADDR=127.0.0.1", "MASTER_PORT="+strconv.Itoa(ports[0]),
			"WORLD_SIZE="+strconv.Itoa(n), "LOCAL_WORLD_SIZE="+strconv.Itoa(d.PerInstance))
		names = []string{"RANK", "LOCAL_RANK", "NODE_RANK"}
		for i := range n {
			env = append(env, fmt.Sprintf("CIEL_DIST_%d_RANK=%d", i, i),
				fmt.Sprintf("CIEL_DIST_%d_LOCAL_RANK=%d", i, i%d.PerInstance),
				fmt.Sprintf("CIEL_DIST_%d_NODE_RANK=%d", i, i/d.PerInstance))
		}
	}
	env = append(env, "CIEL_DIST_VARS="+strings.Join(names, " "))
	return distLauncher, env, nil
}

// freePorts returns n TCP ports of 127.0.0.1 that were free a moment ago.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	out := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("pick a port for the distributed step: %w", err)
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}
