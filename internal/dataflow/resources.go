package dataflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ciel-mlops/ciel/internal/dataflow/factory"
	"github.com/ciel-mlops/ciel/internal/dataflow/triggers"
)

// Resource is one linked service, dataset, pipeline or trigger of a
// workspace's factory as the service keeps it: its "properties" object as
// written, and what the store adds.
type Resource struct {
	Kind factory.Kind
	Name string
	// Properties is the resource's "properties" object, exactly as it was
	// sent (less insignificant white space).
	Properties json.RawMessage
	// ETag changes with every write; a write that names one (If-Match)
	// only replaces the resource while it still has it.
	ETag string
	// RuntimeState is a trigger's Started or Stopped, as the trigger
	// scheduler keeps it ("" for the others; the store does not keep it).
	RuntimeState string
	// References are the resources this one names (a dataset's linked
	// service, a pipeline's datasets and pipelines, a trigger's
	// pipelines); the store keeps them so that nothing still in use is
	// deleted.
	References []Ref
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Ref names a resource of a kind.
type Ref struct {
	Kind factory.Kind
	Name string
}

func (r Ref) String() string { return kindNoun(r.Kind) + " " + quote(r.Name) }

// Trigger runtime states, as ADF names them (the trigger scheduler's).
const (
	TriggerStarted = triggers.Started
	TriggerStopped = triggers.Stopped
)

// SecretInfo is what is shown of a secret: never its value.
type SecretInfo struct {
	Name      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Store keeps factory resources and secrets per workspace. Names are
// case-insensitive, as in Data Factory. All methods may be called
// concurrently; a method that returns nil has made its write durable.
type Store interface {
	// PutResources creates or replaces rs in workspace ws in one
	// transaction: all are written or none. A resource with ETag set is
	// only replaced while it still has that etag (*PreconditionError
	// otherwise). Every reference must name a resource that exists once
	// the write is done (*MissingReferenceError). A started trigger
	// Written resources come
	// back with their new etags and times. store.ErrNotFound when the
	// workspace does not exist.
	PutResources(ctx context.Context, ws string, rs []Resource) ([]Resource, error)
	// GetResource returns store.ErrNotFound when absent.
	GetResource(ctx context.Context, ws string, kind factory.Kind, name string) (Resource, error)
	// ListResources returns a workspace's resources of kind by name;
	// store.ErrNotFound when the workspace does not exist.
	ListResources(ctx context.Context, ws string, kind factory.Kind) ([]Resource, error)
	// DeleteResource deletes a resource; store.ErrNotFound when absent,
	// *InUseError while another resource references it.
	DeleteResource(ctx context.Context, ws string, kind factory.Kind, name string) error

	// PutSecret creates or replaces a secret; store.ErrNotFound when the
	// workspace does not exist.
	PutSecret(ctx context.Context, ws, name, value string) (SecretInfo, error)
	// SecretValue returns a secret's value; store.ErrNotFound when absent.
	SecretValue(ctx context.Context, ws, name string) (string, error)
	// ListSecrets returns a workspace's secrets by name, without values.
	ListSecrets(ctx context.Context, ws string) ([]SecretInfo, error)
	// DeleteSecret deletes a secret; store.ErrNotFound when absent.
	DeleteSecret(ctx context.Context, ws, name string) error
}

// InUseError refuses to delete a resource others still reference, naming
// them, as Data Factory does.
type InUseError struct {
	Ref    Ref
	UsedBy []Ref
}

func (e *InUseError) Error() string {
	users := make([]string, len(e.UsedBy))
	for i, u := range e.UsedBy {
		users[i] = u.String()
	}
	return fmt.Sprintf("cannot delete %s: it is referenced by %s; delete or change those first", e.Ref, strings.Join(users, ", "))
}

// MissingReferenceError refuses a resource that names one that does not
// exist.
type MissingReferenceError struct {
	From Ref
	To   Ref
}

func (e *MissingReferenceError) Error() string {
	return fmt.Sprintf("%s references %s, which does not exist in this factory; create it first (or import both together)", e.From, e.To)
}

// PreconditionError is a write whose If-Match etag is no longer the
// resource's.
type PreconditionError struct {
	Ref  Ref
	ETag string
}

func (e *PreconditionError) Error() string {
	return fmt.Sprintf("%s has changed: its etag is no longer %s; read it again", e.Ref, quote(e.ETag))
}

// TriggerStartedError refuses to change or delete a started trigger, as
// Data Factory does: stop it first.
type TriggerStartedError struct {
	Name string
}

func (e *TriggerStartedError) Error() string {
	return fmt.Sprintf("trigger %s is started; stop it first (ciel data-factory trigger stop --name %s)", quote(e.Name), e.Name)
}

// InvalidError is a resource or request the service refuses: Field names
// what is wrong (a JSON path such as "properties.type").
type InvalidError struct {
	Field string
	Msg   string
}

func (e *InvalidError) Error() string { return e.Msg }

func invalid(field, format string, args ...any) error {
	return &InvalidError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// ErrNoRuntime answers what needs the pipeline runtime (or the trigger
// scheduler) on a server that has none.
var ErrNoRuntime = errors.New("this server runs no Data Factory pipelines")

// kindNoun is how messages name a kind.
func kindNoun(k factory.Kind) string {
	switch k {
	case factory.KindLinkedService:
		return "linked service"
	}
	return string(k)
}

func quote(s string) string { return fmt.Sprintf("%q", s) }
