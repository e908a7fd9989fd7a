package cicd

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/ciel-mlops/ciel/internal/blob"
	"github.com/ciel-mlops/ciel/internal/cicd/agent"
	"github.com/ciel-mlops/ciel/internal/cicd/azp"
)

// plannedJob is one job of a run in the order it runs: jobs of a stage
// after the stages before it, matrix legs as jobs of their own.
type plannedJob struct {
	stage string
	name  string
	spec  *azp.Job
	vars  map[string]string
}

// recorder keeps the run's record in the store as it changes.
type recorder struct {
	s   *Service
	mu  sync.Mutex
	run Run
}

func (rc *recorder) save(change func(r *Run)) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	change(&rc.run)
	// A failed write leaves the run as the store last had it; the next
	// change or the next server's Start settles it.
	if err := rc.s.cfg.Store.UpdateRun(context.Background(), rc.run); err != nil {
		rc.s.log.Error("record pipeline run", "run", rc.run.ID, "err", err)
	}
}

// execute runs r to the end and records every change.
func (s *Service) execute(ctx context.Context, r Run) {
	rc := &recorder{s: s, run: r}
	logf, err := os.OpenFile(s.LogPath(r.ID), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		rc.save(func(r *Run) { finish(r, ResultFailed, fmt.Sprintf("open the run's log: %v", err)) })
		return
	}
	defer logf.Close()
	rc.save(func(r *Run) { r.Status, r.StartTime = StatusInProgress, time.Now().UTC() })
	p, err := s.cfg.Store.GetPipeline(ctx, r.Workspace, r.Pipeline)
	var jobs []plannedJob
	if err == nil {
		jobs, err = s.plan(ctx, p, r)
	}
	if err != nil {
		fmt.Fprintf(logf, "##[error]%v\n", err)
		rc.save(func(r *Run) { finish(r, ResultFailed, err.Error()) })
		return
	}
	rc.save(func(r *Run) {
		for _, j := range jobs {
			r.Jobs = append(r.Jobs, RunJob{Stage: j.stage, Name: j.name, DisplayName: j.spec.DisplayName, Status: "pending"})
		}
	})
	results := make([]string, len(jobs))
	for i, j := range jobs {
		results[i] = s.runJob(ctx, rc, i, j, p, results[:i], logf)
	}
	rc.save(func(r *Run) {
		finish(r, overall(results, ctx.Err() != nil), "")
	})
}

// finish marks r completed with result.
func finish(r *Run, result, msg string) {
	r.Status, r.Result, r.FinishTime = StatusCompleted, result, time.Now().UTC()
	if msg != "" {
		r.Error = msg
	}
}

// overall is a run's result from its jobs'.
func overall(results []string, canceled bool) string {
	out := ResultSucceeded
	for _, res := range results {
		switch res {
		case agent.StatusFailed:
			return ResultFailed
		case agent.StatusCanceled:
			out = ResultCanceled
		case agent.StatusSucceededWithIssues:
			if out == ResultSucceeded {
				out = ResultPartiallySucceeded
			}
		}
	}
	if canceled {
		return ResultCanceled
	}
	return out
}

