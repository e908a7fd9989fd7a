package cli

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ciel-mlops/ciel/client"
)

// endpointServer is a stand-in for the online endpoint API and a scoring
// URI, recording what the CLI sends.
type endpointServer struct {
	*httptest.Server
	mu     sync.Mutex
	bodies map[string]string // "METHOD path?query" -> body
	states []string          // what successive GETs of the deployment answer
}

func newEndpointServer(t *testing.T, states ...string) *endpointServer {
	t.Helper()
	s := &endpointServer{bodies: map[string]string{}, states: states}
	mux := http.NewServeMux()
	const ep = "/api/v1/workspaces/ws/online-endpoints/model-service"
	mux.HandleFunc("POST /api/v1/workspaces/ws/uploads", func(w http.ResponseWriter, r *http.Request) {
		s.record(r)
		writeJSON(w, client.Upload{Digest: "sha256:" + strings.Repeat("ab", 32), Files: 1})
	})
	mux.HandleFunc("PATCH "+ep, func(w http.ResponseWriter, r *http.Request) {
		s.record(r)
		writeJSON(w, client.OnlineEndpoint{Name: "model-service", Traffic: map[string]int{"blue": 90, "green": 10}})
	})
	mux.HandleFunc("GET "+ep, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, client.OnlineEndpoint{Name: "model-service", ScoringURI: s.URL + "/endpoints/model-service/score"})
	})
	mux.HandleFunc("POST "+ep+"/credentials", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, client.EndpointCredentials{PrimaryKey: "k1", SecondaryKey: "k2"})
	})
	mux.HandleFunc("POST "+ep+"/deployments", func(w http.ResponseWriter, r *http.Request) {
		s.record(r)
		writeJSON(w, client.OnlineDeployment{Name: "blue", EndpointName: "model-service", ProvisioningState: "Creating", InstanceCount: 2})
	})
	mux.HandleFunc("GET "+ep+"/deployments/blue", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		state := s.states[0]
		if len(s.states) > 1 {
			s.states = s.states[1:]
		}
		s.mu.Unlock()
		d := client.OnlineDeployment{Name: "blue", EndpointName: "model-service", ProvisioningState: state, InstanceCount: 2}
		if state == "Failed" {
			d.Error = "init failed: ValueError: no model"
		}
		writeJSON(w, d)
	})
	mux.HandleFunc("POST /endpoints/model-service/score", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer k1" {
			writeError(w, http.StatusUnauthorized, "no key")
			return
		}
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("azureml-model-deployment", r.Header.Get("azureml-model-deployment"))
		io.WriteString(w, `{"echo": `+string(body)+`, "deployment": "`+r.Header.Get("azureml-model-deployment")+`"}`)
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func (s *endpointServer) record(r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	key := r.Method + " " + r.URL.Path
	if r.URL.RawQuery != "" {
		key += "?" + r.URL.RawQuery
	}
	s.bodies[key] = string(b)
}

func (s *endpointServer) body(key string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bodies[key]
}

func setupEndpointServer(t *testing.T, states ...string) (*testBundle, *endpointServer) {
	t.Helper()
	tb := setup(t)
	s := newEndpointServer(t, states...)
	tb.env["CIEL_URL"] = s.URL
	return tb, s
}

