package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// OnlineEndpoint is an online endpoint as the API shows it, shaped like
// `az ml online-endpoint show`.
type OnlineEndpoint struct {
	Name          string            `json:"name"`
	ID            string            `json:"id,omitempty"`
	Kind          string            `json:"kind,omitempty"`
	Description   string            `json:"description,omitempty"`
	Tags          map[string]string `json:"tags,omitempty"`
	AuthMode      string            `json:"auth_mode"`
	Traffic       map[string]int    `json:"traffic"`
	MirrorTraffic map[string]int    `json:"mirror_traffic"`
	ScoringURI    string            `json:"scoring_uri"`
	// Compute is the kubernetes compute of a Kubernetes endpoint.
	Compute           string          `json:"compute,omitempty"`
	ProvisioningState string          `json:"provisioning_state"`
	CreationContext   CreationContext `json:"creation_context"`
}

// OnlineEndpointUpdate changes an endpoint; nil fields change nothing. A
// traffic change that moves live traffic to a mirrored deployment drops
// its mirror.
type OnlineEndpointUpdate struct {
	Traffic       map[string]int    `json:"traffic"`
	MirrorTraffic map[string]int    `json:"mirror_traffic"`
	Description   *string           `json:"description,omitempty"`
	Tags          map[string]string `json:"tags,omitempty"`
}

// EndpointCredentials are what `az ml online-endpoint get-credentials`
// prints: the keys of a key endpoint, or a token of an aml_token one.
type EndpointCredentials struct {
	PrimaryKey          string `json:"primaryKey,omitempty"`
	SecondaryKey        string `json:"secondaryKey,omitempty"`
	AccessToken         string `json:"accessToken,omitempty"`
	TokenType           string `json:"tokenType,omitempty"`
	ExpiryTimeUTC       int64  `json:"expiryTimeUtc,omitempty"`
	RefreshAfterTimeUTC int64  `json:"refreshAfterTimeUtc,omitempty"`
}

// Bearer returns the credential to send as "Authorization: Bearer ...".
func (c EndpointCredentials) Bearer() string {
	if c.AccessToken != "" {
		return c.AccessToken
	}
	return c.PrimaryKey
}

// OnlineDeployment is an online deployment as the API shows it, shaped
// like `az ml online-deployment show`, with the settings in force
// (defaults filled in) and the instances running now.
type OnlineDeployment struct {
	Name              string             `json:"name"`
	EndpointName      string             `json:"endpoint_name"`
	ID                string             `json:"id,omitempty"`
	Type              string             `json:"type,omitempty"`
	Description       string             `json:"description,omitempty"`
	Tags              map[string]string  `json:"tags,omitempty"`
	Model             string             `json:"model,omitempty"`
	CodeConfiguration *CodeConfiguration `json:"code_configuration,omitempty"`
	Environment       string             `json:"environment,omitempty"`
	// Compute and Image are where a Kubernetes deployment runs.
	Compute              string            `json:"compute,omitempty"`
	Image                string            `json:"image,omitempty"`
	InstanceType         string            `json:"instance_type,omitempty"`
	InstanceCount        int               `json:"instance_count"`
	RequestSettings      RequestSettings   `json:"request_settings"`
	LivenessProbe        ProbeSettings     `json:"liveness_probe"`
	ReadinessProbe       ProbeSettings     `json:"readiness_probe"`
	EnvironmentVariables map[string]string `json:"environment_variables,omitempty"`
	MaxBatchSize         int               `json:"max_batch_size,omitempty"`
	MaxBatchWaitMS       int               `json:"max_batch_wait_ms,omitempty"`
	ProvisioningState    string            `json:"provisioning_state"`
	Error                string            `json:"error,omitempty"`
	Instances            []Instance        `json:"instances,omitempty"`
	CreationContext      CreationContext   `json:"creation_context"`
}

// CodeConfiguration is a deployment's scoring script.
type CodeConfiguration struct {
	Code          string `json:"code"`
	ScoringScript string `json:"scoring_script"`
}

// RequestSettings are a deployment's request limits.
type RequestSettings struct {
	RequestTimeoutMS                 int `json:"request_timeout_ms"`
	MaxConcurrentRequestsPerInstance int `json:"max_concurrent_requests_per_instance"`
	MaxQueueWaitMS                   int `json:"max_queue_wait_ms"`
}

// ProbeSettings are a liveness or readiness probe's, in seconds and counts.
type ProbeSettings struct {
	InitialDelay     int `json:"initial_delay"`
	Period           int `json:"period"`
	Timeout          int `json:"timeout"`
	SuccessThreshold int `json:"success_threshold"`
	FailureThreshold int `json:"failure_threshold"`
}

