// Package mljobs runs the Azure ML side of a factory pipeline: the jobs a
// `ciel` activity (or Azure's AzureMLExecutePipeline) submits to ciel's
// engine, and the data asset versions it registers. It is the run.Jobs of
// a server.
//
// A `ciel` activity's typeProperties name its job in one of three ways,
// as `az ml job create` would take it:
//
//   - "jobFile": "azureml://datastores/<ds>/paths/<dir>/job.yml", a job file
//     kept in a datastore; its relative paths (code: ./src, a component
//     file, a local data input) resolve inside <dir>, never outside it;
//   - "job": {...}, an inline job: the YAML's own fields as JSON
//     ("type", "command", "environment", "inputs", "jobs", ...), naming
//     components, environments and data by azureml: reference or URI;
//   - "jobName" (or Azure's "mlPipelineId"): an existing job or pipeline
//     job of the workspace, submitted again as a copy, as
//     `create_job: azureml:<job>` does in a schedule.
//
// "parameters" (or Azure's "mlPipelineParameters") set the job's inputs:
// a literal for a literal input, a data URI (azureml://datastores/...,
// azureml://jobs/<job>/outputs/<o>, azureml:<data>:<version>) for a data
// input; an input the job does not have is an error. "experimentName"
// sets the job's experiment (by default the factory pipeline's name).
// Every job carries tags naming the factory, pipeline, pipeline run and
// activity (Tag*), so `ciel job show` reads back to the factory run.
//
// "registerData": {"name", "version"?, "type"?, "path", "description"?,
// "tags"?} registers a data asset version pointing at a datastore path or
// job output (what a Copy wrote), tagged with the same origin, so a job
// consuming azureml:<name>@latest traces back to the factory run.
package mljobs

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ciel-mlops/ciel/internal/blob"
	"github.com/ciel-mlops/ciel/internal/dataflow/run"
	"github.com/ciel-mlops/ciel/internal/datastore"
	"github.com/ciel-mlops/ciel/internal/engine"
	"github.com/ciel-mlops/ciel/internal/schedule"
	"github.com/ciel-mlops/ciel/internal/spec"
	"github.com/ciel-mlops/ciel/internal/store"
)

// The tags every job and data asset version a factory run creates
// carries: where it came from.
const (
	TagFactory       = "datafactory.factory"
	TagPipeline      = "datafactory.pipelineName"
	TagRunID         = "datafactory.pipelineRunId"
	TagActivity      = "datafactory.activityName"
	TagActivityRunID = "datafactory.activityRunId"
)

// Engine resolves, starts, cancels and waits for jobs: *engine.Engine.
type Engine interface {
	// Prepare resolves job in ws without recording it.
	Prepare(ctx context.Context, ws string, job *spec.Job) (engine.Prepared, error)
	// Start runs a prepared job its caller has recorded.
	Start(p engine.Prepared)
	// Cancel asks a job to stop and returns it as it then is.
	Cancel(ctx context.Context, ws, name string) (store.Job, error)
	// Wait blocks until the job has stopped running in this engine.
	Wait(ws, name string)
}

// Store records jobs and data asset versions: the server's store.
type Store interface {
	CreateJob(ctx context.Context, j store.Job, steps []store.Step) error
	GetJob(ctx context.Context, ws, name string) (store.Job, error)
	PutAsset(ctx context.Context, a store.Asset, replace bool) error
	ListAssets(ctx context.Context, ws, kind, name string) ([]store.Asset, error)
}

// Data reads data URIs: *datastore.Service.
type Data interface {
	Check(ctx context.Context, ws, uri string, write bool) error
	Fetch(ctx context.Context, ws, uri string) (datastore.Resolved, error)
}

// Config is what a Jobs needs; all but BaseURL and Poll are required.
type Config struct {
	Engine Engine
	Store  Store
	Data   Data
	Blobs  blob.Store
	// BaseURL is the server's URL, for the job pages activities output.
	BaseURL string
	// Poll is how often Wait looks at a job not running in this engine
	// (queued, or resumed by another); 0 is half a second.
	Poll time.Duration
	// TempDir is where job files are unpacked to be parsed ("" is the
	// system's).
	TempDir string
}

// Jobs is the run.Jobs over ciel's engine. It is safe for concurrent use.
type Jobs struct{ cfg Config }

var _ run.Jobs = (*Jobs)(nil)

// New returns the Jobs of cfg.
func New(cfg Config) (*Jobs, error) {
	if cfg.Engine == nil || cfg.Store == nil || cfg.Data == nil || cfg.Blobs == nil {
		return nil, errors.New("mljobs: Engine, Store, Data and Blobs are required")
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 500 * time.Millisecond
	}
	return &Jobs{cfg: cfg}, nil
}

