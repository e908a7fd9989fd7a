package cicd_test

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/cicd"
	"github.com/ciel-mlops/ciel/internal/cicd/agent"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Set(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t, _ = time.Parse(time.RFC3339, s)
}

const scheduledYAML = `trigger: none
schedules:
  - cron: "* * * * *"
    displayName: every minute when main changed
    branches:
      include: [main]
  - cron: "0 3 * * *"
    displayName: nightly
    branches:
      include: [main]
    always: true
steps:
  - checkout: none
  - script: echo scheduled
`

// TestSchedulesFireOnceAcrossRestarts runs schedules against a real store
// and git host with a clock the test moves: each time fires once, always:
// false skips an unchanged branch, a server that was down fires once for
// what it missed, and the service's own ticker fires.
func TestSchedulesFireOnceAcrossRestarts(t *testing.T) {
	svc, b := setup(t)
	svc.Close() // replaced below by services on the test's clock
	clock := &fakeClock{}
	clock.Set("2026-01-01T00:00:30Z")
	newService := func() *cicd.Service {
		s, err := cicd.New(cicd.Config{Store: b.store, Repos: b.host, Dir: filepath.Join(b.dir, "cicd"), Now: clock.Now,
			ScheduleTick: 10 * time.Millisecond, Agent: agent.Config{Minute: 200 * time.Millisecond, KillGrace: 200 * time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		return s
	}
	ctx := t.Context()
	svc = newService()
	b.push(t, "app", map[string]string{"azure-pipelines.yml": scheduledYAML})
	if _, err := svc.CreatePipeline(ctx, cicd.Pipeline{Workspace: "ws", Name: "p", Repository: "app"}); err != nil {
		t.Fatal(err)
	}
	states, err := b.store.ListSchedules(ctx, "ws", "p")
	if err != nil || len(states) != 2 {
		t.Fatalf("states after create: %+v %v", states, err)
	}
	runs := func() []cicd.Run {
		t.Helper()
		rs, err := b.store.ListRuns(ctx, "ws", "p", 0)
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}
	fire := func(at string, wantRuns int) {
		t.Helper()
		clock.Set(at)
		if err := svc.FireSchedules(ctx); err != nil {
			t.Fatalf("at %s: %v", at, err)
		}
		if got := len(runs()); got != wantRuns {
			t.Fatalf("at %s: %d runs, want %d", at, got, wantRuns)
		}
	}
	fire("2026-01-01T00:00:59Z", 0)
	fire("2026-01-01T00:01:00Z", 1)
	fire("2026-01-01T00:01:30Z", 1) // the 00:01 time fired already
	r := runs()[0]
	if r.Reason != cicd.ReasonSchedule || r.SourceBranch != "refs/heads/main" {
		t.Errorf("scheduled run: %+v", r)
	}
	if done, log := b.wait(t, svc, r.ID); done.Result != cicd.ResultSucceeded {
		t.Fatalf("scheduled run %+v\n%s", done, log)
	}
	fire("2026-01-01T00:02:00Z", 1) // always: false, main unchanged

	// The server stops at 00:02:30; main changes; it starts again at
	// 05:30. The minute schedule fires once for the 203 times it missed,
	// the nightly once for 03:00.
	svc.Close()
	b.push(t, "app", map[string]string{"azure-pipelines.yml": scheduledYAML, "data.csv": "x\n"})
	svc = newService()
	fire("2026-01-01T05:30:00Z", 3)
	fire("2026-01-01T05:30:10Z", 3)
	for _, st := range mustStates(t, b) {
		want := map[string]string{"* * * * *": "2026-01-01T05:31:00Z", "0 3 * * *": "2026-01-02T03:00:00Z"}[st.Cron]
		if st.NextFire.Format(time.RFC3339) != want {
			t.Errorf("%q fires next at %s, want %s", st.Cron, st.NextFire.Format(time.RFC3339), want)
		}
	}

	// The service's own ticker fires what is due.
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	clock.Set("2026-01-02T03:00:00Z")
	deadline := time.Now().Add(10 * time.Second)
	for len(runs()) != 4 {
		if time.Now().After(deadline) {
			t.Fatalf("the ticker started no run: %d runs", len(runs()))
		}
		time.Sleep(20 * time.Millisecond)
	}

	// A commit without schedules removes them.
	b.push(t, "app", map[string]string{"azure-pipelines.yml": "trigger: none\nsteps:\n  - script: echo hi\n"})
	head, err := b.host.Resolve(ctx, "ws", "app", "refs/heads/main")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := b.store.GetPipeline(ctx, "ws", "p")
	if err := svc.SyncSchedules(ctx, p, "refs/heads/main", head); err != nil {
		t.Fatal(err)
	}
	if sts := mustStates(t, b); len(sts) != 0 {
		t.Errorf("states after the schedules were removed: %+v", sts)
	}
}

func mustStates(t *testing.T, b testBundle) []cicd.ScheduleState {
	t.Helper()
	sts, err := b.store.ListSchedules(t.Context(), "ws", "p")
	if err != nil {
		t.Fatal(err)
	}
	return sts
}