// Instance is one worker process of a deployment.
type Instance struct {
	Index int `json:"index"`
	PID   int `json:"pid,omitempty"`
	// Address is a pod's, on a kubernetes compute.
	Address string `json:"address,omitempty"`
	State   string `json:"state"`
}

// Provisioning states of endpoints and deployments, Azure ML's.
const (
	StateCreating  = "Creating"
	StateUpdating  = "Updating"
	StateSucceeded = "Succeeded"
	StateFailed    = "Failed"
)

func endpointPath(ws string, parts ...string) string {
	return wsPath(ws, append([]string{"online-endpoints"}, parts...)...)
}

// CreateOnlineEndpoint creates an endpoint from its spec (a
// spec.OnlineEndpoint).
func (c *Client) CreateOnlineEndpoint(ctx context.Context, ws string, endpoint any) (OnlineEndpoint, error) {
	var out OnlineEndpoint
	err := c.doJSON(ctx, http.MethodPost, endpointPath(ws), endpoint, &out)
	return out, err
}

// GetOnlineEndpoint returns an endpoint.
func (c *Client) GetOnlineEndpoint(ctx context.Context, ws, name string) (OnlineEndpoint, error) {
	var out OnlineEndpoint
	err := c.doJSON(ctx, http.MethodGet, endpointPath(ws, name), nil, &out)
	return out, err
}

// ListOnlineEndpoints lists a workspace's endpoints.
func (c *Client) ListOnlineEndpoints(ctx context.Context, ws string) ([]OnlineEndpoint, error) {
	var out []OnlineEndpoint
	err := c.doJSON(ctx, http.MethodGet, endpointPath(ws), nil, &out)
	return out, err
}

// UpdateOnlineEndpoint changes an endpoint's traffic, mirrored traffic,
// description or tags.
func (c *Client) UpdateOnlineEndpoint(ctx context.Context, ws, name string, u OnlineEndpointUpdate) (OnlineEndpoint, error) {
	var out OnlineEndpoint
	err := c.doJSON(ctx, http.MethodPatch, endpointPath(ws, name), u, &out)
	return out, err
}

// DeleteOnlineEndpoint deletes an endpoint and its deployments.
func (c *Client) DeleteOnlineEndpoint(ctx context.Context, ws, name string) error {
	return c.doJSON(ctx, http.MethodDelete, endpointPath(ws, name), nil, nil)
}

// OnlineEndpointCredentials returns an endpoint's keys, or a new token.
func (c *Client) OnlineEndpointCredentials(ctx context.Context, ws, name string) (EndpointCredentials, error) {
	var out EndpointCredentials
	err := c.doJSON(ctx, http.MethodPost, endpointPath(ws, name, "credentials"), nil, &out)
	return out, err
}

// RegenerateOnlineEndpointKey replaces the "primary" or "secondary" key.
func (c *Client) RegenerateOnlineEndpointKey(ctx context.Context, ws, name, keyType string) (EndpointCredentials, error) {
	var out EndpointCredentials
	in := map[string]string{"key_type": keyType}
	err := c.doJSON(ctx, http.MethodPost, endpointPath(ws, name, "regenerate-keys"), in, &out)
	return out, err
}

// CreateOnlineDeployment creates a deployment (a spec.OnlineDeployment
// whose local paths were uploaded) in an endpoint. It answers at once with
// provisioning_state Creating; WaitOnlineDeployment follows it. With
// allTraffic the deployment gets all the endpoint's traffic once it is
// ready.
func (c *Client) CreateOnlineDeployment(ctx context.Context, ws, endpoint string, deployment any, allTraffic bool) (OnlineDeployment, error) {
	var out OnlineDeployment
	p := endpointPath(ws, endpoint, "deployments")
	if allTraffic {
		p += "?all_traffic=true"
	}
	err := c.doJSON(ctx, http.MethodPost, p, deployment, &out)
	return out, err
}

// UpdateOnlineDeployment replaces a deployment's spec; the new workers
// take over with no downtime. It answers at once with Updating.
func (c *Client) UpdateOnlineDeployment(ctx context.Context, ws, endpoint, name string, deployment any) (OnlineDeployment, error) {
	var out OnlineDeployment
	err := c.doJSON(ctx, http.MethodPut, endpointPath(ws, endpoint, "deployments", name), deployment, &out)
	return out, err
}

// SetOnlineDeployment changes a deployment's stored settings by
// path=value overrides (instance_count=3) and starts its rolling update.
func (c *Client) SetOnlineDeployment(ctx context.Context, ws, endpoint, name string, sets []string) (OnlineDeployment, error) {
	var out OnlineDeployment
	err := c.doJSON(ctx, http.MethodPatch, endpointPath(ws, endpoint, "deployments", name), map[string]any{"set": sets}, &out)
	return out, err
}

