package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/dbtest"
	"github.com/ciel-mlops/ciel/internal/s3test"
)

// replicas starts n ciel servers, each on a home of its own, sharing one
// PostgreSQL database and one S3 bucket, with short job leases.
func replicas(t *testing.T, n int, lease string) []*env {
	t.Helper()
	srv := s3test.Shared(t)
	key, secret := srv.Keys()
	shared := []string{"CIEL_STORE=" + dbtest.Postgres(t).URL,
		"CIEL_BLOB=s3://" + srv.Bucket(t) + "?endpoint=" + srv.Endpoint,
		"AWS_ACCESS_KEY_ID=" + key, "AWS_SECRET_ACCESS_KEY=" + secret, "CIEL_JOB_LEASE=" + lease}
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

// TestReplicaKilledMidPipeline: of three servers on one database, the one
// running a pipeline is killed with SIGKILL mid-step. Another takes the job
// over when its lease ends and finishes it: the steps that had completed do
// not run again, the step that was running is killed on its old server (not
// left running beside its rerun) and runs once more, and every step
// completes exactly once. The steps' data goes between servers through S3.
func TestReplicaKilledMidPipeline(t *testing.T) {
	t.Parallel()
	rs := replicas(t, 3, "2s")
	marks := t.TempDir()
	log := filepath.Join(marks, "log")
	first := filepath.Join(marks, "slow-first-attempt")
	rs[0].write("p.yml", `
type: pipeline
jobs:
  a:
    type: command
    outputs: {o: {type: uri_folder}}
    command: echo "start a" >> `+log+` && echo data > ${{outputs.o}}/d.txt && echo "done a" >> `+log+`
  b:
    type: command
    inputs: {i: "${{parent.jobs.a.outputs.o}}"}
    outputs: {o: {type: uri_folder}}
    command: >-
      echo "start b $$" >> `+log+` &&
      if [ ! -e `+first+` ]; then echo $$ > `+first+`; sleep 120; fi &&
      cp ${{inputs.i}}/d.txt ${{outputs.o}}/d.txt && echo "done b" >> `+log+`
  c:
    type: command
    inputs: {i: "${{parent.jobs.b.outputs.o}}"}
    command: echo "start c" >> `+log+` && cat ${{inputs.i}}/d.txt && echo "done c" >> `+log+`
`)
	name := rs[0].submit("p.yml")
	waitFor(t, "step b to start", 2*time.Minute, func() bool { _, err := os.Stat(first); return err == nil })
	time.Sleep(500 * time.Millisecond) // b's process group recorded
	b, _ := os.ReadFile(first)
	orphan := 0
	for _, c := range strings.TrimSpace(string(b)) {
		orphan = orphan*10 + int(c-'0')
	}
	_, pid := rs[0].server()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the killed server to die", 10*time.Second, func() bool { return !alive(pid) })
	killed := time.Now()

	j := rs[1].wait(name, 2*time.Minute)
	if j.Status != "Completed" {
		t.Fatalf("the job ended %s on the surviving servers: %s", j.Status, j.Error)
	}
	t.Logf("taken over and finished %s after the kill", time.Since(killed).Round(100*time.Millisecond))
	if orphan > 0 && alive(orphan) {
		t.Errorf("b's first attempt (pid %d) still runs beside its rerun", orphan)
	}
	out, _ := os.ReadFile(log)
	text := string(out)
	for _, step := range []string{"a", "b", "c"} {
		if n := strings.Count(text, "done "+step); n != 1 {
			t.Errorf("step %s completed %d times:\n%s", step, n, text)
		}
	}
	if n := strings.Count(text, "start a"); n != 1 {
		t.Errorf("step a, completed before the kill, ran %d times:\n%s", n, text)
	}
	if n := strings.Count(text, "start b"); n != 2 {
		t.Errorf("step b started %d times, want 2 (killed with its server, then once more):\n%s", n, text)
	}
	// Every server answers for the job, and its last step's output is there.
	for _, e := range rs[1:] {
		if got := e.show(name); got.Status != "Completed" {
			t.Errorf("%s: job %s", e.home, got.Status)
		}
	}
}
