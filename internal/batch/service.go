package batch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/ciel-mlops/ciel/internal/blob"
	"github.com/ciel-mlops/ciel/internal/spec"
	"github.com/ciel-mlops/ciel/internal/store"
)

// Model is what a deployment needs to know of a registered model version.
type Model struct {
	// Ref names the version exactly: azureml:<name>:<version>.
	Ref string
	// Dir is the local folder holding its files.
	Dir string
	// Folder is what the files appear under inside AZUREML_MODEL_DIR (""
	// for its root), the name of the folder the model was registered
	// from, as Azure ML keeps it.
	Folder string
	// MLflow says the model is an MLflow model (it has an MLmodel file).
	MLflow bool
}

// Models finds registered models.
type Models interface {
	// Model returns a version of a model, the latest when version is "";
	// an error matching store.ErrNotFound when there is none.
	Model(ctx context.Context, ws, name, version string) (Model, error)
}

// Assets finds the assets a deployment names (computes, environments).
type Assets interface {
	// GetAsset returns one version, the latest when version is "";
	// store.ErrNotFound when absent.
	GetAsset(ctx context.Context, ws, kind, name, version string) (store.Asset, error)
}

// Config configures a Service.
type Config struct {
	Store  Store
	Assets Assets
	Models Models
	// Blobs holds code snapshots; a scoring job's code is the deployment's
	// with ciel's batch driver beside it.
	Blobs blob.Store
	// Jobs submits the jobs invocations start (the engine).
	Jobs Jobs
	// JobSource finds the pipeline jobs that deployments' job_definition
	// name.
	JobSource JobSource
	// Now returns the time; time.Now when nil.
	Now func() time.Time
}

// Service manages batch endpoints and deployments and starts their jobs.
// Its methods may be called concurrently.
type Service struct {
	cfg Config
}

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg}
}

func (s *Service) now() time.Time { return s.cfg.Now().UTC() }

// CreateEndpoint creates an endpoint, or changes the existing one of that
// name as `az ml batch-endpoint create` does (description, tags and the
// default deployment are replaced).
func (s *Service) CreateEndpoint(ctx context.Context, ws string, in *spec.BatchEndpoint) (Endpoint, error) {
	if err := spec.CheckEndpointName("endpoint", in.Name); err != nil {
		return Endpoint{}, invalidf("%v", err)
	}
	now := s.now()
	e := Endpoint{Workspace: ws, Name: in.Name, Description: in.Description, Tags: in.Tags,
		DefaultDeployment: in.DefaultDeployment, CreatedAt: now, UpdatedAt: now}
	return s.cfg.Store.PutBatchEndpoint(ctx, e, func(cur *Endpoint, existed bool, deps []string) error {
		if err := checkDefault(in.Name, in.DefaultDeployment, deps); err != nil {
			return err
		}
		if existed {
			cur.Description, cur.Tags, cur.UpdatedAt = in.Description, in.Tags, now
			if in.DefaultDeployment != "" {
				cur.DefaultDeployment = in.DefaultDeployment
			}
		}
		return nil
	})
}

// checkDefault refuses a default deployment the endpoint does not have.
func checkDefault(endpoint, name string, deps []string) error {
	if name == "" || slices.Contains(deps, name) {
		return nil
	}
	if len(deps) == 0 {
		return invalidf("defaults.deployment_name: endpoint %s has no deployments yet; create %s with: ciel batch-deployment create --file <deployment.yml> --endpoint-name %s", endpoint, name, endpoint)
	}
	return invalidf("defaults.deployment_name: endpoint %s has no deployment %s (it has %s)", endpoint, name, strings.Join(deps, ", "))
}

// EndpointUpdate is a change to an endpoint; nil fields stay as they are.
type EndpointUpdate struct {
	Description       *string
	Tags              map[string]string
	DefaultDeployment *string
}

