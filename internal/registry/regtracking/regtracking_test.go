package regtracking

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/ciel-mlops/ciel/internal/registry"
	"github.com/ciel-mlops/ciel/internal/store"
	"github.com/ciel-mlops/ciel/internal/store/sqldb"
	"github.com/ciel-mlops/ciel/internal/tracking"
)

// The server hands its sqlite store to New; this keeps that possible.
var _ TrackingReader = (*sqldb.Store)(nil)

// fakeReader knows one run, its logged models and one job.
type fakeReader struct{}

func (fakeReader) GetRun(_ context.Context, _, id string) (tracking.Run, error) {
	if id != "r1" {
		return tracking.Run{}, tracking.Errorf(tracking.CodeResourceDoesNotExist, "Run with id=%s not found", id)
	}
	return tracking.Run{
		Info: tracking.RunInfo{RunID: "r1", ArtifactURI: "mlflow-artifacts:/1/r1/artifacts"},
		Tags: []tracking.Tag{{Key: tracking.TagCielJob, Value: "j"}, {Key: tracking.TagCielStep, Value: "train"}},
		ModelOutputs: []tracking.ModelOutput{
			{ModelID: "m-old", Step: 0}, {ModelID: "m-new", Step: 5}, {ModelID: "m-other", Step: 9}, {ModelID: "m-gone", Step: 7},
		},
	}, nil
}

func (fakeReader) GetLoggedModel(_ context.Context, _, id string) (tracking.LoggedModel, error) {
	names := map[string]string{"m-old": "model", "m-new": "model", "m-other": "other"}
	name, ok := names[id]
	if !ok {
		return tracking.LoggedModel{}, fmt.Errorf("logged model %s: %w", id, store.ErrNotFound)
	}
	return tracking.LoggedModel{ModelID: id, Name: name, ArtifactURI: "mlflow-artifacts:/1/models/" + id + "/artifacts", SourceRunID: "r1"}, nil
}

func (fakeReader) JobRuns(context.Context, string, string) ([]tracking.JobRun, error) {
	return []tracking.JobRun{{Job: "j", Step: "", RunID: "parent"}, {Job: "j", Step: "train", RunID: "r1"}}, nil
}

func TestAdapter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tr := New(fakeReader{})
	if uri, err := tr.RunArtifactURI(ctx, "ws", "r1"); err != nil || uri != "mlflow-artifacts:/1/r1/artifacts" {
		t.Errorf("RunArtifactURI = %q, %v", uri, err)
	}
	if _, err := tr.RunArtifactURI(ctx, "ws", "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RunArtifactURI of a missing run: %v, want store.ErrNotFound", err)
	}
	if uri, run, err := tr.LoggedModel(ctx, "ws", "m-new"); err != nil || run != "r1" || uri == "" {
		t.Errorf("LoggedModel = %q, %q, %v", uri, run, err)
	}
	if id, err := tr.(registry.StepRuns).StepRunID(ctx, "ws", "j", "train"); err != nil || id != "r1" {
		t.Errorf("StepRunID = %q, %v", id, err)
	}
	if id, err := tr.(registry.StepRuns).StepRunID(ctx, "ws", "j", "other"); err != nil || id != "" {
		t.Errorf("StepRunID of an untracked step = %q, %v", id, err)
	}
	if job, step, err := tr.(registry.RunOrigins).RunStep(ctx, "ws", "r1"); err != nil || job != "j" || step != "train" {
		t.Errorf("RunStep = %q, %q, %v", job, step, err)
	}
	rm := tr.(registry.RunModels)
	tests := []struct {
		name, want string
		err        error
	}{
		{"model", "m-new", nil},
		{"other", "m-other", nil},
		{"missing", "", store.ErrNotFound},
	}
	for _, tt := range tests {
		id, err := rm.RunLoggedModel(ctx, "ws", "r1", tt.name)
		if id != tt.want || !errors.Is(err, tt.err) && (tt.err != nil || err != nil) {
			t.Errorf("RunLoggedModel(%q) = %q, %v; want %q, %v", tt.name, id, err, tt.want, tt.err)
		}
	}
}
