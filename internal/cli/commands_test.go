package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"archive/tar"

	"github.com/ciel-mlops/ciel/client"
	"github.com/ciel-mlops/ciel/internal/spec"
)

func TestConfigureDefaultsRoundTrip(t *testing.T) {
	t.Parallel()
	tb, f := setupServer(t)
	if r := tb.run(t, "", "configure", "--defaults", "workspace=ml_workspace", "group=ml_rg", "location=eastus"); r.code != 0 {
		t.Fatalf("configure --defaults: %v", r.err)
	}
	r := tb.run(t, "", "configure", "--list-defaults")
	var entries []defaultEntry
	if err := json.Unmarshal([]byte(r.stdout), &entries); err != nil {
		t.Fatalf("--list-defaults output %q: %v", r.stdout, err)
	}
	cfg := filepath.Join(tb.home, "config.json")
	want := []defaultEntry{{"workspace", cfg, "ml_workspace"}, {"group", cfg, "ml_rg"}, {"location", cfg, "eastus"}}
	if !slices.Equal(entries, want) {
		t.Errorf("--list-defaults = %+v, want %+v", entries, want)
	}

	// A workspace-scoped command falls back to the default; -w wins.
	if r := tb.run(t, "", "job", "list"); r.code != 0 {
		t.Fatalf("job list: %v", r.err)
	}
	if r := tb.run(t, "", "job", "list", "-w", "other"); r.code != 0 {
		t.Fatalf("job list -w other: %v", r.err)
	}
	for _, req := range []string{"GET /api/v1/workspaces/ml_workspace/jobs", "GET /api/v1/workspaces/other/jobs"} {
		if !f.sawRequest(req) {
			t.Errorf("server never saw %s; saw %q", req, f.requests)
		}
	}

	// An empty value removes a default.
	tb.run(t, "", "configure", "--defaults", "workspace=")
	d, err := readDefaults(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := d["workspace"]; ok || d["group"] != "ml_rg" {
		t.Errorf("after clearing workspace, defaults = %v", d)
	}
	if r := tb.run(t, "", "job", "list"); r.code != ExitUsage {
		t.Errorf("job list with no default workspace: code %d, want %d", r.code, ExitUsage)
	}
}

func studioJob(status string) client.Job {
	created := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	j := client.Job{Name: "bright_fox_1", Type: "pipeline", Status: status, CreationContext: client.CreationContext{CreatedAt: created},
		Services: map[string]client.Service{"Studio": {Endpoint: "http://ciel.local/jobs/bright_fox_1"}},
		Jobs: map[string]*client.Step{
			"prep":  {Name: "prep", Status: "Completed", ReusedFrom: "old_job"},
			"train": {Name: "train", Status: status},
		}}
	if status == "Failed" {
		j.Jobs["train"].Error = "exit code 1: ValueError: bad lr"
	}
	return j
}

func TestJobStream(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status   string
		wantCode int
		wantErr  string
	}{
		{"Completed", 0, ""},
		{"Failed", ExitFailure, "job bright_fox_1 failed: step train: exit code 1: ValueError: bad lr"},
		{"Canceled", ExitFailure, "job bright_fox_1 canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.status, func(t *testing.T) {
			t.Parallel()
			tb, f := setupServer(t)
			f.setJob(studioJob(tt.status), "[prep] status: Running\n[prep] hello\n[train] epoch 1\n")
			r := tb.run(t, "", "job", "stream", "--name", "bright_fox_1", "-w", "ml")
			if r.code != tt.wantCode {
				t.Fatalf("code %d (%v), want %d", r.code, r.err, tt.wantCode)
			}
			if tt.wantErr != "" && r.err.Error() != tt.wantErr {
				t.Errorf("err = %q, want %q", r.err, tt.wantErr)
			}
			for _, want := range []string{
				"RunId: bright_fox_1\nWeb View: http://ciel.local/jobs/bright_fox_1\n",
				"[prep] hello\n[train] epoch 1\n",
				"Execution Summary\n=================\n",
				"Status: " + tt.status,
				"prep   Completed  old_job",
			} {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
				}
			}
		})
	}
}

