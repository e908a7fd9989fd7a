package tracking_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ciel-mlops/ciel/internal/artifacts/local"
	"github.com/ciel-mlops/ciel/internal/dbtest"
	"github.com/ciel-mlops/ciel/internal/store"
	"github.com/ciel-mlops/ciel/internal/store/sqldb"
	"github.com/ciel-mlops/ciel/internal/tracking"
)

// testBundle is what the handler tests share: a server over a real SQLite
// store with workspace "ws".
type testBundle struct {
	srv *httptest.Server
	st  *sqldb.Store
	dir string
}

func setup(t *testing.T, token string) *testBundle {
	t.Helper()
	return setupConfig(t, t.TempDir(), func(c *tracking.Config) { c.Token = token })
}

// setupConfig is setup in home dir, with the handler's Config edited by
// edit.
func setupConfig(t *testing.T, dir string, edit func(*tracking.Config)) *testBundle {
	t.Helper()
	cfg := sqldb.Config{Path: filepath.Join(dir, "ciel.db")}
	if os.Getenv("CIEL_TEST_STORE") == "postgres" { // the team-server leg
		cfg = sqldb.Config{URL: dbtest.Postgres(t).URL}
	}
	st, err := sqldb.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.CreateWorkspace(context.Background(), store.Workspace{Name: "ws"}); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	srv := httptest.NewUnstartedServer(mux)
	arts, err := local.New(filepath.Join(dir, "mlartifacts"))
	if err != nil {
		t.Fatal(err)
	}
	tcfg := tracking.Config{Store: st, Workspaces: st, BaseURL: "http://" + srv.Listener.Addr().String(),
		Artifacts: arts, PartsDir: filepath.Join(dir, "mlartifacts.tmp", "mpu")}
	edit(&tcfg)
	tracking.NewHandler(tcfg).Register(mux)
	srv.Start()
	t.Cleanup(srv.Close)
	return &testBundle{srv: srv, st: st, dir: dir}
}

// call sends a request to the workspace's MLflow API (path relative to
// /ws/ws/api/2.0/mlflow/ unless it starts with "/") and decodes the answer.
func (b *testBundle) call(t *testing.T, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	switch v := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(v)
	default:
		raw, _ := json.Marshal(v)
		rd = bytes.NewReader(raw)
	}
	url := b.srv.URL + "/ws/ws/api/2.0/mlflow/" + path
	if strings.HasPrefix(path, "/") {
		url = b.srv.URL + path
	}
	req, _ := http.NewRequest(method, url, rd)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(raw) > 0 && json.Unmarshal(raw, &out) != nil {
		out = map[string]any{"raw": string(raw)}
	}
	return resp.StatusCode, out
}

func (b *testBundle) newRun(t *testing.T) string {
	t.Helper()
	code, out := b.call(t, "POST", "runs/create", map[string]any{"experiment_id": "0"})
	if code != 200 {
		t.Fatalf("create run: %d %v", code, out)
	}
	return out["run"].(map[string]any)["info"].(map[string]any)["run_id"].(string)
}

