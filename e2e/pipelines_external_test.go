package e2e

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const externalPipeline = "trigger: [main]\nsteps:\n- script: echo built $(Build.SourceVersion)\n"

// externalRepo makes a bare repository outside ciel with one commit of the
// pipeline on main, and a working copy that pushes to it.
func externalRepo(t *testing.T) (bare, work string) {
	t.Helper()
	work = commitTree(t, map[string]string{"azure-pipelines.yml": externalPipeline})
	bare = filepath.Join(t.TempDir(), "ext.git")
	gitOK(t, work, "init", "-q", "--bare", bare)
	gitOK(t, work, "push", "-q", bare, "main")
	return bare, work
}

// commitExternal commits a change in work, pushes it to bare and returns it.
func commitExternal(t *testing.T, work, bare, note string) string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(work, "azure-pipelines.yml"), []byte(externalPipeline+"# "+note+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	gitOK(t, work, "commit", "-qam", note)
	gitOK(t, work, "push", "-q", bare, "main")
	return strings.TrimSpace(gitOK(t, work, "rev-parse", "HEAD"))
}

// cielAt runs the CLI against a foreground server with its token.
func cielAt(t *testing.T, fg *foreground, token string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, cielBin, args...)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "CIEL_HOME="+t.TempDir(), "CIEL_URL="+fg.url, "CIEL_TOKEN="+token)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		return out.String() + errb.String(), err
	}
	return out.String(), nil
}

type externalView struct {
	Name                      string
	Repository                struct{ Name, Type, URL string }
	WebhookSecret, WebhookURL string
}

