package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/ciel-mlops/ciel/client"
	"github.com/ciel-mlops/ciel/internal/batch"
	"github.com/ciel-mlops/ciel/internal/registry"
	"github.com/ciel-mlops/ciel/internal/spec"
	"github.com/ciel-mlops/ciel/internal/store"
)

// Batch endpoints and deployments: /api/v1/workspaces/{ws}/batch-endpoints
// [/{name}[/invoke|/jobs|/deployments[/{dep}[/jobs]]]]. The records and
// the jobs an invocation starts are internal/batch's; these handlers shape
// them like `az ml batch-endpoint|batch-deployment show` and map errors.

// batchRoutes adds the batch endpoint routes, when the server has them.
func (s *server) batchRoutes(h func(string, handlerFunc)) {
	if s.batch == nil {
		return
	}
	const base = "/api/v1/workspaces/{ws}/batch-endpoints"
	h("POST "+base, s.createBatchEndpoint)
	h("GET "+base, s.listBatchEndpoints)
	h("GET "+base+"/{name}", s.getBatchEndpoint)
	h("PATCH "+base+"/{name}", s.updateBatchEndpoint)
	h("DELETE "+base+"/{name}", s.deleteBatchEndpoint)
	h("POST "+base+"/{name}/invoke", s.invokeBatchEndpoint)
	h("GET "+base+"/{name}/jobs", s.listBatchJobs)
	h("POST "+base+"/{name}/deployments", s.putBatchDeployment)
	h("GET "+base+"/{name}/deployments", s.listBatchDeployments)
	h("GET "+base+"/{name}/deployments/{dep}", s.getBatchDeployment)
	h("PUT "+base+"/{name}/deployments/{dep}", s.putBatchDeployment)
	h("DELETE "+base+"/{name}/deployments/{dep}", s.deleteBatchDeployment)
	h("GET "+base+"/{name}/deployments/{dep}/jobs", s.listBatchJobs)
}

// batchErr maps batch's refusals to 400; not-found and conflicts map
// through status() as they are.
func batchErr(err error, target string) error {
	if errors.Is(err, batch.ErrInvalid) {
		return &httpError{status: http.StatusBadRequest, code: "UserError", msg: err.Error(), target: target}
	}
	return err
}

// batchEndpointView shapes an endpoint like `az ml batch-endpoint show`.
func (s *server) batchEndpointView(e batch.Endpoint) client.BatchEndpoint {
	return client.BatchEndpoint{
		Name: e.Name, Description: e.Description, Tags: e.Tags, AuthMode: spec.AuthAADToken,
		ID:         fmt.Sprintf("azureml:/workspaces/%s/batchEndpoints/%s", e.Workspace, e.Name),
		Defaults:   client.BatchDefaults{DeploymentName: e.DefaultDeployment},
		ScoringURI: s.base + fmt.Sprintf("/api/v1/workspaces/%s/batch-endpoints/%s/invoke", e.Workspace, e.Name),
		// Nothing is provisioned ahead: a batch endpoint's work starts
		// with each invocation.
		ProvisioningState: "Succeeded",
		CreationContext:   client.CreationContext{CreatedAt: e.CreatedAt, CreatedBy: "local"},
	}
}

// batchDeploymentView shapes a deployment like `az ml batch-deployment
// show`, its settings with defaults filled in.
func batchDeploymentView(d batch.Deployment, e batch.Endpoint) client.BatchDeployment {
	sp := d.Spec
	v := client.BatchDeployment{
		Name: d.Name, EndpointName: d.Endpoint, Type: orDefault(sp.Type, spec.BatchDeploymentModel),
		ID:          fmt.Sprintf("azureml:/workspaces/%s/batchEndpoints/%s/deployments/%s", d.Workspace, d.Endpoint, d.Name),
		Description: sp.Description, Tags: sp.Tags, Compute: sp.Compute,
		Resources: &client.BatchResources{InstanceCount: sp.InstanceCount},
		Settings: client.BatchSettings{
			MaxConcurrencyPerInstance: sp.Settings.MaxConcurrencyPerInstance, MiniBatchSize: sp.Settings.MiniBatchSize,
			OutputAction: sp.Settings.OutputAction, OutputFileName: sp.Settings.OutputFileName,
			RetrySettings:  &client.BatchRetrySettings{MaxRetries: sp.Settings.Retry.MaxRetries, Timeout: sp.Settings.Retry.TimeoutSeconds},
			ErrorThreshold: &sp.Settings.ErrorThreshold, LoggingLevel: sp.Settings.LoggingLevel,
			EnvironmentVariables: sp.Settings.EnvironmentVariables,
		},
		IsDefault:         e.DefaultDeployment == d.Name,
		ProvisioningState: "Succeeded",
		CreationContext:   client.CreationContext{CreatedAt: d.CreatedAt, CreatedBy: "local"},
	}
	if sp.Type == spec.BatchDeploymentPipeline {
		return pipelineDeploymentView(v, sp)
	}
	if m := sp.Model; m != nil {
		v.Model = m.Ref
		if v.Model == "" {
			v.Model = "local model " + orDefault(m.Folder, "(a file)")
			if m.Name != "" {
				v.Model = "azureml:" + m.Name + ":" + orDefault(m.Version, "1")
			}
		}
	}
	if c := sp.CodeConfiguration; c != nil {
		v.CodeConfiguration = &client.CodeConfiguration{Code: c.Code, ScoringScript: c.ScoringScript}
	}
	if env := sp.Environment; env != nil {
		v.Environment = env.Ref
		if env.Inline != nil {
			v.Environment = "inline: " + orDefault(env.Inline.Name, env.Inline.Image)
		}
	}
	return v
}