func TestErrorShapes(t *testing.T) {
	t.Parallel()
	b := setup(t, "")
	run := b.newRun(t)
	tests := []struct {
		name, method, path string
		body               any
		status             int
		code               string
	}{
		{"unknown run", "GET", "runs/get?run_id=" + strings.Repeat("a", 32), nil, 404, "RESOURCE_DOES_NOT_EXIST"},
		{"malformed run id", "GET", "runs/get?run_id=a/b", nil, 400, "INVALID_PARAMETER_VALUE"},
		{"non-numeric experiment", "GET", "experiments/get?experiment_id=x", nil, 400, "INVALID_PARAMETER_VALUE"},
		{"unknown experiment", "GET", "experiments/get?experiment_id=77", nil, 404, "RESOURCE_DOES_NOT_EXIST"},
		{"bad json", "POST", "runs/log-batch", "{", 400, "INVALID_PARAMETER_VALUE"},
		{"wrong type", "POST", "runs/log-metric", `{"run_id":"` + run + `","key":"m","value":{},"timestamp":1}`, 400, "INVALID_PARAMETER_VALUE"},
		{"missing value", "POST", "runs/log-metric", map[string]any{"run_id": run, "key": "m", "timestamp": 1}, 400, "INVALID_PARAMETER_VALUE"},
		{"bad metric key", "POST", "runs/log-metric", map[string]any{"run_id": run, "key": "../x", "value": 1, "timestamp": 1}, 400, "INVALID_PARAMETER_VALUE"},
		{"too many metrics", "POST", "runs/log-batch", map[string]any{"run_id": run, "metrics": make([]struct{}, 1001)}, 400, "INVALID_PARAMETER_VALUE"},
		{"bad filter", "POST", "runs/search", map[string]any{"experiment_ids": []string{"0"}, "filter": "x"}, 400, "INVALID_PARAMETER_VALUE"},
		{"bad page token", "POST", "runs/search", map[string]any{"experiment_ids": []string{"0"}, "page_token": "!!"}, 400, "INVALID_PARAMETER_VALUE"},
		{"duplicate experiment", "POST", "experiments/create", map[string]any{"name": "Default"}, 400, "RESOURCE_ALREADY_EXISTS"},
		{"unknown endpoint", "GET", "nope", nil, 404, "ENDPOINT_NOT_FOUND"},
		{"unknown workspace", "GET", "/ws/other/api/2.0/mlflow/experiments/get?experiment_id=0", nil, 404, "RESOURCE_DOES_NOT_EXIST"},
		{"no workspace", "GET", "/api/2.0/mlflow/experiments/get?experiment_id=0", nil, 404, "ENDPOINT_NOT_FOUND"},
		{"unknown logged model", "GET", "logged-models/m-1", nil, 404, "RESOURCE_DOES_NOT_EXIST"},
		{"bad model status", "PATCH", "logged-models/m-1", map[string]any{"status": "WHAT"}, 400, "INVALID_PARAMETER_VALUE"},
	}
	for _, tt := range tests {
		status, out := b.call(t, tt.method, tt.path, tt.body)
		if status != tt.status || out["error_code"] != tt.code || out["message"] == "" {
			t.Errorf("%s: %d %v, want %d %s", tt.name, status, out, tt.status, tt.code)
		}
	}
}

func TestSpecialValuesRoundTrip(t *testing.T) {
	t.Parallel()
	b := setup(t, "")
	run := b.newRun(t)
	body := `{"run_id":"` + run + `","metrics":[{"key":"nan","value":"NaN","timestamp":"5","step":"1"},` +
		`{"key":"inf","value":"-Infinity","timestamp":5},{"key":"big","value":1e300,"timestamp":5}]}`
	if status, out := b.call(t, "POST", "runs/log-batch", body); status != 200 {
		t.Fatalf("log-batch: %d %v", status, out)
	}
	_, out := b.call(t, "GET", "runs/get?run_id="+run, nil)
	got := map[string]any{}
	for _, m := range out["run"].(map[string]any)["data"].(map[string]any)["metrics"].([]any) {
		mm := m.(map[string]any)
		got[mm["key"].(string)] = mm["value"]
	}
	if got["nan"] != "NaN" || got["inf"] != "-Infinity" || got["big"] != 1e300 {
		t.Errorf("metric values: %v", got)
	}
}

func TestTokenRequired(t *testing.T) {
	t.Parallel()
	b := setup(t, "s3cret")
	status, out := b.call(t, "GET", "experiments/get?experiment_id=0", nil)
	if status != 401 || out["error_code"] != "UNAUTHENTICATED" {
		t.Errorf("no token: %d %v", status, out)
	}
	req, _ := http.NewRequest("GET", b.srv.URL+"/ws/ws/api/2.0/mlflow/experiments/get?experiment_id=0", nil)
	req.Header.Set("Authorization", "Bearer s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("with token: %d", resp.StatusCode)
	}
}