// fgRuns lists the runs of pipeline ext.
func fgRuns(t *testing.T, fg *foreground, auth map[string]string) []pipelineRun {
	t.Helper()
	code, body := send(t, "GET", fg.url+"/api/v1/workspaces/ws/pipeline-runs?pipeline=ext", nil, auth)
	if code != 200 {
		t.Fatalf("list runs: %d %s", code, body)
	}
	var out []pipelineRun
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestExternalPipelineWebhook: on a server with a token (and no polling
// to speak of), `ciel pipelines create --repository-url` mirrors a local
// repository and answers the webhook secret once; the webhook, which
// carries no token, starts a run at once with GitHub's signature or the
// secret header, and a wrong or missing secret is a 401 that starts
// nothing.
func TestExternalPipelineWebhook(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	fg := runServer(t, []string{"CIEL_CICD_POLL=1h"}, "--addr", "127.0.0.1:0", "--token", "s3cret")
	auth := map[string]string{"Authorization": "Bearer s3cret", "Content-Type": "application/json"}
	if code, body := send(t, "POST", fg.url+"/api/v1/workspaces", strings.NewReader(`{"name": "ws"}`), auth); code != 201 {
		t.Fatalf("create workspace: %d %s", code, body)
	}
	bare, work := externalRepo(t)

	for _, bad := range []string{"ext::sh -c id", "-oProxyCommand=id", "relative/repo"} {
		if out, err := cielAt(t, fg, "s3cret", "pipelines", "create", "-w", "ws", "--name", "bad", "--repository-url", bad); err == nil {
			t.Errorf("create with --repository-url %q succeeded:\n%s", bad, out)
		}
	}
	out, err := cielAt(t, fg, "s3cret", "pipelines", "create", "-w", "ws", "--name", "ext", "--repository-url", bare, "--branch", "main", "-o", "json")
	if err != nil {
		t.Fatalf("pipelines create: %v\n%s", err, out)
	}
	var p externalView
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if p.Repository.Type != "Git" || p.Repository.URL != bare || len(p.WebhookSecret) != 64 || !strings.HasSuffix(p.WebhookURL, "/pipelines/ext/hooks") {
		t.Fatalf("created %+v; want type Git, url %s, a 64-digit secret and the hook URL", p, bare)
	}
	if out, _ := cielAt(t, fg, "s3cret", "pipelines", "list", "-w", "ws", "-o", "json"); strings.Contains(out, p.WebhookSecret) {
		t.Errorf("pipelines list shows the secret:\n%s", out)
	}
	if out, _ := cielAt(t, fg, "s3cret", "pipelines", "show", "-w", "ws", "--name", "ext"); strings.Contains(out, p.WebhookSecret) {
		t.Errorf("pipelines show without --show-secret shows it:\n%s", out)
	}
	if out, _ := cielAt(t, fg, "s3cret", "pipelines", "show", "-w", "ws", "--name", "ext", "--show-secret"); !strings.Contains(out, p.WebhookSecret) {
		t.Errorf("pipelines show --show-secret does not show it:\n%s", out)
	}

	sha := commitExternal(t, work, bare, "two")
	body := `{"ref":"refs/heads/main","after":"` + sha + `"}`
	hook := fg.url + "/api/v1/workspaces/ws/pipelines/ext/hooks"
	plain := map[string]string{"Content-Type": "application/json"}
	with := func(k, v string) map[string]string {
		return map[string]string{"Content-Type": "application/json", k: v}
	}
	for name, hdr := range map[string]map[string]string{
		"no secret":        plain,
		"wrong signature":  with("X-Hub-Signature-256", "sha256="+strings.Repeat("0", 64)),
		"wrong secret":     with("X-Ciel-Webhook-Secret", "nope"),
		"unknown pipeline": with("X-Ciel-Webhook-Secret", p.WebhookSecret),
	} {
		u := hook
		if name == "unknown pipeline" {
			u = strings.Replace(hook, "/ext/", "/nope/", 1)
		}
		if code, resp := send(t, "POST", u, strings.NewReader(body), hdr); code != 401 || !strings.Contains(resp, `"error"`) {
			t.Errorf("%s: webhook answered %d %s, want 401 with a JSON error", name, code, resp)
		}
	}
	if runs := fgRuns(t, fg, auth); len(runs) != 0 {
		t.Fatalf("refused webhooks started runs: %+v", runs)
	}

	mac := hmac.New(sha256.New, []byte(p.WebhookSecret))
	mac.Write([]byte(body))
	sig := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	if code, resp := send(t, "POST", hook, strings.NewReader(body), with("X-Hub-Signature-256", sig)); code != 200 || !strings.Contains(resp, "refs/heads/main") {
		t.Fatalf("signed webhook: %d %s", code, resp)
	}
	runs := fgRuns(t, fg, auth) // at once: durable before the hook answered
	if len(runs) != 1 || runs[0].SourceVersion != sha || runs[0].Reason != "individualCI" {
		t.Fatalf("after the signed webhook runs = %+v, want one CI run of %s", runs, sha)
	}
	// The same delivery again fetches nothing new and starts nothing.
	if code, resp := send(t, "POST", hook, strings.NewReader(body), with("X-Hub-Signature-256", sig)); code != 200 {
		t.Fatalf("repeated webhook: %d %s", code, resp)
	}
	sha = commitExternal(t, work, bare, "three")
	if code, resp := send(t, "POST", hook, strings.NewReader("{}"), with("X-Ciel-Webhook-Secret", p.WebhookSecret)); code != 200 {
		t.Fatalf("webhook with the secret header: %d %s", code, resp)
	}
	runs = fgRuns(t, fg, auth)
	if len(runs) != 2 || runs[0].SourceVersion != sha {
		t.Fatalf("after the second webhook runs = %+v, want two, the newest of %s", runs, sha)
	}
	waitFor(t, "the runs to succeed", 2*time.Minute, func() bool {
		runs := fgRuns(t, fg, auth)
		return runs[0].Status == "completed" && runs[1].Status == "completed"
	})
	if runs := fgRuns(t, fg, auth); runs[0].Result != "succeeded" || runs[1].Result != "succeeded" {
		t.Errorf("runs = %+v, want both succeeded", runs)
	}
}

// TestExternalPipelinePolling: with a short poll interval, a commit pushed
// to the external repository starts one run, and only one.
func TestExternalPipelinePolling(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	fg := runServer(t, []string{"CIEL_CICD_POLL=300ms"}, "--addr", "127.0.0.1:0")
	hdr := map[string]string{"Content-Type": "application/json"}
	if code, body := send(t, "POST", fg.url+"/api/v1/workspaces", strings.NewReader(`{"name": "ws"}`), hdr); code != 201 {
		t.Fatalf("create workspace: %d %s", code, body)
	}
	bare, work := externalRepo(t)
	if out, err := cielAt(t, fg, "", "pipelines", "create", "-w", "ws", "--name", "ext", "--repository-url", "file://"+bare); err != nil {
		t.Fatalf("pipelines create: %v\n%s", err, out)
	}
	sha := commitExternal(t, work, bare, "two")
	waitFor(t, "a run of the pushed commit", time.Minute, func() bool { return len(fgRuns(t, fg, hdr)) > 0 })
	time.Sleep(1500 * time.Millisecond) // several more polls
	runs := fgRuns(t, fg, hdr)
	if len(runs) != 1 || runs[0].SourceVersion != sha {
		t.Fatalf("runs = %+v, want one of %s", runs, sha)
	}
}
