package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
)

// BatchEndpoint is a batch endpoint as the API shows it, shaped like
// `az ml batch-endpoint show`.
type BatchEndpoint struct {
	Name              string            `json:"name"`
	ID                string            `json:"id,omitempty"`
	Description       string            `json:"description,omitempty"`
	Tags              map[string]string `json:"tags,omitempty"`
	AuthMode          string            `json:"auth_mode"`
	Defaults          BatchDefaults     `json:"defaults"`
	ScoringURI        string            `json:"scoring_uri,omitempty"`
	ProvisioningState string            `json:"provisioning_state"`
	CreationContext   CreationContext   `json:"creation_context"`
}

// BatchDefaults are a batch endpoint's defaults: the deployment that
// runs when an invocation names none.
type BatchDefaults struct {
	DeploymentName string `json:"deployment_name,omitempty"`
}

// BatchEndpointUpdate changes a batch endpoint; nil fields change nothing,
// tags are merged in.
type BatchEndpointUpdate struct {
	Description *string           `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	Defaults    *BatchDefaults    `json:"defaults,omitempty"`
}

// BatchRetrySettings are a batch deployment's retries of a failed
// mini-batch and how long one may run (seconds).
type BatchRetrySettings struct {
	MaxRetries int `json:"max_retries"`
	Timeout    int `json:"timeout"`
}

// BatchSettings are how a batch deployment scores, with defaults filled in.
type BatchSettings struct {
	// A model deployment's: a pipeline deployment has none of these, and
	// they are left out of its JSON.
	MaxConcurrencyPerInstance int                 `json:"max_concurrency_per_instance,omitempty"`
	MiniBatchSize             int                 `json:"mini_batch_size,omitempty"`
	OutputAction              string              `json:"output_action,omitempty"`
	OutputFileName            string              `json:"output_file_name,omitempty"`
	RetrySettings             *BatchRetrySettings `json:"retry_settings,omitempty"`
	ErrorThreshold            *int                `json:"error_threshold,omitempty"`
	LoggingLevel              string              `json:"logging_level,omitempty"`
	EnvironmentVariables      map[string]string   `json:"environment_variables,omitempty"`
	// A pipeline deployment's: the settings of the pipeline jobs it runs.
	DefaultCompute        string `json:"default_compute,omitempty"`
	ContinueOnStepFailure *bool  `json:"continue_on_step_failure,omitempty"`
}

// BatchDeployment is a batch deployment as the API shows it, shaped like
// `az ml batch-deployment show`.
type BatchDeployment struct {
	Name         string            `json:"name"`
	EndpointName string            `json:"endpoint_name"`
	ID           string            `json:"id,omitempty"`
	Type         string            `json:"type"`
	Description  string            `json:"description,omitempty"`
	Tags         map[string]string `json:"tags,omitempty"`
	Model        string            `json:"model,omitempty"`
	// Component is what a pipeline deployment runs (azureml:<name>:<version>,
	// or the name of the component file or of the job it came from);
	// JobDefinition the pipeline job it was made from, if it was.
	Component         string             `json:"component,omitempty"`
	JobDefinition     string             `json:"job_definition,omitempty"`
	CodeConfiguration *CodeConfiguration `json:"code_configuration,omitempty"`
	Environment       string             `json:"environment,omitempty"`
	Compute           string             `json:"compute,omitempty"`
	Resources         *BatchResources    `json:"resources,omitempty"` // nil for a pipeline deployment
	Settings          BatchSettings      `json:"settings"`
	// IsDefault says the deployment is its endpoint's default.
	IsDefault         bool            `json:"is_default"`
	ProvisioningState string          `json:"provisioning_state"`
	CreationContext   CreationContext `json:"creation_context"`
}

// BatchResources are a batch deployment's resources.
type BatchResources struct {
	InstanceCount int `json:"instance_count"`
}

// BatchInvocation asks a batch endpoint to score data: the input (a data
// asset reference azureml:<name>:<version> or azureml:<name>@latest, or an
// uploaded folder or file blob:<digest>), and what the job overrides.
type BatchInvocation struct {
	// Deployment is the deployment to run; "" runs the default.
	Deployment string `json:"deployment_name,omitempty"`
	Input      string `json:"input,omitempty"`
	// InputType is uri_folder (the default) or uri_file.
	InputType string `json:"input_type,omitempty"`
	// JobName names the job; the server picks one when "".
	JobName        string `json:"job_name,omitempty"`
	ExperimentName string `json:"experiment_name,omitempty"`
	// Overrides of the deployment's settings for this job alone; zero
	// keeps the deployment's.
	MiniBatchSize  int    `json:"mini_batch_size,omitempty"`
	InstanceCount  int    `json:"instance_count,omitempty"`
	OutputFileName string `json:"output_file_name,omitempty"`
	// OutputPath is a datastore folder (azureml://datastores/<ds>/paths/<p>)
	// the results of a model deployment are written to besides the job.
	OutputPath string `json:"output_path,omitempty"`
	// Inputs and Outputs are a pipeline deployment's job's, by name, as a
	// job file writes them (an invocation file's inputs: and outputs:,
	// local paths uploaded).
	Inputs  json.RawMessage `json:"inputs,omitempty"`
	Outputs json.RawMessage `json:"outputs,omitempty"`
}

func batchPath(ws, endpoint string, parts ...string) string {
	return wsPath(ws, append([]string{"batch-endpoints", endpoint}, parts...)...)
}

// CreateBatchEndpoint creates a batch endpoint from a parsed endpoint file
// (spec.BatchEndpoint), or changes the one of that name.
func (c *Client) CreateBatchEndpoint(ctx context.Context, ws string, endpoint any) (BatchEndpoint, error) {
	var out BatchEndpoint
	err := c.doJSON(ctx, http.MethodPost, wsPath(ws, "batch-endpoints"), endpoint, &out)
	return out, err
}

// GetBatchEndpoint returns a batch endpoint.
func (c *Client) GetBatchEndpoint(ctx context.Context, ws, name string) (BatchEndpoint, error) {
	var out BatchEndpoint
	err := c.doJSON(ctx, http.MethodGet, batchPath(ws, name), nil, &out)
	return out, err
}

// ListBatchEndpoints lists a workspace's batch endpoints.
func (c *Client) ListBatchEndpoints(ctx context.Context, ws string) ([]BatchEndpoint, error) {
	var out []BatchEndpoint
	err := c.doJSON(ctx, http.MethodGet, wsPath(ws, "batch-endpoints"), nil, &out)
	return out, err
}

// UpdateBatchEndpoint changes a batch endpoint.
func (c *Client) UpdateBatchEndpoint(ctx context.Context, ws, name string, u BatchEndpointUpdate) (BatchEndpoint, error) {
	var out BatchEndpoint
	err := c.doJSON(ctx, http.MethodPatch, batchPath(ws, name), u, &out)
	return out, err
}

// DeleteBatchEndpoint deletes a batch endpoint and its deployments; the
// jobs it started stay.
func (c *Client) DeleteBatchEndpoint(ctx context.Context, ws, name string) error {
	return c.doJSON(ctx, http.MethodDelete, batchPath(ws, name), nil, nil)
}

// PutBatchDeployment creates a batch deployment from a parsed file
// (spec.BatchDeployment, local paths uploaded), replacing one of that
// name, or with update changes an existing one. setDefault makes it the
// endpoint's default.
func (c *Client) PutBatchDeployment(ctx context.Context, ws, endpoint, name string, deployment any, setDefault, update bool) (BatchDeployment, error) {
	q := url.Values{}
	if setDefault {
		q.Set("set_default", "true")
	}
	method := http.MethodPost
	p := batchPath(ws, endpoint, "deployments")
	if update {
		method, p = http.MethodPut, batchPath(ws, endpoint, "deployments", name)
	}
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	var out BatchDeployment
	err := c.doJSON(ctx, method, p, deployment, &out)
	return out, err
}

// GetBatchDeployment returns a batch deployment.
func (c *Client) GetBatchDeployment(ctx context.Context, ws, endpoint, name string) (BatchDeployment, error) {
	var out BatchDeployment
	err := c.doJSON(ctx, http.MethodGet, batchPath(ws, endpoint, "deployments", name), nil, &out)
	return out, err
}

// ListBatchDeployments lists a batch endpoint's deployments.
func (c *Client) ListBatchDeployments(ctx context.Context, ws, endpoint string) ([]BatchDeployment, error) {
	var out []BatchDeployment
	err := c.doJSON(ctx, http.MethodGet, batchPath(ws, endpoint, "deployments"), nil, &out)
	return out, err
}

// DeleteBatchDeployment deletes a batch deployment.
func (c *Client) DeleteBatchDeployment(ctx context.Context, ws, endpoint, name string) error {
	return c.doJSON(ctx, http.MethodDelete, batchPath(ws, endpoint, "deployments", name), nil, nil)
}

// InvokeBatchEndpoint starts a scoring job and returns it as `job show`
// does.
func (c *Client) InvokeBatchEndpoint(ctx context.Context, ws, endpoint string, in BatchInvocation) (Job, error) {
	var out Job
	err := c.doJSON(ctx, http.MethodPost, batchPath(ws, endpoint, "invoke"), in, &out)
	return out, err
}

// ListBatchJobs lists the jobs a batch endpoint started (those of one
// deployment when deployment is set), newest first.
func (c *Client) ListBatchJobs(ctx context.Context, ws, endpoint, deployment string) ([]Job, error) {
	p := batchPath(ws, endpoint, "jobs")
	if deployment != "" {
		p = batchPath(ws, endpoint, "deployments", deployment, "jobs")
	}
	var out []Job
	err := c.doJSON(ctx, http.MethodGet, p, nil, &out)
	return out, err
}