// UpdateEndpoint changes an existing endpoint.
func (s *Service) UpdateEndpoint(ctx context.Context, ws, name string, u EndpointUpdate) (Endpoint, error) {
	now := s.now()
	return s.cfg.Store.PutBatchEndpoint(ctx, Endpoint{Workspace: ws, Name: name}, func(cur *Endpoint, existed bool, deps []string) error {
		if !existed {
			return notFound("batch endpoint %s not found in workspace %s; create it with: ciel batch-endpoint create --name %s", name, ws, name)
		}
		if u.DefaultDeployment != nil {
			if *u.DefaultDeployment == "" {
				return invalidf("defaults.deployment_name: give a deployment name")
			}
			if err := checkDefault(name, *u.DefaultDeployment, deps); err != nil {
				return err
			}
			cur.DefaultDeployment = *u.DefaultDeployment
		}
		if u.Description != nil {
			cur.Description = *u.Description
		}
		if u.Tags != nil {
			if cur.Tags == nil {
				cur.Tags = map[string]string{}
			}
			maps.Copy(cur.Tags, u.Tags)
		}
		cur.UpdatedAt = now
		return nil
	})
}

// GetEndpoint returns one endpoint.
func (s *Service) GetEndpoint(ctx context.Context, ws, name string) (Endpoint, error) {
	e, err := s.cfg.Store.GetBatchEndpoint(ctx, ws, name)
	if errors.Is(err, store.ErrNotFound) {
		return e, notFound("batch endpoint %s not found in workspace %s", name, ws)
	}
	return e, err
}

// ListEndpoints returns a workspace's endpoints.
func (s *Service) ListEndpoints(ctx context.Context, ws string) ([]Endpoint, error) {
	return s.cfg.Store.ListBatchEndpoints(ctx, ws)
}

// DeleteEndpoint deletes an endpoint and its deployments; the jobs it
// started stay.
func (s *Service) DeleteEndpoint(ctx context.Context, ws, name string) error {
	err := s.cfg.Store.DeleteBatchEndpoint(ctx, ws, name)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("batch endpoint %s not found in workspace %s", name, ws)
	}
	return err
}

// PutDeployment creates a deployment (replacing one of the same name, as
// `az ml batch-deployment create` does) or, with update, changes an
// existing one. The first deployment of an endpoint becomes its default;
// setDefault makes this one the default.
func (s *Service) PutDeployment(ctx context.Context, ws string, in *spec.BatchDeployment, setDefault, update bool) (Deployment, Endpoint, error) {
	if err := spec.CheckEndpointName("deployment", in.Name); err != nil {
		return Deployment{}, Endpoint{}, invalidf("%v", err)
	}
	if err := spec.CheckEndpointName("endpoint", in.EndpointName); err != nil {
		return Deployment{}, Endpoint{}, invalidf("%v", err)
	}
	if err := s.resolve(ctx, ws, in); err != nil {
		return Deployment{}, Endpoint{}, err
	}
	now := s.now()
	d := Deployment{Workspace: ws, Endpoint: in.EndpointName, Name: in.Name, Spec: *in, CreatedAt: now, UpdatedAt: now}
	e, err := s.cfg.Store.PutBatchDeployment(ctx, d, func(e *Endpoint, existed bool) error {
		if update && !existed {
			return notFound("batch deployment %s of endpoint %s not found; create it with: ciel batch-deployment create --file <deployment.yml>", in.Name, in.EndpointName)
		}
		if setDefault || e.DefaultDeployment == "" {
			e.DefaultDeployment = in.Name
			e.UpdatedAt = now
		}
		return nil
	})
	if errors.Is(err, store.ErrNotFound) && !isKind(err) {
		err = notFound("batch endpoint %s not found in workspace %s; create it with: ciel batch-endpoint create --name %s", in.EndpointName, ws, in.EndpointName)
	}
	if err != nil {
		return Deployment{}, Endpoint{}, err
	}
	got, err := s.cfg.Store.GetBatchDeployment(ctx, ws, in.EndpointName, in.Name)
	return got, e, err
}

// isKind reports whether err carries its own message already.
func isKind(err error) bool {
	var k *kindError
	return errors.As(err, &k)
}

