package api

import (
	"io"
	"net/http"

	"github.com/ciel-mlops/ciel/internal/cicd"
	"github.com/ciel-mlops/ciel/internal/guard"
)

// errHookUnauthorized answers every webhook that does not prove the
// pipeline's secret, whether or not the workspace or pipeline exists, so
// the public route tells a stranger nothing.
var errHookUnauthorized = &httpError{status: http.StatusUnauthorized, code: "Unauthorized",
	msg: "the webhook secret is missing or wrong: send X-Hub-Signature-256 (HMAC-SHA256 of the body) or X-Ciel-Webhook-Secret"}

// pipelineHook is an external pipeline's webhook. It needs no token (see
// isPipelineHook): the request proves the pipeline's secret, then the
// pipeline's repository is fetched now and the branches that changed start
// their runs, as a push would. The body (bounded by the guard) is read to
// check GitHub's signature and, for GitHub's pull_request event
// (X-GitHub-Event), for the pull request a pr: trigger may build (see
// cicd.Service.OnPullRequest); a ping is answered and starts nothing.
func (s *server) pipelineHook(_ http.ResponseWriter, r *http.Request) (any, error) {
	if s.cicd == nil {
		return nil, errNoCICD
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		if ge := guard.BodyError(err); ge != nil {
			return nil, refusal(ge)
		}
		return nil, badRequest("", "read the webhook body: %v", err)
	}
	ws, name := r.PathValue("ws"), r.PathValue("name")
	p, err := s.cicd.Store().GetPipeline(r.Context(), ws, name)
	if err != nil || !cicd.WebhookAuthorized(p, body, r.Header.Get("X-Hub-Signature-256"), r.Header.Get("X-Ciel-Webhook-Secret")) {
		return nil, errHookUnauthorized
	}
	switch r.Header.Get("X-GitHub-Event") {
	case "ping":
		return map[string]any{"status": "pong"}, nil
	case "pull_request":
		return s.pullRequestHook(r, ws, name, body)
	}
	events, err := s.cicd.FetchPipeline(r.Context(), ws, name)
	if err != nil {
		return nil, cicdError(err, "pipeline "+name)
	}
	refs := make([]string, 0, len(events))
	for _, ev := range events {
		refs = append(refs, ev.Ref)
	}
	return map[string]any{"status": "fetched", "changedRefs": refs}, nil
}

// pullRequestHook handles a signed pull_request event: it answers the run
// it started, or "ignored" when the action or the pr: trigger calls for
// none.
func (s *server) pullRequestHook(r *http.Request, ws, name string, body []byte) (any, error) {
	ev, err := cicd.ParsePullRequestEvent(body)
	if err != nil {
		return nil, badRequest("", "%v", err)
	}
	run, err := s.cicd.OnPullRequest(r.Context(), ws, name, ev)
	if err != nil {
		return nil, cicdError(err, "pipeline "+name)
	}
	if run == nil {
		return map[string]any{"status": "ignored", "action": ev.Action}, nil
	}
	return map[string]any{"status": "started", "run": run.ID, "sourceBranch": run.SourceBranch, "sourceVersion": run.SourceVersion}, nil
}
