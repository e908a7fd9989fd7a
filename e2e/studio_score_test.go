package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// The studio's Test panel scores through the API: POST
// .../online-endpoints/{name}/score adds the endpoint's key, as `ciel
// online-endpoint invoke` does, and relays the scoring answer, errors
// included, as JSON or plain text and never as a page.
func TestStudioScoreThroughAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.write("ep.yml", "name: echo-svc\nauth_mode: key\n")
	e.write("model.pkl", "not really a model")
	e.write("src/score.py", "import json\ndef init():\n    pass\ndef run(raw):\n    return {\"from\": \"blue\", \"got\": json.loads(raw)}\n")
	e.write("blue.yml", "name: blue\nendpoint_name: echo-svc\nmodel: ./model.pkl\ncode_configuration:\n  code: ./src\n  scoring_script: score.py\n")
	e.ok("online-endpoint", "create", "--file", "ep.yml")
	e.ok("online-deployment", "create", "--file", "blue.yml", "--all-traffic")

	base, _ := e.server()
	tests := []struct {
		name, path, body string
		status           int
		want, dep        string
	}{
		{"by traffic", "/echo-svc/score", `{"data": [1]}`, 200, `{"from": "blue", "got": {"data": [1]}}`, "blue"},
		{"named deployment", "/echo-svc/score?deployment=blue", `{"x": 2}`, 200, `"got": {"x": 2}`, "blue"},
		{"no such deployment", "/echo-svc/score?deployment=green", `{}`, 404, "DeploymentNotFound", ""},
		{"no such endpoint", "/nope/score", `{}`, 404, "online endpoint nope not found", ""},
		{"too large", "/echo-svc/score", `"` + strings.Repeat("a", 4<<20) + `"`, 413, "at most 4194304 bytes", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", base+"/api/v1/workspaces/ws/online-endpoints"+tt.path, strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || !strings.Contains(string(b), tt.want) {
				t.Fatalf("%d %s, want %d with %q", resp.StatusCode, b, tt.status, tt.want)
			}
			if got := resp.Header.Get("azureml-model-deployment"); got != tt.dep {
				t.Errorf("azureml-model-deployment = %q, want %q", got, tt.dep)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") && !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("Content-Type = %q, want JSON or plain text", ct)
			}
		})
	}
}
