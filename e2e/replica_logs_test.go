package e2e

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// gatedPipeline is a pipeline whose step a logs and ends, and whose step b
// logs "b waits", then waits for the file gate, then logs "b passed". Each
// gate makes a pipeline whose step a is not reused from another's.
func gatedPipeline(gate string) string {
	return `
type: pipeline
jobs:
  a:
    type: command
    outputs: {o: {type: uri_folder}}
    command: echo "a says hello" && echo "a done" && test -n "` + gate + `"
  b:
    type: command
    inputs: {after: "${{parent.jobs.a.outputs.o}}"}
    command: >-
      echo "b waits" && while [ ! -e ` + gate + ` ]; do sleep 0.2; done && echo "b passed"
`
}

// stepLog GETs a step's log from e's server with token; the status and
// body.
func stepLog(t *testing.T, e *env, token, job, step string) (int, string) {
	t.Helper()
	url, _ := e.server()
	req, err := http.NewRequest(http.MethodGet, url+"/api/v1/workspaces/ws/jobs/"+job+"/logs?step="+step, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestReplicaLogs: of two servers sharing one database and one bucket
// (with a token, which a server forwards as the caller's), a job run on A
// is streamed and read from B: live while its step runs on A, after its
// end, and after A is killed with SIGKILL (a finished step's log is in
// the bucket). A job A was running when it died is taken over by B, whose
// stream and logs then show the step's run there.
func TestReplicaLogs(t *testing.T) {
	t.Parallel()
	const token = "replica-logs-token"
	rs := replicas(t, 2, "6s", "CIEL_TOKEN="+token)
	a, b := rs[0], rs[1]
	gate1, gate2 := filepath.Join(t.TempDir(), "gate"), filepath.Join(t.TempDir(), "gate")
	a.write("p1.yml", gatedPipeline(gate1))
	a.write("p2.yml", gatedPipeline(gate2))
	j1, j2 := a.submit("p1.yml"), a.submit("p2.yml")

	// Live: B streams the job A runs, while b waits on A.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	stream := exec.CommandContext(ctx, cielBin, "job", "stream", "--name", j1)
	stream.Dir, stream.Env = b.dir, b.environ()
	var out syncBuffer
	stream.Stdout, stream.Stderr = &out, &out
	if err := stream.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "B's stream to show the live log of b running on A", time.Minute, func() bool {
		return strings.Contains(out.String(), "[b] b waits")
	})
	if s := out.String(); !strings.Contains(s, "[a] a says hello") || strings.Contains(s, "b passed") {
		t.Fatalf("B's stream while b waits:\n%s", s)
	}
	if code, body := stepLog(t, b, token, j1, "b"); code != http.StatusOK || body != "b waits\n" {
		t.Fatalf("B's GET logs of b running on A: %d %q", code, body)
	}
	if code, _ := stepLog(t, b, "wrong-token", j1, "b"); code != http.StatusUnauthorized {
		t.Fatalf("B's GET logs with a wrong token: %d, want 401", code)
	}
	if err := os.WriteFile(gate1, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := stream.Wait(); err != nil {
		t.Fatalf("B's stream: %v\n%s", err, out.String())
	}
	for _, want := range []string{"[a] a says hello\n", "[a] a done\n", "[b] b waits\n", "[b] b passed\n", "[b] status: Completed\n"} {
		if n := strings.Count(out.String(), want); n != 1 {
			t.Errorf("B's stream has %q %d times, want once:\n%s", want, n, out.String())
		}
	}
	if code, body := stepLog(t, b, token, j1, "b"); code != http.StatusOK || body != "b waits\nb passed\n" {
		t.Errorf("B's GET logs of b ended on A: %d %q", code, body)
	}

	// A dies with j2's b waiting on it: what A finished is read from the
	// bucket at once, before B takes j2 over.
	waitFor(t, "j2's b to wait on A", time.Minute, func() bool {
		code, body := stepLog(t, b, token, j2, "b")
		return code == http.StatusOK && body == "b waits\n"
	})
	_, pid := a.server()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "A to die", 10*time.Second, func() bool { return !alive(pid) })
	for _, c := range []struct{ job, step, want string }{
		{j1, "a", "a says hello\na done\n"},
		{j1, "b", "b waits\nb passed\n"},
		{j2, "a", "a says hello\na done\n"},
	} {
		if code, body := stepLog(t, b, token, c.job, c.step); code != http.StatusOK || body != c.want {
			t.Errorf("B's GET logs of %s step %s after A died: %d %q, want %q", c.job, c.step, code, body, c.want)
		}
	}
	if r := b.ok("job", "stream", "--name", j1); !strings.Contains(r.out, "[a] a says hello\n") || !strings.Contains(r.out, "[b] b passed\n") {
		t.Errorf("B's stream of %s after A died:\n%s", j1, r.out)
	}
	// B takes j2 over and runs b again from its start.
	if err := os.WriteFile(gate2, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if j := b.wait(j2, 2*time.Minute); j.Status != "Completed" {
		t.Fatalf("%s ended %s on B: %s", j2, j.Status, j.Error)
	}
	if code, body := stepLog(t, b, token, j2, "b"); code != http.StatusOK || !strings.HasSuffix(body, "b passed\n") {
		t.Errorf("B's GET logs of %s step b, rerun on B: %d %q", j2, code, body)
	}
	if r := b.ok("job", "stream", "--name", j2); !strings.Contains(r.out, "[a] a says hello\n") || !strings.Contains(r.out, "[b] b passed\n") {
		t.Errorf("B's stream of %s after it ended on B:\n%s", j2, r.out)
	}
}
