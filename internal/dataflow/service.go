package dataflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/ciel-mlops/ciel/internal/dataflow/factory"
	"github.com/ciel-mlops/ciel/internal/store"
)

// MaxSecretBytes bounds a secret's value: a password, a key, a connection
// string.
const MaxSecretBytes = 64 << 10

// Templates expands an ARM template of a factory (ADF's publish and
// template gallery format) into the resources it declares.
type Templates interface {
	// Expand evaluates template with the parameter values of a parameters
	// file (either {"parameters": {...}} or the bare object; nil: the
	// defaults) and returns its Microsoft.DataFactory/factories/*
	// resources. Errors name the template's line and column.
	Expand(template, parameters []byte) ([]Document, error)
}

// Config configures a Service.
type Config struct {
	Store Store
	// Runs is the pipeline runtime; nil answers runs with ErrNoRuntime.
	Runs Runs
	// Triggers is the trigger scheduler; nil answers trigger start, stop
	// and runs with ErrNoRuntime.
	Triggers Triggers
	// Templates expands ARM templates; nil refuses template imports.
	Templates Templates
	Logger    *slog.Logger
}

// Service keeps a workspace's factory — linked services, datasets,
// pipelines, triggers and secrets — and starts and reads its runs. It
// validates what it stores: names, a linked service type ciel can reach,
// references to resources that exist.
type Service struct {
	cfg Config
}

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg}
}

// SetRuns sets the pipeline runtime, which is built after the service
// since it reads the factory through it.
func (s *Service) SetRuns(r Runs) { s.cfg.Runs = r }

// SetTriggers sets the trigger scheduler, built after the service for the
// same reason.
func (s *Service) SetTriggers(t Triggers) { s.cfg.Triggers = t }

// Put creates or replaces one resource (create-or-update, as
// `az datafactory ... create` does). ifMatch, when set, is the etag the
// resource must still have.
func (s *Service) Put(ctx context.Context, ws string, d Document, ifMatch string) (Resource, error) {
	r, err := prepare(d)
	if err != nil {
		return Resource{}, err
	}
	r.ETag = ifMatch
	out, err := s.cfg.Store.PutResources(ctx, ws, []Resource{r})
	if err != nil {
		return Resource{}, err
	}
	return out[0], nil
}

// prepare validates a document and makes the resource to store.
func prepare(d Document) (Resource, error) {
	if err := validate(d); err != nil {
		return Resource{}, err
	}
	return Resource{Kind: d.Kind, Name: d.Name, Properties: d.Properties, References: references(d)}, nil
}

// Import creates or replaces docs all together: every one is valid and
// every reference resolves among them and what exists, or nothing is
// written.
func (s *Service) Import(ctx context.Context, ws string, docs []Document) ([]Resource, error) {
	if len(docs) == 0 {
		return nil, invalid("", "nothing to import: no linked services, datasets, pipelines or triggers found")
	}
	seen := map[string]string{}
	rs := make([]Resource, 0, len(docs))
	var errs []error
	for _, d := range docs {
		key := string(d.Kind) + "/" + strings.ToLower(d.Name)
		if prev, ok := seen[key]; ok {
			errs = append(errs, at(d, invalid("name", "%s %q is defined twice (also in %s)", kindNoun(d.Kind), d.Name, prev)))
			continue
		}
		seen[key] = d.File
		r, err := prepare(d)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		rs = append(rs, r)
	}
	if len(errs) > 0 {
		return nil, &ImportError{Errs: errs}
	}
	return s.cfg.Store.PutResources(ctx, ws, rs)
}

// ImportError lists every document an import refused; nothing was
// written.
type ImportError struct {
	Errs []error
}

func (e *ImportError) Error() string {
	msgs := make([]string, len(e.Errs))
	for i, err := range e.Errs {
		msgs[i] = err.Error()
	}
	return fmt.Sprintf("import refused, nothing written (%d problem(s)):\n%s", len(e.Errs), strings.Join(msgs, "\n"))
}

// Unwrap returns the problems, so errors.As finds a *spec.Error among
// them.
func (e *ImportError) Unwrap() []error { return e.Errs }

// ImportTemplate imports the resources of an ARM template with parameter
// values, all or nothing.
func (s *Service) ImportTemplate(ctx context.Context, ws string, template, parameters []byte) ([]Resource, error) {
	if s.cfg.Templates == nil {
		return nil, fmt.Errorf("import an ARM template: %w", ErrNoRuntime)
	}
	docs, err := s.cfg.Templates.Expand(template, parameters)
	if err != nil {
		return nil, err
	}
	return s.Import(ctx, ws, docs)
}

