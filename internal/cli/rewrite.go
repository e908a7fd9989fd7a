package cli

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/ciel-mlops/ciel/internal/spec"
)

// pathRewriter uploads every local path a spec names (code directories,
// data inputs, environment build contexts, at any depth of inline
// components and pipeline steps) and replaces it with its "blob:<digest>"
// reference, so the spec the server gets is self-contained. A path named
// several times is uploaded once per command.
type pathRewriter struct {
	upload uploadFunc
	done   map[string]string // local path -> blob reference
}

func newPathRewriter(up uploadFunc) *pathRewriter {
	return &pathRewriter{upload: up, done: map[string]string{}}
}

// path uploads *p when it is local and rewrites it. what and pos say where
// the path came from, for errors; a missing path is a validation error.
func (r *pathRewriter) path(ctx context.Context, p *string, what string, pos spec.Pos) error {
	if !isLocalPath(*p) {
		return nil
	}
	abs, err := filepath.Abs(*p)
	if err != nil {
		return err
	}
	if ref, ok := r.done[abs]; ok {
		*p = ref
		return nil
	}
	if _, err := os.Stat(abs); err != nil {
		return usageError(fmt.Errorf("%s%s: %w", posPrefix(pos), what, err))
	}
	ref, err := r.upload(ctx, abs)
	if err != nil {
		return fmt.Errorf("%s%s: %w", posPrefix(pos), what, err)
	}
	r.done[abs] = ref
	*p = ref
	return nil
}

func posPrefix(pos spec.Pos) string {
	if s := pos.String(); s != "" {
		return s + ": "
	}
	return ""
}

// job rewrites a job, its inputs, inline environment and component, and
// every step of a pipeline, in a stable order.
func (r *pathRewriter) job(ctx context.Context, j *spec.Job) error {
	if j == nil {
		return nil
	}
	if err := r.path(ctx, &j.Code, "code", j.Pos); err != nil {
		return err
	}
	if err := r.envRef(ctx, j.Environment); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(j.Inputs)) {
		in := j.Inputs[name]
		if in == nil {
			continue
		}
		if err := r.path(ctx, &in.Path, "input "+name, in.Pos); err != nil {
			return err
		}
	}
	if j.Component != nil {
		if err := r.component(ctx, j.Component.Inline); err != nil {
			return err
		}
	}
	for _, name := range slices.Sorted(maps.Keys(j.Jobs)) {
		if err := r.job(ctx, j.Jobs[name]); err != nil {
			return err
		}
	}
	return nil
}

// component rewrites a component's code, environment and, for a pipeline
// component, its steps.
func (r *pathRewriter) component(ctx context.Context, c *spec.Component) error {
	if c == nil {
		return nil
	}
	if err := r.path(ctx, &c.Code, "code", c.Pos); err != nil {
		return err
	}
	if err := r.envRef(ctx, c.Environment); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(c.Jobs)) {
		if err := r.job(ctx, c.Jobs[name]); err != nil {
			return err
		}
	}
	return nil
}

func (r *pathRewriter) envRef(ctx context.Context, e *spec.EnvRef) error {
	if e == nil {
		return nil
	}
	return r.environment(ctx, e.Inline)
}

// environment rewrites build.path, the only path an environment keeps
// (its conda file is already text).
func (r *pathRewriter) environment(ctx context.Context, e *spec.Environment) error {
	if e == nil {
		return nil
	}
	return r.path(ctx, &e.BuildPath, "build.path", e.Pos)
}

// data rewrites a data asset's path.
func (r *pathRewriter) data(ctx context.Context, d *spec.Data) error {
	return r.path(ctx, &d.Path, "path", d.Pos)
}
