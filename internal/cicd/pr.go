package cicd

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/ciel-mlops/ciel/internal/cicd/azp"
)

// ReasonPullRequest is the reason of a run a pr: trigger starts (Azure's
// Build.Reason).
const ReasonPullRequest = "pullRequest"

// PullRequest is the GitHub pull request a run builds. ciel builds the
// pull request's head commit, not a merge of it into the target branch:
// the run's SourceBranch is refs/pull/<Number>/merge, as in Azure, but its
// SourceVersion is SourceCommitID.
type PullRequest struct {
	Number         int    `json:"number"`
	SourceBranch   string `json:"source_branch"` // refs/heads/<head.ref>
	TargetBranch   string `json:"target_branch"` // refs/heads/<base.ref>
	SourceCommitID string `json:"source_commit_id"`
}

// PullRequestEvent is what ciel reads of GitHub's pull_request webhook
// payload.
type PullRequestEvent struct {
	Action      string `json:"action"`
	Number      int    `json:"number"`
	PullRequest struct {
		Draft bool `json:"draft"`
		Head  struct {
			SHA string `json:"sha"`
			Ref string `json:"ref"`
		} `json:"head"`
		Base struct {
			Ref string `json:"ref"`
		} `json:"base"`
	} `json:"pull_request"`
}

// commitPattern is a full commit SHA (SHA-1 or SHA-256).
var commitPattern = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)

// ParsePullRequestEvent decodes a pull_request payload; ErrInvalid when it
// is not JSON or, for an action that builds (see Builds), lacks a number,
// a head commit or valid branch names.
func ParsePullRequestEvent(body []byte) (PullRequestEvent, error) {
	var ev PullRequestEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		return ev, fmt.Errorf("%w: pull_request payload: %v", ErrInvalid, err)
	}
	if !ev.Builds() {
		return ev, nil
	}
	pr := ev.PullRequest
	switch {
	case ev.Number <= 0:
		return ev, fmt.Errorf("%w: pull_request payload: number %d", ErrInvalid, ev.Number)
	case !commitPattern.MatchString(pr.Head.SHA):
		return ev, fmt.Errorf("%w: pull_request payload: head.sha %q is not a commit", ErrInvalid, pr.Head.SHA)
	}
	for _, b := range []string{pr.Head.Ref, pr.Base.Ref} {
		if err := validBranch(b); err != nil {
			return ev, fmt.Errorf("%w: pull_request payload: %v", ErrInvalid, err)
		}
	}
	return ev, nil
}

// Builds reports whether the event's action calls for a run: a pull
// request opened, reopened, pushed to (synchronize) or marked ready for
// review. Other actions (closed, labeled, ...) start nothing.
func (ev PullRequestEvent) Builds() bool {
	switch ev.Action {
	case "opened", "synchronize", "reopened", "ready_for_review":
		return true
	}
	return false
}

// PRTriggerMatches reports whether a pr: trigger starts a run for a pull
// request into branch target (a name, without refs/heads/), paths aside
// (see PathsMatch). No pr: key (t nil) means every target branch, as Azure
// does for GitHub; pr: none nothing; drafts: false skips draft pull
// requests; otherwise target must match a branches include (none given:
// all) and no exclude, as TriggerMatches matches a pushed branch.
func PRTriggerMatches(t *azp.Trigger, target string, draft bool) bool {
	if t != nil && draft && t.Drafts != nil && !*t.Drafts {
		return false
	}
	return TriggerMatches(t, "refs/heads/"+strings.TrimPrefix(target, "refs/heads/"))
}

// PullRequestRef is the SourceBranch of the runs of pull request n.
func PullRequestRef(n int) string { return "refs/pull/" + strconv.Itoa(n) + "/merge" }

