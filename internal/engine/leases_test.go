package engine_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/engine"
	"github.com/ciel-mlops/ciel/internal/engine/enginetest"
	"github.com/ciel-mlops/ciel/internal/store"
)

// flakyLeases is a store's Leases whose renewals can be made to fail, or
// to run a hook after the renewal has read the jobs and before the engine
// sees its answer.
type flakyLeases struct {
	engine.Leases
	mu    sync.Mutex
	fail  bool
	after func()
}

func (f *flakyLeases) RenewLeases(ctx context.Context, owner string, until time.Time) ([]store.Job, error) {
	f.mu.Lock()
	fail, after := f.fail, f.after
	f.after = nil
	f.mu.Unlock()
	if fail {
		return nil, errors.New("the database does not answer")
	}
	held, err := f.Leases.RenewLeases(ctx, owner, until)
	if after != nil {
		after()
	}
	return held, err
}

func (f *flakyLeases) set(fail bool, after func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail, f.after = fail, after
}

// messages is a slog.Handler that keeps the messages logged.
type messages struct {
	mu   sync.Mutex
	msgs []string
}

func (m *messages) Enabled(context.Context, slog.Level) bool { return true }
func (m *messages) WithAttrs([]slog.Attr) slog.Handler       { return m }
func (m *messages) WithGroup(string) slog.Handler            { return m }
func (m *messages) Handle(_ context.Context, r slog.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.msgs = append(m.msgs, r.Message)
	return nil
}

// String is every message so far, one a line.
func (m *messages) String() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return strings.Join(m.msgs, "\n")
}

// leasedEngine is an engine on a shared store's leases (renewed every
// 100 ms) through a flakyLeases, logging into the returned messages.
func leasedEngine(t *testing.T) (*enginetest.Stack, *flakyLeases, *messages) {
	t.Helper()
	fl := &flakyLeases{}
	log := &messages{}
	s := enginetest.NewWith(t, func(c *engine.Config) {
		fl.Leases = c.Store.(engine.Leases)
		c.Leases, c.Replica, c.Lease = fl, "host/a", 300*time.Millisecond
		c.Logger = slog.New(log)
	})
	if err := s.Engine.Resume(context.Background()); err != nil { // starts the renewals
		t.Fatal(err)
	}
	return s, fl, log
}

// waitStatus waits up to 20 s for the job to end and returns its status.
func waitStatus(t *testing.T, st store.Store, name string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		j, err := st.GetJob(context.Background(), "ws", name)
		if err == nil && engine.Terminal(j.Status) {
			return j.Status
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("job %s did not end in 20 s", name)
	return ""
}

// TestLeaseRenewalRacesAStart: a job started after a renewal read the
// jobs, and before the engine looked at its answer, is not taken for one
// whose lease was lost (which stopped it, and left it Running for good:
// bench/cluster's steps that never ended).
func TestLeaseRenewalRacesAStart(t *testing.T) {
	t.Parallel()
	s, fl, log := leasedEngine(t)
	started := make(chan string, 1)
	fl.set(false, func() {
		j, err := s.Engine.Submit(context.Background(), "ws", parse(t, t.TempDir(), "type: command\ncommand: sleep 1\n"))
		if err != nil {
			t.Error(err)
			close(started)
			return
		}
		started <- j.Name
	})
	name, ok := <-started
	if !ok {
		return
	}
	if got := waitStatus(t, s.Store, name); got != engine.StatusCompleted {
		t.Errorf("job %s", got)
	}
	if strings.Contains(log.String(), "lost the lease") {
		t.Errorf("a job started during a renewal was stopped as lost:\n%s", log.String())
	}
}

// slowEnd is an Observer whose JobFinished waits until release is closed,
// after telling finishing: the job is recorded ended but its run is still
// the engine's.
type slowEnd struct {
	finishing chan string
	release   chan struct{}
}

func (o *slowEnd) StepStarting(context.Context, engine.StepInfo) ([]string, error) { return nil, nil }
func (o *slowEnd) StepFinished(context.Context, engine.StepInfo, string)           {}
func (o *slowEnd) JobFinished(_ context.Context, _, job, _ string) {
	o.finishing <- job
	<-o.release
}

// TestLeaseRenewalRacesAnEnd: a job recorded ended (so no renewal returns
// it any more) whose run has not yet left the engine is not taken for one
// whose lease was lost (bench/cluster's one "lost the lease" warning in
// 3,000 steps, on one server).
func TestLeaseRenewalRacesAnEnd(t *testing.T) {
	t.Parallel()
	obs := &slowEnd{finishing: make(chan string, 1), release: make(chan struct{})}
	log := &messages{}
	s := enginetest.NewWith(t, func(c *engine.Config) {
		c.Leases, c.Replica, c.Lease = c.Store.(engine.Leases), "host/a", 300*time.Millisecond
		c.Logger, c.Observer = slog.New(log), obs
	})
	if err := s.Engine.Resume(context.Background()); err != nil {
		t.Fatal(err)
	}
	j, err := s.Engine.Submit(context.Background(), "ws", parse(t, t.TempDir(), "type: command\ncommand: \"true\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := <-obs.finishing; got != j.Name {
		t.Fatalf("finishing %s, want %s", got, j.Name)
	}
	time.Sleep(500 * time.Millisecond) // renewals every 100 ms
	close(obs.release)
	if got := waitStatus(t, s.Store, j.Name); got != engine.StatusCompleted {
		t.Errorf("job %s", got)
	}
	if strings.Contains(log.String(), "lost the lease") {
		t.Errorf("a job recording its end was stopped as lost:\n%s", log.String())
	}
}

// TestLeaseOrphanResumed: renewals that fail for longer than the lease
// allows stop the engine's runs; once they succeed again the engine still
// holds those jobs, so no other server takes them, and it resumes them
// itself.
func TestLeaseOrphanResumed(t *testing.T) {
	t.Parallel()
	s, fl, log := leasedEngine(t)
	j, err := s.Engine.Submit(context.Background(), "ws", parse(t, t.TempDir(), "type: command\ncommand: sleep 2\n"))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	fl.set(true, nil)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(log.String(), "lost the lease") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(log.String(), "lost the lease") {
		t.Fatalf("failed renewals did not stop the run:\n%s", log.String())
	}
	fl.set(false, nil)
	if got := waitStatus(t, s.Store, j.Name); got != engine.StatusCompleted {
		t.Errorf("job %s", got)
	}
	if !strings.Contains(log.String(), "resuming a job this server holds but no longer runs") {
		t.Errorf("not resumed as an orphan:\n%s", log.String())
	}
}
