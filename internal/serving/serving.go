// Package serving runs online endpoints the Azure ML way: an endpoint has
// a scoring URI, an auth key (or tokens) and a traffic split among its
// deployments; each deployment runs its model in one Python worker process
// per instance, in the deployment's environment.
//
// A Go front end (one HTTP listener per server, shared by every endpoint)
// authenticates each request, routes it by traffic weight or by the
// azureml-model-deployment header, copies a share to mirror deployments,
// queues it for the deployment's workers, and answers with the worker's
// reply, or with 401, 404, 408, 429 or 503 and a JSON body. It probes the
// workers, restarts crashed ones, exports Prometheus metrics and writes an
// access log. Workers run worker.py (embedded in the binary), which imports
// the user's score.py (init() once, run(raw_data) per request) or loads an
// MLflow model, and talk to the front end over a socket pair in
// length-prefixed frames (frame.go), not HTTP.
//
// Endpoints and deployments are kept in a Store and come back up when the
// server starts. Updating a deployment starts the new workers, waits for
// them to be ready, switches to them and drains the old ones, so no
// request fails.
//
// serving is not the model registry (internal/registry) and does not build
// environments (internal/envs); it asks them for model files and Pythons.
package serving

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ciel-mlops/ciel/internal/spec"
)

// Provisioning states, as Azure ML names them.
const (
	StateCreating  = "Creating"
	StateUpdating  = "Updating"
	StateSucceeded = "Succeeded"
	StateFailed    = "Failed"
)

// Errors callers branch on; the API maps them to statuses. Not-found and
// already-exists errors match store.ErrNotFound and store.ErrConflict.
var (
	// ErrInvalid is a request the serving layer refuses: a bad traffic
	// split, a deployment that cannot serve, a bad name.
	ErrInvalid = errors.New("invalid request")
	// ErrBusy is a change refused because the thing is being provisioned.
	ErrBusy = errors.New("busy")
)

