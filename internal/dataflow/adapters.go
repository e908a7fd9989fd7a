package dataflow

import (
	"context"
	"errors"
	"fmt"
	"github.com/ciel-mlops/ciel/internal/dataflow/activity"
	"sync"

	"github.com/ciel-mlops/ciel/internal/dataflow/files"
	"github.com/ciel-mlops/ciel/internal/dataflow/run"
	"github.com/ciel-mlops/ciel/internal/dataflow/triggers"
	"github.com/ciel-mlops/ciel/internal/datastore"
	"github.com/ciel-mlops/ciel/internal/store"
)

// RunFinder finds the pipeline run a trigger run started.
type RunFinder interface {
	// PipelineRunInvokedBy returns the earliest run of pipeline in ws
	// whose invokedBy.id is invokerID; an error matching
	// store.ErrNotFound when there is none.
	PipelineRunInvokedBy(ctx context.Context, ws, pipeline, invokerID string) (run.PipelineRun, error)
}

// TriggerStarter is the triggers.Starter over the pipeline runtime: a
// trigger run that already started its pipeline (a firing a stopped
// server left half done) gets that run back, not a second one.
type TriggerStarter struct {
	Runs Runs
	Find RunFinder
	// mu makes the look and the start one step: two calls for one trigger
	// run cannot both start.
	mu sync.Mutex
}

var _ triggers.Starter = (*TriggerStarter)(nil)

// StartRun starts pipeline for the trigger run by.ID unless it has
// already, and returns the run's id.
func (t *TriggerStarter) StartRun(ctx context.Context, ws, pipeline string, params map[string]any, by triggers.InvokedBy) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	prev, err := t.Find.PipelineRunInvokedBy(ctx, ws, pipeline, by.ID)
	switch {
	case err == nil:
		return prev.RunID, nil
	case !errors.Is(err, store.ErrNotFound):
		return "", fmt.Errorf("look for the run of trigger run %s: %w", by.ID, err)
	}
	r, err := t.Runs.StartRun(ctx, run.RunRequest{Workspace: ws, Pipeline: pipeline, Parameters: params,
		InvokedBy: run.InvokedBy{Name: by.Name, ID: by.ID, InvokedByType: by.Type}})
	if err != nil {
		return "", err
	}
	return r.RunID, nil
}

// RunStatus returns a pipeline run's status.
func (t *TriggerStarter) RunStatus(ctx context.Context, ws, runID string) (string, error) {
	r, err := t.Runs.GetRun(ctx, ws, runID)
	if err != nil {
		return "", err
	}
	return string(r.Status), nil
}

// DatastoreGetter finds a workspace's datastores (*datastore.Service).
type DatastoreGetter interface {
	Get(ctx context.Context, ws, name string) (datastore.Datastore, error)
}

// DatastoreFiles is the triggers.Datastores over ciel's datastores: a
// datastore (local folder or S3 bucket) opened as a files.FS by the same
// code Copy uses, kept open for the next listing.
type DatastoreFiles struct {
	Datastores DatastoreGetter

	mu   sync.Mutex
	open map[string]files.FS // by workspace and name
}

var _ triggers.Datastores = (*DatastoreFiles)(nil)

// FS returns the files of datastore name of ws.
func (d *DatastoreFiles) FS(ctx context.Context, ws, name string) (files.FS, error) {
	ds, err := d.Datastores.Get(ctx, ws, name)
	if err != nil {
		return nil, err
	}
	// The key holds what the files live in, so a datastore replaced by
	// another of the same name is opened anew.
	key := ws + "\x00" + name + "\x00" + ds.Type + "\x00" + ds.Path + "\x00" + ds.Endpoint + "\x00" + ds.Bucket + "\x00" + ds.Prefix
	d.mu.Lock()
	defer d.mu.Unlock()
	if fsys, ok := d.open[key]; ok {
		return fsys, nil
	}
	fsys, _, err := activity.OpenDatastore(ds)
	if err != nil {
		return nil, fmt.Errorf("datastore %q: %w", name, err)
	}
	if d.open == nil {
		d.open = map[string]files.FS{}
	}
	d.open[key] = fsys
	return fsys, nil
}

// Secrets is run.Secrets over the service's secret store: every
// AzureKeyVault linked service of a workspace reads the workspace's
// secrets, and a secret has one version, the latest.
func (s *Service) Secrets() run.Secrets { return secrets{s} }

type secrets struct{ s *Service }

func (x secrets) Secret(ctx context.Context, ws, _, name, _ string) (string, error) {
	return x.s.Secret(ctx, ws, name)
}