func TestEndpointUpdateTraffic(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"quoted", []string{"--traffic", "blue=90 green=10"}, `{"traffic":{"blue":90,"green":10},"mirror_traffic":null}`},
		{"az style words", []string{"--traffic", "blue=90", "green=10"}, `{"traffic":{"blue":90,"green":10},"mirror_traffic":null}`},
		{"mirror", []string{"--mirror-traffic", "green=10"}, `{"traffic":null,"mirror_traffic":{"green":10}}`},
		{"clear mirror", []string{"--mirror-traffic", ""}, `{"traffic":null,"mirror_traffic":{}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tb, s := setupEndpointServer(t, "Succeeded")
			args := append([]string{"online-endpoint", "update", "-w", "ws", "--name", "model-service"}, tt.args...)
			if r := tb.run(t, "", args...); r.code != 0 {
				t.Fatalf("exit %d: %v", r.code, r.err)
			}
			if got := s.body("PATCH /api/v1/workspaces/ws/online-endpoints/model-service"); got != tt.want {
				t.Fatalf("sent %s, want %s", got, tt.want)
			}
		})
	}
}

func writeDeploymentFiles(t *testing.T, dir string) string {
	t.Helper()
	for name, content := range map[string]string{
		"model/model.pkl": "pickle",
		"src/score.py":    "def init(): pass\ndef run(d): return d\n",
		"blue.yml": "name: blue\nendpoint_name: model-service\nmodel: {path: ./model}\n" +
			"code_configuration: {code: ./src, scoring_script: score.py}\ninstance_count: 2\n",
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "blue.yml")
}

func TestDeploymentCreateUploadsAndFollows(t *testing.T) {
	t.Parallel()
	tb, s := setupEndpointServer(t, "Creating", "Creating", "Succeeded")
	file := writeDeploymentFiles(t, t.TempDir())
	r := tb.run(t, "", "online-deployment", "create", "-w", "ws", "--file", file, "--all-traffic", "--set", "instance_count=3")
	if r.code != 0 {
		t.Fatalf("exit %d: %v\n%s", r.code, r.err, r.stderr)
	}
	var sent struct {
		InstanceCount int `json:"instance_count"`
		Model         struct {
			Path   string `json:"path"`
			Folder string `json:"folder"`
		} `json:"model"`
		Code struct {
			Code string `json:"code"`
		} `json:"code_configuration"`
	}
	if err := json.Unmarshal([]byte(s.body("POST /api/v1/workspaces/ws/online-endpoints/model-service/deployments?all_traffic=true")), &sent); err != nil {
		t.Fatalf("no deployment with all_traffic sent: %v", err)
	}
	if !strings.HasPrefix(sent.Model.Path, "blob:sha256:") || sent.Model.Folder != "model" ||
		!strings.HasPrefix(sent.Code.Code, "blob:sha256:") || sent.InstanceCount != 3 {
		t.Errorf("sent %+v: local paths not uploaded or --set not applied", sent)
	}
	if !strings.Contains(r.stdout, `"provisioning_state": "Succeeded"`) || !strings.Contains(r.stderr, "Succeeded in") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
}

func TestDeploymentCreateFailureSaysWhere(t *testing.T) {
	t.Parallel()
	tb, _ := setupEndpointServer(t, "Failed")
	file := writeDeploymentFiles(t, t.TempDir())
	r := tb.run(t, "", "online-deployment", "create", "-w", "ws", "--file", file)
	if r.code != ExitFailure || !strings.Contains(r.err.Error(), "no model") ||
		!strings.Contains(r.err.Error(), "ciel online-deployment get-logs --name blue --endpoint-name model-service") {
		t.Fatalf("exit %d: %v", r.code, r.err)
	}
}

func TestEndpointInvoke(t *testing.T) {
	t.Parallel()
	tb, _ := setupEndpointServer(t, "Succeeded")
	req := filepath.Join(t.TempDir(), "sample.json")
	if err := os.WriteFile(req, []byte(`{"data": [[1, 2]]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	r := tb.run(t, "", "online-endpoint", "invoke", "-w", "ws", "--name", "model-service", "--request-file", req, "--deployment-name", "green")
	if r.code != 0 || strings.TrimSpace(r.stdout) != `{"echo": {"data": [[1, 2]]}, "deployment": "green"}` {
		t.Fatalf("exit %d %v: %s", r.code, r.err, r.stdout)
	}
}

func TestEndpointCommandValidation(t *testing.T) {
	t.Parallel()
	tests := [][]string{
		{"online-endpoint", "create", "-w", "ws"},
		{"online-endpoint", "create", "-w", "ws", "--name", "model-service", "--auth-mode", "aad_token"},
		{"online-endpoint", "update", "-w", "ws", "--name", "model-service"},
		{"online-endpoint", "update", "-w", "ws", "--name", "model-service", "--traffic", "blue"},
		{"online-endpoint", "invoke", "-w", "ws", "--name", "model-service"},
		{"online-endpoint", "regenerate-keys", "-w", "ws", "--name", "model-service", "--key-type", "tertiary"},
		{"online-deployment", "create", "-w", "ws"},
		{"online-deployment", "show", "-w", "ws", "--name", "blue"},
		{"online-deployment", "get-logs", "-w", "ws", "--name", "blue", "--endpoint-name", "e", "--lines", "-1"},
		{"online-deployment", "update", "-w", "ws", "--file", "missing.yml"},
	}
	for _, args := range tests {
		tb, _ := setupEndpointServer(t, "Succeeded")
		if r := tb.run(t, "", args...); r.code != ExitUsage {
			t.Errorf("ciel %s: exit %d (%v), want %d", strings.Join(args, " "), r.code, r.err, ExitUsage)
		}
	}
}
