package mljobs

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/ciel-mlops/ciel/internal/blob"
	"github.com/ciel-mlops/ciel/internal/datastore"
	"github.com/ciel-mlops/ciel/internal/spec"
)

// jobFile reads a job file kept in a datastore. The folder holding it is
// unpacked into a private temporary folder and the file parsed there, so
// that its relative paths (code, component files, data) resolve inside
// that folder; each local path the job names is then stored in the blob
// store, as the CLI uploads them. A path leading out of the folder is
// refused.
func (m *Jobs) jobFile(ctx context.Context, ws, uri string) (*spec.Job, error) {
	u, err := datastore.ParseURI(uri)
	if err != nil || u.Kind != datastore.KindDatastore || u.Path == "" {
		return nil, fmt.Errorf("jobFile %q: expected azureml://datastores/<datastore>/paths/<path>/<job>.yml", uri)
	}
	folder := datastore.URI{Kind: datastore.KindDatastore, Datastore: u.Datastore, Path: path.Dir(u.Path)}
	if folder.Path == "." {
		folder.Path = ""
	}
	res, err := m.cfg.Data.Fetch(ctx, ws, folder.String())
	if err != nil {
		return nil, fmt.Errorf("jobFile %s: %w", uri, err)
	}
	dir, cleanup, err := m.tempDir()
	if err != nil {
		return nil, err
	}
	defer cleanup()
	if err := blob.Materialize(ctx, m.cfg.Blobs, res.Digest, dir, false); err != nil {
		return nil, fmt.Errorf("jobFile %s: %w", uri, err)
	}
	file := filepath.Join(dir, path.Base(u.Path))
	if fi, err := os.Stat(file); err != nil || fi.IsDir() {
		return nil, fmt.Errorf("jobFile %s: no such file in %s", uri, folder)
	}
	if err := checkComponentRefs(file, true); err != nil {
		return nil, fmt.Errorf("jobFile %s: %w", uri, err)
	}
	job, err := spec.ParseJobFile(file, spec.Options{})
	if err != nil {
		return nil, fmt.Errorf("jobFile %s: %w", uri, unpackedPath(err, dir))
	}
	err = eachLocalPath(job, func(p *string, what string) error {
		rel, err := filepath.Rel(dir, *p)
		if err != nil || !filepath.IsLocal(rel) {
			return fmt.Errorf("%s %q leads out of the job file's folder", what, *p)
		}
		d, err := ingest(ctx, m.cfg.Blobs, *p)
		if err != nil {
			return fmt.Errorf("%s %s: %w", what, rel, err)
		}
		*p = "blob:" + d
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("jobFile %s: %w", uri, unpackedPath(err, dir))
	}
	job.File = uri
	return job, nil
}

// unpackedPath writes the datastore folder in place of the temporary one
// an error names.
func unpackedPath(err error, dir string) error {
	msg := strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), "")
	if msg == err.Error() {
		return err
	}
	return fmt.Errorf("%s", msg)
}

// ingest stores the file or folder at p and returns its tree's digest.
func ingest(ctx context.Context, blobs blob.Store, p string) (string, error) {
	if fi, err := os.Stat(p); err != nil {
		return "", err
	} else if fi.IsDir() {
		return blob.IngestDir(ctx, blobs, p)
	}
	return blob.IngestFile(ctx, blobs, p)
}

// inlineJob parses an inline job (the YAML's fields as JSON) as a job file
// would be, in an empty folder: it may name nothing local, only azureml:
// references and URIs.
func (m *Jobs) inlineJob(v map[string]any) (*spec.Job, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("job: %w", err)
	}
	dir, cleanup, err := m.tempDir()
	if err != nil {
		return nil, err
	}
	defer cleanup()
	if err := componentRefs(raw, false); err != nil {
		return nil, fmt.Errorf("job: %w", err)
	}
	// JSON is YAML: the parser checks the fields and names them.
	job, err := spec.ParseJob(filepath.Join(dir, "job.json"), raw, spec.Options{})
	if err != nil {
		return nil, fmt.Errorf("job: %w", unpackedPath(err, dir))
	}
	err = eachLocalPath(job, func(p *string, what string) error {
		return fmt.Errorf("job: %s is a local path; an inline job names azureml: references and azureml:// or http(s) URIs (use jobFile for a job with its code)", what)
	})
	return job, err
}

// checkComponentRefs reads file and refuses the component files it names
// that lead out of its folder (local false: any component file).
func checkComponentRefs(file string, local bool) error {
	raw, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("read job file: %w", err)
	}
	return componentRefs(raw, local)
}

