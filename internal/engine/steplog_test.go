package engine_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/engine"
	"github.com/ciel-mlops/ciel/internal/engine/enginetest"
	"github.com/ciel-mlops/ciel/internal/store"
)

// replicaPair is two engines sharing one store and blob store, as servers
// sharing PostgreSQL and a bucket do, each on its own home: a runs jobs, b
// only reads them.
func replicaPair(t *testing.T) (a *enginetest.Stack, b *engine.Engine) {
	t.Helper()
	a = enginetest.NewWith(t, func(c *engine.Config) {
		c.Leases, c.Replica, c.Lease = c.Store.(engine.Leases), "host/a", time.Minute
	})
	b = engine.New(engine.Config{Home: t.TempDir(), Store: a.Store, Blobs: a.Blobs, Executor: nil,
		Leases: a.Store.(engine.Leases), Replica: "host/b", Lease: time.Minute})
	t.Cleanup(b.Close)
	return a, b
}

// TestStepLogKeptForReplicas: with a shared store, a finished step's log
// is put in the blob store and its digest recorded, so that a server that
// did not run the step (whose disk has no log file) reads and follows it,
// from any offset.
func TestStepLogKeptForReplicas(t *testing.T) {
	t.Parallel()
	a, b := replicaPair(t)
	ctx := context.Background()
	j, err := a.Engine.Submit(ctx, "ws", parse(t, t.TempDir(), "type: pipeline\njobs:\n  hi:\n    type: command\n    command: printf 'one\\ntwo'\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Engine.Follow(ctx, "ws", j.Name, &strings.Builder{}, nil, nil); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := b.Follow(ctx, "ws", j.Name, &out, nil, nil); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"[hi] one\n", "[hi] two\n", "[hi] status: Completed\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("b's stream %q lacks %q", out.String(), want)
		}
	}
	steps, err := a.Store.ListSteps(ctx, "ws", j.Name)
	if err != nil || len(steps) != 1 || !strings.HasPrefix(steps[0].Log, "sha256:") {
		t.Fatalf("steps %+v, %v: want one with its log's digest", steps, err)
	}
	job, err := a.Store.GetJob(ctx, "ws", j.Name)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		offset, limit int64
		want          string
	}{{0, 0, "one\ntwo"}, {4, 0, "two"}, {4, 2, "tw"}, {7, 0, ""}, {100, 0, ""}} {
		got, err := b.ReadStepLog(ctx, job, steps[0], tc.offset, tc.limit, nil)
		if err != nil || string(got) != tc.want {
			t.Errorf("b reads from %d (limit %d): %q, %v; want %q", tc.offset, tc.limit, got, err, tc.want)
		}
	}
}

// TestStepLogRemote: a step with no log here and none kept yet is read
// from the server that runs it, through the caller's RemoteLog, and only
// from another server.
func TestStepLogRemote(t *testing.T) {
	t.Parallel()
	_, b := replicaPair(t)
	ctx := context.Background()
	running := store.Step{Workspace: "ws", Job: "j", Name: "main", Status: engine.StatusRunning}
	var asked []string
	remote := func(_ context.Context, owner, ws, job, step string, offset, limit int64) ([]byte, error) {
		asked = append(asked, owner)
		if limit > engine.MaxLogChunk {
			t.Errorf("a remote read of %d bytes, over MaxLogChunk", limit)
		}
		return []byte("live"[offset:]), nil
	}
	for _, tc := range []struct {
		owner   string
		remote  engine.RemoteLog
		want    string
		wantErr error
	}{
		{"host/a", remote, "ve", nil},
		{"host/b", remote, "", store.ErrNotFound}, // its own: a file or nothing
		{"", remote, "", store.ErrNotFound},       // a server alone
		{"host/a", nil, "", store.ErrNotFound},
	} {
		asked = nil
		got, err := b.ReadStepLog(ctx, store.Job{Workspace: "ws", Name: "j", Owner: tc.owner}, running, 2, 0, tc.remote)
		if string(got) != tc.want || !errors.Is(err, tc.wantErr) {
			t.Errorf("owner %q: %q, %v; want %q, %v", tc.owner, got, err, tc.want, tc.wantErr)
		}
		if tc.want != "" && (len(asked) != 1 || asked[0] != tc.owner) {
			t.Errorf("owner %q: asked %v", tc.owner, asked)
		}
	}
}

// TestStepLogAloneKeepsNoBlob: a server alone keeps its logs as files only,
// writing no blob per step.
func TestStepLogAloneKeepsNoBlob(t *testing.T) {
	t.Parallel()
	e, tb := setup(t)
	ctx := context.Background()
	j, err := e.Submit(ctx, "ws", parse(t, t.TempDir(), "type: command\ncommand: echo hi\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Follow(ctx, "ws", j.Name, &strings.Builder{}, nil, nil); err != nil {
		t.Fatal(err)
	}
	steps, err := tb.st.ListSteps(ctx, "ws", j.Name)
	if err != nil || len(steps) != 1 || steps[0].Status != engine.StatusCompleted || steps[0].Log != "" {
		t.Fatalf("steps %+v, %v: want one Completed with no log blob", steps, err)
	}
}
