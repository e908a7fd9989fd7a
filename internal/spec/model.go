package spec

import (
	"fmt"
	"os"
	"strconv"

	"gopkg.in/yaml.v3"
)

// Model is a model asset file (model.schema.json): the version to register
// and where its files come from.
type Model struct {
	Schema  string `json:"$schema,omitempty"`
	Name    string `json:"name"`
	Version string `json:"version,omitempty"` // a positive whole number; "" takes the next
	// Path is an absolute local path (file or folder), or a reference the
	// server resolves as written: azureml://jobs/<job>/outputs/<o>,
	// runs:/<run>/<p>, models:/<name>/<version>, ...
	Path        string            `json:"path"`
	Type        string            `json:"type,omitempty"` // custom_model or mlflow_model; "" detects
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	Stage       string            `json:"stage,omitempty"`
	File        string            `json:"file,omitempty"`
	Pos         Pos               `json:"pos"`
}

// ParseModelFile reads and parses an Azure ML model file.
func ParseModelFile(path string, opts Options) (*Model, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read model file: %w", err)
	}
	return ParseModel(path, data, opts)
}

// ParseModel parses an Azure ML model asset. A local path is made absolute
// (relative to file) and must exist; references are kept as written.
func ParseModel(file string, data []byte, opts Options) (*Model, error) {
	var m *Model
	err := parseAsset(file, data, opts, func(d *decoder, root *yaml.Node) {
		m = d.model(root)
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// modelFileIgnored are keys of a model file that mean nothing locally.
var modelFileIgnored = []string{
	"properties", "flavors", "job_name", "datastore", "intellectual_property", "creation_context", "id", "local_path",
}

// model decodes a model file.
func (d *decoder) model(n *yaml.Node) *Model {
	m := &Model{File: d.abs, Pos: d.pos(n)}
	d.fields(n, "", "a model", map[string]fieldFunc{
		"$schema":     d.strInto(&m.Schema),
		"name":        d.nameInto(&m.Name),
		"version":     func(p string, v *yaml.Node) { m.Version = d.modelVersion(p, v) },
		"path":        func(p string, v *yaml.Node) { m.Path, _ = d.dataPath(p, v) },
		"type":        func(p string, v *yaml.Node) { m.Type, _ = d.oneOf(p, v, modelTypes) },
		"description": d.strInto(&m.Description),
		"tags":        d.mapInto(&m.Tags),
		"stage":       d.strInto(&m.Stage),
	}, modelFileIgnored)
	d.require(n, "a model", "name", "path")
	return m
}

// modelVersion reads a model version: the registry numbers versions, so it
// is a positive whole number.
func (d *decoder) modelVersion(path string, v *yaml.Node) string {
	s, ok := d.str(path, v)
	if !ok {
		return ""
	}
	if n, err := strconv.Atoi(s); err != nil || n <= 0 {
		d.errorf(v, path, "invalid version %q: expected a positive whole number (the registry numbers versions)", s)
		return ""
	}
	return s
}
