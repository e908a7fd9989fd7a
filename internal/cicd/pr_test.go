package cicd_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/cicd"
	"github.com/ciel-mlops/ciel/internal/cicd/agent"
	"github.com/ciel-mlops/ciel/internal/cicd/azp"
)

func TestPRTriggerMatches(t *testing.T) {
	t.Parallel()
	no := false
	tests := []struct {
		name   string
		yml    string
		target string
		draft  bool
		want   bool
	}{
		{"absent: every branch", "", "release/1", false, true},
		{"none", "pr: none\n", "main", false, false},
		{"list includes", "pr: [main, dev]\n", "dev", false, true},
		{"list misses", "pr: [main]\n", "dev", false, false},
		{"wildcard", "pr:\n  branches:\n    include: [release/*]\n", "release/2", false, true},
		{"exclude", "pr:\n  branches:\n    include: ['*']\n    exclude: [wip/*]\n", "wip/x", false, false},
		{"draft allowed by default", "pr: [main]\n", "main", true, true},
		{"drafts false skips a draft", "pr:\n  branches:\n    include: [main]\n  drafts: false\n", "main", true, false},
		{"drafts false builds a ready one", "pr:\n  branches:\n    include: [main]\n  drafts: false\n", "main", false, true},
	}
	for _, tt := range tests {
		p, err := azp.Parse("p.yml", []byte(tt.yml+"steps: [{script: a}]\n"))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := cicd.PRTriggerMatches(p.PR, tt.target, tt.draft); got != tt.want {
			t.Errorf("%s: PRTriggerMatches(%s, draft %v) = %v, want %v", tt.name, tt.target, tt.draft, got, tt.want)
		}
	}
	if cicd.PRTriggerMatches(&azp.Trigger{Drafts: &no}, "main", true) {
		t.Error("a draft matched drafts: false")
	}
}

