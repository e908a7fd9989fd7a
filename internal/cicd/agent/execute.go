package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ciel-mlops/ciel/internal/cicd/azp"
)

// execute runs step i once.
func (r *jobRun) execute(ctx context.Context, i int, s *azp.Step) outcome {
	st := &stepState{idx: i, name: r.steps[i].Name}
	code, err := r.dispatch(ctx, st, s)
	if err == nil {
		err = r.uploadArtifacts(ctx, st)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	r.steps[i].Issues = append(r.steps[i].Issues, st.issues...)
	return outcome{exitCode: code, err: err, complete: st.complete}
}

// dispatch runs a step by its kind.
func (r *jobRun) dispatch(ctx context.Context, st *stepState, s *azp.Step) (int, error) {
	expand := func(v string) string { return azp.ExpandMacros(v, r.vars.lookup) }
	switch s.Kind {
	case azp.StepScript, azp.StepBash:
		return r.runScript(ctx, st, s, expand(s.Script), expand(s.WorkingDirectory), "bash")
	case azp.StepPwsh:
		return -1, fmt.Errorf("pwsh steps are not yet supported (%s)", s.Pos)
	case azp.StepCheckout:
		return -1, r.checkout(ctx, s, expand)
	case azp.StepPublish:
		return -1, r.publish(ctx, firstNonEmpty(expand(s.Options["artifact"]), "drop"), expand(s.Script))
	case azp.StepDownload:
		return -1, r.downloadShortcut(ctx, s, expand)
	case azp.StepTask:
		in := map[string]string{}
		for k, v := range s.Inputs {
			in[strings.ToLower(k)] = expand(v)
		}
		return r.runTask(ctx, st, s, in)
	}
	return -1, fmt.Errorf("step kind %q is not supported (%s)", s.Kind, s.Pos)
}

// runScript writes body to a temporary file and runs it with bash
// --noprofile --norc, as Azure's CmdLine and Bash tasks do on Linux (no -e:
// only the script's exit code counts).
func (r *jobRun) runScript(ctx context.Context, st *stepState, s *azp.Step, body, wd, tool string) (int, error) {
	f, err := os.CreateTemp(filepath.Join(r.dir, "tmp"), "*.sh")
	if err != nil {
		return -1, fmt.Errorf("write script: %w", err)
	}
	_, werr := f.WriteString(body)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return -1, fmt.Errorf("write script: %w", werr)
	}
	r.out.line("Generating script.")
	r.out.line("========================== Starting Command Output ===========================")
	r.out.line("/usr/bin/bash --noprofile --norc " + f.Name())
	return r.runProcess(ctx, st, procSpec{
		tool: tool, args: []string{"bash", "--noprofile", "--norc", f.Name()},
		dir: r.workDir(wd), env: r.stepEnv(s.Env), failOnStderr: s.FailOnStderr,
	})
}

// workDir resolves a working directory; relative ones are under s/.
func (r *jobRun) workDir(wd string) string {
	return r.resolve(firstNonEmpty(wd, "."))
}

// resolve makes p absolute against System.DefaultWorkingDirectory.
func (r *jobRun) resolve(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(r.dir, "s", p)
}

// checkout carries out a checkout: step.
func (r *jobRun) checkout(ctx context.Context, s *azp.Step, expand func(string) string) error {
	repo := strings.TrimSpace(s.Script)
	if repo == "none" {
		r.out.line("Checkout is disabled (checkout: none).")
		return nil
	}
	dir := filepath.Join(r.dir, "s")
	if p := expand(s.Options["path"]); p != "" {
		dir = filepath.Join(r.dir, p) // Azure: relative to Agent.BuildDirectory
		if filepath.IsAbs(p) {
			dir = filepath.Clean(p)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("checkout: %w", err)
	}
	r.out.line("Syncing repository: " + repo + " into " + dir)
	if repo == "self" || repo == "" {
		if r.job.Checkout == nil {
			return errors.New("checkout self: this run has no source to check out")
		}
		if err := r.job.Checkout(ctx, dir); err != nil {
			return fmt.Errorf("checkout self: %w", err)
		}
		return nil
	}
	if r.job.CheckoutRepository == nil {
		return fmt.Errorf("checkout %s: checking out another repository is not available to this run (%s)", repo, s.Pos)
	}
	if err := r.job.CheckoutRepository(ctx, repo, dir); err != nil {
		return fmt.Errorf("checkout %s: %w", repo, err)
	}
	return nil
}

// publish hands path (relative to s/) to the Publish callback.
func (r *jobRun) publish(ctx context.Context, artifact, path string) error {
	if path == "" {
		path, _ = r.vars.lookup("Pipeline.Workspace")
	}
	path = r.resolve(path)
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("publish artifact %q: path to publish not found: %s", artifact, path)
	}
	if r.job.Publish == nil {
		return fmt.Errorf("publish artifact %q: this run cannot store artifacts", artifact)
	}
	r.out.line(fmt.Sprintf("Uploading %s as artifact '%s'", path, artifact))
	if err := r.job.Publish(ctx, artifact, path); err != nil {
		return fmt.Errorf("publish artifact %q: %w", artifact, err)
	}
	r.out.line(fmt.Sprintf("Artifact '%s' published.", artifact))
	return nil
}

// download fetches artifact ("" for all) into dir through the callback.
func (r *jobRun) download(ctx context.Context, artifact, dir string) error {
	if r.job.Download == nil {
		return fmt.Errorf("download artifact %q: this run cannot fetch artifacts", artifact)
	}
	dir = r.resolve(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("download artifact %q: %w", artifact, err)
	}
	r.out.line(fmt.Sprintf("Downloading artifact '%s' to %s", firstNonEmpty(artifact, "*"), dir))
	if err := r.job.Download(ctx, artifact, dir); err != nil {
		return fmt.Errorf("download artifact %q: %w", artifact, err)
	}
	return nil
}

// downloadShortcut carries out download: current.
func (r *jobRun) downloadShortcut(ctx context.Context, s *azp.Step, expand func(string) string) error {
	src := strings.TrimSpace(s.Script)
	if src == "none" {
		return nil
	}
	if src != "current" && src != "" {
		return fmt.Errorf("download: %s: only artifacts of the current run are supported (%s)", src, s.Pos)
	}
	artifact := expand(s.Options["artifact"])
	dir := expand(s.Options["path"])
	if dir == "" {
		ws, _ := r.vars.lookup("Pipeline.Workspace")
		dir = filepath.Join(ws, artifact)
	}
	return r.download(ctx, artifact, dir)
}

// uploadArtifacts publishes what ##vso[artifact.upload] asked for.
func (r *jobRun) uploadArtifacts(ctx context.Context, st *stepState) error {
	st.mu.Lock()
	ups := append([]upload(nil), st.uploads...)
	st.mu.Unlock()
	for _, u := range ups {
		if err := r.publish(ctx, u.artifact, u.path); err != nil {
			return err
		}
	}
	return nil
}
