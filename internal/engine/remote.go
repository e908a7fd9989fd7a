package engine

import (
	"context"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/ciel-mlops/ciel/internal/blob"
	"github.com/ciel-mlops/ciel/internal/compute"
	"github.com/ciel-mlops/ciel/internal/envs"
	"github.com/ciel-mlops/ciel/internal/spec"
	"github.com/ciel-mlops/ciel/internal/store"
)

// defaultRemoteConcurrency is how many steps a Kubernetes compute with no
// max_concurrency or max_instances runs at once: the cluster, not this
// machine's CPUs, bounds them.
const defaultRemoteConcurrency = 32

// RemoteExecutors makes the executors of computes whose steps do not run on
// this machine.
type RemoteExecutors interface {
	// For returns the executor of compute c, of type kubernetes. It may be
	// called concurrently and may return the same executor again.
	For(c spec.Compute) (compute.Executor, error)
}

// executor returns the executor of a step on compute name, and whether it
// runs elsewhere (and so needs a Stage rather than a prepared folder).
func (e *Engine) executor(ctx context.Context, ws, name string) (compute.Executor, bool, error) {
	c, ok := e.computeSpec(ctx, ws, name)
	if !ok || c.Type != spec.ComputeKubernetes {
		return e.cfg.Executor, false, nil
	}
	if e.cfg.Remote == nil {
		return nil, false, fmt.Errorf("compute %q is of type kubernetes, which this server cannot run", name)
	}
	x, err := e.cfg.Remote.For(c)
	if err != nil {
		return nil, false, fmt.Errorf("compute %q: %w", name, err)
	}
	return x, true, nil
}

// attemptRemote runs one attempt on an executor on another machine: the
// step's folder is described (code, inputs, output folders) rather than
// prepared here, and the executor stores what the step wrote in the blob
// store and returns the digests.
func (r *jobRun) attemptRemote(x compute.Executor, ps *PlanStep, st *store.Step, dir, logPath string, logf io.Writer, inputs map[string]string, observed []string) (compute.Result, error) {
	image, err := r.remoteImage(x, ps, logf)
	if err != nil {
		return compute.Result{}, err
	}
	stage := &compute.Stage{Root: dir, Dirs: []string{"wd/outputs"}}
	for _, key := range ArtifactKeys {
		stage.Collect = append(stage.Collect, compute.Collected{Key: key, Path: "wd/" + artifactFolder(key)})
	}
	if ps.Code != "" {
		stage.Trees = append(stage.Trees, compute.StagedTree{Path: "wd", Digest: ps.Code})
	}
	stepVars := []string(nil)
	if ps.Parallel != nil {
		// The driver goes beside the working directory, as on a local
		// compute; its workers run in the step's one pod.
		d, err := parallelDriverTree(r.ctx, r.e.cfg.Blobs)
		if err != nil {
			return compute.Result{}, err
		}
		stage.Trees = append(stage.Trees, compute.StagedTree{Path: "parallel", Digest: d, ReadOnly: true})
		stepVars = append(stepVars, parallelDriverEnv+"="+filepath.Join(dir, "parallel", parallelDriverFiles[0]))
	}
	paths, err := r.remoteInputs(ps, dir, inputs, stage)
	if err != nil {
		return compute.Result{}, err
	}
	for _, name := range sortedKeys(ps.Outputs) {
		rel := path.Join("outputs", name)
		stage.Dirs = append(stage.Dirs, rel)
		stage.Collect = append(stage.Collect, compute.Collected{Key: rel, Path: rel})
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if ps.Outputs[name].Type == spec.TypeURIFile {
			p = filepath.Join(p, name)
		}
		paths["outputs."+name] = p
	}
	script, vars, err := renderCommand(ps, paths)
	if err != nil {
		return compute.Result{}, err
	}
	now := time.Now().UTC()
	st.Status, st.StartedAt = StatusRunning, &now
	r.e.rec.put(*st, false)
	wd := filepath.Join(dir, "wd")
	task := compute.Task{
		Dir: wd, Args: []string{"/bin/bash", "-c", script}, LogPath: logPath,
		Timeout:   time.Duration(ps.TimeoutSecs) * time.Second,
		Workspace: r.job.Workspace, Job: r.job.Name, Step: ps.Name, Attempt: st.Attempt,
		Script: script, StepEnv: append(r.stepVars(ps, vars, observed), stepVars...), Image: image,
		InstanceType: ps.InstanceType, Stage: stage,
	}
	res, err := x.Run(r.ctx, task)
	for _, key := range ArtifactKeys {
		if d, ok := res.Collected[key]; ok && d != blob.EmptyTreeDigest {
			if st.Outputs == nil {
				st.Outputs = map[string]string{}
			}
			st.Outputs[key] = d
		}
	}
	if err == nil && res.Collected == nil && res.ExitCode == 0 && !res.TimedOut {
		return res, fmt.Errorf("the executor of compute %q returned no outputs", ps.Compute)
	}
	return res, err
}

// EnvImager is a remote executor that runs an environment with a conda
// file by building an image of it (kube.Executor).
type EnvImager interface {
	// EnvImage returns the image to run s in: s.Image when s has no
	// conda file, else one built of s's virtualenv. It may be called
	// concurrently; what it does goes to log.
	EnvImage(ctx context.Context, s envs.Spec, log io.Writer) (string, error)
}

// remoteImage is the image a remote step runs in: the environment's
// image:, or for a conda file one the executor builds.
func (r *jobRun) remoteImage(x compute.Executor, ps *PlanStep, logf io.Writer) (string, error) {
	name := orDefault(ps.Env.Name, "(inline)")
	if strings.TrimSpace(ps.Env.CondaFile) != "" {
		b, ok := x.(EnvImager)
		if !ok {
			return "", fmt.Errorf("environment %s has a conda file, and compute %q cannot build images of one; give the environment an image: with its packages", name, ps.Compute)
		}
		image, err := b.EnvImage(r.ctx, envs.Spec{Image: ps.Env.Image, CondaFile: ps.Env.CondaFile}, prefixWriter(logf, "[ciel] "))
		if err != nil {
			return "", fmt.Errorf("environment %s: image: %w", name, err)
		}
		return image, nil
	}
	if ps.Env.Image == "" {
		return "", fmt.Errorf("environment %s has no image: a step on kubernetes compute %q runs in a container image; give the environment an image: or a conda_file", name, ps.Compute)
	}
	return ps.Env.Image, nil
}

// remoteInputs adds the step's data inputs to stage, under inputs/<name>,
// and returns the value of every ${{inputs.x}} as the step will see it.
func (r *jobRun) remoteInputs(ps *PlanStep, dir string, digests map[string]string, stage *compute.Stage) (map[string]string, error) {
	paths := make(map[string]string, len(ps.Inputs)+len(ps.Outputs))
	for _, name := range sortedKeys(ps.Inputs) {
		in := ps.Inputs[name]
		if in.Value != nil {
			paths["inputs."+name] = *in.Value
			continue
		}
		rel := path.Join("inputs", name)
		stage.Trees = append(stage.Trees, compute.StagedTree{Path: rel, Digest: digests[name], ReadOnly: true})
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if in.Type == spec.TypeURIFile {
			tree, err := blob.GetTree(r.ctx, r.e.cfg.Blobs, digests[name])
			if err != nil {
				return nil, fmt.Errorf("input %s: %w", name, err)
			}
			if len(tree.Entries) == 1 {
				p = filepath.Join(p, filepath.FromSlash(tree.Entries[0].Path))
			}
		}
		paths["inputs."+name] = p
	}
	return paths, nil
}