func TestPRPathsMatch(t *testing.T) {
	t.Parallel()
	p, err := azp.Parse("p.yml", []byte("pr:\n  paths:\n    include: [src]\n    exclude: [src/docs]\nsteps: [{script: a}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	for files, want := range map[string]bool{"src/a.go": true, "README.md": false, "src/docs/x.md": false, "README.md,src/b.go": true} {
		if got := cicd.PathsMatch(p.PR.Paths, strings.Split(files, ",")); got != want {
			t.Errorf("PathsMatch(%s) = %v, want %v", files, got, want)
		}
	}
}

func TestParsePullRequestEvent(t *testing.T) {
	t.Parallel()
	sha := strings.Repeat("a", 40)
	for body, ok := range map[string]bool{
		prBody("opened", 1, sha, "f", "main", false):    true,
		prBody("closed", 0, "", "", "", false):          true, // starts nothing, so not checked
		prBody("opened", 0, sha, "f", "main", false):    false,
		prBody("opened", 1, "HEAD", "f", "main", false): false,
		prBody("opened", 1, sha, "-x", "main", false):   false,
		"not json": false,
	} {
		if _, err := cicd.ParsePullRequestEvent([]byte(body)); (err == nil) != ok {
			t.Errorf("ParsePullRequestEvent(%s) = %v, want ok %v", body, err, ok)
		}
	}
}

// prBody is a pull_request payload.
func prBody(action string, n int, sha, head, base string, draft bool) string {
	return fmt.Sprintf(`{"action":%q,"number":%d,"pull_request":{"draft":%v,"head":{"sha":%q,"ref":%q},"base":{"ref":%q}}}`,
		action, n, draft, sha, head, base)
}

// TestPullRequestRuns: signed pull_request events for an external
// repository start runs as the pr: trigger at the head commit says.
func TestPullRequestRuns(t *testing.T) {
	t.Parallel()
	first, b := setup(t)
	first.Close()
	root := t.TempDir()
	bare, work := filepath.Join(root, "ext.git"), filepath.Join(root, "work")
	gitIn(t, root, "init", "-q", "--bare", bare)
	gitIn(t, root, "init", "-q", "-b", "main", work)
	const yml = "trigger: none\npr:\n  branches:\n    include: [main]\n  drafts: false\nsteps:\n" +
		"- script: echo \"PR=$(System.PullRequest.PullRequestNumber) SRC=$(System.PullRequest.SourceBranch) " +
		"TGT=$(System.PullRequest.TargetBranch) SHA=$(System.PullRequest.SourceCommitId) BR=$(Build.SourceBranch) WHY=$(Build.Reason)\"\n"
	commitTo(t, work, bare, yml)
	svc, err := cicd.New(cicd.Config{Store: b.store, Repos: b.host, Dir: filepath.Join(b.dir, "cicd"),
		PollInterval: time.Hour, Agent: agent.Config{Minute: 200 * time.Millisecond, KillGrace: 200 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	p, err := svc.CreatePipeline(t.Context(), cicd.Pipeline{Workspace: "ws", Name: "ext", RepositoryURL: bare})
	if err != nil {
		t.Fatal(err)
	}
	// openPR commits body on branch feature and publishes it as
	// refs/pull/n/head, as GitHub does; it returns the commit.
	openPR := func(n int, body string) string {
		gitIn(t, work, "checkout", "-q", "-B", "feature")
		sha := commitTo(t, work, bare, body)
		gitIn(t, work, "push", "-q", "-f", bare, fmt.Sprintf("HEAD:refs/pull/%d/head", n))
		gitIn(t, work, "checkout", "-q", "main")
		gitIn(t, root, "--git-dir="+bare, "update-ref", "refs/heads/main", gitIn(t, work, "rev-parse", "HEAD"))
		return sha
	}
	send := func(body string) *cicd.Run {
		t.Helper()
		mac := hmac.New(sha256.New, []byte(p.WebhookSecret))
		mac.Write([]byte(body))
		if !cicd.WebhookAuthorized(p, []byte(body), "sha256="+hex.EncodeToString(mac.Sum(nil)), "") {
			t.Fatal("signed event refused")
		}
		ev, err := cicd.ParsePullRequestEvent([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		r, err := svc.OnPullRequest(t.Context(), "ws", "ext", ev)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	sha := openPR(7, yml+"# pr 7\n")
	r := send(prBody("opened", 7, sha, "feature", "main", false))
	if r == nil {
		t.Fatal("a PR into main started no run")
	}
	done, log := b.wait(t, svc, r.ID)
	want := fmt.Sprintf("PR=7 SRC=refs/heads/feature TGT=refs/heads/main SHA=%s BR=refs/pull/7/merge WHY=pullRequest", sha)
	if done.Result != "succeeded" || done.SourceVersion != sha || done.SourceBranch != "refs/pull/7/merge" || !strings.Contains(log, want) {
		t.Errorf("run %+v; log %s\nwant a succeeded run of %s printing %q", done, log, sha, want)
	}

	if r := send(prBody("opened", 7, sha, "feature", "dev", false)); r != nil {
		t.Errorf("a PR into dev started run %+v", r)
	}
	if r := send(prBody("opened", 7, sha, "feature", "main", true)); r != nil {
		t.Errorf("a draft PR with drafts: false started run %+v", r)
	}
	if r := send(prBody("closed", 7, sha, "feature", "main", false)); r != nil {
		t.Errorf("a closed PR started run %+v", r)
	}

	// synchronize: a new head cancels the run of the old one.
	slow := strings.Replace(yml, "steps:\n", "steps:\n- script: sleep 60\n", 1)
	sha1 := openPR(8, slow+"# pr 8\n")
	r1 := send(prBody("opened", 8, sha1, "feature", "main", false))
	if r1 == nil {
		t.Fatal("PR 8 started no run")
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		cur, _ := svc.Store().GetRun(t.Context(), "ws", r1.ID)
		if len(cur.Jobs) > 0 && len(cur.Jobs[0].Steps) > 1 && cur.Jobs[0].Steps[1].Status == agent.StatusInProgress {
			break // the sleep runs
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sleep never started: %+v", cur)
		}
	}
	sha2 := openPR(8, yml+"# pr 8 again\n")
	r2 := send(prBody("synchronize", 8, sha2, "feature", "main", false))
	if r2 == nil {
		t.Fatal("synchronize started no run")
	}
	if old, _ := b.wait(t, svc, r1.ID); old.Result != cicd.ResultCanceled {
		t.Errorf("the previous run ended %q (%s), want canceled", old.Result, old.Error)
	}
	if cur, _ := b.wait(t, svc, r2.ID); cur.Result != "succeeded" || cur.SourceVersion != sha2 {
		t.Errorf("the new run = %+v, want a succeeded run of %s", cur, sha2)
	}
}
