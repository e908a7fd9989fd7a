// Package servingtest is the conformance suite of serving.Store: every
// backend runs Run against a fresh store, so they all keep endpoints and
// deployments the same way.
package servingtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/serving"
	"github.com/ciel-mlops/ciel/internal/spec"
	"github.com/ciel-mlops/ciel/internal/store"
)

// Factory returns a fresh, empty store with workspaces "ws" and "ws2".
type Factory func(t *testing.T) serving.Store

// Run runs the suite against stores from newStore.
func Run(t *testing.T, newStore Factory) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s serving.Store)
	}{
		{"endpoints", testEndpoints},
		{"endpoint names are unique per server", testUniqueNames},
		{"update endpoint", testUpdateEndpoint},
		{"deployments", testDeployments},
		{"delete endpoint deletes its deployments", testCascade},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, newStore(t))
		})
	}
}

func endpoint(ws, name string) serving.Endpoint {
	now := time.Now().UTC().Truncate(time.Millisecond)
	return serving.Endpoint{Workspace: ws, Name: name, AuthMode: spec.AuthKey, PrimaryKey: "k1", SecondaryKey: "k2",
		TokenSecret: "s", State: serving.StateSucceeded, Traffic: map[string]int{"blue": 100}, CreatedAt: now, UpdatedAt: now}
}

func testEndpoints(t *testing.T, s serving.Store) {
	ctx := context.Background()
	if err := s.CreateEndpoint(ctx, endpoint("ws", "ep-b")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateEndpoint(ctx, endpoint("ws", "ep-a")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateEndpoint(ctx, endpoint("ws2", "ep-c")); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetEndpoint(ctx, "ws", "ep-b")
	if err != nil || got.PrimaryKey != "k1" || got.Traffic["blue"] != 100 || got.AuthMode != spec.AuthKey {
		t.Fatalf("GetEndpoint = %+v, %v", got, err)
	}
	list, err := s.ListEndpoints(ctx, "ws")
	if err != nil || len(list) != 2 || list[0].Name != "ep-a" || list[1].Name != "ep-b" {
		t.Fatalf("ListEndpoints(ws) = %v, %v", list, err)
	}
	if all, err := s.ListEndpoints(ctx, ""); err != nil || len(all) != 3 {
		t.Fatalf("ListEndpoints(\"\") = %d, %v", len(all), err)
	}
	if _, err := s.GetEndpoint(ctx, "ws", "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetEndpoint of a missing endpoint: %v", err)
	}
	if err := s.CreateEndpoint(ctx, endpoint("nows", "ep-d")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("CreateEndpoint in a missing workspace: %v", err)
	}
	if _, err := s.ListEndpoints(ctx, "nows"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ListEndpoints of a missing workspace: %v", err)
	}
	if err := s.DeleteEndpoint(ctx, "ws", "ep-a"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteEndpoint(ctx, "ws", "ep-a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

func testUniqueNames(t *testing.T, s serving.Store) {
	ctx := context.Background()
	if err := s.CreateEndpoint(ctx, endpoint("ws", "ep")); err != nil {
		t.Fatal(err)
	}
	for _, ws := range []string{"ws", "ws2"} {
		if err := s.CreateEndpoint(ctx, endpoint(ws, "ep")); !errors.Is(err, store.ErrConflict) {
			t.Errorf("second endpoint ep in %s: %v, want ErrConflict", ws, err)
		}
	}
}

func testUpdateEndpoint(t *testing.T, s serving.Store) {
	ctx := context.Background()
	if err := s.CreateEndpoint(ctx, endpoint("ws", "ep")); err != nil {
		t.Fatal(err)
	}
	got, err := s.UpdateEndpoint(ctx, "ws", "ep", func(e *serving.Endpoint) error {
		e.Traffic = map[string]int{"blue": 90, "green": 10}
		e.Name = "renamed" // ignored: the key stays
		return nil
	})
	if err != nil || got.Traffic["green"] != 10 || got.Name != "ep" {
		t.Fatalf("UpdateEndpoint = %+v, %v", got, err)
	}
	refused := errors.New("refused")
	if _, err := s.UpdateEndpoint(ctx, "ws", "ep", func(e *serving.Endpoint) error {
		e.Traffic = nil
		return refused
	}); err != refused {
		t.Fatalf("fn's error came back as %v", err)
	}
	if again, _ := s.GetEndpoint(ctx, "ws", "ep"); again.Traffic["green"] != 10 {
		t.Fatalf("a refused update changed the endpoint: %+v", again)
	}
	if _, err := s.UpdateEndpoint(ctx, "ws", "nope", func(*serving.Endpoint) error { return nil }); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update of a missing endpoint: %v", err)
	}
}

func deployment(name string) serving.Deployment {
	return serving.Deployment{Workspace: "ws", Endpoint: "ep", Name: name, State: serving.StateCreating,
		Spec:      spec.OnlineDeployment{Name: name, InstanceCount: 2, Model: &spec.DeploymentModel{Ref: "azureml:m:1"}},
		CreatedAt: time.Now().UTC()}
}

func testDeployments(t *testing.T, s serving.Store) {
	ctx := context.Background()
	if err := s.CreateDeployment(ctx, deployment("blue")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deployment of a missing endpoint: %v", err)
	}
	if err := s.CreateEndpoint(ctx, endpoint("ws", "ep")); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"green", "blue"} {
		if err := s.CreateDeployment(ctx, deployment(n)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateDeployment(ctx, deployment("blue")); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second blue: %v", err)
	}
	d, err := s.UpdateDeployment(ctx, "ws", "ep", "blue", func(d *serving.Deployment) error {
		d.State, d.Plan = serving.StateSucceeded, &serving.Plan{ModelDigest: "sha256:x", Script: "score.py"}
		return nil
	})
	if err != nil || d.State != serving.StateSucceeded {
		t.Fatalf("UpdateDeployment = %+v, %v", d, err)
	}
	got, err := s.GetDeployment(ctx, "ws", "ep", "blue")
	if err != nil || got.Plan == nil || got.Plan.Script != "score.py" || got.Spec.InstanceCount != 2 || got.Spec.Model.Ref != "azureml:m:1" {
		t.Fatalf("GetDeployment = %+v, %v", got, err)
	}
	list, err := s.ListDeployments(ctx, "ws", "ep")
	if err != nil || len(list) != 2 || list[0].Name != "blue" {
		t.Fatalf("ListDeployments = %v, %v", list, err)
	}
	if all, err := s.ListDeployments(ctx, "", ""); err != nil || len(all) != 2 {
		t.Fatalf("ListDeployments of every workspace = %d, %v", len(all), err)
	}
	if err := s.DeleteDeployment(ctx, "ws", "ep", "green"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetDeployment(ctx, "ws", "ep", "green"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted deployment: %v", err)
	}
}

func testCascade(t *testing.T, s serving.Store) {
	ctx := context.Background()
	if err := s.CreateEndpoint(ctx, endpoint("ws", "ep")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateDeployment(ctx, deployment("blue")); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteEndpoint(ctx, "ws", "ep"); err != nil {
		t.Fatal(err)
	}
	if list, err := s.ListDeployments(ctx, "", ""); err != nil || len(list) != 0 {
		t.Fatalf("deployments left: %v, %v", list, err)
	}
}