// resolve checks what a deployment names exists and pins a registered
// model to its version, as Azure ML does when it creates the deployment.
func (s *Service) resolve(ctx context.Context, ws string, d *spec.BatchDeployment) error {
	switch d.Type {
	case spec.BatchDeploymentPipeline:
		return s.resolvePipeline(ctx, ws, d)
	case "", spec.BatchDeploymentModel:
	default:
		return invalidf("batch deployment %s: unknown type %s; expected model or pipeline", d.Name, d.Type)
	}
	if err := s.resolveModel(ctx, ws, d); err != nil {
		return err
	}
	if c := d.CodeConfiguration; c != nil && !strings.HasPrefix(c.Code, "blob:") {
		return invalidf("code_configuration.code %q was not uploaded; create deployments with the ciel CLI, which uploads code", c.Code)
	}
	if e := d.Environment; e != nil && e.Ref != "" {
		name, version := envRefName(e.Ref)
		if _, err := s.cfg.Assets.GetAsset(ctx, ws, store.KindEnvironment, name, version); errors.Is(err, store.ErrNotFound) {
			return notFound("environment %s not found in workspace %s; create it with: ciel environment create --file <env.yml>", e.Ref, ws)
		} else if err != nil {
			return fmt.Errorf("environment %s: %w", e.Ref, err)
		}
	}
	if c := d.Compute; c != "" && c != "serverless" {
		return s.checkCompute(ctx, ws, c)
	}
	return nil
}

// checkCompute checks a compute a deployment names exists.
func (s *Service) checkCompute(ctx context.Context, ws, c string) error {
	if _, err := s.cfg.Assets.GetAsset(ctx, ws, store.KindCompute, c, ""); errors.Is(err, store.ErrNotFound) {
		return notFound("compute %s not found in workspace %s; create it with: ciel compute create --name %s --type local --max-concurrency 2", c, ws, c)
	} else if err != nil {
		return fmt.Errorf("compute %s: %w", c, err)
	}
	return nil
}

// resolveModel checks the deployment's model and pins it to its files: a
// registered model's are stored as a tree, as Azure ML pins a deployment
// to the model version it named when it was created.
func (s *Service) resolveModel(ctx context.Context, ws string, d *spec.BatchDeployment) error {
	m := d.Model
	switch {
	case m == nil:
		return invalidf("batch deployment %s has no model", d.Name)
	case m.Ref != "":
		name, version := splitRef(strings.TrimPrefix(m.Ref, "azureml:"))
		got, err := s.cfg.Models.Model(ctx, ws, name, version)
		if errors.Is(err, store.ErrNotFound) {
			return notFound("model %s not found in workspace %s; register it with: ciel model create --name %s --path <path>", m.Ref, ws, name)
		}
		if err != nil {
			return fmt.Errorf("model %s: %w", m.Ref, err)
		}
		digest, err := blob.IngestDir(ctx, s.cfg.Blobs, got.Dir)
		if err != nil {
			return fmt.Errorf("model %s: %w", m.Ref, err)
		}
		m.Ref, m.Path, m.Folder = got.Ref, "blob:"+digest, got.Folder
		if got.MLflow && m.Type == "" {
			m.Type = spec.TypeMLflowModel
		}
	case !strings.HasPrefix(m.Path, "blob:"):
		return invalidf("model path %q was not uploaded; create deployments with the ciel CLI, which uploads the model", m.Path)
	}
	hasMLmodel, err := s.treeHas(ctx, strings.TrimPrefix(m.Path, "blob:"), "MLmodel")
	if err != nil {
		return fmt.Errorf("model files: %w", err)
	}
	switch {
	case m.Type == spec.TypeMLflowModel && !hasMLmodel:
		return invalidf("model %s is type mlflow_model but has no MLmodel file", modelLabel(m))
	case m.Type == "" && hasMLmodel:
		m.Type = spec.TypeMLflowModel
	}
	if d.CodeConfiguration == nil && m.Type != spec.TypeMLflowModel {
		return invalidf("batch deployment %s has no code_configuration, so its model must be an MLflow model (a folder with an MLmodel file); %s is not; give code_configuration with a scoring script", d.Name, modelLabel(m))
	}
	return nil
}

// modelLabel names a deployment's model in messages.
func modelLabel(m *spec.DeploymentModel) string {
	switch {
	case m.Ref != "":
		return m.Ref
	case m.Name != "":
		return "azureml:" + m.Name + ":" + cmp.Or(m.Version, "1")
	}
	return "the local model " + cmp.Or(m.Folder, "file")
}

