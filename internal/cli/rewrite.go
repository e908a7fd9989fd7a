package cli

import (
	"context"
	"fmt"
	"io"
	"io/fs"
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
	if err := r.parallel(ctx, j.Parallel); err != nil {
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

// component rewrites a component's code (with its additional_includes
// merged in), environment and, for a pipeline component, its steps.
func (r *pathRewriter) component(ctx context.Context, c *spec.Component) error {
	if c == nil {
		return nil
	}
	if err := r.snapshot(ctx, c); err != nil {
		return err
	}
	if err := r.path(ctx, &c.Code, "code", c.Pos); err != nil {
		return err
	}
	if err := r.envRef(ctx, c.Environment); err != nil {
		return err
	}
	if err := r.parallel(ctx, c.Parallel); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(c.Jobs)) {
		if err := r.job(ctx, c.Jobs[name]); err != nil {
			return err
		}
	}
	return nil
}

// parallel rewrites a parallel job's or component's task: its code and
// inline environment.
func (r *pathRewriter) parallel(ctx context.Context, p *spec.Parallel) error {
	if p == nil || p.Task == nil {
		return nil
	}
	if err := r.path(ctx, &p.Task.Code, "task.code", p.Task.Pos); err != nil {
		return err
	}
	return r.envRef(ctx, p.Task.Environment)
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

// snapshot merges a component's additional_includes into its code: the code
// folder and every include (under its base name) are copied into a staging
// folder, which is uploaded as the code, as Azure ML builds the snapshot.
// An include colliding with a path of the code is refused.
func (r *pathRewriter) snapshot(ctx context.Context, c *spec.Component) error {
	if len(c.AdditionalIncludes) == 0 {
		return nil
	}
	if c.Code != "" && !isLocalPath(c.Code) {
		return usageError(fmt.Errorf("%sadditional_includes need a local code folder, not %s", posPrefix(c.Pos), c.Code))
	}
	stage, err := os.MkdirTemp("", "ciel-snapshot-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stage)
	if c.Code != "" {
		if err := stageCode(c.Code, stage); err != nil {
			return usageError(fmt.Errorf("%scode: %w", posPrefix(c.Pos), err))
		}
	}
	for _, inc := range c.AdditionalIncludes {
		dst := filepath.Join(stage, filepath.Base(inc))
		if _, err := os.Lstat(dst); err == nil {
			return usageError(fmt.Errorf("%sadditional_includes: %s: the code already has %s", posPrefix(c.Pos), inc, filepath.Base(inc)))
		}
		if err := copyPath(inc, dst, nil); err != nil {
			return usageError(fmt.Errorf("%sadditional_includes: %w", posPrefix(c.Pos), err))
		}
	}
	ref, err := r.upload(ctx, stage)
	if err != nil {
		return fmt.Errorf("%scode: %w", posPrefix(c.Pos), err)
	}
	c.Code, c.AdditionalIncludes = ref, nil
	return nil
}

// stageCode copies the code (a folder's contents, or a single file) into
// stage.
func stageCode(code, stage string) error {
	fi, err := os.Stat(code)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return copyPath(code, filepath.Join(stage, filepath.Base(code)), nil)
	}
	ign, err := loadIgnore(code)
	if err != nil {
		return err
	}
	return copyPath(code, stage, ign)
}

// copyPath copies the file or folder src to dst, leaving out what ign (and
// ignoredNames) name. Links to files are copied as files; links to folders,
// and special files, are left out, as an upload leaves them out.
func copyPath(src, dst string, ign ignoreList) error {
	src, err := filepath.EvalSymlinks(src) // a linked folder is walked, not skipped
	if err != nil {
		return err
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if rel != "." && ign.match(filepath.ToSlash(rel), d.IsDir()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() {
			return nil // dangling link, link to a folder, or special file
		}
		return copyFile(p, target, fi.Mode().Perm())
	})
}

func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
