package cli

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ciel-mlops/ciel/client"
)

// TestJobDownloadRefusesOutputNamesThatEscape checks that `job download
// --all` downloads nothing when the server names an output that would land
// outside <download-path>/named-outputs, as a hostile or broken server
// could.
func TestJobDownloadRefusesOutputNamesThatEscape(t *testing.T) {
	t.Parallel()
	for _, evil := range []string{"../../escaped", "/tmp/escaped-abs", "..", "."} {
		t.Run(evil, func(t *testing.T) {
			t.Parallel()
			tb, f := setupServer(t)
			j := studioJob("Completed")
			j.Outputs = map[string]client.JobOutput{"model": {Type: "uri_folder"}, evil: {Type: "uri_folder"}}
			f.setJob(j, "")
			f.outputs["model"] = makeTar(t, tarEntry{name: "model.pkl", body: "w"})
			f.outputs[evil] = makeTar(t, tarEntry{name: "passwd", body: "pwned"})
			root := t.TempDir()
			dir := filepath.Join(root, "dl")

			r := tb.run(t, "", "job", "download", "-w", "ml", "--name", j.Name, "--all", "--download-path", dir)
			if r.code != ExitFailure || !strings.Contains(r.err.Error(), "outside") || !strings.Contains(r.err.Error(), evil) {
				t.Fatalf("code %d, err %v: want a failure naming %q", r.code, r.err, evil)
			}
			if _, err := os.Stat(filepath.Join(root, "escaped", "passwd")); err == nil {
				t.Error("a file was written outside the download directory")
			}
			if _, err := os.Stat(dir); err == nil {
				t.Error("something was downloaded before the plan was refused")
			}
			if f.sawRequest("GET /api/v1/workspaces/ml/jobs/" + j.Name + "/outputs/model") {
				t.Error("outputs were fetched before the plan was refused")
			}
		})
	}
}

func TestJobDownloadRefusesOutputNameFlagThatEscapes(t *testing.T) {
	t.Parallel()
	tb, f := setupServer(t)
	j := studioJob("Completed")
	f.setJob(j, "")
	dir := filepath.Join(t.TempDir(), "dl")
	r := tb.run(t, "", "job", "download", "-w", "ml", "--name", j.Name, "--output-name", "../../x", "--download-path", dir)
	if r.code != ExitFailure || !strings.Contains(r.err.Error(), "outside") {
		t.Fatalf("code %d, err %v", r.code, r.err)
	}
}

// TestModelDownloadRefusesNameThatEscapes checks that `model download`
// refuses a version whose name, as the server sends it, would put the files
// outside the download path.
func TestModelDownloadRefusesNameThatEscapes(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	var downloads int
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/health", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("GET /api/v1/workspaces/{ws}/models/{name}/versions/{version}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, client.ModelVersion{Name: "../../escaped", Version: "1"})
	})
	mux.HandleFunc("GET /api/v1/workspaces/{ws}/models/{name}/versions/{version}/download", func(w http.ResponseWriter, r *http.Request) {
		downloads++
		w.Write(makeTar(t, tarEntry{name: "weights.bin", body: "w"}).Bytes())
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	tb.env["CIEL_URL"] = srv.URL
	root := t.TempDir()
	dir := filepath.Join(root, "a", "dl")

	r := tb.run(t, "", "model", "download", "-w", "ws", "--name", "m", "--version", "1", "--download-path", dir)
	if r.code != ExitFailure || !strings.Contains(r.err.Error(), "outside") {
		t.Fatalf("code %d, err %v", r.code, r.err)
	}
	if _, err := os.Stat(filepath.Join(root, "escaped", "weights.bin")); err == nil || downloads > 0 {
		t.Errorf("the model was downloaded (%d requests) or written outside the download directory", downloads)
	}
}

// FuzzJoinLocal checks that whatever name a server sends, a download goes
// strictly inside its folder or is refused.
func FuzzJoinLocal(f *testing.F) {
	for _, s := range []string{"model", "step.output", "a/b", "..", "../x", "/etc", ".", "", "a/../..", "a\x00", `..\x`} {
		f.Add(s)
	}
	const dir = "/home/u/out/named-outputs"
	f.Fuzz(func(t *testing.T, name string) {
		p, err := joinLocal(dir, name, "output")
		if err != nil {
			return
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." || !filepath.IsLocal(rel) || strings.ContainsRune(p, 0) {
			t.Fatalf("name %q joins to %s, not inside %s", name, p, dir)
		}
	})
}

// FuzzJobDownloadPlan checks that every folder a download plan writes to
// is inside the download path, whatever output names the server sends.
func FuzzJobDownloadPlan(f *testing.F) {
	f.Add("model", "../../../../etc")
	f.Add("a.b", "/etc")
	f.Add("x", "..")
	f.Fuzz(func(t *testing.T, a, b string) {
		o := &jobDownloadOpts{All: true, DownloadPath: "out"}
		plan, err := o.plan(client.Job{Name: "j", Outputs: map[string]client.JobOutput{a: {}, b: {}}})
		if err != nil {
			return
		}
		for _, d := range plan {
			rel, err := filepath.Rel("out", d.dir)
			if err != nil || rel == "." || !filepath.IsLocal(rel) {
				t.Fatalf("output %q goes to %s, outside out/", d.output, d.dir)
			}
		}
	})
}
