package dataflow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/ciel-mlops/ciel/internal/dataflow/arm"
	"github.com/ciel-mlops/ciel/internal/dataflow/factory"
	"github.com/ciel-mlops/ciel/internal/store"
)

// MaxSecretBytes bounds a secret's value: a password, a key, a connection
// string.
const MaxSecretBytes = 64 << 10

// Config configures a Service.
type Config struct {
	Store Store
	// Runs is the pipeline runtime; nil answers runs with ErrNoRuntime.
	Runs Runs
	// Triggers is the trigger scheduler; nil answers trigger start, stop
	// and runs with ErrNoRuntime.
	Triggers Triggers
	Logger   *slog.Logger
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
// resource must still have. A reference to a resource that does not exist
// is refused at its place in d's file.
func (s *Service) Put(ctx context.Context, ws string, d Document, ifMatch string) (Resource, error) {
	if t, ok := d.Resource.(*factory.Trigger); ok {
		if err := checkTrigger(d, t); err != nil {
			return Resource{}, err
		}
		if err := s.checkStopped(ctx, ws, t.Name); err != nil {
			return Resource{}, err
		}
	}
	f := &factory.Factory{}
	if err := f.Add(d.Resource, d.File, d.doc); err != nil {
		return Resource{}, err
	}
	if err := f.Check(s.exists(ctx, ws)); err != nil {
		return Resource{}, err
	}
	r := resourceOf(d)
	r.ETag = ifMatch
	out, err := s.cfg.Store.PutResources(ctx, ws, []Resource{r})
	if err != nil {
		return Resource{}, err
	}
	return out[0], nil
}

// exists reports what the store of ws holds, for factory's reference
// checks; the store checks again in the transaction that writes.
func (s *Service) exists(ctx context.Context, ws string) factory.Exists {
	return func(kind factory.Kind, name string) bool {
		_, err := s.cfg.Store.GetResource(ctx, ws, kind, name)
		return err == nil
	}
}

// resourceOf makes the resource to store.
func resourceOf(d Document) Resource {
	return Resource{Kind: d.Kind(), Name: d.Name(), Properties: d.Properties, References: references(d.Resource)}
}

// Import creates or replaces docs, read together by FactoryDocuments or
// LoadFolder, in one transaction: all or nothing.
func (s *Service) Import(ctx context.Context, ws string, docs []Document) ([]Resource, error) {
	if len(docs) == 0 {
		return nil, invalid("", "nothing to import: no linked services, datasets, pipelines or triggers found")
	}
	rs := make([]Resource, len(docs))
	for i, d := range docs {
		if t, ok := d.Resource.(*factory.Trigger); ok {
			if err := checkTrigger(d, t); err != nil {
				return nil, err
			}
			if err := s.checkStopped(ctx, ws, t.Name); err != nil {
				return nil, err
			}
		}
		rs[i] = resourceOf(d)
	}
	return s.cfg.Store.PutResources(ctx, ws, rs)
}

// ImportTemplate imports the resources of an ARM template (ADF's publish
// and template gallery format) with a parameters file's values, all or
// nothing. Its references may name resources the workspace holds (a
// gallery template's linked services); errors name the template's line
// and column.
func (s *Service) ImportTemplate(ctx context.Context, ws string, t Template) ([]Resource, error) {
	f, err := arm.Import(arm.Config{Template: t.Template, TemplateFile: t.TemplateFile,
		Parameters: t.Parameters, ParametersFile: t.ParametersFile, Exists: s.exists(ctx, ws)})
	if err != nil {
		return nil, err
	}
	docs, err := FactoryDocuments(f, s.exists(ctx, ws))
	if err != nil {
		return nil, err
	}
	return s.Import(ctx, ws, docs)
}

// Template is an ARM template to import and its parameters file (nil:
// the template's defaults); the file names are for errors.
type Template struct {
	Template, Parameters         []byte
	TemplateFile, ParametersFile string
}

// Get returns a resource, a trigger with its runtime state;
// store.ErrNotFound when absent.
func (s *Service) Get(ctx context.Context, ws string, kind factory.Kind, name string) (Resource, error) {
	r, err := s.cfg.Store.GetResource(ctx, ws, kind, name)
	if err != nil || kind != factory.KindTrigger {
		return r, err
	}
	r.RuntimeState, err = s.runtimeState(ctx, ws, r.Name)
	return r, err
}

// List returns a workspace's resources of a kind, by name, triggers with
// their runtime states.
func (s *Service) List(ctx context.Context, ws string, kind factory.Kind) ([]Resource, error) {
	list, err := s.cfg.Store.ListResources(ctx, ws, kind)
	if err != nil || kind != factory.KindTrigger {
		return list, err
	}
	states := map[string]string{}
	if s.cfg.Triggers != nil {
		if states, err = s.cfg.Triggers.RuntimeStates(ctx, ws); err != nil {
			return nil, err
		}
	}
	for i := range list {
		if list[i].RuntimeState = states[list[i].Name]; list[i].RuntimeState == "" {
			list[i].RuntimeState = TriggerStopped
		}
	}
	return list, nil
}

// Delete deletes a resource nothing references (*InUseError otherwise);
// a trigger must be stopped (*TriggerStartedError), and its runtime
// state, windows and blobs seen go with it.
func (s *Service) Delete(ctx context.Context, ws string, kind factory.Kind, name string) error {
	if kind == factory.KindTrigger {
		if err := s.checkStopped(ctx, ws, name); err != nil {
			return err
		}
	}
	if err := s.cfg.Store.DeleteResource(ctx, ws, kind, name); err != nil {
		return err
	}
	if kind == factory.KindTrigger && s.cfg.Triggers != nil {
		return s.cfg.Triggers.DeleteTrigger(ctx, ws, name)
	}
	return nil
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
	r, err := s.parsed(ctx, ws, factory.KindPipeline, name)
	if err != nil {
		return factory.Pipeline{}, err
	}
	return *r.(*factory.Pipeline), nil
}

// Dataset returns a stored dataset as factory.Dataset.
func (s *Service) Dataset(ctx context.Context, ws, name string) (factory.Dataset, error) {
	r, err := s.parsed(ctx, ws, factory.KindDataset, name)
	if err != nil {
		return factory.Dataset{}, err
	}
	return *r.(*factory.Dataset), nil
}

// LinkedService returns a stored linked service as factory.LinkedService.
func (s *Service) LinkedService(ctx context.Context, ws, name string) (factory.LinkedService, error) {
	r, err := s.parsed(ctx, ws, factory.KindLinkedService, name)
	if err != nil {
		return factory.LinkedService{}, err
	}
	return *r.(*factory.LinkedService), nil
}

// Trigger returns a stored trigger as factory.Trigger.
func (s *Service) Trigger(ctx context.Context, ws, name string) (factory.Trigger, error) {
	r, err := s.parsed(ctx, ws, factory.KindTrigger, name)
	if err != nil {
		return factory.Trigger{}, err
	}
	return *r.(*factory.Trigger), nil
}

// parsed reads a stored resource back through the factory package's
// parser, as it was when stored, named as stored.
func (s *Service) parsed(ctx context.Context, ws string, kind factory.Kind, name string) (factory.Resource, error) {
	r, err := s.Get(ctx, ws, kind, name)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("%s %q not found in workspace %s: %w", kindNoun(kind), name, ws, err)
		}
		return nil, err
	}
	res, err := factory.Parser{}.ParseProperties(kind, r.Name, kindNoun(kind)+" "+r.Name, r.Properties)
	if err != nil {
		return nil, fmt.Errorf("stored %s %q: %w", kindNoun(kind), name, err)
	}
	return res, nil
}