// Endpoint is a stored online endpoint.
type Endpoint struct {
	Workspace   string            `json:"workspace"`
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	AuthMode    string            `json:"auth_mode"`
	// Traffic and Mirror map deployment names to percents.
	Traffic map[string]int `json:"traffic,omitempty"`
	Mirror  map[string]int `json:"mirror_traffic,omitempty"`
	// Compute is the kubernetes compute of deployments that name none; ""
	// for this server's processes.
	Compute string `json:"compute,omitempty"`
	// Keys are the endpoint's two keys (auth_mode key); TokenSecret signs
	// its aml_tokens. Both are secrets.
	PrimaryKey   string    `json:"primary_key"`
	SecondaryKey string    `json:"secondary_key"`
	TokenSecret  string    `json:"token_secret"`
	State        string    `json:"provisioning_state"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// Deployment is a stored online deployment.
type Deployment struct {
	Workspace string `json:"workspace"`
	Endpoint  string `json:"endpoint"`
	Name      string `json:"name"`
	// Spec is the deployment as submitted (local paths already uploaded).
	Spec spec.OnlineDeployment `json:"spec"`
	// Plan is what Spec resolved to when it was provisioned: what a
	// restarted server brings up again without resolving anything.
	Plan *Plan `json:"plan,omitempty"`
	// AllTraffic asks for 100% of the endpoint's traffic once provisioned.
	AllTraffic bool      `json:"all_traffic,omitempty"`
	State      string    `json:"provisioning_state"`
	Error      string    `json:"error,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Plan is a deployment resolved to content: the environment to build, the
// model and code files (blob digests), and how the worker loads the model.
type Plan struct {
	// EnvImage and EnvCondaFile are the environment; EnvLabel names it
	// ("azureml:sklearn-env:1", "inline", "model conda.yaml").
	EnvImage     string `json:"env_image,omitempty"`
	EnvCondaFile string `json:"env_conda_file,omitempty"`
	EnvLabel     string `json:"env_label,omitempty"`
	// EnvNotes say how a curated environment was made concrete.
	EnvNotes []string `json:"env_notes,omitempty"`
	// ModelDigest is the tree of the model's files ("" for none);
	// ModelFolder the folder they sit in under AZUREML_MODEL_DIR.
	ModelDigest string `json:"model_digest,omitempty"`
	ModelFolder string `json:"model_folder,omitempty"`
	ModelLabel  string `json:"model_label,omitempty"`
	// MLflow marks a no-code deployment; MLflowPath is the MLflow
	// model's folder relative to AZUREML_MODEL_DIR ("" when it is the
	// root).
	MLflow     bool   `json:"mlflow,omitempty"`
	MLflowPath string `json:"mlflow_path,omitempty"`
	// Compute is the kubernetes compute the deployment runs on ("" for
	// this server's processes); Image is the image its pods run, and
	// InstanceToken what the front ends send them. A secret.
	Compute       string `json:"compute,omitempty"`
	Image         string `json:"image,omitempty"`
	InstanceToken string `json:"instance_token,omitempty"`
	// CodeDigest and Script are the scoring script's code snapshot and
	// path inside it.
	CodeDigest string `json:"code_digest,omitempty"`
	Script     string `json:"script,omitempty"`
}

// Store keeps endpoints and deployments. Backends live in
// internal/store/<backend>.
//
// All methods may be called concurrently. A method that returns nil has
// made its write durable. Errors match store.ErrNotFound when the
// workspace, endpoint or deployment named does not exist and
// store.ErrConflict when a name is taken.
type Store interface {
	// CreateEndpoint stores e; ErrConflict when an endpoint of that name
	// exists in any workspace (endpoint names are unique per server, as
	// they are per Azure region), ErrNotFound when the workspace does not.
	CreateEndpoint(ctx context.Context, e Endpoint) error
	// GetEndpoint returns one endpoint.
	GetEndpoint(ctx context.Context, ws, name string) (Endpoint, error)
	// ListEndpoints returns a workspace's endpoints by name, or every
	// workspace's when ws is "".
	ListEndpoints(ctx context.Context, ws string) ([]Endpoint, error)
	// UpdateEndpoint applies fn to the stored endpoint and stores the
	// result atomically; fn runs inside the write transaction, must not
	// block, and may return an error to change nothing.
	UpdateEndpoint(ctx context.Context, ws, name string, fn func(*Endpoint) error) (Endpoint, error)
	// DeleteEndpoint deletes an endpoint with its deployments.
	DeleteEndpoint(ctx context.Context, ws, name string) error

	// CreateDeployment stores d; ErrConflict when the endpoint has a
	// deployment of that name, ErrNotFound when the endpoint does not
	// exist.
	CreateDeployment(ctx context.Context, d Deployment) error
	// GetDeployment returns one deployment.
	GetDeployment(ctx context.Context, ws, endpoint, name string) (Deployment, error)
	// ListDeployments returns an endpoint's deployments by name; every
	// endpoint's of a workspace when endpoint is "", and every
	// workspace's when ws is "" too.
	ListDeployments(ctx context.Context, ws, endpoint string) ([]Deployment, error)
	// UpdateDeployment applies fn to the stored deployment atomically, as
	// UpdateEndpoint does.
	UpdateDeployment(ctx context.Context, ws, endpoint, name string, fn func(*Deployment) error) (Deployment, error)
	// DeleteDeployment deletes one deployment.
	DeleteDeployment(ctx context.Context, ws, endpoint, name string) error
}

// kindError is an error with its own message that matches a sentinel.
type kindError struct {
	msg  string
	kind error
}

func (e *kindError) Error() string        { return e.msg }
func (e *kindError) Is(target error) bool { return target == e.kind }

// invalidf returns an error matching ErrInvalid.
func invalidf(format string, args ...any) error {
	return &kindError{msg: fmt.Sprintf(format, args...), kind: ErrInvalid}
}
