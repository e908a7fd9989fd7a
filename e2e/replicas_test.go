package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/dbtest"
	"github.com/ciel-mlops/ciel/internal/s3test"
)

// replicas starts n ciel servers, each on a home of its own, sharing one
// PostgreSQL database and one S3 bucket, with short job leases; extra
// KEY=VALUE variables go to every server and command.
func replicas(t *testing.T, n int, lease string, extra ...string) []*env {
	t.Helper()
	srv := s3test.Shared(t)
	key, secret := srv.Keys()
	shared := []string{"CIEL_STORE=" + dbtest.Postgres(t).URL,
		"CIEL_BLOB=s3://" + srv.Bucket(t) + "?endpoint=" + srv.Endpoint,
		"AWS_ACCESS_KEY_ID=" + key, "AWS_SECRET_ACCESS_KEY=" + secret, "CIEL_JOB_LEASE=" + lease}
	shared = append(shared, extra...)
	var out []*env
	for range n {
		e := &env{t: t, home: t.TempDir(), dir: t.TempDir(), vars: shared}
		e.startServer()
		out = append(out, e)
	}
	out[0].ok("workspace", "create", "--name", "ws")
	for _, e := range out {
		e.ok("configure", "--defaults", "workspace=ws")
	}
	return out
}

// replicaPipeline is a three-step pipeline whose steps log to dir/log; its
// middle step b sleeps on its first attempt (writing its pid to
// dir/first), so a server can be killed while it runs.
func replicaPipeline(dir string) string {
	log, first := filepath.Join(dir, "log"), filepath.Join(dir, "first")
	return `
type: pipeline
jobs:
  a:
    type: command
    outputs: {o: {type: uri_folder}}
    command: echo "start a" >> ` + log + ` && echo data > ${{outputs.o}}/d.txt && echo "done a" >> ` + log + `
  b:
    type: command
    inputs: {i: "${{parent.jobs.a.outputs.o}}"}
    outputs: {o: {type: uri_folder}}
    command: >-
      echo "start b $$" >> ` + log + ` &&
      if [ ! -e ` + first + ` ]; then echo $$ > ` + first + `; sleep 900; fi &&
      cp ${{inputs.i}}/d.txt ${{outputs.o}}/d.txt && echo "done b" >> ` + log + `
  c:
    type: command
    inputs: {i: "${{parent.jobs.b.outputs.o}}"}
    command: echo "start c" >> ` + log + ` && cat ${{inputs.i}}/d.txt && echo "done c" >> ` + log + `
`
}

// TestReplicaKilledMidPipeline: of three servers on one database (6 s job
// leases), one is killed with SIGKILL while it runs two pipelines and
// another runs one, each mid-step. The survivors take the dead server's jobs over when their
// leases end and finish every pipeline: the steps that had completed do
// not run again, a step that was running on the dead server is killed (not
// left running beside its rerun) and runs once more, and every step
// completes exactly once. The steps' data goes between servers through S3.
func TestReplicaKilledMidPipeline(t *testing.T) {
	t.Parallel()
	// A lease a loaded machine renews in time (every 2 s): with 2 s, a
	// CI run under -race once let a live server's job go to another.
	rs := replicas(t, 3, "6s")
	type pipeline struct {
		dir, name string
		on        int // the server it was submitted to
	}
	var ps []pipeline
	for i, on := range []int{0, 0, 1} { // within the default compute's two slots each
		dir := t.TempDir()
		rs[on].write(fmt.Sprintf("p%d.yml", i), replicaPipeline(dir))
		ps = append(ps, pipeline{dir: dir, name: rs[on].submit(fmt.Sprintf("p%d.yml", i)), on: on})
	}
	firstPID := func(p pipeline) int {
		b, err := os.ReadFile(filepath.Join(p.dir, "first"))
		if err != nil {
			return 0
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		return pid
	}
	waitFor(t, "every pipeline's step b to start", 3*time.Minute, func() bool {
		for _, p := range ps {
			if firstPID(p) == 0 {
				return false
			}
		}
		return true
	})
	time.Sleep(500 * time.Millisecond) // b's process groups recorded
	_, pid := rs[0].server()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the killed server to die", 10*time.Second, func() bool { return !alive(pid) })
	killed := time.Now()
	// The dead server's pipelines finish elsewhere; the live server's own
	// still sleep in b, untouched, until the test kills those sleeps.
	for _, p := range ps[:2] {
		if j := rs[1].wait(p.name, 2*time.Minute); j.Status != "Completed" {
			t.Fatalf("%s ended %s on the surviving servers: %s", p.name, j.Status, j.Error)
		}
	}
	t.Logf("the dead server's 2 pipelines taken over and finished %s after the kill", time.Since(killed).Round(100*time.Millisecond))
	for _, p := range ps[2:] {
		if err := syscall.Kill(-firstPID(p), syscall.SIGKILL); err != nil { // its process group
			t.Fatal(err)
		}
	}
	for _, p := range ps {
		j := rs[2].wait(p.name, 2*time.Minute)
		out, _ := os.ReadFile(filepath.Join(p.dir, "log"))
		text := string(out)
		if p.on == 1 {
			// Not taken over: b's first attempt was killed by the test,
			// so it failed, and c never ran.
			if j.Status != "Failed" || strings.Count(text, "start b") != 1 || strings.Contains(text, "start c") {
				t.Errorf("%s on a live server: %s, log:\n%s", p.name, j.Status, text)
			}
			continue
		}
		if pid := firstPID(p); alive(pid) {
			t.Errorf("%s: b's first attempt (pid %d) still runs beside its rerun", p.name, pid)
		}
		for _, step := range []string{"a", "b", "c"} {
			if n := strings.Count(text, "done "+step); n != 1 {
				t.Errorf("%s: step %s completed %d times:\n%s", p.name, step, n, text)
			}
		}
		if n := strings.Count(text, "start a"); n != 1 {
			t.Errorf("%s: step a, completed before the kill, ran %d times:\n%s", p.name, n, text)
		}
		if n := strings.Count(text, "start b"); n != 2 {
			t.Errorf("%s: step b started %d times, want 2 (killed with its server, then once more):\n%s", p.name, n, text)
		}
	}
}