func TestJobStreamNotFound(t *testing.T) {
	t.Parallel()
	tb, f := setupServer(t)
	f.setJob(studioJob("Completed"), "")
	r := tb.run(t, "", "job", "stream", "--name", "nope", "-w", "ml")
	if r.code != ExitFailure || !strings.Contains(r.err.Error(), "job nope not found") {
		t.Fatalf("code %d, err %v", r.code, r.err)
	}
}

func TestJobListAndShow(t *testing.T) {
	t.Parallel()
	tb, f := setupServer(t)
	f.setJob(studioJob("Running"), "")
	r := tb.run(t, "", "job", "list", "-w", "ml", "--max-results", "2", "--include-archived")
	if r.code != 0 {
		t.Fatal(r.err)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "Name") || !strings.HasPrefix(lines[3], "job_1") {
		t.Errorf("job list table:\n%s", r.stdout)
	}
	if !f.sawRequest("GET /api/v1/workspaces/ml/jobs?include_archived=true") {
		t.Errorf("--include-archived not sent; saw %q", f.requests)
	}
	r = tb.run(t, "", "job", "show", "-n", "bright_fox_1", "-w", "ml", "-o", "yaml")
	if r.code != 0 || !strings.Contains(r.stdout, "name: bright_fox_1\n") || !strings.Contains(r.stdout, "status: Running\n") {
		t.Errorf("job show -o yaml (%v):\n%s", r.err, r.stdout)
	}
}

func TestDataCreateUploadsLocalPath(t *testing.T) {
	t.Parallel()
	tb, f := setupServer(t)
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"iris.csv": "a,b\n"})
	r := tb.run(t, "", "data", "create", "-w", "ml", "--name", "iris", "--version", "1",
		"--type", "uri_file", "--path", filepath.Join(dir, "iris.csv"))
	if r.code != 0 {
		t.Fatal(r.err)
	}
	if len(f.uploads) != 1 || !slices.Equal(f.uploads[0], []string{"iris.csv"}) {
		t.Errorf("uploads = %q, want one tar holding iris.csv", f.uploads)
	}
	var d spec.Data
	if err := json.Unmarshal(f.posted["/api/v1/workspaces/ml/data"], &d); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(d.Path, "blob:sha256:") || d.Name != "iris" || d.Type != "uri_file" {
		t.Errorf("posted data = %+v", d)
	}
	var shown map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &shown); err != nil || shown["path"] != d.Path || shown["version"] != "1" {
		t.Errorf("printed %s (%v)", r.stdout, err)
	}

	// A remote path is passed as is; a type that does not fit is refused.
	r = tb.run(t, "", "data", "create", "-w", "ml", "--name", "web", "--type", "uri_file", "--path", "https://example.com/x.csv")
	if r.code != 0 || len(f.uploads) != 1 {
		t.Errorf("remote path: code %d (%v), %d uploads", r.code, r.err, len(f.uploads))
	}
	r = tb.run(t, "", "data", "create", "-w", "ml", "--name", "d", "--type", "uri_file", "--path", dir)
	if r.code != ExitUsage || !strings.Contains(r.err.Error(), "is a directory") {
		t.Errorf("uri_file on a directory: code %d, err %v", r.code, r.err)
	}
}

func TestServerErrorsPassThrough(t *testing.T) {
	t.Parallel()
	tb, _ := setupServer(t)
	r := tb.run(t, "", "compute", "create", "-w", "ml", "--name", "bad", "--type", "local")
	if r.code != ExitUsage || !strings.Contains(r.err.Error(), "compute.yml:2:7: type: expected one of local, amlcompute") {
		t.Fatalf("code %d, err %v; want the server's message and exit 2", r.code, r.err)
	}
	r = tb.run(t, "", "compute", "create", "-w", "ml", "--name", "cpu", "--type", "amlcompute", "--max-instances", "3", "-o", "table")
	if r.code != 0 || !strings.Contains(r.stdout, "cpu   ") || !strings.Contains(r.stdout, "amlcompute") {
		t.Fatalf("compute create -o table (%v):\n%s", r.err, r.stdout)
	}
}

