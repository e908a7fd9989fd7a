package cicd_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/cicd"
	"github.com/ciel-mlops/ciel/internal/cicd/agent"
	"github.com/ciel-mlops/ciel/internal/store"
)

// gitIn runs git in dir with a clean configuration and returns its output.
func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@x"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL="+os.DevNull, "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// commitTo commits a change to work and pushes it to the bare repository;
// it returns the commit.
func commitTo(t *testing.T, work, bare, body string) string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(work, "azure-pipelines.yml"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	gitIn(t, work, "add", ".")
	gitIn(t, work, "commit", "-qm", "c")
	gitIn(t, work, "push", "-q", bare, "HEAD:main")
	return gitIn(t, work, "rev-parse", "HEAD")
}

// runsOf waits until pipeline name has want runs (and a little longer, to
// see no more come) and returns them.
func runsOf(t *testing.T, svc *cicd.Service, name string, want int) []cicd.Run {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		runs, err := svc.Store().ListRuns(t.Context(), "ws", name, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) >= want {
			time.Sleep(500 * time.Millisecond) // several polls
			if runs, err = svc.Store().ListRuns(t.Context(), "ws", name, 0); err != nil {
				t.Fatal(err)
			}
			if len(runs) != want {
				t.Fatalf("pipeline %s has %d runs, want %d: %+v", name, len(runs), want, runs)
			}
			return runs
		}
		if time.Now().After(deadline) {
			t.Fatalf("pipeline %s has %d runs, want %d", name, len(runs), want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestExternalPipelinePolling(t *testing.T) {
	t.Parallel()
	first, b := setup(t)
	first.Close()
	root := t.TempDir()
	bare, work := filepath.Join(root, "ext.git"), filepath.Join(root, "work")
	gitIn(t, root, "init", "-q", "--bare", bare)
	gitIn(t, root, "init", "-q", "-b", "main", work)
	const yml = "trigger: [main]\nsteps:\n- script: echo external\n"
	commitTo(t, work, bare, yml)

	open := func() *cicd.Service {
		svc, err := cicd.New(cicd.Config{Store: b.store, Repos: b.host, Dir: filepath.Join(b.dir, "cicd"),
			PollInterval: 100 * time.Millisecond, Agent: agent.Config{Minute: 200 * time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		return svc
	}
	svc := open()
	p, err := svc.CreatePipeline(t.Context(), cicd.Pipeline{Workspace: "ws", Name: "ext", RepositoryURL: bare})
	if err != nil {
		t.Fatal(err)
	}
	if p.Repository != "ext-ext" || len(p.WebhookSecret) != 64 {
		t.Errorf("created %+v; want repository ext-ext and a 64-hex-digit secret", p)
	}
	runsOf(t, svc, "ext", 0) // creating it starts nothing

	sha := commitTo(t, work, bare, yml+"# two\n")
	runs := runsOf(t, svc, "ext", 1)
	if runs[0].SourceVersion != sha || runs[0].Reason != cicd.ReasonCI || runs[0].SourceBranch != "refs/heads/main" {
		t.Errorf("run = %+v, want a CI run of %s on main", runs[0], sha)
	}
	b.wait(t, svc, runs[0].ID)

	// A commit landing while the server is down starts one run after it.
	svc.Close()
	sha = commitTo(t, work, bare, yml+"# three\n")
	svc = open()
	defer svc.Close()
	runs = runsOf(t, svc, "ext", 2)
	if runs[0].SourceVersion != sha {
		t.Errorf("newest run = %+v, want one of %s", runs[0], sha)
	}
	b.wait(t, svc, runs[0].ID)

	// The webhook path: a fetch with nothing new starts nothing.
	if evs, err := svc.FetchPipeline(t.Context(), "ws", "ext"); err != nil || len(evs) != 0 {
		t.Errorf("FetchPipeline with nothing new = %v, %v", evs, err)
	}
}

func TestExternalPipelineRefusals(t *testing.T) {
	t.Parallel()
	svc, b := setup(t)
	ctx := t.Context()
	marker := filepath.Join(b.dir, "pwned")
	for _, u := range []string{"ext::sh -c touch% " + marker, "fd::3", "-oProxyCommand=touch " + marker, "relative/repo", "file:///tmp/../etc"} {
		_, err := svc.CreatePipeline(ctx, cicd.Pipeline{Workspace: "ws", Name: "bad", RepositoryURL: u})
		if !errors.Is(err, cicd.ErrInvalid) {
			t.Errorf("CreatePipeline(%q) = %v, want ErrInvalid", u, err)
		}
	}
	_, err := svc.CreatePipeline(ctx, cicd.Pipeline{Workspace: "ws", Name: "bad", RepositoryURL: "https://u:t0psecret@127.0.0.1:1/x.git"})
	if !errors.Is(err, cicd.ErrInvalid) || strings.Contains(err.Error(), "t0psecret") {
		t.Errorf("CreatePipeline of an unreachable URL = %v; want ErrInvalid without the password", err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a refused URL ran a command")
	}
	if _, err := svc.Store().GetPipeline(ctx, "ws", "bad"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a refused pipeline was stored: %v", err)
	}
}

func TestWebhookAuthorized(t *testing.T) {
	t.Parallel()
	p := cicd.Pipeline{WebhookSecret: "s3cret"}
	body := []byte(`{"ref":"refs/heads/main"}`)
	mac := hmac.New(sha256.New, []byte("s3cret"))
	mac.Write(body)
	good := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	tests := []struct {
		name      string
		p         cicd.Pipeline
		body      []byte
		hub, ciel string
		want      bool
	}{
		{"good signature", p, body, good, "", true},
		{"signature of another body", p, []byte("{}"), good, "", false},
		{"bad hex", p, body, "sha256=zz", "", false},
		{"sha1 only", p, body, "sha1=abc", "", false},
		{"good secret header", p, body, "", "s3cret", true},
		{"wrong secret header", p, body, "", "s3cre", false},
		{"bad signature wins over a good secret", p, body, "sha256=00", "s3cret", false},
		{"nothing", p, body, "", "", false},
		{"pipeline without a secret", cicd.Pipeline{}, body, "", "", false},
	}
	for _, tt := range tests {
		if got := cicd.WebhookAuthorized(tt.p, tt.body, tt.hub, tt.ciel); got != tt.want {
			t.Errorf("%s: WebhookAuthorized = %v, want %v", tt.name, got, tt.want)
		}
	}
}
