package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/store"
)

// blockWriter occupies the writer goroutine until the returned func is
// called, so the test can queue requests that will share the next batch.
func blockWriter(t *testing.T, s *Store) (release func()) {
	t.Helper()
	entered, gate := make(chan struct{}), make(chan struct{})
	go func() {
		_ = s.w.do(context.Background(), func(context.Context, *sql.Tx) error {
			close(entered)
			<-gate
			return nil
		})
	}()
	<-entered
	return func() { close(gate) }
}

// waitQueued waits until n requests are queued behind the blocked writer.
func waitQueued(t *testing.T, s *Store, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); len(s.w.reqs) < n; {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests queued, want %d", len(s.w.reqs), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestGroupCommitIsolatesFailures(t *testing.T) {
	t.Parallel()
	s := openTest(t, filepath.Join(t.TempDir(), "ciel.db"))
	ctx := t.Context()
	release := blockWriter(t, s)

	// Three writes in one batch; the middle one inserts a row and then
	// fails, so its savepoint must undo the insert.
	results := make([]chan error, 3)
	for i, name := range []string{"a", "b", "c"} {
		results[i] = make(chan error, 1)
		go func() {
			results[i] <- s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
				if _, err := tx.StmtContext(ctx, s.ws.insertWorkspace).ExecContext(ctx,
					name, "", "", "", "", nil, int64(0)); err != nil {
					return err
				}
				if name == "b" {
					return errors.New("b fails")
				}
				return nil
			})
		}()
		waitQueued(t, s, i+1)
	}
	commitsBefore := s.w.commits.Load()
	release()
	for i, want := range []string{"", "b fails", ""} {
		err := <-results[i]
		if got := errString(err); got != want {
			t.Errorf("write %d: error %q, want %q", i, got, want)
		}
	}
	if n := s.w.commits.Load() - commitsBefore; n != 2 { // the blocker's, then one for all three
		t.Errorf("%d commits, want 2", n)
	}
	for name, want := range map[string]error{"a": nil, "b": store.ErrNotFound, "c": nil} {
		if _, err := s.GetWorkspace(ctx, name); !errors.Is(err, want) {
			t.Errorf("workspace %s: %v, want %v", name, err, want)
		}
	}
}

func TestCancelledQueuedWriteIsNotApplied(t *testing.T) {
	t.Parallel()
	s := openTest(t, filepath.Join(t.TempDir(), "ciel.db"))
	release := blockWriter(t, s)

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.CreateWorkspace(ctx, store.Workspace{Name: "late"}) }()
	waitQueued(t, s, 1)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled write: %v, want context.Canceled", err)
	}
	release()
	// A later write flushes the queue: the abandoned request must be skipped.
	if err := s.CreateWorkspace(t.Context(), store.Workspace{Name: "after"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetWorkspace(t.Context(), "late"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("cancelled write was applied: %v", err)
	}
}

func TestCloseFlushesQueuedWrites(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "ciel.db")
	s := openTest(t, path)
	release := blockWriter(t, s)
	done := make(chan error, 1)
	go func() { done <- s.CreateWorkspace(context.Background(), store.Workspace{Name: "queued"}) }()
	waitQueued(t, s, 1)
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	release()
	if err := <-done; err != nil {
		t.Errorf("write queued before Close: %v", err)
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	s = openTest(t, path)
	if _, err := s.GetWorkspace(t.Context(), "queued"); err != nil {
		t.Errorf("write queued before Close is missing: %v", err)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