func TestConnectionErrorSaysWhatToDo(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	tb.env["CIEL_URL"] = "http://127.0.0.1:1"
	r := tb.run(t, "", "workspace", "list")
	if r.code != ExitFailure || !strings.Contains(r.err.Error(), "is the server at CIEL_URL=http://127.0.0.1:1 running?") {
		t.Fatalf("code %d, err %v", r.code, r.err)
	}
}

func TestWorkspaceDeleteAsks(t *testing.T) {
	t.Parallel()
	tb, f := setupServer(t)
	if r := tb.run(t, "n\n", "workspace", "delete", "--name", "ml"); r.code != 0 || f.sawRequest("DELETE /api/v1/workspaces/ml") {
		t.Errorf("answering n: code %d, requests %q", r.code, f.requests)
	}
	if r := tb.run(t, "", "workspace", "delete", "--name", "ml"); r.code != ExitUsage || !strings.Contains(r.err.Error(), "--yes") {
		t.Errorf("no answer: code %d, err %v", r.code, r.err)
	}
}

func TestJobDownload(t *testing.T) {
	t.Parallel()
	tb, f := setupServer(t)
	j := studioJob("Completed")
	j.Outputs = map[string]client.JobOutput{"model": {Type: "uri_folder"}, "report": {Type: "uri_file"}}
	f.setJob(j, "")
	f.outputs["model"] = makeTar(t, tarEntry{name: "model.pkl", body: "w"})
	f.outputs["artifacts"] = makeTar(t, tarEntry{name: "logs/", typ: tar.TypeDir}, tarEntry{name: "logs/prep.log", body: "log"})
	f.outputs["evil"] = makeTar(t, tarEntry{name: "../../evil", body: "x"})
	dir := t.TempDir()

	r := tb.run(t, "", "job", "download", "-w", "ml", "--name", j.Name, "--all", "--download-path", dir)
	if r.code != 0 {
		t.Fatal(r.err)
	}
	for name, want := range map[string]string{"named-outputs/model/model.pkl": "w", "artifacts/logs/prep.log": "log"} {
		if got, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(got) != want {
			t.Errorf("%s = %q, %v", name, got, err)
		}
	}
	if !strings.Contains(r.stdout, "has no report") {
		t.Errorf("missing optional output not reported:\n%s", r.stdout)
	}
	r = tb.run(t, "", "job", "download", "-w", "ml", "--name", j.Name, "--output-name", "evil", "--download-path", dir)
	if r.code != ExitFailure || !strings.Contains(r.err.Error(), "outside the download directory") {
		t.Errorf("traversal: code %d, err %v", r.code, r.err)
	}
}

// TestComputeCreateKubeBlobEndpoint: a kubernetes compute created without
// --blob-endpoint takes CIEL_KUBE_BLOB_ENDPOINT (scripts/cluster.sh env's),
// the flag wins over it, other types ignore it, and a bad one is refused.
func TestComputeCreateKubeBlobEndpoint(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, env string
		args      []string
		want      string // in the body sent; "" for none
		code      int
	}{
		{"from the variable", "http://10.244.0.1:9000", nil, `"blob_endpoint":"http://10.244.0.1:9000"`, 0},
		{"the flag wins", "http://10.244.0.1:9000", []string{"--blob-endpoint", "http://s3.example:9000"}, `"blob_endpoint":"http://s3.example:9000"`, 0},
		{"unset", "", nil, "", 0},
		{"bad", "10.244.0.1:9000", nil, "", ExitUsage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb, f := setupServer(t)
			tb.env[EnvKubeBlobEndpoint] = tc.env
			r := tb.run(t, "", append([]string{"compute", "create", "-w", "ml", "--name", "k8s", "--type", "kubernetes"}, tc.args...)...)
			if r.code != tc.code {
				t.Fatalf("code %d (%v), want %d", r.code, r.err, tc.code)
			}
			f.mu.Lock()
			body := string(f.posted["/api/v1/workspaces/ml/computes"])
			f.mu.Unlock()
			if tc.code == 0 && (tc.want != "" && !strings.Contains(body, tc.want) || tc.want == "" && strings.Contains(body, "blob_endpoint")) {
				t.Errorf("body sent %s; want %q in it", body, tc.want)
			}
		})
	}
}