// treeHas reports whether the tree digest holds a file at path; an
// error matching store.ErrNotFound when the tree is not stored.
func (s *Service) treeHas(ctx context.Context, digest, path string) (bool, error) {
	t, err := blob.GetTree(ctx, s.cfg.Blobs, digest)
	if errors.Is(err, blob.ErrNotFound) {
		return false, invalidf("uploaded content %s is not in the datastore; upload it again", digest)
	}
	if err != nil {
		return false, err
	}
	for _, e := range t.Entries {
		if e.Path == path {
			return true, nil
		}
	}
	return false, nil
}

// splitRef splits "name:version", "name@label" (the latest) or "name".
func splitRef(ref string) (name, version string) {
	if i := strings.LastIndex(ref, "@"); i >= 0 {
		return ref[:i], ""
	}
	if i := strings.Index(ref, ":"); i >= 0 {
		return ref[:i], ref[i+1:]
	}
	return ref, ""
}

// envRefName understands azureml:name:version, azureml:name@latest and
// azureml://registries/<r>/environments/<name>/(labels/<l>|versions/<v>),
// the last resolved by name in the workspace, as jobs do.
func envRefName(ref string) (name, version string) {
	if rest, ok := strings.CutPrefix(ref, "azureml://"); ok {
		parts := strings.Split(rest, "/")
		for i := 0; i+1 < len(parts); i++ {
			if parts[i] == "environments" {
				if i+3 < len(parts) && parts[i+2] == "versions" {
					return parts[i+1], parts[i+3]
				}
				return parts[i+1], ""
			}
		}
		return rest, ""
	}
	return splitRef(strings.TrimPrefix(ref, "azureml:"))
}

// GetDeployment returns one deployment.
func (s *Service) GetDeployment(ctx context.Context, ws, endpoint, name string) (Deployment, error) {
	d, err := s.cfg.Store.GetBatchDeployment(ctx, ws, endpoint, name)
	if errors.Is(err, store.ErrNotFound) {
		return d, notFound("batch deployment %s of endpoint %s not found in workspace %s", name, endpoint, ws)
	}
	return d, err
}

// ListDeployments returns an endpoint's deployments.
func (s *Service) ListDeployments(ctx context.Context, ws, endpoint string) ([]Deployment, error) {
	if _, err := s.GetEndpoint(ctx, ws, endpoint); err != nil {
		return nil, err
	}
	return s.cfg.Store.ListBatchDeployments(ctx, ws, endpoint)
}

// DeleteDeployment deletes a deployment. The default deployment can go
// only when it is the last one; then the endpoint has no default.
func (s *Service) DeleteDeployment(ctx context.Context, ws, endpoint, name string) error {
	err := s.cfg.Store.DeleteBatchDeployment(ctx, ws, endpoint, name, func(e *Endpoint, remaining []string) error {
		if e.DefaultDeployment != name {
			return nil
		}
		if len(remaining) > 0 {
			return invalidf("deployment %s is the default of endpoint %s; make another the default first: ciel batch-endpoint update --name %s --set defaults.deployment_name=%s",
				name, endpoint, endpoint, remaining[0])
		}
		e.DefaultDeployment = ""
		e.UpdatedAt = s.now()
		return nil
	})
	if errors.Is(err, store.ErrNotFound) && !isKind(err) {
		return notFound("batch deployment %s of endpoint %s not found in workspace %s", name, endpoint, ws)
	}
	return err
}

// ListJobs returns the job records of an endpoint, or of one of its
// deployments, newest first.
func (s *Service) ListJobs(ctx context.Context, ws, endpoint, deployment string) ([]JobRecord, error) {
	if _, err := s.GetEndpoint(ctx, ws, endpoint); err != nil {
		return nil, err
	}
	if deployment != "" {
		if _, err := s.GetDeployment(ctx, ws, endpoint, deployment); err != nil {
			return nil, err
		}
	}
	return s.cfg.Store.ListBatchJobs(ctx, ws, endpoint, deployment)
}
