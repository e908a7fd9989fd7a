package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// rendezvous is a torch.distributed-style script without torch: every
// rank writes its variables to the output folder, then the ranks meet at
// MASTER_ADDR:MASTER_PORT, where rank 0 collects the others' ranks.
const rendezvous = `import os, socket, sys, time
rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
addr, port, out = os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]), sys.argv[1]
with open(os.path.join(out, "rank_%d.txt" % rank), "w") as f:
    f.write("%d %s %s %d\n" % (rank, os.environ["LOCAL_RANK"], os.environ["NODE_RANK"], world))
if rank == 0:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(world)
    got = []
    for _ in range(world - 1):
        c, _ = s.accept()
        got.append(int(c.recv(16).decode()))
        c.close()
    with open(os.path.join(out, "rendezvous.txt"), "w") as f:
        f.write(" ".join(map(str, sorted(got))) + "\n")
else:
    for _ in range(300):
        try:
            c = socket.create_connection((addr, port))
            break
        except OSError:
            time.sleep(0.1)
    c.sendall(str(rank).encode())
    c.close()
if rank == int(os.environ.get("FAIL_RANK", "-1")):
    sys.exit(3)
if os.environ.get("FAIL_RANK") and rank != int(os.environ["FAIL_RANK"]):
    time.sleep(120)
# One write of the whole line: the processes share the step's log, and a
# line print() writes in pieces may interleave with another process's.
sys.stdout.write("rank %d of %d done\n" % (rank, world))
sys.stdout.flush()
`

// A command job with a distribution runs its command once per process,
// each with the variables Azure ML gives it: pytorch's ranks meet at the
// master's address, tensorflow's processes each get their TF_CONFIG, and
// one failing process fails the job at once.
func TestDistributedJob(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.write("src/train.py", rendezvous)
	e.write("src/tf.py", `import json, os, sys
cfg = json.loads(os.environ["TF_CONFIG"])
task = cfg["task"]
with open(os.path.join(sys.argv[1], "%s_%d.json" % (task["type"], task["index"])), "w") as f:
    json.dump(cfg, f)
`)
	e.write("pytorch.yml", `type: command
code: src
command: python train.py ${{outputs.out}}
environment: {image: python}
outputs:
  out: {type: uri_folder}
resources: {instance_count: 2}
distribution: {type: pytorch, process_count_per_instance: 2}
`)
	r := e.ok("job", "create", "--file", "pytorch.yml", "--stream")
	name := runIDLine.FindStringSubmatch(r.out)[1]
	if strings.Count(r.out, " of 4 done") != 4 {
		t.Errorf("stream lacks four ranks:\n%s", r.out)
	}
	out := downloadOutput(t, e, name, "out")
	var ranks []string
	for i := range 4 {
		ranks = append(ranks, readFile(t, filepath.Join(out, "rank_"+string(rune('0'+i))+".txt")))
	}
	if got := strings.Join(ranks, ""); got != "0 0 0 4\n1 1 0 4\n2 0 1 4\n3 1 1 4\n" {
		t.Errorf("rank variables (RANK LOCAL_RANK NODE_RANK WORLD_SIZE):\n%s", got)
	}
	if got := readFile(t, filepath.Join(out, "rendezvous.txt")); got != "1 2 3\n" {
		t.Errorf("rank 0 met %q, want ranks 1 2 3", got)
	}
	// Each process's output is also in its own log, where Azure ML keeps
	// it: artifacts/user_logs/std_log_process_<rank>.txt.
	all := filepath.Join(e.dir, "all")
	e.ok("job", "download", "--name", name, "--all", "--download-path", all)
	for i := range 4 {
		got := readFile(t, filepath.Join(all, "artifacts", "user_logs", "std_log_process_"+string(rune('0'+i))+".txt"))
		if want := "rank " + string(rune('0'+i)) + " of 4 done\n"; got != want {
			t.Errorf("process %d's log %q, want %q", i, got, want)
		}
	}
	var shown struct {
		Distribution map[string]any `json:"distribution"`
		Resources    map[string]any `json:"resources"`
	}
	if err := json.Unmarshal([]byte(e.ok("job", "show", "--name", name, "-o", "json").out), &shown); err != nil {
		t.Fatal(err)
	}
	if d := shown.Distribution; d["type"] != "pytorch" || d["process_count_per_instance"] != 2.0 || shown.Resources["instance_count"] != 2.0 {
		t.Errorf("job show: distribution %v, resources %v", d, shown.Resources)
	}

	e.write("tf.yml", `type: command
code: src
command: python tf.py ${{outputs.out}}
environment: {image: python}
outputs:
  out: {type: uri_folder}
distribution: {type: tensorflow, worker_count: 2, parameter_server_count: 1}
`)
	r = e.ok("job", "create", "--file", "tf.yml", "--stream")
	out = downloadOutput(t, e, runIDLine.FindStringSubmatch(r.out)[1], "out")
	entries, _ := os.ReadDir(out)
	var names []string
	for _, en := range entries {
		names = append(names, en.Name())
	}
	sort.Strings(names)
	if strings.Join(names, " ") != "ps_0.json worker_0.json worker_1.json" {
		t.Fatalf("TF_CONFIG files: %v", names)
	}
	var cfg struct{ Cluster map[string][]string }
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(out, "worker_1.json"))), &cfg); err != nil || len(cfg.Cluster["worker"]) != 2 || len(cfg.Cluster["ps"]) != 1 {
		t.Errorf("TF_CONFIG cluster: %+v, %v", cfg.Cluster, err)
	}

	// mpi: the processes are mpirun's (scripts/openmpi.sh installs it).
	if _, err := exec.LookPath("mpirun"); err != nil && os.Getenv("CI") != "true" {
		t.Log("no mpirun here (scripts/openmpi.sh install): the mpi job is not run")
	} else {
		e.write("mpi.yml", `type: command
command: echo "rank $OMPI_COMM_WORLD_RANK of $OMPI_COMM_WORLD_SIZE" > ${{outputs.out}}/mpi_$OMPI_COMM_WORLD_RANK.txt
environment: {image: python}
outputs:
  out: {type: uri_folder}
resources: {instance_count: 2}
distribution: {type: mpi, process_count_per_instance: 1}
`)
		r = e.ok("job", "create", "--file", "mpi.yml", "--stream")
		out = downloadOutput(t, e, runIDLine.FindStringSubmatch(r.out)[1], "out")
		if got := readFile(t, filepath.Join(out, "mpi_0.txt")) + readFile(t, filepath.Join(out, "mpi_1.txt")); got != "rank 0 of 2\nrank 1 of 2\n" {
			t.Errorf("mpi ranks: %q", got)
		}
	}

	start := time.Now()
	r = e.run("job", "create", "--file", "pytorch.yml", "--set", "environment_variables.FAIL_RANK=2", "--stream")
	if r.code == 0 || !strings.Contains(r.out, "process 2 of 4 of the distributed step exited with code 3; stopping the others") || time.Since(start) > 90*time.Second {
		t.Errorf("a failing rank: exit %d after %v:\n%s", r.code, time.Since(start), r.out)
	}
}