// plan checks out the run's commit, expands the pipeline's YAML there and
// lists its jobs in order.
func (s *Service) plan(ctx context.Context, p Pipeline, r Run) ([]plannedJob, error) {
	dir, err := os.MkdirTemp(filepath.Join(s.cfg.Dir, "agent"), "expand-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if _, err := s.cfg.Repos.Checkout(ctx, r.Workspace, p.Repository, r.SourceVersion, dir+"/s"); err != nil {
		return nil, fmt.Errorf("check out %s at %s: %w", p.Repository, r.SourceVersion, err)
	}
	params := map[string]any{}
	for k, v := range r.Parameters {
		params[k] = v
	}
	pl, err := azp.Config{Variables: predefined(p, r)}.Expand(os.DirFS(dir+"/s"), p.YAMLPath, params)
	if err != nil {
		return nil, err
	}
	base := predefined(p, r)
	for _, v := range pl.Variables {
		if v.Group == "" {
			base[v.Name] = v.Value
		}
	}
	var jobs []plannedJob
	for _, st := range pl.Stages {
		vars := clone(base)
		for _, v := range st.Variables {
			if v.Group == "" {
				vars[v.Name] = v.Value
			}
		}
		for _, j := range st.Jobs {
			if j.Strategy == nil || len(j.Strategy.Matrix) == 0 {
				jobs = append(jobs, plannedJob{stage: st.Name, name: j.Name, spec: j, vars: vars})
				continue
			}
			for _, leg := range j.Strategy.Matrix {
				lv := clone(vars)
				for _, v := range leg.Variables {
					lv[v.Name] = v.Value
				}
				jobs = append(jobs, plannedJob{stage: st.Name, name: j.Name + "." + leg.Name, spec: j, vars: lv})
			}
		}
	}
	return jobs, nil
}