// pipelineDeploymentView fills in what a pipeline deployment runs, in
// place of a model deployment's model and settings.
func pipelineDeploymentView(v client.BatchDeployment, sp spec.BatchDeployment) client.BatchDeployment {
	v.Settings, v.Resources = client.BatchSettings{}, nil
	v.JobDefinition = sp.JobDefinition
	if c := sp.Component; c != nil {
		v.Component = c.Ref
		if v.Component == "" && c.Inline != nil {
			v.Component = "inline: " + orDefault(c.Inline.Name, "(unnamed)")
		}
	}
	if st := sp.PipelineSettings; st != nil {
		v.Settings.DefaultCompute, v.Settings.ContinueOnStepFailure = st.DefaultCompute, st.ContinueOnStepFailure
	}
	return v
}

func (s *server) createBatchEndpoint(_ http.ResponseWriter, r *http.Request) (any, error) {
	if _, err := s.workspace(r); err != nil {
		return nil, err
	}
	var in spec.BatchEndpoint
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	if err := spec.CheckEndpointName("endpoint", in.Name); err != nil {
		return nil, badRequest("name", "%v", err)
	}
	if in.DefaultDeployment != "" {
		if err := spec.CheckEndpointName("deployment", in.DefaultDeployment); err != nil {
			return nil, badRequest("defaults.deployment_name", "%v", err)
		}
	}
	e, err := s.batch.CreateEndpoint(r.Context(), r.PathValue("ws"), &in)
	if err != nil {
		return nil, batchErr(err, "defaults.deployment_name")
	}
	return created{s.batchEndpointView(e)}, nil
}

func (s *server) listBatchEndpoints(_ http.ResponseWriter, r *http.Request) (any, error) {
	return listIn(s, r, s.batch.ListEndpoints, s.batchEndpointView)
}

func (s *server) getBatchEndpoint(_ http.ResponseWriter, r *http.Request) (any, error) {
	return getIn(r, s.batch.GetEndpoint, s.batchEndpointView)
}

func (s *server) updateBatchEndpoint(_ http.ResponseWriter, r *http.Request) (any, error) {
	var in client.BatchEndpointUpdate
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	u := batch.EndpointUpdate{Description: in.Description, Tags: in.Tags}
	if in.Defaults != nil {
		u.DefaultDeployment = &in.Defaults.DeploymentName
	}
	e, err := s.batch.UpdateEndpoint(r.Context(), r.PathValue("ws"), r.PathValue("name"), u)
	if err != nil {
		return nil, batchErr(err, "defaults.deployment_name")
	}
	return s.batchEndpointView(e), nil
}

func (s *server) deleteBatchEndpoint(_ http.ResponseWriter, r *http.Request) (any, error) {
	if err := s.batch.DeleteEndpoint(r.Context(), r.PathValue("ws"), r.PathValue("name")); err != nil {
		return nil, err
	}
	return map[string]string{"status": "deleted"}, nil
}

// putBatchDeployment creates (POST) or updates (PUT .../{dep}) a
// deployment.
func (s *server) putBatchDeployment(_ http.ResponseWriter, r *http.Request) (any, error) {
	if _, err := s.workspace(r); err != nil {
		return nil, err
	}
	var in spec.BatchDeployment
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	update := r.Method == http.MethodPut
	in.EndpointName = r.PathValue("name")
	if update {
		in.Name = r.PathValue("dep")
	}
	if err := spec.CheckBatchDeployment(&in); err != nil {
		return nil, badRequest("", "%v", err)
	}
	d, e, err := s.batch.PutDeployment(r.Context(), r.PathValue("ws"), &in, r.URL.Query().Get("set_default") == "true", update)
	if err != nil {
		return nil, batchErr(err, "")
	}
	v := batchDeploymentView(d, e)
	if update {
		return v, nil
	}
	return created{v}, nil
}

func (s *server) listBatchDeployments(_ http.ResponseWriter, r *http.Request) (any, error) {
	ws, name := r.PathValue("ws"), r.PathValue("name")
	e, err := s.batch.GetEndpoint(r.Context(), ws, name)
	if err != nil {
		return nil, err
	}
	list, err := s.batch.ListDeployments(r.Context(), ws, name)
	if err != nil {
		return nil, err
	}
	return views(list, func(d batch.Deployment) client.BatchDeployment { return batchDeploymentView(d, e) }), nil
}

