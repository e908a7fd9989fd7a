package spec

import (
	"fmt"
	"os"

	"gopkg.in/yaml.v3"
)

// ParseEnvironmentFile reads and parses an Azure ML environment file.
func ParseEnvironmentFile(path string, opts Options) (*Environment, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read environment file: %w", err)
	}
	return ParseEnvironment(path, data, opts)
}

// ParseEnvironment parses an Azure ML environment. The conda file it names
// is read (relative to file) into CondaFile, and build.path made absolute.
func ParseEnvironment(file string, data []byte, opts Options) (*Environment, error) {
	var e *Environment
	err := parseAsset(file, data, opts, func(d *decoder, root *yaml.Node) {
		e = d.environment(root, "")
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// ParseDataFile reads and parses an Azure ML data asset file.
func ParseDataFile(path string, opts Options) (*Data, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read data file: %w", err)
	}
	return ParseData(path, data, opts)
}

// ParseData parses an Azure ML data asset. A local path is made absolute
// (relative to file) and must exist; azureml: references and URLs are kept
// as written.
func ParseData(file string, data []byte, opts Options) (*Data, error) {
	var x *Data
	err := parseAsset(file, data, opts, func(d *decoder, root *yaml.Node) {
		x = d.data(root)
	})
	if err != nil {
		return nil, err
	}
	return x, nil
}

// ParseComputeFile reads and parses an Azure ML compute file.
func ParseComputeFile(path string, opts Options) (*Compute, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read compute file: %w", err)
	}
	return ParseCompute(path, data, opts)
}

// ParseCompute parses an Azure ML compute definition (plus ciel's
// max_concurrency).
func ParseCompute(file string, data []byte, opts Options) (*Compute, error) {
	var c *Compute
	err := parseAsset(file, data, opts, func(d *decoder, root *yaml.Node) {
		c = d.computeTarget(root)
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// parseAsset runs decode on the top-level mapping of a file (a job,
// component or asset) and returns every problem found in it.
func parseAsset(file string, data []byte, opts Options, decode func(*decoder, *yaml.Node)) error {
	s := newSession()
	d, err := newDecoder(file, s)
	if err != nil {
		return err
	}
	root, err := d.parseRoot(data, opts)
	if err != nil {
		return err
	}
	decode(d, root)
	return s.finish()
}

// environment decodes an environment file or an inline environment.
func (d *decoder) environment(n *yaml.Node, path string) *Environment {
	e := &Environment{File: d.abs, Pos: d.pos(n)}
	d.fields(n, path, "an environment", map[string]fieldFunc{
		"$schema":     d.strInto(&e.Schema),
		"name":        d.nameInto(&e.Name),
		"version":     d.nameInto(&e.Version),
		"description": d.strInto(&e.Description),
		"tags":        d.mapInto(&e.Tags),
		"image":       d.strInto(&e.Image),
		"conda_file":  func(p string, v *yaml.Node) { e.CondaFile = d.condaFile(p, v) },
		"build":       func(p string, v *yaml.Node) { e.BuildPath, e.BuildDockerfile = d.build(p, v) },
		"os_type":     func(p string, v *yaml.Node) { e.OSType, _ = d.oneOf(p, v, []string{"linux", "windows"}) },
	}, []string{"inference_config", "properties", "intellectual_property", "creation_context", "id", "stage", "datastore"})
	if d.resolve(n).Kind != yaml.MappingNode {
		return nil
	}
	if d.lookup(n, "image") == nil && d.lookup(n, "conda_file") == nil && d.lookup(n, "build") == nil {
		d.errorf(n, path, "an environment needs image, conda_file or build")
	}
	return e
}

// condaFile reads conda_file: a path whose text is loaded, or an inline
// mapping written back as YAML.
func (d *decoder) condaFile(path string, v *yaml.Node) string {
	switch {
	case v.Kind == yaml.MappingNode:
		text, err := marshalNode(v)
		if err != nil {
			d.errorf(v, path, "cannot write the inline conda file as YAML: %v", err)
		}
		return text
	case v.Kind == yaml.ScalarNode && !isNull(v) && !isRemote(v.Value):
		_, data, ok := d.readLocalFile(path, v, v.Value)
		if !ok {
			return ""
		}
		var doc yaml.Node
		if err := unmarshalNode(data, &doc); err != nil {
			d.addErr(v, path, SyntaxError(d.displayPath(v.Value), data, err))
		}
		return string(data)
	}
	d.errorf(v, path, "expected a path to a conda file or an inline conda mapping, got %s", describeValue(v))
	return ""
}

// marshalNode writes n as YAML, turning a panic in the YAML library into an
// error.
func marshalNode(n *yaml.Node) (text string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	data, err := yaml.Marshal(n)
	return string(data), err
}

// build reads build: {path, dockerfile_path} and returns the context path
// and the Dockerfile's path inside it.
func (d *decoder) build(path string, v *yaml.Node) (ctx, dockerfile string) {
	seen := false
	d.fields(v, path, "build", map[string]fieldFunc{
		"path": func(p string, n *yaml.Node) {
			seen = true
			ctx, _ = d.dataPath(p, n)
		},
		"dockerfile_path": func(p string, n *yaml.Node) { dockerfile, _ = d.str(p, n) },
	}, nil)
	if !seen && v.Kind == yaml.MappingNode {
		d.errorf(v, path, "build needs path: (the Docker build context)")
	}
	return ctx, dockerfile
}

// data decodes a data asset file.
func (d *decoder) data(n *yaml.Node) *Data {
	x := &Data{Type: TypeURIFolder, File: d.abs, Pos: d.pos(n)}
	d.fields(n, "", "a data asset", map[string]fieldFunc{
		"$schema": d.strInto(&x.Schema),
		"name":    d.nameInto(&x.Name),
		"version": d.nameInto(&x.Version),
		"type": func(p string, v *yaml.Node) {
			x.Type, _ = d.oneOf(p, v, []string{TypeURIFile, TypeURIFolder, TypeMLTable})
		},
		"path":        func(p string, v *yaml.Node) { x.Path, _ = d.dataPath(p, v) },
		"description": d.strInto(&x.Description),
		"tags":        d.mapInto(&x.Tags),
	}, []string{"properties", "datastore", "stage", "auto_delete_setting", "creation_context", "id"})
	d.require(n, "a data asset", "name", "path")
	return x
}

// computeTarget decodes a compute file.
func (d *decoder) computeTarget(n *yaml.Node) *Compute {
	c := &Compute{File: d.abs, Pos: d.pos(n)}
	var minNode *yaml.Node
	d.fields(n, "", "a compute", withFields(map[string]fieldFunc{
		"$schema":     d.strInto(&c.Schema),
		"name":        d.nameInto(&c.Name),
		"type":        func(p string, v *yaml.Node) { c.Type, _ = d.oneOf(p, v, computeTypes) },
		"size":        d.strInto(&c.Size),
		"description": d.strInto(&c.Description),
		"min_instances": func(p string, v *yaml.Node) {
			minNode = v
			d.nonNegativeInto(&c.MinInstances)(p, v)
		},
		"max_instances":   d.nonNegativeInto(&c.MaxInstances),
		"max_concurrency": d.nonNegativeInto(&c.MaxConcurrency),
	}, kubernetesFields(d, c)), computeIgnored)
	d.require(n, "a compute", "name", "type")
	d.checkKubernetes(n, c)
	if minNode != nil && d.lookup(n, "max_instances") != nil && c.MinInstances > c.MaxInstances {
		d.errorf(minNode, "min_instances", "%d is more than max_instances (%d)", c.MinInstances, c.MaxInstances)
	}
	return c
}

// Compute types, and keys of Azure compute files that mean nothing locally.
var (
	computeTypes   = []string{"local", "amlcompute", "kubernetes", "computeinstance"}
	computeIgnored = []string{
		"location", "idle_time_before_scale_down", "tier", "identity", "ssh_public_access_enabled",
		"ssh_settings", "network_settings", "tags", "resource_id", "enable_node_public_ip",
		"schedules", "setup_scripts", "properties", "created_on", "provisioning_state", "id",
	}
)

// require reports each of keys missing from the mapping n.
func (d *decoder) require(n *yaml.Node, what string, keys ...string) {
	for _, k := range keys {
		if d.lookup(n, k) == nil {
			d.errorf(n, "", "%s needs %s:", what, k)
		}
	}
}
