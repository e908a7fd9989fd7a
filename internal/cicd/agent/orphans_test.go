package agent

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"
)

// group is a process started as the leader of its own group, waited for
// once (two Waits on one Cmd race).
type group struct {
	*exec.Cmd
	done chan struct{}
}

// startGroup starts sleep 60 as the leader of its own process group.
func startGroup(t *testing.T) group {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	g := group{Cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(g.done) }()
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); <-g.done })
	return g
}

// exited reports whether g ends within d.
func exited(g group, d time.Duration) bool {
	select {
	case <-g.done:
		return true
	case <-time.After(d):
		return false
	}
}

func TestKillOrphans(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	groups := filepath.Join(t.TempDir(), "groups")
	old, err := New(Config{Dir: t.TempDir(), GroupsDir: groups})
	if err != nil {
		t.Fatal(err)
	}
	orphan, stranger := startGroup(t), startGroup(t)
	old.recordGroup(orphan.Process.Pid)
	// A record whose leader started at another time: the id was reused.
	if err := os.WriteFile(filepath.Join(groups, "1"), []byte("0"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(old.groupFile(stranger.Process.Pid), []byte("1"), 0o600); err != nil {
		t.Fatal(err)
	}

	next, err := New(Config{Dir: t.TempDir(), GroupsDir: groups})
	if err != nil {
		t.Fatal(err)
	}
	killed, err := next.KillOrphans()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(killed, []int{orphan.Process.Pid}) {
		t.Errorf("KillOrphans killed %v, want [%d]", killed, orphan.Process.Pid)
	}
	if !exited(orphan, 5*time.Second) {
		t.Error("the orphaned group still runs")
	}
	if exited(stranger, 200*time.Millisecond) {
		t.Error("a group whose leader is another process was killed")
	}
	if ents, _ := os.ReadDir(groups); len(ents) != 0 {
		t.Errorf("records left: %v", ents)
	}
}

// A job that ends forgets the groups it recorded.
func TestGroupsForgottenWhenJobEnds(t *testing.T) {
	groups := filepath.Join(t.TempDir(), "groups")
	tb := setup(t, Config{GroupsDir: groups})
	res := tb.run(t, t.Context(), Job{}, "steps:\n  - script: sleep 0.1 &\n")
	if res.Status != StatusSucceeded {
		t.Fatalf("job %s\n%s", res.Status, tb.log.String())
	}
	if ents, _ := os.ReadDir(groups); len(ents) != 0 {
		t.Errorf("records left after the job: %v", ents)
	}
}
