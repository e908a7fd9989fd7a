package spec

import (
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// Datastore is a datastore file: Azure ML's datastore YAML with ciel's two
// types. type: local names a folder on the server's machine (path:);
// type: s3 an S3-compatible bucket (endpoint:, bucket:, prefix:, region:,
// credentials: with the NAMES of the server's environment variables that
// hold the keys, so no secret is written in a file or kept by ciel).
type Datastore struct {
	Schema      string            `json:"$schema,omitempty"`
	Name        string            `json:"name"`
	Type        string            `json:"type"`
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	// Path is a local datastore's folder, made absolute against the file.
	Path        string                `json:"path,omitempty"`
	Endpoint    string                `json:"endpoint,omitempty"`
	Bucket      string                `json:"bucket,omitempty"`
	Prefix      string                `json:"prefix,omitempty"`
	Region      string                `json:"region,omitempty"`
	Credentials *DatastoreCredentials `json:"credentials,omitempty"`
	File        string                `json:"file,omitempty"`
	Pos         Pos                   `json:"pos"`
}

// DatastoreCredentials names the environment variables of the server that
// hold an S3 datastore's keys.
type DatastoreCredentials struct {
	AccessKeyIDEnv     string `json:"access_key_id_env,omitempty"`
	SecretAccessKeyEnv string `json:"secret_access_key_env,omitempty"`
}

// datastoreTypes are the types ciel reaches; azureStorageTypes are Azure
// ML's, which it cannot.
var (
	datastoreTypes    = []string{"local", "s3"}
	azureStorageTypes = []string{"azure_blob", "azure_data_lake_gen1", "azure_data_lake_gen2", "azure_file", "one_lake"}
)

// ParseDatastoreFile reads and parses a datastore file.
func ParseDatastoreFile(path string, opts Options) (*Datastore, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read datastore file: %w", err)
	}
	return ParseDatastore(path, data, opts)
}

// ParseDatastore parses a datastore file; a relative path: is resolved
// against the file's folder.
func ParseDatastore(file string, data []byte, opts Options) (*Datastore, error) {
	var ds *Datastore
	err := parseAsset(file, data, opts, func(d *decoder, root *yaml.Node) {
		ds = d.datastore(root)
	})
	if err != nil {
		return nil, err
	}
	return ds, nil
}

func (d *decoder) datastore(n *yaml.Node) *Datastore {
	ds := &Datastore{File: d.abs, Pos: d.pos(n)}
	d.fields(n, "", "a datastore", map[string]fieldFunc{
		"$schema":     d.strInto(&ds.Schema),
		"name":        d.nameInto(&ds.Name),
		"type":        func(p string, v *yaml.Node) { ds.Type = d.datastoreType(p, v) },
		"description": d.strInto(&ds.Description),
		"tags":        d.mapInto(&ds.Tags),
		"path": func(p string, v *yaml.Node) {
			if s, ok := d.str(p, v); ok && s != "" {
				ds.Path = d.localPath(s)
			}
		},
		"endpoint":    d.strInto(&ds.Endpoint),
		"bucket":      d.strInto(&ds.Bucket),
		"prefix":      d.strInto(&ds.Prefix),
		"region":      d.strInto(&ds.Region),
		"credentials": func(p string, v *yaml.Node) { ds.Credentials = d.datastoreCredentials(p, v) },
	}, []string{"id", "creation_context", "properties"})
	d.require(n, "a datastore", "name", "type")
	switch ds.Type {
	case "local":
		d.require(n, "a local datastore", "path")
	case "s3":
		d.require(n, "an s3 datastore", "endpoint", "bucket")
	}
	return ds
}

// datastoreType reads type:, explaining why Azure's storage types are
// refused.
func (d *decoder) datastoreType(path string, v *yaml.Node) string {
	s, ok := d.str(path, v)
	switch {
	case !ok:
	case contains(datastoreTypes, s):
		return s
	case contains(azureStorageTypes, s):
		d.errorf(v, path, "%s is Azure storage, which ciel cannot reach; use type: local (path: a folder) or type: s3 (an S3-compatible bucket)", s)
	default:
		d.errorf(v, path, "unknown datastore type %q; expected one of %s", s, strings.Join(datastoreTypes, ", "))
	}
	return ""
}

func (d *decoder) datastoreCredentials(path string, v *yaml.Node) *DatastoreCredentials {
	c := &DatastoreCredentials{}
	known := map[string]fieldFunc{
		"access_key_id_env":     d.strInto(&c.AccessKeyIDEnv),
		"secret_access_key_env": d.strInto(&c.SecretAccessKeyEnv),
	}
	for _, secret := range []string{"access_key_id", "secret_access_key", "account_key", "sas_token"} {
		known[secret] = func(p string, k *yaml.Node) {
			d.errorf(k, p, "ciel keeps no secrets: give access_key_id_env and secret_access_key_env, the names of the server's environment variables that hold the keys")
		}
	}
	d.fields(v, path, "datastore credentials", known, nil)
	return c
}
