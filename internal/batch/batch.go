// Package batch keeps Azure ML batch endpoints: an endpoint names a set of
// deployments and which of them is the default; a deployment is a model
// (with a scoring script and environment, or an MLflow model alone) and how
// to score files with it (mini-batch size, concurrency, retries, error
// threshold, output action). Invoking an endpoint submits a job over the
// input data, run by the engine like any other job, whose output `score`
// holds the results; the endpoint remembers the jobs it started.
//
// batch does not run anything itself: the engine runs the jobs it submits,
// and the registry and store hold what deployments name.
package batch

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ciel-mlops/ciel/internal/spec"
	"github.com/ciel-mlops/ciel/internal/store"
)

// ErrInvalid is a request batch refuses: a default that names no
// deployment, deleting the default deployment, invoking an endpoint with
// none. Not-found and conflict errors match store.ErrNotFound and
// store.ErrConflict.
var ErrInvalid = errors.New("invalid request")

// invalidf returns an error matching ErrInvalid with a message of its own.
func invalidf(format string, args ...any) error {
	return &kindError{kind: ErrInvalid, msg: fmt.Sprintf(format, args...)}
}

// kindError is an error with its own message that matches a sentinel.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string        { return e.msg }
func (e *kindError) Is(target error) bool { return target == e.kind }

// Endpoint is a stored batch endpoint.
type Endpoint struct {
	Workspace   string            `json:"workspace"`
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	// DefaultDeployment runs invocations that name no deployment; "" until
	// the endpoint has one.
	DefaultDeployment string    `json:"default_deployment,omitempty"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
}

// Deployment is a stored batch deployment.
type Deployment struct {
	Workspace string `json:"workspace"`
	Endpoint  string `json:"endpoint"`
	Name      string `json:"name"`
	// Spec is the deployment as submitted (local paths already uploaded).
	Spec      spec.BatchDeployment `json:"spec"`
	CreatedAt time.Time            `json:"created_at"`
	UpdatedAt time.Time            `json:"updated_at"`
}

// JobRecord says that an invocation of an endpoint's deployment started a
// job.
type JobRecord struct {
	Workspace  string    `json:"workspace"`
	Endpoint   string    `json:"endpoint"`
	Deployment string    `json:"deployment"`
	Job        string    `json:"job"`
	CreatedAt  time.Time `json:"created_at"`
}

// Store keeps batch endpoints, deployments and the jobs they started.
// Backends live in internal/store/<backend>.
//
// All methods may be called concurrently. A method that returns nil has
// made its write durable. Errors match store.ErrNotFound when the
// workspace, endpoint or deployment named does not exist; an error a
// callback returns comes back as it is, and nothing is written.
type Store interface {
	// PutBatchEndpoint creates the endpoint, or applies fn to the stored
	// one (existed true) and stores the result, in one transaction; fn
	// sees the names of the endpoint's deployments.
	PutBatchEndpoint(ctx context.Context, e Endpoint, fn func(e *Endpoint, existed bool, deployments []string) error) (Endpoint, error)
	// GetBatchEndpoint returns one endpoint.
	GetBatchEndpoint(ctx context.Context, ws, name string) (Endpoint, error)
	// ListBatchEndpoints returns a workspace's endpoints by name.
	ListBatchEndpoints(ctx context.Context, ws string) ([]Endpoint, error)
	// DeleteBatchEndpoint deletes an endpoint, its deployments and its job
	// records (the jobs themselves stay).
	DeleteBatchEndpoint(ctx context.Context, ws, name string) error

	// PutBatchDeployment creates or replaces d and lets fn change its
	// endpoint (existed tells whether d replaced one), in one transaction.
	PutBatchDeployment(ctx context.Context, d Deployment, fn func(e *Endpoint, existed bool) error) (Endpoint, error)
	// GetBatchDeployment returns one deployment.
	GetBatchDeployment(ctx context.Context, ws, endpoint, name string) (Deployment, error)
	// ListBatchDeployments returns an endpoint's deployments by name.
	ListBatchDeployments(ctx context.Context, ws, endpoint string) ([]Deployment, error)
	// DeleteBatchDeployment deletes a deployment after fn, given its
	// endpoint and the names of the deployments that remain, agrees (and
	// perhaps changes the endpoint), in one transaction.
	DeleteBatchDeployment(ctx context.Context, ws, endpoint, name string, fn func(e *Endpoint, remaining []string) error) error

	// AddBatchJob records a job an invocation started.
	AddBatchJob(ctx context.Context, r JobRecord) error
	// RemoveBatchJob removes the record of a job that could not start.
	RemoveBatchJob(ctx context.Context, ws, job string) error
	// ListBatchJobs returns the job records of an endpoint (of one of its
	// deployments when deployment is set), newest first.
	ListBatchJobs(ctx context.Context, ws, endpoint, deployment string) ([]JobRecord, error)
}

// notFound reports err as a not-found error that says what to do.
func notFound(format string, args ...any) error {
	return &kindError{kind: store.ErrNotFound, msg: fmt.Sprintf(format, args...)}
}