func (s *server) getBatchDeployment(_ http.ResponseWriter, r *http.Request) (any, error) {
	ws, name := r.PathValue("ws"), r.PathValue("name")
	e, err := s.batch.GetEndpoint(r.Context(), ws, name)
	if err != nil {
		return nil, err
	}
	d, err := s.batch.GetDeployment(r.Context(), ws, name, r.PathValue("dep"))
	if err != nil {
		return nil, err
	}
	return batchDeploymentView(d, e), nil
}

func (s *server) deleteBatchDeployment(_ http.ResponseWriter, r *http.Request) (any, error) {
	err := s.batch.DeleteDeployment(r.Context(), r.PathValue("ws"), r.PathValue("name"), r.PathValue("dep"))
	if err != nil {
		return nil, batchErr(err, "name")
	}
	return map[string]string{"status": "deleted"}, nil
}

func (s *server) invokeBatchEndpoint(_ http.ResponseWriter, r *http.Request) (any, error) {
	if _, err := s.workspace(r); err != nil {
		return nil, err
	}
	var in client.BatchInvocation
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	if in.JobName != "" {
		if err := checkName("job_name", in.JobName); err != nil {
			return nil, err
		}
	}
	inv := batch.Invocation{
		Deployment: in.Deployment, Input: in.Input, InputType: in.InputType, JobName: in.JobName,
		ExperimentName: in.ExperimentName, MiniBatchSize: in.MiniBatchSize, InstanceCount: in.InstanceCount,
		OutputFileName: in.OutputFileName, OutputPath: in.OutputPath,
	}
	if err := unmarshalPorts(in.Inputs, &inv.Inputs, "inputs"); err != nil {
		return nil, err
	}
	if err := unmarshalPorts(in.Outputs, &inv.Outputs, "outputs"); err != nil {
		return nil, err
	}
	j, err := s.batch.Invoke(r.Context(), r.PathValue("ws"), r.PathValue("name"), inv)
	if errors.Is(err, store.ErrConflict) {
		return nil, &httpError{status: http.StatusConflict, code: "Conflict", target: "job_name",
			msg: fmt.Sprintf("a job named %q already exists in workspace %s", in.JobName, r.PathValue("ws"))}
	}
	if err != nil {
		return nil, submitted(batchErr(err, "input"))
	}
	v, err := s.jobView(r, j, viewStepsAndRuns)
	if err != nil {
		return nil, err
	}
	return created{v}, nil
}

func (s *server) listBatchJobs(_ http.ResponseWriter, r *http.Request) (any, error) {
	ws := r.PathValue("ws")
	recs, err := s.batch.ListJobs(r.Context(), ws, r.PathValue("name"), r.PathValue("dep"))
	if err != nil {
		return nil, err
	}
	out := make([]client.Job, 0, len(recs))
	for _, rec := range recs {
		j, err := s.st.GetJob(r.Context(), ws, rec.Job)
		if errors.Is(err, store.ErrNotFound) {
			continue // recorded, then the server stopped before it was submitted
		}
		if err != nil {
			return nil, err
		}
		v, err := s.jobView(r, j, viewJob)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// batchModels gives batch the registered models. It reads the server's
// registry when a request needs it, since the registry is built with the
// routes.
type batchModels struct{ s *server }

var _ batch.Models = batchModels{}

// Model returns a registered model version, the latest for version "".
func (m batchModels) Model(ctx context.Context, ws, name, version string) (batch.Model, error) {
	reg := m.s.registry
	if reg == nil {
		return batch.Model{}, errors.New("this server has no model registry")
	}
	var (
		v   registry.Version
		err error
	)
	if version == "" {
		v, err = reg.LatestVersion(ctx, ws, name)
	} else {
		n, convErr := strconv.Atoi(version)
		if convErr != nil {
			return batch.Model{}, fmt.Errorf("model version %q: expected a number", version)
		}
		v, err = reg.GetVersion(ctx, ws, name, n)
	}
	if err != nil {
		return batch.Model{}, err
	}
	dir, err := reg.FilesDir(ctx, v)
	if err != nil {
		return batch.Model{}, err
	}
	return batch.Model{Ref: fmt.Sprintf("azureml:%s:%d", v.Name, v.Version), Dir: dir, Folder: v.Folder,
		MLflow: v.Type == registry.TypeMLflow}, nil
}

// unmarshalPorts decodes an invocation's inputs or outputs, given as a
// job's are.
func unmarshalPorts[T any](raw json.RawMessage, into *map[string]*T, field string) error {
	if len(raw) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, into); err != nil {
		return badRequest(field, "expected a mapping of names to %s as a job gives them: %v", field, err)
	}
	return nil
}