// OnPullRequest starts the run of external pipeline ws/name that GitHub's
// pull_request event ev calls for and returns it; nil when none starts (an
// action that builds nothing, a pr: trigger that does not match). It
// fetches the mirror first, so the head commit (refs/pull/<n>/head) is
// there, reads the pr: trigger from the YAML at the head commit, and
// matches its branches against the target branch and its paths against
// the files that differ between the target branch's head and the pull
// request's head. Unless the trigger says autoCancel: false, earlier
// unfinished runs of the same pull request are cancelled.
func (s *Service) OnPullRequest(ctx context.Context, ws, name string, ev PullRequestEvent) (*Run, error) {
	if !ev.Builds() {
		return nil, nil
	}
	p, err := s.cfg.Store.GetPipeline(ctx, ws, name)
	if err != nil {
		return nil, err
	}
	if _, err := s.fetch(ctx, p); err != nil {
		return nil, err
	}
	head, base := ev.PullRequest.Head, ev.PullRequest.Base
	if _, err := s.cfg.Repos.Resolve(ctx, ws, p.Repository, head.SHA); err != nil {
		return nil, fmt.Errorf("%w: pull request %d: head commit %s is not in the repository: %v", ErrInvalid, ev.Number, head.SHA, err)
	}
	ref := PullRequestRef(ev.Number)
	pl, found, err := s.readTriggers(ctx, p, ref, head.SHA, ReasonPullRequest)
	switch {
	case !found:
		if err != nil {
			return nil, fmt.Errorf("pull request %d: read the pr trigger: %w", ev.Number, err)
		}
		s.log.Info("pull request head has no pipeline YAML", "pipeline", name, "pr", ev.Number)
		return nil, nil
	case err != nil:
		// The YAML does not parse: a run starts and fails saying why.
		s.log.Warn("pull request: read trigger", "pipeline", name, "pr", ev.Number, "err", err)
	default:
		if !PRTriggerMatches(pl.PR, base.Ref, ev.PullRequest.Draft) {
			s.log.Info("pr trigger does not match", "pipeline", name, "pr", ev.Number, "target", base.Ref)
			return nil, nil
		}
		if baseSHA, err := s.cfg.Repos.Resolve(ctx, ws, p.Repository, "refs/heads/"+base.Ref); err == nil &&
			!s.pathsMatch(ctx, p, pl.PR, baseSHA, head.SHA) {
			s.log.Info("pull request changed no file the pr trigger's paths include", "pipeline", name, "pr", ev.Number)
			return nil, nil
		}
	}
	autoCancel := pl == nil || pl.PR == nil || pl.PR.AutoCancel == nil || *pl.PR.AutoCancel
	s.batchMu.Lock()
	defer s.batchMu.Unlock()
	if autoCancel {
		s.cancelPullRequestRuns(ctx, p, ref)
	}
	r, err := s.enqueue(ctx, Run{Workspace: ws, Pipeline: name, Reason: ReasonPullRequest, SourceBranch: ref, SourceVersion: head.SHA,
		PullRequest: &PullRequest{Number: ev.Number, SourceBranch: "refs/heads/" + head.Ref,
			TargetBranch: "refs/heads/" + base.Ref, SourceCommitID: head.SHA}})
	if err != nil {
		return nil, err
	}
	s.log.Info("pull request started a run", "pipeline", name, "run", r.ID, "pr", ev.Number, "commit", head.SHA)
	return &r, nil
}

// cancelPullRequestRuns cancels p's unfinished runs on ref.
func (s *Service) cancelPullRequestRuns(ctx context.Context, p Pipeline, ref string) {
	runs, err := s.cfg.Store.ListUnfinishedRuns(ctx)
	if err != nil {
		s.log.Warn("pull request: look for runs to cancel", "pipeline", p.Name, "err", err)
		return
	}
	for _, r := range runs {
		if r.Workspace == p.Workspace && r.Pipeline == p.Name && r.SourceBranch == ref {
			if _, err := s.Cancel(ctx, r.Workspace, r.ID); err != nil {
				s.log.Warn("pull request: cancel an earlier run", "pipeline", p.Name, "run", r.ID, "err", err)
			} else {
				s.log.Info("pull request updated: earlier run cancelled", "pipeline", p.Name, "run", r.ID)
			}
		}
	}
}
