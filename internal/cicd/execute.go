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
	var plan *runPlan
	if err == nil {
		plan, err = s.plan(ctx, p, r)
	}
	if err != nil {
		fmt.Fprintf(logf, "##[error]%v\n", err)
		rc.save(func(r *Run) { finish(r, ResultFailed, err.Error()) })
		return
	}
	rc.save(func(r *Run) {
		for _, j := range plan.jobs() {
			r.Jobs = append(r.Jobs, RunJob{Stage: j.stage, Name: j.name, DisplayName: j.spec.DisplayName, Status: "pending"})
		}
	})
	results := s.runGraph(ctx, rc, p, plan, logf)
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
	vars := map[string]string{
		"Build.BuildId": id, "Build.BuildNumber": id, "Build.DefinitionName": p.Name,
		"Build.SourceBranch": r.SourceBranch, "Build.SourceBranchName": path.Base(r.SourceBranch),
		"Build.SourceVersion": r.SourceVersion, "Build.Reason": r.Reason,
		"Build.Repository.Name": p.Repository, "Build.Repository.Provider": "TfsGit",
		"Build.RequestedFor": "ciel", "System.TeamProject": r.Workspace, "System.DefinitionId": strconv.FormatInt(p.ID, 10),
		"System.CollectionUri": "ciel", "System.PullRequest.IsFork": "False",
		// az's own way of giving a default (defaults.workspace): the az and
		// ciel commands a step runs reach the run's workspace.
		"AZURE_DEFAULTS_WORKSPACE": r.Workspace,
	}
	if pr := r.PullRequest; pr != nil {
		n := strconv.Itoa(pr.Number)
		vars["System.PullRequest.PullRequestNumber"], vars["System.PullRequest.PullRequestId"] = n, n
		vars["System.PullRequest.SourceBranch"], vars["System.PullRequest.TargetBranch"] = pr.SourceBranch, pr.TargetBranch
		vars["System.PullRequest.SourceCommitId"] = pr.SourceCommitID
	}
	return vars
}

// runJob runs job j with the agent and returns its result (an agent
// status) and its output variables ("step.var").
func (s *Service) runJob(ctx context.Context, rc *recorder, j *plannedJob, vars map[string]string, p Pipeline,
	repos map[string]azp.Repository, log io.Writer) (string, map[string]string) {
	i := j.index
	start, sha, ws := time.Now().UTC(), rc.run.SourceVersion, rc.run.Workspace
	// The job's lines go to the run's log and to the job's own, which a
	// reader of one job follows without the lines of jobs beside it.
	if jf, err := os.OpenFile(s.JobLogPath(rc.run.ID, i), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err != nil {
		fmt.Fprintf(log, "##[warning]job %s: open its own log: %v\n", j.name, err)
	} else {
		defer jf.Close()
		log = io.MultiWriter(log, jf)
	}
	rc.save(func(r *Run) { r.Jobs[i].Status, r.Jobs[i].StartTime = "inProgress", start })
	fmt.Fprintf(log, "##[section]Job %s (stage %s)\n", j.name, j.stage)
	res, err := s.agent.Run(ctx, agent.Job{
		Name: j.name, Spec: j.spec, Variables: vars,
		Checkout: func(ctx context.Context, dir string) error {
			_, err := s.cfg.Repos.Checkout(ctx, p.Workspace, p.Repository, sha, dir)
			return err
		},
		CheckoutRepository: func(ctx context.Context, alias, dir string) error {
			repo, ok := repos[alias]
			if !ok {
				return fmt.Errorf("repository %q is not declared in resources.repositories", alias)
			}
			return s.checkoutResource(ctx, ws, repo, dir)
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
		if res.TestResults != nil {
			if r.TestResults == nil {
				r.TestResults = &agent.TestResults{}
			}
			r.TestResults.Add(*res.TestResults)
		}
		r.Jobs[i].Status, r.Jobs[i].Result, r.Jobs[i].FinishTime = "completed", res.Status, time.Now().UTC()
	})
	return res.Status, res.Outputs
}

// setStep records a step's state in its job's timeline.
func setStep(j *RunJob, st agent.StepResult) {
	for len(j.Steps) <= st.Index {
		j.Steps = append(j.Steps, RunStep{Status: agent.StatusPending})
	}
	j.Steps[st.Index] = RunStep{Name: st.Name, DisplayName: st.DisplayName, Status: st.Status,
		StartTime: st.Start, FinishTime: st.End, ExitCode: st.ExitCode, Error: st.Error}
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