// TestStepRunAdoption checks that a top-level run created with the step-run
// tag (what MLFLOW_RUN_CONTEXT adds inside a step) is the step's run, and a
// nested one is not.
func TestStepRunAdoption(t *testing.T) {
	t.Parallel()
	b := setup(t, "")
	step := b.newRun(t)
	create := func(tags ...map[string]string) string {
		_, out := b.call(t, "POST", "runs/create", map[string]any{"experiment_id": "0", "run_name": "x", "tags": tags})
		return out["run"].(map[string]any)["info"].(map[string]any)["run_id"].(string)
	}
	ctxTag := map[string]string{"key": tracking.TagStepRun, "value": step}
	if got := create(ctxTag, map[string]string{"key": "mlflow.source.name", "value": "train.py"}); got != step {
		t.Errorf("top-level run in a step: got %s, want the step's run %s", got, step)
	}
	run, err := b.st.GetRun(context.Background(), "ws", step)
	if err != nil || run.Tag("mlflow.source.name") != "train.py" || run.Info.RunName == "x" {
		t.Errorf("step run after adoption: %+v %v", run, err)
	}
	if got := create(ctxTag, map[string]string{"key": tracking.TagParentRunID, "value": step}); got == step {
		t.Error("a nested run must be a run of its own")
	}
	if got := create(); got == step {
		t.Error("a run without the tag must be a run of its own")
	}
}

func TestArtifactProxy(t *testing.T) {
	t.Parallel()
	b := setup(t, "")
	base := b.srv.URL + "/ws/ws/api/2.0/mlflow-artifacts/artifacts/"
	put := func(path, data string) int {
		req, _ := http.NewRequest("PUT", base+path, strings.NewReader(data))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := put("0/r1/artifacts/a/b.txt", "hello"); s != 200 {
		t.Fatalf("put: %d", s)
	}
	resp, err := http.Get(base + "0/r1/artifacts/a/b.txt")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(data) != "hello" {
		t.Errorf("get: %d %q", resp.StatusCode, data)
	}
	_, list := b.call(t, "GET", "/ws/ws/api/2.0/mlflow-artifacts/artifacts?path=0/r1/artifacts", nil)
	files, _ := list["files"].([]any)
	if len(files) != 1 || files[0].(map[string]any)["path"] != "a" || files[0].(map[string]any)["is_dir"] != true {
		t.Errorf("list: %v", list)
	}
	for _, path := range []string{"..%2F..%2Fescape", "0/%2E%2E/%2E%2E/%2E%2E/x"} {
		if s := put(path, "x"); s != 400 && s != 404 {
			t.Errorf("put %s: %d, want a refusal", path, s)
		}
	}
	if s, out := b.call(t, "GET", "/ws/ws/api/2.0/mlflow-artifacts/artifacts/0/none.txt", nil); s != 404 || out["error_code"] != "RESOURCE_DOES_NOT_EXIST" {
		t.Errorf("missing artifact: %d %v", s, out)
	}
	if s, _ := b.call(t, "PUT", "/ws/other/api/2.0/mlflow-artifacts/artifacts/x.txt", "x"); s != 404 {
		t.Errorf("put into unknown workspace: %d", s)
	}
}

func TestMultipartUpload(t *testing.T) {
	t.Parallel()
	b := setup(t, "")
	mpu := "/ws/ws/api/2.0/mlflow-artifacts/mpu/"
	_, created := b.call(t, "POST", mpu+"create/0/r/artifacts/dir", map[string]any{"path": "/local/big.bin", "num_parts": 3})
	id, _ := created["upload_id"].(string)
	creds, _ := created["credentials"].([]any)
	if id == "" || len(creds) != 3 {
		t.Fatalf("create: %v", created)
	}
	parts := []string{"one-", "two-", "three"}
	for i := len(creds) - 1; i >= 0; i-- { // any order
		url := creds[i].(map[string]any)["url"].(string)
		req, _ := http.NewRequest("PUT", url, strings.NewReader(parts[i]))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("ETag") == "" {
			t.Fatalf("part %d: %d", i+1, resp.StatusCode)
		}
	}
	if s, out := b.call(t, "POST", mpu+"complete/0/r/artifacts/dir", map[string]any{"path": "/local/big.bin", "upload_id": id,
		"parts": []map[string]any{{"part_number": 1}, {"part_number": 2}, {"part_number": 3}}}); s != 200 {
		t.Fatalf("complete: %d %v", s, out)
	}
	resp, err := http.Get(b.srv.URL + "/ws/ws/api/2.0/mlflow-artifacts/artifacts/0/r/artifacts/dir/big.bin")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(data) != "one-two-three" {
		t.Errorf("joined file: %q", data)
	}
	if s, _ := b.call(t, "POST", mpu+"abort/0/r/artifacts/dir", map[string]any{"upload_id": id}); s != 404 {
		t.Errorf("abort of a completed upload: %d, want 404", s)
	}
}
