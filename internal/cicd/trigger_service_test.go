package cicd_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ciel-mlops/ciel/internal/cicd"
)

// pusher commits to a working copy and pushes it to hosted repository
// "app", telling the service as the HTTP handler would.
type pusher struct {
	svc  *cicd.Service
	work string
	bare string
}

func newPusher(t *testing.T, svc *cicd.Service, b testBundle) *pusher {
	t.Helper()
	repo, err := b.host.Create(t.Context(), "ws", "app")
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	gitIn(t, work, "init", "-q", "-b", "main")
	return &pusher{svc: svc, work: work, bare: repo.Dir}
}

// commit writes files and commits them; it returns the commit.
func (p *pusher) commit(t *testing.T, files map[string]string) string {
	t.Helper()
	for name, body := range files {
		path := filepath.Join(p.work, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gitIn(t, p.work, "add", ".")
	gitIn(t, p.work, "commit", "-qm", "c")
	return gitIn(t, p.work, "rev-parse", "HEAD")
}

// push pushes local ref src to ref and reports it, old to new, to OnPush.
func (p *pusher) push(t *testing.T, src, ref string) {
	t.Helper()
	old := strings.Repeat("0", 40)
	if out := gitIn(t, p.bare, "for-each-ref", "--format=%(objectname)", ref); out != "" {
		old = out
	}
	gitIn(t, p.work, "push", "-q", p.bare, src+":"+ref)
	newSHA := gitIn(t, p.bare, "rev-parse", ref)
	p.svc.OnPush(t.Context(), "ws", "app", ref, old, newSHA)
}

func TestPushPathFilter(t *testing.T) {
	t.Parallel()
	svc, b := setup(t)
	p := newPusher(t, svc, b)
	const yml = "trigger:\n  branches:\n    include: [main]\n  paths:\n    include: [src]\nsteps:\n- checkout: none\n- script: echo built\n"
	p.commit(t, map[string]string{"azure-pipelines.yml": yml, "docs/a.md": "a"})
	p.push(t, "HEAD", "refs/heads/main") // a new branch: its root commit has src/ nowhere
	if _, err := svc.CreatePipeline(t.Context(), cicd.Pipeline{Workspace: "ws", Name: "p", Repository: "app"}); err != nil {
		t.Fatal(err)
	}
	p.commit(t, map[string]string{"docs/a.md": "b"})
	p.push(t, "HEAD", "refs/heads/main")
	runsOf(t, svc, "p", 0)

	sha := p.commit(t, map[string]string{"src/main.go": "package main"})
	p.push(t, "HEAD", "refs/heads/main")
	runs := runsOf(t, svc, "p", 1)
	if runs[0].SourceVersion != sha || runs[0].Reason != cicd.ReasonCI {
		t.Errorf("run = %+v, want a CI run of %s", runs[0], sha)
	}
	b.wait(t, svc, runs[0].ID)

	// A new branch is judged by its commit's own changes.
	gitIn(t, p.work, "checkout", "-q", "-b", "feature")
	p.commit(t, map[string]string{"docs/b.md": "b"})
	p.push(t, "HEAD", "refs/heads/feature")
	runsOf(t, svc, "p", 1) // feature is not included anyway
}

func TestPushTags(t *testing.T) {
	t.Parallel()
	svc, b := setup(t)
	p := newPusher(t, svc, b)
	const yml = "trigger:\n  branches:\n    include: [main]\n  tags:\n    include: ['v*']\n    exclude: ['*-rc*']\nsteps:\n- checkout: none\n- script: echo tagged\n"
	sha := p.commit(t, map[string]string{"azure-pipelines.yml": yml})
	gitIn(t, p.work, "push", "-q", p.bare, "HEAD:refs/heads/main")
	if _, err := svc.CreatePipeline(t.Context(), cicd.Pipeline{Workspace: "ws", Name: "p", Repository: "app"}); err != nil {
		t.Fatal(err)
	}
	gitIn(t, p.work, "tag", "release-1")
	p.push(t, "refs/tags/release-1", "refs/tags/release-1")
	gitIn(t, p.work, "tag", "-a", "-m", "rc", "v1-rc1")
	p.push(t, "refs/tags/v1-rc1", "refs/tags/v1-rc1")
	runsOf(t, svc, "p", 0)

	gitIn(t, p.work, "tag", "-a", "-m", "one", "v1")
	p.push(t, "refs/tags/v1", "refs/tags/v1")
	runs := runsOf(t, svc, "p", 1)
	if runs[0].SourceVersion != sha || runs[0].SourceBranch != "refs/tags/v1" {
		t.Errorf("run = %+v, want a run of %s on refs/tags/v1", runs[0], sha)
	}
	if r, _ := b.wait(t, svc, runs[0].ID); r.Result != cicd.ResultSucceeded {
		t.Errorf("tag run = %+v, want succeeded", r)
	}
}

func TestPushBatch(t *testing.T) {
	t.Parallel()
	svc, b := setup(t)
	p := newPusher(t, svc, b)
	const yml = "trigger:\n  batch: true\n  branches:\n    include: [main]\nsteps:\n- checkout: none\n- script: sleep 3\n"
	p.commit(t, map[string]string{"azure-pipelines.yml": yml})
	gitIn(t, p.work, "push", "-q", p.bare, "HEAD:refs/heads/main")
	if _, err := svc.CreatePipeline(t.Context(), cicd.Pipeline{Workspace: "ws", Name: "p", Repository: "app"}); err != nil {
		t.Fatal(err)
	}
	first := p.commit(t, map[string]string{"a.txt": "1"})
	p.push(t, "HEAD", "refs/heads/main")
	p.commit(t, map[string]string{"a.txt": "2"})
	p.push(t, "HEAD", "refs/heads/main")
	last := p.commit(t, map[string]string{"a.txt": "3"})
	p.push(t, "HEAD", "refs/heads/main")
	runs := runsOf(t, svc, "p", 1)
	if runs[0].SourceVersion != first || runs[0].Status == cicd.StatusCompleted {
		t.Fatalf("run = %+v, want one in progress of %s", runs[0], first)
	}
	b.wait(t, svc, runs[0].ID)
	runs = runsOf(t, svc, "p", 2)
	if runs[0].SourceVersion != last || runs[0].Reason != cicd.ReasonBatchedCI {
		t.Errorf("follow-up run = %+v, want a batched run of %s", runs[0], last)
	}
	b.wait(t, svc, runs[0].ID)
	runsOf(t, svc, "p", 2) // nothing moved since: no third run
}