// Submit builds the job req names, sets its inputs, experiment and origin
// tags, records it and starts it. Problems with the job are errors naming
// the field at fault.
func (m *Jobs) Submit(ctx context.Context, ws string, req run.JobRequest) (string, error) {
	job, err := m.source(ctx, ws, req)
	if err != nil {
		return "", err
	}
	if err := bindParameters(job, req.Parameters); err != nil {
		return "", err
	}
	job.Name = ""
	switch {
	case req.ExperimentName != "":
		job.ExperimentName = req.ExperimentName
	case job.ExperimentName == "":
		job.ExperimentName = req.PipelineName
	}
	job.Tags = maps.Clone(job.Tags)
	if job.Tags == nil {
		job.Tags = map[string]string{}
	}
	maps.Copy(job.Tags, originTags(req.Origin))
	if err := spec.CheckSubmittedJob(job); err != nil {
		return "", err
	}
	p, err := m.cfg.Engine.Prepare(ctx, ws, job)
	if err != nil {
		return "", err
	}
	if err := m.cfg.Store.CreateJob(ctx, p.Job, p.Steps); err != nil {
		return "", fmt.Errorf("record job %s: %w", p.Job.Name, err)
	}
	m.cfg.Engine.Start(p)
	return p.Job.Name, nil
}

// originTags are the tags naming a factory run's activity.
func originTags(o run.Origin) map[string]string {
	tags := map[string]string{}
	for k, v := range map[string]string{TagFactory: o.Factory, TagPipeline: o.PipelineName, TagRunID: o.FactoryRunID,
		TagActivity: o.ActivityName, TagActivityRunID: o.ActivityRunID} {
		if v != "" {
			tags[k] = v
		}
	}
	return tags
}

// source returns the job req names, not yet bound to its parameters.
func (m *Jobs) source(ctx context.Context, ws string, req run.JobRequest) (*spec.Job, error) {
	n := 0
	for _, set := range []bool{req.JobFile != "", req.Job != nil, req.JobName != "" || req.PipelineID != ""} {
		if set {
			n++
		}
	}
	if n > 1 {
		return nil, errors.New("give one of jobFile, job and jobName (mlPipelineId)")
	}
	switch {
	case req.JobFile != "":
		return m.jobFile(ctx, ws, req.JobFile)
	case req.Job != nil:
		return m.inlineJob(req.Job)
	}
	name := strings.TrimPrefix(cmp.Or(req.JobName, req.PipelineID), "azureml:")
	if err := spec.CheckName("jobName", name); err != nil {
		return nil, err
	}
	return schedule.ExistingJob(ctx, m.cfg.Store, ws, name)
}

// Wait waits for job to end, or ctx to be done, and returns how it ended.
func (m *Jobs) Wait(ctx context.Context, ws, job string) (run.JobResult, error) {
	for {
		done := make(chan struct{})
		go func() {
			m.cfg.Engine.Wait(ws, job)
			close(done)
		}()
		select {
		case <-done:
		case <-ctx.Done():
			return run.JobResult{}, ctx.Err()
		}
		j, err := m.cfg.Store.GetJob(ctx, ws, job)
		if err != nil {
			return run.JobResult{}, err
		}
		if engine.Terminal(j.Status) {
			return m.result(j), nil
		}
		select {
		case <-time.After(m.cfg.Poll):
		case <-ctx.Done():
			return run.JobResult{}, ctx.Err()
		}
	}
}

// result is what an ended job gives its activity.
func (m *Jobs) result(j store.Job) run.JobResult {
	res := run.JobResult{Status: j.Status, Error: j.Error, Outputs: map[string]any{}}
	var plan engine.Plan
	if json.Unmarshal(j.Plan, &plan) == nil {
		for _, o := range slices.Sorted(maps.Keys(plan.Outputs)) {
			res.Outputs[o] = "azureml://jobs/" + j.Name + "/outputs/" + o
		}
	}
	if m.cfg.BaseURL != "" {
		res.StudioURL = m.cfg.BaseURL + "/workspaces/" + url.PathEscape(j.Workspace) + "/jobs/" + url.PathEscape(j.Name)
	}
	return res
}

// Cancel cancels job.
func (m *Jobs) Cancel(ctx context.Context, ws, job string) error {
	_, err := m.cfg.Engine.Cancel(ctx, ws, job)
	return err
}

// tempDir makes a folder for a job file, removed by the returned func.
func (m *Jobs) tempDir() (string, func(), error) {
	dir, err := os.MkdirTemp(m.cfg.TempDir, "ciel-factory-job-")
	if err != nil {
		return "", nil, fmt.Errorf("unpack job file: %w", err)
	}
	return dir, func() { _ = os.RemoveAll(dir) }, nil
}
