package client

import (
	"context"
	"net/http"
)

// Datastore is a datastore as the API shows it, shaped like
// `az ml datastore show`: a folder on the server's machine (type local,
// path) or an S3-compatible bucket (type s3, endpoint, bucket, prefix,
// region, and the names of the server's environment variables holding its
// keys). The defaults every workspace has (workspaceblobstore, ...) are
// listed with IsDefault.
type Datastore struct {
	Name            string                `json:"name"`
	ID              string                `json:"id,omitempty"`
	Type            string                `json:"type"`
	Description     string                `json:"description,omitempty"`
	Tags            map[string]string     `json:"tags,omitempty"`
	Path            string                `json:"path,omitempty"`
	Endpoint        string                `json:"endpoint,omitempty"`
	Bucket          string                `json:"bucket,omitempty"`
	Prefix          string                `json:"prefix,omitempty"`
	Region          string                `json:"region,omitempty"`
	Credentials     *DatastoreCredentials `json:"credentials,omitempty"`
	IsDefault       bool                  `json:"is_default,omitempty"`
	CreationContext CreationContext       `json:"creation_context"`
}

// DatastoreCredentials names the server's environment variables that hold
// an S3 datastore's keys; ciel never stores the keys.
type DatastoreCredentials struct {
	AccessKeyIDEnv     string `json:"access_key_id_env,omitempty"`
	SecretAccessKeyEnv string `json:"secret_access_key_env,omitempty"`
}

// CreateDatastore creates a datastore, or replaces the one of that name,
// from its spec (a spec.Datastore).
func (c *Client) CreateDatastore(ctx context.Context, ws string, spec any) (Datastore, error) {
	var out Datastore
	err := c.doJSON(ctx, http.MethodPost, wsPath(ws, "datastores"), spec, &out)
	return out, err
}

// GetDatastore returns one datastore.
func (c *Client) GetDatastore(ctx context.Context, ws, name string) (Datastore, error) {
	var out Datastore
	err := c.doJSON(ctx, http.MethodGet, wsPath(ws, "datastores", name), nil, &out)
	return out, err
}

// ListDatastores lists a workspace's datastores, the defaults first.
func (c *Client) ListDatastores(ctx context.Context, ws string) ([]Datastore, error) {
	var out []Datastore
	err := c.doJSON(ctx, http.MethodGet, wsPath(ws, "datastores"), nil, &out)
	return out, err
}

// DeleteDatastore deletes a datastore (its files stay where they are).
func (c *Client) DeleteDatastore(ctx context.Context, ws, name string) error {
	return c.doJSON(ctx, http.MethodDelete, wsPath(ws, "datastores", name), nil, nil)
}
