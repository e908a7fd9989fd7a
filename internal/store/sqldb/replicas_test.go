package sqldb

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/cicd"
	"github.com/ciel-mlops/ciel/internal/dataflow/run"
	"github.com/ciel-mlops/ciel/internal/store"
)

// openReplica opens the database of path as the server named replica.
func openReplica(t *testing.T, path, replica string) *Store {
	t.Helper()
	cfg := testConfig(t, path)
	cfg.Replica = replica
	s, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestStrandedRuns: a run left open is closed by another server only once
// its own has stopped renewing its heartbeat, by one server only, and by
// its own server when that starts again.
func TestStrandedRuns(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "ciel.db")
	a, b := openReplica(t, path, "host/a"), openReplica(t, path, "host/b")
	ctx := t.Context()
	if err := a.CreateWorkspace(ctx, store.Workspace{Name: "ws"}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, s := range []*Store{a, b} {
		if err := s.Heartbeat(ctx, now.Add(time.Minute), ""); err != nil {
			t.Fatal(err)
		}
	}
	mustPipeline(t, a.CICD(), "ws", "build")
	mustRun(t, a.CICD(), "ws", "build", cicd.StatusInProgress)
	pr := run.PipelineRun{Workspace: "ws", RunID: "r1", RunGroupID: "r1", PipelineName: "p", Status: run.StatusInProgress}
	if err := a.CreatePipelineRun(ctx, pr); err != nil {
		t.Fatal(err)
	}
	claim := func(s *Store, mine bool) string {
		t.Helper()
		runs, err := s.CICD().ClaimStrandedRuns(ctx, mine)
		if err != nil {
			t.Fatal(err)
		}
		ids, err := s.MarkStranded(ctx, "stopped", time.Now())
		if mine {
			ids, err = s.MarkInterrupted(ctx, "stopped", time.Now())
		}
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(len(runs), ids)
	}
	if got := claim(b, false); got != "0 []" {
		t.Fatalf("b closed %s of a's runs while a lives", got)
	}
	if got := claim(a, false); got != "0 []" {
		t.Fatalf("a, running on, closed %s of its own runs", got)
	}
	// a stops renewing: b closes its runs, once.
	if err := a.Heartbeat(ctx, now.Add(-time.Second), ""); err != nil {
		t.Fatal(err)
	}
	if got := claim(b, false); got != "1 [r1]" {
		t.Fatalf("b closed %s of the runs of a, which stopped; want 1 [r1]", got)
	}
	if got := claim(b, false); got != "0 []" {
		t.Fatalf("b closed %s again", got)
	}
	// A server starting again takes back its own: the CI run it created,
	// and the one it took over (the test closes neither).
	mustRun(t, b.CICD(), "ws", "build", cicd.StatusInProgress)
	if got := claim(b, true); got != "2 []" {
		t.Fatalf("b starting again claimed %s; want its 2 CI runs", got)
	}
}

// TestReplicaAddress: a server's address is found while its heartbeat is
// renewed, kept by a heartbeat that names none, and not found once the
// heartbeat has ended or for a server alone.
func TestReplicaAddress(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "ciel.db")
	a, b := openReplica(t, path, "host/a"), openReplica(t, path, "host/b")
	ctx := t.Context()
	now := time.Now()
	if _, err := b.ReplicaAddress(ctx, "host/a", now); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("address of a server never seen: err %v, want ErrNotFound", err)
	}
	if err := a.Heartbeat(ctx, now.Add(time.Minute), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := b.ReplicaAddress(ctx, "host/a", now); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("address of a server that recorded none: err %v, want ErrNotFound", err)
	}
	steps := []struct {
		addr, want string
	}{
		{"http://10.0.0.1:8080", "http://10.0.0.1:8080"},
		{"", "http://10.0.0.1:8080"}, // kept
		{"http://10.0.0.2:8080", "http://10.0.0.2:8080"},
	}
	for _, st := range steps {
		if err := a.Heartbeat(ctx, now.Add(time.Minute), st.addr); err != nil {
			t.Fatal(err)
		}
		got, err := b.ReplicaAddress(ctx, "host/a", now)
		if err != nil || got != st.want {
			t.Fatalf("after a heartbeat with %q: address %q, %v; want %q", st.addr, got, err, st.want)
		}
	}
	if _, err := b.ReplicaAddress(ctx, "host/a", now.Add(2*time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("address of a server whose heartbeat ended: err %v, want ErrNotFound", err)
	}
}
