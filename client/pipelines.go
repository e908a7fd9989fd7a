package client

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Pipeline is a CI/CD pipeline definition, with the field names of Azure
// DevOps' build definitions (what `az pipelines show` prints).
type Pipeline struct {
	ID          int64              `json:"id"`
	Name        string             `json:"name"`
	Path        string             `json:"path"`
	Repository  PipelineRepository `json:"repository"`
	Process     PipelineProcess    `json:"process"`
	CreatedDate time.Time          `json:"createdDate"`
	URL         string             `json:"url"`
	// WebhookSecret is an external pipeline's webhook secret: in the
	// answer to its creation and to GetPipelineWithSecret only.
	WebhookSecret string `json:"webhookSecret,omitempty"`
	// WebhookURL is where an external pipeline's webhook posts.
	WebhookURL string `json:"webhookUrl,omitempty"`
}

// PipelineRepository is the repository a pipeline's YAML lives in.
type PipelineRepository struct {
	Name string `json:"name"`
	Type string `json:"type"` // "TfsGit": hosted by ciel; "Git": mirrored from URL (credentials hidden)
	URL  string `json:"url"`
}

// PipelineProcess says which YAML file defines the pipeline.
type PipelineProcess struct {
	YAMLFilename string `json:"yamlFilename"`
}

// PipelineCreate is the body of a pipeline creation.
type PipelineCreate struct {
	Name       string `json:"name"`
	Repository string `json:"repository,omitempty"`
	// RepositoryURL names a repository outside ciel (an absolute path or an
	// http(s), ssh or git URL) to mirror and watch instead of Repository.
	RepositoryURL string `json:"repositoryUrl,omitempty"`
	// Branch is the branch manual runs take when none is given.
	Branch   string `json:"branch,omitempty"`
	YAMLPath string `json:"yamlPath"`
}

// PipelineRun is a run (Azure DevOps: a build) of a pipeline.
type PipelineRun struct {
	ID            int64             `json:"id"`
	BuildNumber   string            `json:"buildNumber"`
	Status        string            `json:"status"` // notStarted, inProgress, cancelling, completed
	Result        string            `json:"result,omitempty"`
	Reason        string            `json:"reason"`
	SourceBranch  string            `json:"sourceBranch"`
	SourceVersion string            `json:"sourceVersion"`
	Parameters    map[string]string `json:"parameters,omitempty"`
	QueueTime     time.Time         `json:"queueTime"`
	StartTime     *time.Time        `json:"startTime,omitempty"`
	FinishTime    *time.Time        `json:"finishTime,omitempty"`
	Definition    RunDefinition     `json:"definition"`
	Error         string            `json:"error,omitempty"`
	// PullRequest is the pull request a pr: trigger's run builds.
	PullRequest *RunPullRequest `json:"pullRequest,omitempty"`
	Jobs        []RunJob        `json:"jobs,omitempty"`
	// Created lists what the run's steps created (jobs, model versions,
	// endpoints, deployments), as their lineage tags say; only in a single
	// run's view.
	Created []RunCreated `json:"created,omitempty"`
	// TestResults counts the test cases the run's PublishTestResults@2
	// steps published; nil when none did.
	TestResults *RunTestResults `json:"testResults,omitempty"`
	URL         string          `json:"url"`
	// Links holds the run's page in the studio as _links.web.href, where
	// Azure DevOps puts a build's page.
	Links *RunLinks `json:"_links,omitempty"`
}

// RunLinks are a run's links, by Azure DevOps's names.
type RunLinks struct {
	Web Link `json:"web"`
}

// Link is one link of _links.
type Link struct {
	Href string `json:"href"`
}

// RunTestResults counts a run's published test cases.
type RunTestResults struct {
	Total   int `json:"totalTests"`
	Passed  int `json:"passedTests"`
	Failed  int `json:"failedTests"`
	Skipped int `json:"skippedTests"`
	Files   int `json:"files"`
}

// RunDefinition names the pipeline of a run.
type RunDefinition struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// RunJob is one job of a run's timeline.
type RunJob struct {
	Stage       string     `json:"stage"`
	Name        string     `json:"name"`
	DisplayName string     `json:"displayName,omitempty"`
	Status      string     `json:"status"`
	Result      string     `json:"result,omitempty"`
	StartTime   *time.Time `json:"startTime,omitempty"`
	FinishTime  *time.Time `json:"finishTime,omitempty"`
	Steps       []RunStep  `json:"steps,omitempty"`
}

