// Package regtracking connects the model registry to experiment tracking:
// it adapts a tracking store to registry.Tracking, so versions can be made
// from runs:/ and models:/<model_id> sources and name the run and job step
// that produced them. It is its own package so that the registry builds
// and tests without tracking.
package regtracking

import (
	"context"
	"errors"
	"fmt"

	"github.com/ciel-mlops/ciel/internal/registry"
	"github.com/ciel-mlops/ciel/internal/store"
	"github.com/ciel-mlops/ciel/internal/tracking"
)

// TrackingReader is the part of a tracking.Store the registry reads; see
// tracking.Store for the contract. store/sqldb implements it.
type TrackingReader interface {
	// GetRun returns a run with its tags and model outputs; an error
	// wrapping store.ErrNotFound when ws has no such run.
	GetRun(ctx context.Context, ws, runID string) (tracking.Run, error)
	// GetLoggedModel returns a logged model; an error wrapping
	// store.ErrNotFound when ws has no such model (or it was deleted).
	GetLoggedModel(ctx context.Context, ws, id string) (tracking.LoggedModel, error)
	// JobRuns lists the runs linked to a job's steps; empty when none.
	JobRuns(ctx context.Context, ws, job string) ([]tracking.JobRun, error)
}

// New adapts a tracking store to what the registry needs: the result
// implements registry.Tracking, registry.StepRuns, registry.RunOrigins and
// registry.RunModels.
func New(ts TrackingReader) registry.Tracking { return trackingAdapter{ts} }

type trackingAdapter struct{ ts TrackingReader }

var (
	_ registry.StepRuns   = trackingAdapter{}
	_ registry.RunOrigins = trackingAdapter{}
	_ registry.RunModels  = trackingAdapter{}
)

// trackingErr turns tracking's not-found into the store sentinel.
func trackingErr(err error) error {
	var te *tracking.Error
	if errors.As(err, &te) && te.Code == tracking.CodeResourceDoesNotExist && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%s: %w", te.Message, store.ErrNotFound)
	}
	return err
}

// RunArtifactURI returns a run's artifact root.
func (a trackingAdapter) RunArtifactURI(ctx context.Context, ws, runID string) (string, error) {
	r, err := a.ts.GetRun(ctx, ws, runID)
	if err != nil {
		return "", fmt.Errorf("run %s: %w", runID, trackingErr(err))
	}
	return r.Info.ArtifactURI, nil
}

// LoggedModel returns where a logged model's files are and its run.
func (a trackingAdapter) LoggedModel(ctx context.Context, ws, modelID string) (string, string, error) {
	m, err := a.ts.GetLoggedModel(ctx, ws, modelID)
	if err != nil {
		return "", "", fmt.Errorf("logged model %s: %w", modelID, trackingErr(err))
	}
	return m.ArtifactURI, m.SourceRunID, nil
}

// StepRunID returns the run linked to a job's step.
func (a trackingAdapter) StepRunID(ctx context.Context, ws, job, step string) (string, error) {
	runs, err := a.ts.JobRuns(ctx, ws, job)
	if err != nil {
		return "", trackingErr(err)
	}
	for _, jr := range runs {
		if jr.Step == step {
			return jr.RunID, nil
		}
	}
	return "", nil
}

// RunStep returns the job and step a run tracked, from its ciel.job and
// ciel.step tags.
func (a trackingAdapter) RunStep(ctx context.Context, ws, runID string) (string, string, error) {
	r, err := a.ts.GetRun(ctx, ws, runID)
	if err != nil {
		return "", "", trackingErr(err)
	}
	return r.Tag(tracking.TagCielJob), r.Tag(tracking.TagCielStep), nil
}

// RunLoggedModel returns the logged model named name that a run produced,
// the one at the highest step when there are several.
func (a trackingAdapter) RunLoggedModel(ctx context.Context, ws, runID, name string) (string, error) {
	r, err := a.ts.GetRun(ctx, ws, runID)
	if err != nil {
		return "", fmt.Errorf("run %s: %w", runID, trackingErr(err))
	}
	best, bestStep := "", int64(-1)
	for _, out := range r.ModelOutputs {
		m, err := a.ts.GetLoggedModel(ctx, ws, out.ModelID)
		if err != nil {
			continue // deleted since
		}
		if m.Name == name && out.Step >= bestStep {
			best, bestStep = m.ModelID, out.Step
		}
	}
	if best == "" {
		return "", fmt.Errorf("run %s logged no model named %q: %w", runID, name, store.ErrNotFound)
	}
	return best, nil
}