// Get returns a resource; store.ErrNotFound when absent.
func (s *Service) Get(ctx context.Context, ws string, kind factory.Kind, name string) (Resource, error) {
	return s.cfg.Store.GetResource(ctx, ws, kind, name)
}

// List returns a workspace's resources of a kind, by name.
func (s *Service) List(ctx context.Context, ws string, kind factory.Kind) ([]Resource, error) {
	return s.cfg.Store.ListResources(ctx, ws, kind)
}

// Delete deletes a resource nothing references (*InUseError otherwise).
func (s *Service) Delete(ctx context.Context, ws string, kind factory.Kind, name string) error {
	return s.cfg.Store.DeleteResource(ctx, ws, kind, name)
}

// CreateRun starts a run of a stored pipeline with parameter values.
func (s *Service) CreateRun(ctx context.Context, ws, pipeline string, params map[string]any) (PipelineRun, error) {
	if s.cfg.Runs == nil {
		return PipelineRun{}, ErrNoRuntime
	}
	p, err := s.Pipeline(ctx, ws, pipeline)
	if err != nil {
		return PipelineRun{}, err
	}
	for k := range params {
		if _, ok := p.Parameters[k]; !ok {
			return PipelineRun{}, invalid("parameters."+k, "pipeline %q declares no parameter %q (it declares %s)", p.Name, k, paramNames(p.Parameters))
		}
	}
	return s.cfg.Runs.Start(ctx, ws, RunRequest{Pipeline: p.Name, Parameters: params,
		InvokedBy: InvokedBy{Name: "Manual", ID: "Manual", InvokedByType: "Manual"}})
}

func paramNames(m map[string]factory.ParamSpec) string {
	if len(m) == 0 {
		return "none"
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	return strings.Join(sortedCopy(names), ", ")
}

// Run returns a pipeline run.
func (s *Service) Run(ctx context.Context, ws, runID string) (PipelineRun, error) {
	if s.cfg.Runs == nil {
		return PipelineRun{}, ErrNoRuntime
	}
	return s.cfg.Runs.Get(ctx, ws, runID)
}

// QueryRuns returns the pipeline runs q matches.
func (s *Service) QueryRuns(ctx context.Context, ws string, q RunQuery) ([]PipelineRun, error) {
	if s.cfg.Runs == nil {
		return nil, ErrNoRuntime
	}
	return s.cfg.Runs.Query(ctx, ws, q)
}

// CancelRun asks a run to stop.
func (s *Service) CancelRun(ctx context.Context, ws, runID string, recursive bool) error {
	if s.cfg.Runs == nil {
		return ErrNoRuntime
	}
	return s.cfg.Runs.Cancel(ctx, ws, runID, recursive)
}

// Rerun starts a run again, from its failure or from a named activity.
func (s *Service) Rerun(ctx context.Context, ws, runID string, opts RerunOptions) (PipelineRun, error) {
	if s.cfg.Runs == nil {
		return PipelineRun{}, ErrNoRuntime
	}
	if opts.FromFailure && opts.StartActivityName != "" {
		return PipelineRun{}, invalid("startActivityName", "a rerun starts from the failure or from a named activity, not both")
	}
	return s.cfg.Runs.Rerun(ctx, ws, runID, opts)
}

// ActivityRuns returns a pipeline run's activity runs.
func (s *Service) ActivityRuns(ctx context.Context, ws, runID string, q RunQuery) ([]ActivityRun, error) {
	if s.cfg.Runs == nil {
		return nil, ErrNoRuntime
	}
	return s.cfg.Runs.ActivityRuns(ctx, ws, runID, q)
}

// StartTrigger starts a trigger: it fires from now on.
func (s *Service) StartTrigger(ctx context.Context, ws, name string) (Resource, error) {
	if s.cfg.Triggers == nil {
		return Resource{}, ErrNoRuntime
	}
	if _, err := s.Get(ctx, ws, factory.KindTrigger, name); err != nil {
		return Resource{}, err
	}
	r, err := s.cfg.Store.SetTriggerState(ctx, ws, name, TriggerStarted)
	if err != nil {
		return Resource{}, err
	}
	if err := s.cfg.Triggers.Started(ctx, ws, r); err != nil {
		// Left started, it would claim to fire while it does not.
		if _, rerr := s.cfg.Store.SetTriggerState(context.WithoutCancel(ctx), ws, name, TriggerStopped); rerr != nil {
			s.cfg.Logger.Error("stop a trigger that failed to start", "workspace", ws, "trigger", name, "err", rerr)
		}
		return Resource{}, fmt.Errorf("start trigger %q: %w", name, err)
	}
	return r, nil
}

// StopTrigger stops a trigger; runs it started go on.
func (s *Service) StopTrigger(ctx context.Context, ws, name string) (Resource, error) {
	if s.cfg.Triggers == nil {
		return Resource{}, ErrNoRuntime
	}
	r, err := s.cfg.Store.SetTriggerState(ctx, ws, name, TriggerStopped)
	if err != nil {
		return Resource{}, err
	}
	if err := s.cfg.Triggers.Stopped(ctx, ws, name); err != nil {
		return Resource{}, fmt.Errorf("stop trigger %q: %w", name, err)
	}
	return r, nil
}

// TriggerRuns returns the trigger runs q matches.
func (s *Service) TriggerRuns(ctx context.Context, ws string, q RunQuery) ([]TriggerRun, error) {
	if s.cfg.Triggers == nil {
		return nil, ErrNoRuntime
	}
	return s.cfg.Triggers.Runs(ctx, ws, q)
}

// SetSecret creates or replaces a secret, which AzureKeyVault references
// in linked services resolve to.
func (s *Service) SetSecret(ctx context.Context, ws, name, value string) (SecretInfo, error) {
	if err := CheckName("secret", name); err != nil {
		return SecretInfo{}, err
	}
	switch {
	case value == "":
		return SecretInfo{}, invalid("value", "secret %q: the value is empty", name)
	case len(value) > MaxSecretBytes:
		return SecretInfo{}, invalid("value", "secret %q: the value is %d bytes, over the %d a secret may hold", name, len(value), MaxSecretBytes)
	}
	return s.cfg.Store.PutSecret(ctx, ws, name, value)
}

// ListSecrets returns a workspace's secret names.
func (s *Service) ListSecrets(ctx context.Context, ws string) ([]SecretInfo, error) {
	return s.cfg.Store.ListSecrets(ctx, ws)
}

// DeleteSecret deletes a secret.
func (s *Service) DeleteSecret(ctx context.Context, ws, name string) error {
	return s.cfg.Store.DeleteSecret(ctx, ws, name)
}

// Secret returns a secret's value, for the runtime resolving a linked
// service; never answered by the API. The error names the command that
// sets it.
func (s *Service) Secret(ctx context.Context, ws, name string) (string, error) {
	v, err := s.cfg.Store.SecretValue(ctx, ws, name)
	if errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("secret %q is not set in workspace %s (ciel data-factory secret set --name %s --value ...): %w", name, ws, name, err)
	}
	return v, err
}