// RunStep is one step of a job's timeline.
type RunStep struct {
	Name        string     `json:"name"`
	DisplayName string     `json:"displayName,omitempty"`
	Status      string     `json:"status"`
	StartTime   *time.Time `json:"startTime,omitempty"`
	FinishTime  *time.Time `json:"finishTime,omitempty"`
	ExitCode    int        `json:"exitCode"`
	Error       string     `json:"error,omitempty"`
}

// RunArtifact is an artifact a run published (`az pipelines runs artifact
// list`).
type RunArtifact struct {
	Name     string           `json:"name"`
	Resource ArtifactResource `json:"resource"`
}

// ArtifactResource says where an artifact's files are.
type ArtifactResource struct {
	Type        string `json:"type"` // "Container"
	DownloadURL string `json:"downloadUrl"`
	Files       int    `json:"files"`
	Size        int64  `json:"size"`
}

// RunRequest is the body of a manual run.
type RunRequest struct {
	Branch     string            `json:"branch,omitempty"`
	Parameters map[string]string `json:"parameters,omitempty"`
}

// CreatePipeline creates a pipeline from a YAML file of a hosted repository.
func (c *Client) CreatePipeline(ctx context.Context, ws string, in PipelineCreate) (Pipeline, error) {
	var out Pipeline
	err := c.doJSON(ctx, http.MethodPost, wsPath(ws, "pipelines"), in, &out)
	return out, err
}

// GetPipeline returns a pipeline.
func (c *Client) GetPipeline(ctx context.Context, ws, name string) (Pipeline, error) {
	var out Pipeline
	err := c.doJSON(ctx, http.MethodGet, wsPath(ws, "pipelines", name), nil, &out)
	return out, err
}

// GetPipelineWithSecret returns a pipeline with its webhook secret.
func (c *Client) GetPipelineWithSecret(ctx context.Context, ws, name string) (Pipeline, error) {
	var out Pipeline
	err := c.doJSON(ctx, http.MethodGet, wsPath(ws, "pipelines", name)+"?showSecret=true", nil, &out)
	return out, err
}

// ListPipelines lists a workspace's pipelines.
func (c *Client) ListPipelines(ctx context.Context, ws string) ([]Pipeline, error) {
	var out []Pipeline
	err := c.doJSON(ctx, http.MethodGet, wsPath(ws, "pipelines"), nil, &out)
	return out, err
}

// DeletePipeline deletes a pipeline and its runs.
func (c *Client) DeletePipeline(ctx context.Context, ws, name string) error {
	return c.doJSON(ctx, http.MethodDelete, wsPath(ws, "pipelines", name), nil, nil)
}

// RunPipeline queues a manual run.
func (c *Client) RunPipeline(ctx context.Context, ws, name string, in RunRequest) (PipelineRun, error) {
	var out PipelineRun
	err := c.doJSON(ctx, http.MethodPost, wsPath(ws, "pipelines", name, "runs"), in, &out)
	return out, err
}

// ListPipelineRuns lists runs, newest first, of one pipeline or all ("").
func (c *Client) ListPipelineRuns(ctx context.Context, ws, pipeline string) ([]PipelineRun, error) {
	var out []PipelineRun
	p := wsPath(ws, "pipeline-runs")
	if pipeline != "" {
		p += "?pipeline=" + url.QueryEscape(pipeline)
	}
	err := c.doJSON(ctx, http.MethodGet, p, nil, &out)
	return out, err
}

func runPath(ws string, id int64, parts ...string) string {
	return wsPath(ws, append([]string{"pipeline-runs", strconv.FormatInt(id, 10)}, parts...)...)
}

// GetPipelineRun returns a run with its timeline.
func (c *Client) GetPipelineRun(ctx context.Context, ws string, id int64) (PipelineRun, error) {
	var out PipelineRun
	err := c.doJSON(ctx, http.MethodGet, runPath(ws, id), nil, &out)
	return out, err
}

// CancelPipelineRun cancels a run.
func (c *Client) CancelPipelineRun(ctx context.Context, ws string, id int64) (PipelineRun, error) {
	var out PipelineRun
	err := c.doJSON(ctx, http.MethodPost, runPath(ws, id, "cancel"), nil, &out)
	return out, err
}

