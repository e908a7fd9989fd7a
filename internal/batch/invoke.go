package batch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/ciel-mlops/ciel/internal/engine"
	"github.com/ciel-mlops/ciel/internal/spec"
	"github.com/ciel-mlops/ciel/internal/store"
)

// Jobs submits the jobs invocations start.
type Jobs interface {
	// Submit plans and stores job and starts running it; the stored job
	// comes back at once. An error matching store.ErrConflict means the
	// job's name is taken.
	Submit(ctx context.Context, ws string, job *spec.Job) (store.Job, error)
}

// Tags every job an invocation starts carries, naming where it came from.
const (
	TagEndpoint   = "azureml.batch_endpoint"
	TagDeployment = "azureml.batch_deployment"
)

// ScoreOutput is the output of a batch scoring job that holds the results,
// Azure ML's name for it.
const ScoreOutput = "score"

// Invocation asks an endpoint to score data.
type Invocation struct {
	// Deployment is the deployment to run; "" runs the default.
	Deployment string
	// Input is the data: azureml:<name>:<version> or azureml:<name>@latest
	// (a data asset), blob:<digest> (uploaded by the CLI), or a URI the
	// engine can read. A bare path is refused: it would be the server's.
	Input string
	// InputType is uri_folder (the default) or uri_file, for inputs that
	// are not data assets (a data asset has its own type).
	InputType string
	// JobName names the job; one is made up when "".
	JobName string
	// ExperimentName is the job's experiment; the endpoint's name when "",
	// as Azure ML files batch jobs.
	ExperimentName string
	// MiniBatchSize, InstanceCount and OutputFileName override the
	// deployment's settings for this job; zero keeps them.
	MiniBatchSize  int
	InstanceCount  int
	OutputFileName string
	// OutputPath is where a model deployment's results go besides the
	// job: an azureml://datastores/<ds>/paths/<p> folder (az ml
	// batch-endpoint invoke --output-path); "" keeps them with the job.
	OutputPath string
	// Inputs and Outputs are a pipeline deployment's job's, by name (an
	// invocation file's); a model deployment takes Input alone.
	Inputs  map[string]*spec.InputValue
	Outputs map[string]*spec.OutputValue
}

// Invoke starts a scoring job of an endpoint's deployment (its default
// unless in names one) over the input, records it as the endpoint's, and
// returns it as stored. The job's output ScoreOutput holds the results.
func (s *Service) Invoke(ctx context.Context, ws, endpoint string, in Invocation) (store.Job, error) {
	if s.cfg.Jobs == nil {
		return store.Job{}, errors.New("this server runs no jobs")
	}
	if err := s.checkInvocation(&in); err != nil {
		return store.Job{}, err
	}
	e, err := s.GetEndpoint(ctx, ws, endpoint)
	if err != nil {
		return store.Job{}, err
	}
	depName := in.Deployment
	if depName == "" {
		if depName = e.DefaultDeployment; depName == "" {
			return store.Job{}, invalidf("batch endpoint %s has no deployments; create one with: ciel batch-deployment create --file <deployment.yml> --endpoint-name %s", endpoint, endpoint)
		}
	}
	d, err := s.GetDeployment(ctx, ws, endpoint, depName)
	if err != nil {
		return store.Job{}, err
	}
	job, err := s.invocationJob(ctx, ws, d, in)
	if err != nil {
		return store.Job{}, err
	}
	job.Name = in.JobName
	if job.Name == "" {
		job.Name = engine.NewJobName()
	}
	job.ExperimentName = in.ExperimentName
	if job.ExperimentName == "" {
		job.ExperimentName = endpoint
	}
	job.DisplayName = endpoint + "-" + depName
	job.Tags = map[string]string{TagEndpoint: endpoint, TagDeployment: depName}
	// The record goes first, so that a job the endpoint started is never
	// missing from its list; a record whose job was never stored is
	// removed or, after a crash, skipped when listed.
	rec := JobRecord{Workspace: ws, Endpoint: endpoint, Deployment: depName, Job: job.Name, CreatedAt: s.now()}
	if err := s.cfg.Store.AddBatchJob(ctx, rec); err != nil {
		return store.Job{}, err
	}
	j, err := s.cfg.Jobs.Submit(ctx, ws, job)
	if err != nil {
		if rmErr := s.cfg.Store.RemoveBatchJob(context.WithoutCancel(ctx), ws, job.Name); rmErr != nil && !errors.Is(rmErr, store.ErrNotFound) {
			err = errors.Join(err, rmErr)
		}
		return store.Job{}, err
	}
	return j, nil
}