// GetOnlineDeployment returns a deployment.
func (c *Client) GetOnlineDeployment(ctx context.Context, ws, endpoint, name string) (OnlineDeployment, error) {
	var out OnlineDeployment
	err := c.doJSON(ctx, http.MethodGet, endpointPath(ws, endpoint, "deployments", name), nil, &out)
	return out, err
}

// ListOnlineDeployments lists an endpoint's deployments.
func (c *Client) ListOnlineDeployments(ctx context.Context, ws, endpoint string) ([]OnlineDeployment, error) {
	var out []OnlineDeployment
	err := c.doJSON(ctx, http.MethodGet, endpointPath(ws, endpoint, "deployments"), nil, &out)
	return out, err
}

// DeleteOnlineDeployment deletes a deployment that gets no traffic.
func (c *Client) DeleteOnlineDeployment(ctx context.Context, ws, endpoint, name string) error {
	return c.doJSON(ctx, http.MethodDelete, endpointPath(ws, endpoint, "deployments", name), nil, nil)
}

// OnlineDeploymentLogs returns the last lines of a deployment's log.
func (c *Client) OnlineDeploymentLogs(ctx context.Context, ws, endpoint, name string, lines int) (string, error) {
	p := endpointPath(ws, endpoint, "deployments", name, "logs")
	if lines > 0 {
		p += "?lines=" + strconv.Itoa(lines)
	}
	resp, err := c.send(ctx, http.MethodGet, p, nil, "")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("read logs: %w", err)
	}
	return string(b), nil
}

// WaitOnlineDeployment polls a deployment until it is no longer Creating or
// Updating, calling progress (when set) on every state it sees, and
// returns it.
func (c *Client) WaitOnlineDeployment(ctx context.Context, ws, endpoint, name string, every time.Duration, progress func(OnlineDeployment)) (OnlineDeployment, error) {
	for {
		d, err := c.GetOnlineDeployment(ctx, ws, endpoint, name)
		if err != nil {
			return d, err
		}
		if progress != nil {
			progress(d)
		}
		if d.ProvisioningState != StateCreating && d.ProvisioningState != StateUpdating {
			return d, nil
		}
		select {
		case <-ctx.Done():
			return d, ctx.Err()
		case <-time.After(every):
		}
	}
}

// Invocation is a scoring request to an endpoint's scoring URI.
type Invocation struct {
	// ScoringURI is the endpoint's scoring_uri.
	ScoringURI string
	// Credential is a key or token, sent as a bearer credential.
	Credential string
	// Deployment, when set, routes to that deployment
	// (azureml-model-deployment), whatever the traffic split.
	Deployment string
	// Body is the request, JSON.
	Body []byte
}

// InvokeResult is a scoring answer.
type InvokeResult struct {
	Status     int
	Body       []byte
	Deployment string // the deployment that answered
	RequestID  string
}

// Invoke scores a request at an endpoint's scoring URI. A non-2xx answer
// comes back as an *APIError carrying the status and the answer's message.
func (c *Client) Invoke(ctx context.Context, in Invocation) (InvokeResult, error) {
	if _, err := url.Parse(in.ScoringURI); err != nil || !strings.HasPrefix(in.ScoringURI, "http") {
		return InvokeResult{}, fmt.Errorf("invoke: bad scoring URI %q", in.ScoringURI)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.ScoringURI, bytes.NewReader(in.Body))
	if err != nil {
		return InvokeResult{}, fmt.Errorf("invoke: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+in.Credential)
	if in.Deployment != "" {
		req.Header.Set("azureml-model-deployment", in.Deployment)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return InvokeResult{}, fmt.Errorf("invoke %s: %w", in.ScoringURI, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return InvokeResult{}, fmt.Errorf("invoke %s: read answer: %w", in.ScoringURI, err)
	}
	res := InvokeResult{Status: resp.StatusCode, Body: body,
		Deployment: resp.Header.Get("azureml-model-deployment"), RequestID: resp.Header.Get("x-request-id")}
	if resp.StatusCode/100 == 2 {
		return res, nil
	}
	ae := &APIError{Status: resp.StatusCode}
	var eb ErrorBody
	if json.Unmarshal(body, &eb) == nil && eb.Error.Message != "" {
		ae.Code, ae.Message = eb.Error.Code, eb.Error.Message
	} else {
		ae.Message = fmt.Sprintf("scoring answered %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return res, ae
}