// PipelineRunLog returns the run's log; with follow it streams until the
// run ends. The caller closes it.
func (c *Client) PipelineRunLog(ctx context.Context, ws string, id int64, follow bool) (io.ReadCloser, error) {
	p := runPath(ws, id, "logs")
	if follow {
		p += "?follow=true"
	}
	resp, err := c.send(ctx, http.MethodGet, p, nil, "")
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// ListRunArtifacts lists what a run published.
func (c *Client) ListRunArtifacts(ctx context.Context, ws string, id int64) ([]RunArtifact, error) {
	var out []RunArtifact
	err := c.doJSON(ctx, http.MethodGet, runPath(ws, id, "artifacts"), nil, &out)
	return out, err
}

// DownloadRunArtifact returns an artifact's files as a tar stream. The
// caller closes it.
func (c *Client) DownloadRunArtifact(ctx context.Context, ws string, id int64, name string) (io.ReadCloser, error) {
	resp, err := c.send(ctx, http.MethodGet, runPath(ws, id, "artifacts", name), nil, "")
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// AgentPool is the pool of agents that runs pipeline jobs: at most
// Parallel jobs, of all runs together, at once. There is one per server.
type AgentPool struct {
	Name     string `json:"name"` // "Default"
	Parallel int    `json:"parallel"`
}

// GetAgentPool returns the agent pool's settings.
func (c *Client) GetAgentPool(ctx context.Context, ws string) (AgentPool, error) {
	var out AgentPool
	err := c.doJSON(ctx, http.MethodGet, wsPath(ws, "pipeline-pool"), nil, &out)
	return out, err
}

// UpdateAgentPool changes the agent pool's settings; jobs already waiting
// for a slot see the new size.
func (c *Client) UpdateAgentPool(ctx context.Context, ws string, in AgentPool) (AgentPool, error) {
	var out AgentPool
	err := c.doJSON(ctx, http.MethodPut, wsPath(ws, "pipeline-pool"), in, &out)
	return out, err
}

// VariableGroup is a named set of pipeline variables, with the field names
// of Azure DevOps' variable groups (what `az pipelines variable-group show`
// prints).
type VariableGroup struct {
	ID          int64                    `json:"id"`
	Name        string                   `json:"name"`
	Description string                   `json:"description,omitempty"`
	Type        string                   `json:"type"` // "Vsts"
	Variables   map[string]VariableValue `json:"variables"`
	CreatedOn   time.Time                `json:"createdOn"`
}

// VariableValue is one variable of a group.
type VariableValue struct {
	Value    string `json:"value"`
	IsSecret bool   `json:"isSecret"`
}

// VariableGroupCreate is the body of a variable group creation.
type VariableGroupCreate struct {
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	Variables   map[string]string `json:"variables"`
}

// CreateVariableGroup creates a variable group in the workspace.
func (c *Client) CreateVariableGroup(ctx context.Context, ws string, in VariableGroupCreate) (VariableGroup, error) {
	var out VariableGroup
	err := c.doJSON(ctx, http.MethodPost, wsPath(ws, "variable-groups"), in, &out)
	return out, err
}

// GetVariableGroup returns a variable group.
func (c *Client) GetVariableGroup(ctx context.Context, ws, name string) (VariableGroup, error) {
	var out VariableGroup
	err := c.doJSON(ctx, http.MethodGet, wsPath(ws, "variable-groups", name), nil, &out)
	return out, err
}

// ListVariableGroups lists the workspace's variable groups by name.
func (c *Client) ListVariableGroups(ctx context.Context, ws string) ([]VariableGroup, error) {
	var out []VariableGroup
	err := c.doJSON(ctx, http.MethodGet, wsPath(ws, "variable-groups"), nil, &out)
	return out, err
}

// DeleteVariableGroup deletes a variable group.
func (c *Client) DeleteVariableGroup(ctx context.Context, ws, name string) error {
	return c.doJSON(ctx, http.MethodDelete, wsPath(ws, "variable-groups", name), nil, nil)
}

// RunCreated is one thing a pipeline run's steps created.
type RunCreated struct {
	Kind    string `json:"kind"` // job, model, online-endpoint, online-deployment
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
}

// RunPullRequest is the pull request a run builds (Azure DevOps'
// System.PullRequest.* values).
type RunPullRequest struct {
	Number         int    `json:"pullRequestNumber"`
	SourceBranch   string `json:"sourceBranch"`
	TargetBranch   string `json:"targetBranch"`
	SourceCommitID string `json:"sourceCommitId"`
}
