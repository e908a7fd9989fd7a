package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/ciel-mlops/ciel/internal/blob"
	"github.com/ciel-mlops/ciel/internal/envs/curated"
	"github.com/ciel-mlops/ciel/internal/envs/dockerfile"
	"github.com/ciel-mlops/ciel/internal/spec"
	"github.com/ciel-mlops/ciel/internal/store"
)

// PythonChooser is implemented by an EnvBuilder that can say which Python
// it would build with, so a curated environment is resolved for that Python.
type PythonChooser interface {
	// PythonFor returns the minor version ("3.11") a build would use for a
	// conda python dependency ("python=3.10"). It builds nothing.
	PythonFor(ctx context.Context, dependency string) (string, error)
}

// maxContextFile bounds a Dockerfile or requirements file read from a build
// context at planning time.
const maxContextFile = 1 << 20

// environment resolves an environment reference or inline definition. A
// reference is looked up in the workspace first, so a workspace
// environment shadows a curated one of the same name; a reference to the
// azureml registry (or to AzureML-<name>) the workspace lacks resolves to
// ciel's curated catalogue.
func (p *planner) environment(ref *spec.EnvRef) (EnvPlan, error) {
	if ref == nil {
		return EnvPlan{}, nil
	}
	if ref.Inline != nil {
		return p.definedEnv(ref.Inline.Name, ref.Inline.Version, ref.Inline, ref.Pos)
	}
	name, version := envRefName(ref.Ref)
	cref, isCurated := curated.ParseRef(ref.Ref)
	a, err := p.st.GetAsset(p.ctx, p.ws, store.KindEnvironment, name, version)
	switch {
	case errors.Is(err, store.ErrNotFound) && isCurated:
		return p.curatedEnv(cref, ref.Pos)
	case errors.Is(err, store.ErrNotFound):
		return EnvPlan{}, spec.Errorf(ref.Pos, "environment %s not found in workspace %s; create it with: ciel environment create --file <env.yml> (name: %s)", refLabel(name, version), p.ws, name)
	case err != nil:
		return EnvPlan{}, err
	}
	var env spec.Environment
	if err := json.Unmarshal(a.Spec, &env); err != nil {
		return EnvPlan{}, fmt.Errorf("decode environment %s: %w", ref.Ref, err)
	}
	plan, err := p.definedEnv(name, a.Version, &env, ref.Pos)
	if err == nil && isCurated {
		plan.Notes = append([]string{fmt.Sprintf("environment %s:%s of workspace %s stands in for the curated %s", name, a.Version, p.ws, ref.Ref)}, plan.Notes...)
	}
	return plan, err
}

// definedEnv plans an environment the user defined: a conda file is built
// as it is; a build context becomes what its Dockerfile installs; an image
// alone runs on the host's Python.
func (p *planner) definedEnv(name, version string, env *spec.Environment, pos spec.Pos) (EnvPlan, error) {
	plan := EnvPlan{Name: name, Version: version, Image: env.Image, CondaFile: env.CondaFile}
	label := orDefault(name, "(inline)")
	switch {
	case strings.TrimSpace(env.CondaFile) != "":
	case env.BuildPath != "":
		res, err := p.dockerContext(env, pos)
		if err != nil {
			return EnvPlan{}, err
		}
		if res.Empty() {
			plan.Notes = append(plan.Notes, fmt.Sprintf("environment %s is built from a Docker context whose Dockerfile installs no Python package ciel can follow; local compute runs it on the host Python", label))
		} else {
			plan.CondaFile = res.CondaFile(name)
			plan.Notes = append(plan.Notes, fmt.Sprintf("environment %s is built from a Docker context; local compute runs it in a virtualenv with the Python packages its Dockerfile installs (base image %s is not pulled)", label, orDefault(res.BaseImage, "none")))
		}
		for _, n := range res.Notes {
			plan.Notes = append(plan.Notes, fmt.Sprintf("environment %s: Dockerfile: %s", label, n))
		}
	case env.Image != "":
		plan.Notes = append(plan.Notes, fmt.Sprintf("environment %s names image %s; local compute runs it on the host Python (ciel runs no containers), so the image's packages are whatever the host has", label, env.Image))
	}
	return plan, nil
}

