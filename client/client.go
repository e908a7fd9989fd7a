// Package client is the public Go client of ciel's HTTP API (/api/v1). The
// CLI reaches the server only through it; so can any Go program.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Config configures a Client.
type Config struct {
	// URL is the server's base URL, e.g. "http://127.0.0.1:8765".
	URL string
	// Token, when set, is sent as "Authorization: Bearer <token>".
	Token string
	// HTTPClient defaults to a client with no overall timeout (streams are
	// long-lived).
	HTTPClient *http.Client
}

// Client talks to one ciel server. It is safe for concurrent use.
type Client struct {
	base  string
	token string
	hc    *http.Client
}

// New returns a client for cfg.URL.
func New(cfg Config) *Client {
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	return &Client{base: strings.TrimRight(cfg.URL, "/"), token: cfg.Token, hc: hc}
}

// URL returns the server's base URL.
func (c *Client) URL() string { return c.base }

// APIError is a non-2xx answer from the server.
type APIError struct {
	Status  int
	Code    string
	Message string
	Target  string
}

func (e *APIError) Error() string {
	if e.Message != "" {
		return e.Message
	}
	return fmt.Sprintf("server answered %d %s", e.Status, http.StatusText(e.Status))
}

// IsNotFound reports whether err is an API answer of 404.
func IsNotFound(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == http.StatusNotFound
}

// Terminal reports whether a job or step status is final.
func Terminal(status string) bool {
	switch status {
	case "Completed", "Failed", "Canceled":
		return true
	}
	return false
}

func (c *Client) do(ctx context.Context, method, path string, body io.Reader, contentType string, out any) error {
	resp, err := c.send(ctx, method, path, body, contentType)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// send performs a request and returns the response when it is 2xx; any
// other answer becomes an *APIError.
func (c *Client) send(ctx context.Context, method, path string, body io.Reader, contentType string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return c.exec(req)
}

// exec sends a built request with the token and returns the response when
// it is 2xx; any other answer becomes an *APIError.
func (c *Client) exec(req *http.Request) (*http.Response, error) {
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reach ciel server at %s: %w", c.base, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	ae := &APIError{Status: resp.StatusCode}
	var eb ErrorBody
	if json.Unmarshal(raw, &eb) == nil && eb.Error.Message != "" {
		ae.Code, ae.Message, ae.Target = eb.Error.Code, eb.Error.Message, eb.Error.Target
	} else {
		ae.Message = strings.TrimSpace(string(raw))
	}
	return nil, ae
}

func (c *Client) doJSON(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s %s: encode: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	return c.do(ctx, method, path, body, "application/json", out)
}

func wsPath(ws string, parts ...string) string {
	p := "/api/v1/workspaces/" + url.PathEscape(ws)
	for _, s := range parts {
		p += "/" + url.PathEscape(s)
	}
	return p
}

// Health checks the server is up.
func (c *Client) Health(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, "/api/v1/health", nil, "", nil)
}

// CreateWorkspace creates a workspace.
func (c *Client) CreateWorkspace(ctx context.Context, w Workspace) (Workspace, error) {
	var out Workspace
	err := c.doJSON(ctx, http.MethodPost, "/api/v1/workspaces", w, &out)
	return out, err
}

// GetWorkspace returns a workspace.
func (c *Client) GetWorkspace(ctx context.Context, name string) (Workspace, error) {
	var out Workspace
	err := c.doJSON(ctx, http.MethodGet, wsPath(name), nil, &out)
	return out, err
}

// ListWorkspaces lists every workspace.
func (c *Client) ListWorkspaces(ctx context.Context) ([]Workspace, error) {
	var out []Workspace
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/workspaces", nil, &out)
	return out, err
}

// DeleteWorkspace deletes a workspace and everything in it.
func (c *Client) DeleteWorkspace(ctx context.Context, name string) error {
	return c.doJSON(ctx, http.MethodDelete, wsPath(name), nil, nil)
}

// Upload sends an uncompressed tar stream of files to the workspace's
// datastore and returns the tree digest.
func (c *Client) Upload(ctx context.Context, ws string, tarStream io.Reader) (Upload, error) {
	var out Upload
	err := c.do(ctx, http.MethodPost, wsPath(ws, "uploads"), tarStream, "application/x-tar", &out)
	return out, err
}

// kind path segments for assets.
const (
	KindData        = "data"
	KindEnvironment = "environments"
	KindComponent   = "components"
	KindCompute     = "computes"
)

// CreateAsset creates an asset version of kind (KindData, KindEnvironment,
// KindComponent) from its spec; the server assigns the next version when the
// spec has none. For KindCompute it creates or replaces the compute.
func (c *Client) CreateAsset(ctx context.Context, ws, kind string, spec any) (Asset, error) {
	var out Asset
	err := c.doJSON(ctx, http.MethodPost, wsPath(ws, kind), spec, &out)
	return out, err
}

// GetAsset returns one version of an asset; version "" means the latest.
func (c *Client) GetAsset(ctx context.Context, ws, kind, name, version string) (Asset, error) {
	var out Asset
	p := wsPath(ws, kind, name)
	if version != "" {
		p = wsPath(ws, kind, name, "versions", version)
	}
	err := c.doJSON(ctx, http.MethodGet, p, nil, &out)
	return out, err
}

// ListAssets lists the latest version of every asset of kind, or every
// version of name when name is set.
func (c *Client) ListAssets(ctx context.Context, ws, kind, name string) ([]Asset, error) {
	var out []Asset
	p := wsPath(ws, kind)
	if name != "" {
		p = wsPath(ws, kind, name, "versions")
	}
	err := c.doJSON(ctx, http.MethodGet, p, nil, &out)
	return out, err
}

