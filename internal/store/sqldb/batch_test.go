package sqldb

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/batch"
	"github.com/ciel-mlops/ciel/internal/store"
)

func TestBatchStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ciel.db")
	s := openTest(t, path)
	if err := s.CreateWorkspace(ctx, store.Workspace{Name: "ws"}); err != nil {
		t.Fatal(err)
	}
	keep := func(*batch.Endpoint, bool, []string) error { return nil }
	if _, err := s.PutBatchEndpoint(ctx, batch.Endpoint{Workspace: "nows", Name: "ep"}, keep); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("endpoint in a missing workspace: %v", err)
	}
	if _, err := s.PutBatchEndpoint(ctx, batch.Endpoint{Workspace: "ws", Name: "ep", Description: "d"}, keep); err != nil {
		t.Fatal(err)
	}
	// fn sees the stored endpoint and its deployments; its error comes
	// back as it is and nothing is written.
	refuse := errors.New("refused")
	_, err := s.PutBatchEndpoint(ctx, batch.Endpoint{Workspace: "ws", Name: "ep"}, func(e *batch.Endpoint, existed bool, deps []string) error {
		if !existed || e.Description != "d" || len(deps) != 0 {
			t.Errorf("fn saw %+v existed=%v deps=%v", e, existed, deps)
		}
		e.Description = "changed"
		return refuse
	})
	if err != refuse {
		t.Errorf("fn's error came back as %v", err)
	}
	if e, _ := s.GetBatchEndpoint(ctx, "ws", "ep"); e.Description != "d" {
		t.Errorf("a refused change was written: %+v", e)
	}

	setDefault := func(e *batch.Endpoint, existed bool) error {
		if e.DefaultDeployment == "" {
			e.DefaultDeployment = "a"
		}
		return nil
	}
	for _, name := range []string{"a", "b"} {
		if _, err := s.PutBatchDeployment(ctx, batch.Deployment{Workspace: "ws", Endpoint: "ep", Name: name}, setDefault); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.PutBatchDeployment(ctx, batch.Deployment{Workspace: "ws", Endpoint: "nope", Name: "a"}, setDefault); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deployment of a missing endpoint: %v", err)
	}
	if e, _ := s.GetBatchEndpoint(ctx, "ws", "ep"); e.DefaultDeployment != "a" {
		t.Errorf("default %q", e.DefaultDeployment)
	}
	if err := s.DeleteBatchDeployment(ctx, "ws", "ep", "a", func(e *batch.Endpoint, remaining []string) error {
		if len(remaining) != 1 || remaining[0] != "b" {
			t.Errorf("remaining %v", remaining)
		}
		return refuse
	}); err != refuse {
		t.Errorf("refused delete: %v", err)
	}
	if _, err := s.GetBatchDeployment(ctx, "ws", "ep", "a"); err != nil {
		t.Errorf("a refused delete deleted: %v", err)
	}
	if err := s.DeleteBatchDeployment(ctx, "ws", "ep", "zz", func(*batch.Endpoint, []string) error { return nil }); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("delete of a missing deployment: %v", err)
	}

	t0 := time.Now()
	for i, r := range []batch.JobRecord{{Deployment: "a", Job: "j1"}, {Deployment: "b", Job: "j2"}, {Deployment: "a", Job: "j3"}} {
		r.Workspace, r.Endpoint, r.CreatedAt = "ws", "ep", t0.Add(time.Duration(i)*time.Second)
		if err := s.AddBatchJob(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RemoveBatchJob(ctx, "ws", "j2"); err != nil {
		t.Fatal(err)
	}
	jobs, err := s.ListBatchJobs(ctx, "ws", "ep", "")
	if err != nil || len(jobs) != 2 || jobs[0].Job != "j3" || jobs[1].Job != "j1" {
		t.Errorf("jobs newest first: %+v, %v", jobs, err)
	}
	if jobs, _ := s.ListBatchJobs(ctx, "ws", "ep", "b"); len(jobs) != 0 {
		t.Errorf("jobs of b: %+v", jobs)
	}

	// Durable across a reopen; the endpoint's deletion takes its
	// deployments and records.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openTest(t, path)
	if deps, err := s2.ListBatchDeployments(ctx, "ws", "ep"); err != nil || len(deps) != 2 {
		t.Fatalf("after reopen: %+v, %v", deps, err)
	}
	if err := s2.DeleteBatchEndpoint(ctx, "ws", "ep"); err != nil {
		t.Fatal(err)
	}
	deps, _ := s2.ListBatchDeployments(ctx, "ws", "ep")
	jobs, _ = s2.ListBatchJobs(ctx, "ws", "ep", "")
	if len(deps) != 0 || len(jobs) != 0 {
		t.Errorf("outlived their endpoint: %v %v", deps, jobs)
	}
	if eps, err := s2.ListBatchEndpoints(ctx, "nows"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("list in a missing workspace: %v, %v", eps, err)
	}
}