// dockerContext reads the Dockerfile of an environment's build context (an
// uploaded tree) and what its RUN lines install.
func (p *planner) dockerContext(env *spec.Environment, pos spec.Pos) (dockerfile.Result, error) {
	ref, err := p.dataPath(env.BuildPath, pos, "build.path")
	if err != nil {
		return dockerfile.Result{}, err
	}
	if ref.digest == "" {
		return dockerfile.Result{}, spec.Errorf(pos, "build.path %s: a Docker build context must be a local folder (uploaded with the environment)", env.BuildPath)
	}
	tree, err := blob.GetTree(p.ctx, p.blobs, ref.digest)
	if err != nil {
		return dockerfile.Result{}, fmt.Errorf("build.path: %w", err)
	}
	read := func(name string) ([]byte, error) {
		name = path.Clean(name)
		for _, e := range tree.Entries {
			if e.Path == name {
				if e.Size > maxContextFile {
					return nil, fmt.Errorf("%s is over %d bytes", name, maxContextFile)
				}
				return p.readBlob(e.Digest)
			}
		}
		return nil, fmt.Errorf("%s is not in the build context", name)
	}
	df := orDefault(env.BuildDockerfile, "Dockerfile")
	text, err := read(df)
	if err != nil {
		return dockerfile.Result{}, spec.Errorf(pos, "build: %v (dockerfile_path: %s)", err, df)
	}
	res, err := dockerfile.Extract(string(text), read)
	if err != nil {
		return dockerfile.Result{}, spec.Errorf(pos, "build: %s: %v", df, err)
	}
	return res, nil
}

func (p *planner) readBlob(digest string) ([]byte, error) {
	rc, err := p.blobs.Open(p.ctx, digest)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, maxContextFile))
}

// curatedEnv resolves a curated environment for the Python this machine
// will build it with.
func (p *planner) curatedEnv(ref curated.Ref, pos spec.Pos) (EnvPlan, error) {
	m, err := curated.Default().Lookup(ref)
	if err != nil {
		return EnvPlan{}, spec.Errorf(pos, "%v; or create a workspace environment of that name with: ciel environment create", err)
	}
	python := ""
	if pc, ok := p.envs.(PythonChooser); ok {
		if python, err = pc.PythonFor(p.ctx, "python="+m.Python); err != nil {
			return EnvPlan{}, fmt.Errorf("curated environment %s: %w", m.Name, err)
		}
	}
	r := m.Resolve(python)
	notes := []string{fmt.Sprintf("curated environment %s (registry %s, from %s@%.12s): Python %s and %d packages with Azure's pins",
		m.Name, curated.Registry, curated.Default().Source.Repository, curated.Default().Source.Commit, r.Python, len(m.Requirements))}
	if m.Note != "" {
		notes = append(notes, "curated env "+m.Name+": "+m.Note)
	}
	return EnvPlan{Name: m.Name, Version: curated.Version, Image: m.Image, CondaFile: r.CondaFile, Notes: append(notes, r.Notes...)}, nil
}

// envRefName understands azureml:name:version, azureml:name@latest and
// azureml://registries/<r>/environments/<name>/(labels/<l>|versions/<v>),
// the last looked up by name in the workspace first.
func envRefName(ref string) (name, version string) {
	if rest, ok := strings.CutPrefix(ref, "azureml://"); ok {
		parts := strings.Split(rest, "/")
		for i := 0; i+1 < len(parts); i++ {
			if parts[i] == "environments" {
				name = parts[i+1]
				if i+3 < len(parts) && parts[i+2] == "versions" {
					version = parts[i+3]
				}
				return name, version
			}
		}
		return rest, ""
	}
	return splitRef(strings.TrimPrefix(ref, "azureml:"))
}
