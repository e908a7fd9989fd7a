package cicd

import (
	"context"
	"strings"

	"github.com/ciel-mlops/ciel/internal/cicd/azp"
)

// OnPush starts the runs a push of ref from oldSHA to newSHA calls for:
// every pipeline of the repository whose CI trigger, read from the YAML at
// the pushed commit, matches the branch or tag (TriggerMatches) and, for a
// branch, the files the push changed (PathsMatch). A batched trigger
// (batch: true) starts nothing while a run of the pipeline on the branch
// is not finished; that run's end starts one for the branch's head. OnPush
// runs inside the push request, so the runs are durable before git push
// returns. oldSHA is all zeros (or empty) for a new ref.
func (s *Service) OnPush(ctx context.Context, ws, repo, ref, oldSHA, newSHA string) {
	if strings.Trim(newSHA, "0") == "" {
		return // deleted refs start nothing
	}
	isTag := strings.HasPrefix(ref, "refs/tags/")
	if !isTag && !strings.HasPrefix(ref, "refs/heads/") {
		return
	}
	pipelines, err := s.cfg.Store.ListPipelines(ctx, ws)
	if err != nil {
		s.log.Error("push: list pipelines", "workspace", ws, "err", err)
		return
	}
	for _, p := range pipelines {
		if p.Repository == repo {
			s.pushTo(ctx, p, ref, oldSHA, newSHA)
		}
	}
	if !isTag {
		s.onPushSchedules(pipelines, repo, ref, newSHA)
	}
}

// pushTo starts the run of p, if any, that a push of ref calls for.
func (s *Service) pushTo(ctx context.Context, p Pipeline, ref, oldSHA, newSHA string) {
	isBranch, isTag := strings.HasPrefix(ref, "refs/heads/"), strings.HasPrefix(ref, "refs/tags/")
	t, found, err := s.ciTrigger(ctx, p, ref, newSHA)
	switch {
	case !found:
		if err != nil {
			s.log.Warn("push: read trigger", "pipeline", p.Name, "ref", ref, "err", err)
		}
		return
	case err != nil:
		// The YAML does not parse: a branch push starts a run that fails
		// saying why.
		s.log.Warn("push: read trigger", "pipeline", p.Name, "ref", ref, "err", err)
		if !isBranch {
			return
		}
	case !TriggerMatches(t, ref):
		return
	case isBranch && !s.pathsMatch(ctx, p, t, oldSHA, newSHA):
		s.log.Info("push changed no file the trigger's paths include", "pipeline", p.Name, "ref", ref, "commit", newSHA)
		return
	}
	if t != nil && t.Batch && isBranch {
		s.batchMu.Lock()
		defer s.batchMu.Unlock()
		busy, err := s.branchBusy(ctx, p, ref)
		if err != nil {
			s.log.Warn("push: look for runs in progress", "pipeline", p.Name, "err", err)
		}
		if busy {
			s.log.Info("push batched behind a run in progress", "pipeline", p.Name, "ref", ref, "commit", newSHA)
			return
		}
	}
	commit := newSHA
	if isTag { // an annotated tag names a tag object; runs name commits
		if commit, err = s.cfg.Repos.Resolve(ctx, p.Workspace, p.Repository, newSHA); err != nil {
			s.log.Error("push: resolve tag", "pipeline", p.Name, "ref", ref, "err", err)
			return
		}
	}
	if r, err := s.Queue(ctx, p.Workspace, p.Name, ref, commit, ReasonCI, nil); err != nil {
		s.log.Error("push: queue run", "pipeline", p.Name, "err", err)
	} else {
		s.log.Info("push started a run", "pipeline", p.Name, "run", r.ID, "ref", ref, "commit", newSHA)
	}
}

// pathsMatch reports whether the files changed between oldSHA and newSHA
// pass t's paths filter. When they cannot be listed the push counts as
// matching: a run too many beats a missed one.
func (s *Service) pathsMatch(ctx context.Context, p Pipeline, t *azp.Trigger, oldSHA, newSHA string) bool {
	if t == nil || len(t.Paths.Include) == 0 && len(t.Paths.Exclude) == 0 {
		return true
	}
	cl, ok := s.cfg.Repos.(ChangeLister)
	if !ok {
		return true
	}
	files, err := cl.ChangedFiles(ctx, p.Workspace, p.Repository, oldSHA, newSHA)
	if err != nil {
		s.log.Warn("push: list changed files", "pipeline", p.Name, "err", err)
		return true
	}
	return PathsMatch(t.Paths, files)
}

