package client

import (
	"context"
	"net/http"
)

// Repository is a git repository hosted by ciel, with the field names of
// Azure DevOps' Git Repositories API (what `az repos show` prints).
type Repository struct {
	ID            string       `json:"id"`
	Name          string       `json:"name"`
	Project       RepoProject  `json:"project"`
	DefaultBranch string       `json:"defaultBranch"`
	RemoteURL     string       `json:"remoteUrl"`
	URL           string       `json:"url"`
	Branches      []RepoBranch `json:"branches,omitempty"`
	IsDisabled    bool         `json:"isDisabled"`
}

// RepoProject names the workspace a repository belongs to (Azure DevOps
// calls it the project).
type RepoProject struct {
	Name string `json:"name"`
}

// RepoBranch is one branch of a repository and the commit it points at.
type RepoBranch struct {
	Name     string `json:"name"`
	ObjectID string `json:"objectId"`
}

// CreateRepository creates an empty git repository in workspace ws.
func (c *Client) CreateRepository(ctx context.Context, ws, name string) (Repository, error) {
	var out Repository
	err := c.doJSON(ctx, http.MethodPost, wsPath(ws, "repos"), map[string]string{"name": name}, &out)
	return out, err
}

// GetRepository returns a repository with its branches.
func (c *Client) GetRepository(ctx context.Context, ws, name string) (Repository, error) {
	var out Repository
	err := c.doJSON(ctx, http.MethodGet, wsPath(ws, "repos", name), nil, &out)
	return out, err
}

// ListRepositories lists the repositories of workspace ws.
func (c *Client) ListRepositories(ctx context.Context, ws string) ([]Repository, error) {
	var out []Repository
	err := c.doJSON(ctx, http.MethodGet, wsPath(ws, "repos"), nil, &out)
	return out, err
}

// DeleteRepository deletes a repository and its history.
func (c *Client) DeleteRepository(ctx context.Context, ws, name string) error {
	return c.doJSON(ctx, http.MethodDelete, wsPath(ws, "repos", name), nil, nil)
}