// invocationJob builds the job an invocation of deployment d starts: a
// scoring parallel job for a model deployment, a pipeline job for a
// pipeline deployment.
func (s *Service) invocationJob(ctx context.Context, ws string, d Deployment, in Invocation) (*spec.Job, error) {
	if d.Spec.Type == spec.BatchDeploymentPipeline {
		return s.pipelineJob(d, in)
	}
	if len(in.Inputs) > 0 || len(in.Outputs) > 0 {
		return nil, invalidf("batch deployment %s scores a model: it takes one input (--input), not named inputs and outputs", d.Name)
	}
	if strings.TrimSpace(in.Input) == "" {
		return nil, invalidf("input: give the data to score (a data asset azureml:<name>@latest, a local folder, or a file)")
	}
	inputType, err := s.inputType(ctx, ws, in)
	if err != nil {
		return nil, err
	}
	return s.scoringJob(ctx, d, in, inputType)
}

// checkInvocation checks the overrides and the input's form.
func (s *Service) checkInvocation(in *Invocation) error {
	switch {
	case in.Input != "" && !strings.HasPrefix(in.Input, "azureml:") && !strings.HasPrefix(in.Input, "blob:") && !strings.Contains(in.Input, "://"):
		// A bare path would name a file of the server's; the CLI uploads
		// local paths before it invokes.
		return invalidf("input %q: expected a data asset (azureml:<name>@latest), uploaded content (blob:<digest>) or a URI; the ciel CLI uploads local folders and files", in.Input)
	case in.InputType != "" && in.InputType != spec.TypeURIFolder && in.InputType != spec.TypeURIFile:
		return invalidf("input_type %q: expected uri_folder or uri_file", in.InputType)
	case in.MiniBatchSize < 0 || in.MiniBatchSize > spec.MaxMiniBatchSize:
		return invalidf("mini_batch_size %d: expected 1 to %d", in.MiniBatchSize, spec.MaxMiniBatchSize)
	case in.InstanceCount < 0 || in.InstanceCount > spec.MaxInstanceCount:
		return invalidf("instance_count %d: expected 1 to %d", in.InstanceCount, spec.MaxInstanceCount)
	case in.OutputPath != "" && !strings.HasPrefix(in.OutputPath, "azureml://datastores/"):
		// The job's submission checks the rest of the path.
		return invalidf("output_path %q: expected a datastore folder, azureml://datastores/<datastore>/paths/<path>", in.OutputPath)
	}
	if in.OutputFileName != "" {
		if err := spec.CheckOutputFileName(in.OutputFileName); err != nil {
			return invalidf("%v", err)
		}
	}
	if in.ExperimentName != "" {
		if err := spec.CheckName("experiment_name", in.ExperimentName); err != nil {
			return invalidf("%v", err)
		}
	}
	return nil
}

// inputType is the type of the job's input: a data asset's own, or the
// invocation's (uri_folder by default).
func (s *Service) inputType(ctx context.Context, ws string, in Invocation) (string, error) {
	ref, ok := strings.CutPrefix(in.Input, "azureml:")
	if !ok || strings.HasPrefix(ref, "//") {
		if in.InputType == "" {
			return spec.TypeURIFolder, nil
		}
		return in.InputType, nil
	}
	name, version := splitRef(ref)
	a, err := s.cfg.Assets.GetAsset(ctx, ws, store.KindData, name, version)
	if errors.Is(err, store.ErrNotFound) {
		return "", notFound("data asset %s not found in workspace %s; create it with: ciel data create --name %s --path <folder> --type uri_folder", in.Input, ws, name)
	}
	if err != nil {
		return "", fmt.Errorf("data asset %s: %w", in.Input, err)
	}
	var data spec.Data
	if err := json.Unmarshal(a.Spec, &data); err != nil {
		return "", fmt.Errorf("decode data asset %s: %w", in.Input, err)
	}
	if data.Type == spec.TypeMLTable {
		return "", invalidf("data asset %s is an mltable; batch model deployments score folders and files of data (uri_folder, uri_file)", in.Input)
	}
	return data.Type, nil
}