// branchBusy reports whether a run of p on ref is not finished.
func (s *Service) branchBusy(ctx context.Context, p Pipeline, ref string) (bool, error) {
	runs, err := s.cfg.Store.ListUnfinishedRuns(ctx)
	if err != nil {
		return false, err
	}
	for _, r := range runs {
		if r.Workspace == p.Workspace && r.Pipeline == p.Name && r.SourceBranch == ref {
			return true, nil
		}
	}
	return false, nil
}

// runBatched starts, once done has finished, the run its pipeline's
// batched trigger held back on done's branch.
func (s *Service) runBatched(done Run) {
	if s.ctx.Err() != nil || !strings.HasPrefix(done.SourceBranch, "refs/heads/") {
		return
	}
	p, err := s.cfg.Store.GetPipeline(s.ctx, done.Workspace, done.Pipeline)
	if err != nil {
		return // deleted
	}
	s.batchMu.Lock()
	defer s.batchMu.Unlock()
	s.queueBatched(s.ctx, p, done.SourceBranch)
}

// batchedRunsLookback is how many of a pipeline's newest runs are searched
// for the newest on a branch.
const batchedRunsLookback = 100

// queueBatched starts one run of p at ref's head when nothing runs on ref,
// the head is past the commit of the newest run on ref, and p's trigger at
// the head is batched and matches ref and the files changed since that
// commit. Callers hold batchMu.
func (s *Service) queueBatched(ctx context.Context, p Pipeline, ref string) {
	if busy, err := s.branchBusy(ctx, p, ref); err != nil || busy {
		return
	}
	runs, err := s.cfg.Store.ListRuns(ctx, p.Workspace, p.Name, batchedRunsLookback)
	if err != nil {
		s.log.Warn("batched trigger: list runs", "pipeline", p.Name, "err", err)
		return
	}
	since := ""
	for _, r := range runs {
		if r.SourceBranch == ref {
			since = r.SourceVersion
			break
		}
	}
	if since == "" {
		return
	}
	head, err := s.cfg.Repos.Resolve(ctx, p.Workspace, p.Repository, ref)
	if err != nil || head == since {
		return // the branch is gone or did not move
	}
	t, found, err := s.ciTrigger(ctx, p, ref, head)
	if err != nil || !found || t == nil || !t.Batch || !TriggerMatches(t, ref) || !s.pathsMatch(ctx, p, t, since, head) {
		return
	}
	if r, err := s.Queue(ctx, p.Workspace, p.Name, ref, head, ReasonBatchedCI, nil); err != nil {
		s.log.Error("batched trigger: queue run", "pipeline", p.Name, "err", err)
	} else {
		s.log.Info("batched trigger started a run", "pipeline", p.Name, "run", r.ID, "ref", ref, "commit", head)
	}
}

// WorkspaceLister is an optional ability of Repos: the workspaces holding
// repositories, so Start can find batched pushes a stopped server left.
type WorkspaceLister interface {
	// Workspaces returns the workspaces' names.
	Workspaces(ctx context.Context) ([]string, error)
}

// startPendingBatches starts, for every batched pipeline, the run a push
// held back when the server stopped before the run in progress ended: a
// branch whose newest run is finished and whose head has moved past it.
func (s *Service) startPendingBatches(ctx context.Context) {
	wl, ok := s.cfg.Repos.(WorkspaceLister)
	if !ok {
		return
	}
	wss, err := wl.Workspaces(ctx)
	if err != nil {
		s.log.Warn("batched triggers: list workspaces", "err", err)
		return
	}
	s.batchMu.Lock()
	defer s.batchMu.Unlock()
	for _, ws := range wss {
		pipelines, err := s.cfg.Store.ListPipelines(ctx, ws)
		if err != nil {
			s.log.Warn("batched triggers: list pipelines", "workspace", ws, "err", err)
			continue
		}
		for _, p := range pipelines {
			runs, err := s.cfg.Store.ListRuns(ctx, ws, p.Name, batchedRunsLookback)
			if err != nil {
				continue
			}
			seen := map[string]bool{}
			for _, r := range runs {
				if seen[r.SourceBranch] || !strings.HasPrefix(r.SourceBranch, "refs/heads/") {
					continue
				}
				seen[r.SourceBranch] = true
				if r.Status == StatusCompleted {
					s.queueBatched(ctx, p, r.SourceBranch)
				}
			}
		}
	}
}