func clone(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// predefined are the variables Azure sets for every run.
func predefined(p Pipeline, r Run) map[string]string {
	id := strconv.FormatInt(r.ID, 10)
	return map[string]string{
		"Build.BuildId": id, "Build.BuildNumber": id, "Build.DefinitionName": p.Name,
		"Build.SourceBranch": r.SourceBranch, "Build.SourceBranchName": path.Base(r.SourceBranch),
		"Build.SourceVersion": r.SourceVersion, "Build.Reason": r.Reason,
		"Build.Repository.Name": p.Repository, "Build.Repository.Provider": "TfsGit",
		"Build.RequestedFor": "ciel", "System.TeamProject": r.Workspace, "System.DefinitionId": strconv.FormatInt(p.ID, 10),
		"System.CollectionUri": "ciel", "System.PullRequest.IsFork": "False",
	}
}

// runJob runs job i unless its condition says not to, and returns its
// result (an agent status).
func (s *Service) runJob(ctx context.Context, rc *recorder, i int, j plannedJob, p Pipeline, before []string, log io.Writer) string {
	run, err := s.jobCondition(ctx, j, before)
	if err != nil {
		fmt.Fprintf(log, "##[error]job %s: condition: %v\n", j.name, err)
	}
	if !run {
		status := agent.StatusSkipped
		if err != nil {
			status = agent.StatusFailed
		}
		rc.save(func(r *Run) { r.Jobs[i].Status, r.Jobs[i].Result = "completed", status })
		return status
	}
	start, sha := time.Now().UTC(), rc.run.SourceVersion
	rc.save(func(r *Run) { r.Jobs[i].Status, r.Jobs[i].StartTime = "inProgress", start })
	fmt.Fprintf(log, "##[section]Job %s (stage %s)\n", j.name, j.stage)
	res, err := s.agent.Run(ctx, agent.Job{
		Name: j.name, Spec: j.spec, Variables: j.vars,
		Checkout: func(ctx context.Context, dir string) error {
			_, err := s.cfg.Repos.Checkout(ctx, p.Workspace, p.Repository, sha, dir)
			return err
		},
		Publish:  func(ctx context.Context, name, dir string) error { return s.publish(ctx, rc, name, dir) },
		Download: func(ctx context.Context, name, dir string) error { return s.download(ctx, rc, name, dir) },
		OnStep: func(st agent.StepResult) {
			rc.save(func(r *Run) { setStep(&r.Jobs[i], st) })
		},
	}, log)
	if err != nil {
		fmt.Fprintf(log, "##[error]job %s: %v\n", j.name, err)
		res.Status = agent.StatusFailed
	}
	if res.Dir != "" {
		_ = os.RemoveAll(res.Dir)
	}
	rc.save(func(r *Run) {
		r.Jobs[i].Status, r.Jobs[i].Result, r.Jobs[i].FinishTime = "completed", res.Status, time.Now().UTC()
	})
	return res.Status
}

// setStep records a step's state in its job's timeline.
func setStep(j *RunJob, st agent.StepResult) {
	for len(j.Steps) <= st.Index {
		j.Steps = append(j.Steps, RunStep{Status: agent.StatusPending})
	}
	j.Steps[st.Index] = RunStep{Name: st.Name, DisplayName: st.DisplayName, Status: st.Status,
		StartTime: st.Start, FinishTime: st.End, ExitCode: st.ExitCode, Error: st.Error}
}

// jobStatus answers succeeded() and the rest for a job's condition from
// the jobs before it (Azure's default dependency: the previous job in a
// stage run in order).
type jobStatus struct {
	before   []string
	canceled bool
}

func (js jobStatus) Succeeded(...string) (bool, error) {
	for _, r := range js.before {
		if r == agent.StatusFailed || r == agent.StatusCanceled {
			return false, nil
		}
	}
	return !js.canceled, nil
}

func (js jobStatus) Failed(...string) (bool, error) {
	for _, r := range js.before {
		if r == agent.StatusFailed {
			return true, nil
		}
	}
	return false, nil
}

func (js jobStatus) SucceededOrFailed(...string) (bool, error) { return !js.canceled, nil }
func (js jobStatus) Canceled() (bool, error)                   { return js.canceled, nil }

// jobCondition evaluates a job's condition (succeeded() when none).
func (s *Service) jobCondition(ctx context.Context, j plannedJob, before []string) (bool, error) {
	env := &azp.Env{Named: azp.NewMap(), Status: jobStatus{before: before, canceled: ctx.Err() != nil}}
	vars := azp.NewMap()
	for k, v := range j.vars {
		vars.Set(k, v)
	}
	env.Named.Set("variables", vars)
	return azp.EvalCondition(j.spec.Condition, env)
}

// publish stores dir (a folder or one file) as the run's artifact name.
func (s *Service) publish(ctx context.Context, rc *recorder, name, dir string) error {
	if !namePattern.MatchString(name) {
		return fmt.Errorf("artifact name %q: expected letters, digits, '_', '.', '-'", name)
	}
	src := dir
	if fi, err := os.Stat(dir); err != nil {
		return fmt.Errorf("publish %s: %w", name, err)
	} else if !fi.IsDir() {
		tmp, err := os.MkdirTemp(filepath.Join(s.cfg.Dir, "agent"), "publish-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		if err := copyFile(dir, filepath.Join(tmp, filepath.Base(dir))); err != nil {
			return fmt.Errorf("publish %s: %w", name, err)
		}
		src = tmp
	}
	digest, err := blob.IngestDir(ctx, s.cfg.Blobs, src)
	if err != nil {
		return fmt.Errorf("publish %s: %w", name, err)
	}
	t, err := blob.GetTree(ctx, s.cfg.Blobs, digest)
	if err != nil {
		return fmt.Errorf("publish %s: %w", name, err)
	}
	a := Artifact{Name: name, Digest: digest, Files: blob.TreeFiles(t), Size: t.Size()}
	rc.save(func(r *Run) {
		for i := range r.Artifacts {
			if r.Artifacts[i].Name == name {
				r.Artifacts[i] = a
				return
			}
		}
		r.Artifacts = append(r.Artifacts, a)
	})
	return nil
}

// download writes the run's artifact name (every one when "") into dir.
func (s *Service) download(ctx context.Context, rc *recorder, name, dir string) error {
	rc.mu.Lock()
	arts := append([]Artifact(nil), rc.run.Artifacts...)
	rc.mu.Unlock()
	found := false
	for _, a := range arts {
		if name != "" && a.Name != name {
			continue
		}
		found = true
		dest := dir
		if name == "" {
			dest = filepath.Join(dir, a.Name)
		}
		if err := blob.Materialize(ctx, s.cfg.Blobs, a.Digest, dest, false); err != nil {
			return fmt.Errorf("download %s: %w", a.Name, err)
		}
	}
	if !found && name != "" {
		return fmt.Errorf("this run published no artifact %q", name)
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