// Pipeline returns a stored pipeline as factory.Pipeline.
func (s *Service) Pipeline(ctx context.Context, ws, name string) (factory.Pipeline, error) {
	var p factory.Pipeline
	err := s.decode(ctx, ws, factory.KindPipeline, name, &p, &p.Name)
	return p, err
}

// Dataset returns a stored dataset as factory.Dataset.
func (s *Service) Dataset(ctx context.Context, ws, name string) (factory.Dataset, error) {
	var d factory.Dataset
	err := s.decode(ctx, ws, factory.KindDataset, name, &d, &d.Name)
	return d, err
}

// LinkedService returns a stored linked service as factory.LinkedService.
func (s *Service) LinkedService(ctx context.Context, ws, name string) (factory.LinkedService, error) {
	var l factory.LinkedService
	err := s.decode(ctx, ws, factory.KindLinkedService, name, &l, &l.Name)
	return l, err
}

// Trigger returns a stored trigger as factory.Trigger, a tumbling window
// trigger's one "pipeline" in Pipelines, its runtime state set.
func (s *Service) Trigger(ctx context.Context, ws, name string) (factory.Trigger, error) {
	var t triggerShape
	r, err := s.Get(ctx, ws, factory.KindTrigger, name)
	if err != nil {
		return factory.Trigger{}, err
	}
	if err := json.Unmarshal(r.Properties, &t); err != nil {
		return factory.Trigger{}, fmt.Errorf("decode trigger %q: %w", name, err)
	}
	if t.Pipeline != nil {
		t.Pipelines = append(t.Pipelines, *t.Pipeline)
	}
	t.Name, t.RuntimeState = r.Name, r.RuntimeState
	return t.Trigger, nil
}

// decode reads a resource into v and sets its name as stored.
func (s *Service) decode(ctx context.Context, ws string, kind factory.Kind, name string, v any, nameField *string) error {
	r, err := s.Get(ctx, ws, kind, name)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%s %q not found in workspace %s: %w", kindNoun(kind), name, ws, err)
		}
		return err
	}
	if err := json.Unmarshal(r.Properties, v); err != nil {
		return fmt.Errorf("decode %s %q: %w", kindNoun(kind), name, err)
	}
	*nameField = r.Name
	return nil
}