// ArchiveAsset archives (or restores) a version, or all versions when
// version is "".
func (c *Client) ArchiveAsset(ctx context.Context, ws, kind, name, version string, archived bool) error {
	p := wsPath(ws, kind, name)
	if version != "" {
		p = wsPath(ws, kind, name, "versions", version)
	}
	verb := "archive"
	if !archived {
		verb = "restore"
	}
	return c.doJSON(ctx, http.MethodPost, p+"/"+verb, nil, nil)
}

// DeleteAsset deletes a compute (or an asset version).
func (c *Client) DeleteAsset(ctx context.Context, ws, kind, name string) error {
	return c.doJSON(ctx, http.MethodDelete, wsPath(ws, kind, name), nil, nil)
}

// CreateJob submits a job (a spec.Job whose local paths were uploaded and
// replaced by "blob:<digest>").
func (c *Client) CreateJob(ctx context.Context, ws string, job any) (Job, error) {
	var out Job
	err := c.doJSON(ctx, http.MethodPost, wsPath(ws, "jobs"), job, &out)
	return out, err
}

// GetJob returns a job with its steps.
func (c *Client) GetJob(ctx context.Context, ws, name string) (Job, error) {
	var out Job
	err := c.doJSON(ctx, http.MethodGet, wsPath(ws, "jobs", name), nil, &out)
	return out, err
}

// ListJobs lists a workspace's jobs, newest first.
func (c *Client) ListJobs(ctx context.Context, ws string, includeArchived bool) ([]Job, error) {
	var out []Job
	p := wsPath(ws, "jobs")
	if includeArchived {
		p += "?include_archived=true"
	}
	err := c.doJSON(ctx, http.MethodGet, p, nil, &out)
	return out, err
}

// ListChildJobs lists the children of job parent: a pipeline's steps, a
// sweep's trials, or, for "<job>/<sweep step>", that step's trials.
func (c *Client) ListChildJobs(ctx context.Context, ws, parent string) ([]Job, error) {
	var out []Job
	err := c.doJSON(ctx, http.MethodGet, wsPath(ws, "jobs")+"?parent_job_name="+url.QueryEscape(parent), nil, &out)
	return out, err
}

// CancelJob asks a job to stop; running steps' process groups are killed.
func (c *Client) CancelJob(ctx context.Context, ws, name string) (Job, error) {
	var out Job
	err := c.doJSON(ctx, http.MethodPost, wsPath(ws, "jobs", name, "cancel"), nil, &out)
	return out, err
}

// ArchiveJob hides a job from lists (restore with archived=false).
func (c *Client) ArchiveJob(ctx context.Context, ws, name string, archived bool) (Job, error) {
	verb := "archive"
	if !archived {
		verb = "restore"
	}
	var out Job
	err := c.doJSON(ctx, http.MethodPost, wsPath(ws, "jobs", name, verb), nil, &out)
	return out, err
}

// StreamJob follows a job's logs: the answer is text lines, each prefixed
// with "[step] ", plus status lines "[step] status: Running". It ends when the
// job is terminal and every log is drained. The caller closes the reader.
func (c *Client) StreamJob(ctx context.Context, ws, name string) (io.ReadCloser, error) {
	resp, err := c.send(ctx, http.MethodGet, wsPath(ws, "jobs", name, "stream"), nil, "")
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// DownloadOutput returns a tar stream of a job's named output. name is a
// pipeline output, a step output ("step.output"), or "artifacts" for what
// steps wrote to ./outputs and ./logs. The caller closes the reader.
func (c *Client) DownloadOutput(ctx context.Context, ws, job, name string) (io.ReadCloser, error) {
	resp, err := c.send(ctx, http.MethodGet, wsPath(ws, "jobs", job, "outputs", name), nil, "")
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// StepLog returns a step's full log so far.
func (c *Client) StepLog(ctx context.Context, ws, job, step string) (io.ReadCloser, error) {
	resp, err := c.send(ctx, http.MethodGet, wsPath(ws, "jobs", job, "logs")+"?step="+url.QueryEscape(step), nil, "")
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// WaitJob polls until the job is terminal and returns it with its steps,
// but without the steps' MLflow runs (RunTracking is empty; GetJob has them),
// which are most of what a wide pipeline's view costs the server.
func (c *Client) WaitJob(ctx context.Context, ws, name string, every time.Duration) (Job, error) {
	for {
		var j Job
		err := c.doJSON(ctx, http.MethodGet, wsPath(ws, "jobs", name)+"?runs=false", nil, &j)
		if err != nil || Terminal(j.Status) {
			return j, err
		}
		select {
		case <-ctx.Done():
			return j, ctx.Err()
		case <-time.After(every):
		}
	}
}

// ListRegistryAssets lists the assets of kind in a registry (the server's
// built-in azureml registry of curated environments).
func (c *Client) ListRegistryAssets(ctx context.Context, registry, kind string) ([]Asset, error) {
	var out []Asset
	err := c.doJSON(ctx, http.MethodGet, registryPath(registry, kind), nil, &out)
	return out, err
}

// GetRegistryAsset returns one asset of a registry; version "" means the
// latest.
func (c *Client) GetRegistryAsset(ctx context.Context, registry, kind, name, version string) (Asset, error) {
	var out Asset
	p := registryPath(registry, kind, name)
	if version != "" {
		p = registryPath(registry, kind, name, "versions", version)
	}
	err := c.doJSON(ctx, http.MethodGet, p, nil, &out)
	return out, err
}

func registryPath(registry string, parts ...string) string {
	p := "/api/v1/registries/" + url.PathEscape(registry)
	for _, s := range parts {
		p += "/" + url.PathEscape(s)
	}
	return p
}