// componentRefs checks every `component:` string of a job document before
// the parser reads the files they name: an azureml: reference, or (with
// local) a relative path inside the job's folder.
func componentRefs(raw []byte, local bool) error {
	var doc any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil // the parser says where
	}
	var walk func(v any) error
	walk = func(v any) error {
		switch x := v.(type) {
		case map[string]any:
			for _, k := range slices.Sorted(maps.Keys(x)) {
				if s, ok := x[k].(string); ok && k == "component" && !strings.HasPrefix(s, "azureml:") {
					if !local {
						return fmt.Errorf("component %q: an inline job names components as azureml:<name>:<version> or inline", s)
					}
					if !filepath.IsLocal(filepath.FromSlash(s)) {
						return fmt.Errorf("component %q leads out of the job file's folder", s)
					}
				}
				if err := walk(x[k]); err != nil {
					return err
				}
			}
		case []any:
			for _, e := range x {
				if err := walk(e); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return walk(doc)
}

// bindParameters sets the job's inputs from an activity's parameters: a
// data input takes a URI or azureml: reference as its path, a literal
// input a literal.
func bindParameters(j *spec.Job, params map[string]any) error {
	for _, name := range slices.Sorted(maps.Keys(params)) {
		old, ok := j.Inputs[name]
		if !ok {
			return fmt.Errorf("parameters.%s: the job has no input %q; its inputs: %s", name, name, strings.Join(slices.Sorted(maps.Keys(j.Inputs)), ", "))
		}
		in, err := inputValue(name, old, params[name])
		if err != nil {
			return err
		}
		j.Inputs[name] = in
	}
	return nil
}

// dataTypes are the input types whose value is a path.
var dataTypes = []string{spec.TypeURIFile, spec.TypeURIFolder, spec.TypeMLTable, "custom_model", "mlflow_model", "triton_model"}

// inputValue is the input name takes from parameter value v, given what
// the job said of it (old, possibly nil).
func inputValue(name string, old *spec.InputValue, v any) (*spec.InputValue, error) {
	if old != nil && (old.Path != "" || slices.Contains(dataTypes, old.Type)) {
		s, ok := v.(string)
		if !ok || s == "" {
			return nil, fmt.Errorf("parameters.%s: a data input takes a path (azureml://datastores/<ds>/paths/<p>, azureml://jobs/<job>/outputs/<o>, azureml:<data>:<version>), got %T", name, v)
		}
		return &spec.InputValue{Type: old.Type, Mode: old.Mode, Path: s, Pos: old.Pos}, nil
	}
	in := &spec.InputValue{}
	if old != nil {
		in.Pos = old.Pos
	}
	var s string
	switch x := v.(type) {
	case string:
		s, in.Kind = x, "string"
	case bool:
		s, in.Kind = fmt.Sprint(x), "boolean"
	case int64, int:
		s, in.Kind = fmt.Sprint(x), "integer"
	case float64:
		s, in.Kind = fmt.Sprint(x), "number"
	default:
		return nil, fmt.Errorf("parameters.%s: expected a string, number or boolean, got %T", name, v)
	}
	in.Value = &s
	return in, nil
}

// eachLocalPath calls fn with every path on this machine's disk the job
// names (code folders, data inputs, environment build contexts), at any
// depth of inline components and steps, as the CLI's upload walks them.
func eachLocalPath(j *spec.Job, fn func(p *string, what string) error) error {
	if j == nil {
		return nil
	}
	if err := localPath(&j.Code, "code", fn); err != nil {
		return err
	}
	if err := envPath(j.Environment, fn); err != nil {
		return err
	}
	if p := j.Parallel; p != nil && p.Task != nil {
		if err := localPath(&p.Task.Code, "task.code", fn); err != nil {
			return err
		}
		if err := envPath(p.Task.Environment, fn); err != nil {
			return err
		}
	}
	for _, name := range slices.Sorted(maps.Keys(j.Inputs)) {
		if in := j.Inputs[name]; in != nil {
			if err := localPath(&in.Path, "inputs."+name, fn); err != nil {
				return err
			}
		}
	}
	if j.Component != nil && j.Component.Inline != nil {
		c := j.Component.Inline
		if len(c.AdditionalIncludes) > 0 {
			return fmt.Errorf("component %s: additional_includes are not supported in a factory's job; put the files in its code folder", c.Name)
		}
		if err := localPath(&c.Code, "component code", fn); err != nil {
			return err
		}
		if err := envPath(c.Environment, fn); err != nil {
			return err
		}
		for _, name := range slices.Sorted(maps.Keys(c.Jobs)) {
			if err := eachLocalPath(c.Jobs[name], fn); err != nil {
				return err
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(j.Jobs)) {
		if err := eachLocalPath(j.Jobs[name], fn); err != nil {
			return err
		}
	}
	return nil
}

func envPath(e *spec.EnvRef, fn func(p *string, what string) error) error {
	if e == nil || e.Inline == nil {
		return nil
	}
	return localPath(&e.Inline.BuildPath, "environment build.path", fn)
}

// localPath calls fn with p when it names this machine's disk.
func localPath(p *string, what string, fn func(p *string, what string) error) error {
	s := *p
	if s == "" || strings.HasPrefix(s, "azureml:") || strings.HasPrefix(s, "blob:") || strings.Contains(s, "://") {
		return nil
	}
	return fn(p, what)
}
