package registry_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ciel-mlops/ciel/internal/registry"
)

// mlflowServer serves the registry's MLflow API over b's service.
func mlflowServer(t *testing.T, b *bundle, token string) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	registry.NewServer(registry.ServerConfig{Service: b.svc, Token: token}).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// call makes one MLflow call: GETs send params as a query, the rest as a
// JSON body. It returns the status and the decoded answer.
func call(t *testing.T, srv *httptest.Server, method, path string, params map[string]any) (int, map[string]any) {
	t.Helper()
	u := srv.URL + "/ws/" + ws + "/api/2.0/mlflow/" + path
	var body io.Reader
	if method == http.MethodGet {
		q := url.Values{}
		for k, v := range params {
			if list, ok := v.([]string); ok {
				q[k] = list
			} else {
				q.Set(k, toString(v))
			}
		}
		u += "?" + q.Encode()
	} else {
		raw, _ := json.Marshal(params)
		body = strings.NewReader(string(raw))
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s %s: answer is not JSON: %v", method, path, err)
	}
	return resp.StatusCode, out
}

func toString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	raw, _ := json.Marshal(v)
	return string(raw)
}

func TestMLflowErrors(t *testing.T) {
	t.Parallel()
	b := setup(t)
	srv := mlflowServer(t, b, "")
	src := "blob:" + b.upload(t, map[string]string{"MLmodel": "x"})
	if st, out := call(t, srv, "POST", "registered-models/create", map[string]any{"name": "m"}); st != 200 {
		t.Fatalf("create: %d %v", st, out)
	}
	if st, out := call(t, srv, "POST", "model-versions/create", map[string]any{"name": "m", "source": src}); st != 200 {
		t.Fatalf("create version: %d %v", st, out)
	}
	call(t, srv, "POST", "registered-models/create", map[string]any{"name": "taken"})
	tests := []struct {
		name, method, path string
		params             map[string]any
		status             int
		code               string
	}{
		{"model exists", "POST", "registered-models/create", map[string]any{"name": "m"}, 400, "RESOURCE_ALREADY_EXISTS"},
		{"no name", "POST", "registered-models/create", map[string]any{}, 400, "INVALID_PARAMETER_VALUE"},
		{"bad name", "POST", "registered-models/create", map[string]any{"name": "a/b"}, 400, "INVALID_PARAMETER_VALUE"},
		{"unknown model", "GET", "registered-models/get", map[string]any{"name": "nope"}, 404, "RESOURCE_DOES_NOT_EXIST"},
		{"unknown version", "GET", "model-versions/get", map[string]any{"name": "m", "version": "9"}, 404, "RESOURCE_DOES_NOT_EXIST"},
		{"version not a number", "GET", "model-versions/get", map[string]any{"name": "m", "version": "one"}, 400, "INVALID_PARAMETER_VALUE"},
		{"version of unknown model", "POST", "model-versions/create", map[string]any{"name": "nope", "source": src}, 404, "RESOURCE_DOES_NOT_EXIST"},
		{"unknown source", "POST", "model-versions/create", map[string]any{"name": "m", "source": "s3://b/k"}, 400, "INVALID_PARAMETER_VALUE"},
		{"missing run", "POST", "model-versions/create", map[string]any{"name": "m", "source": "runs:/r9/model"}, 404, "RESOURCE_DOES_NOT_EXIST"},
		{"unknown alias", "GET", "registered-models/alias", map[string]any{"name": "m", "alias": "x"}, 404, "RESOURCE_DOES_NOT_EXIST"},
		{"reserved alias", "POST", "registered-models/alias", map[string]any{"name": "m", "alias": "latest", "version": "1"}, 400, "INVALID_PARAMETER_VALUE"},
		{"alias to missing version", "POST", "registered-models/alias", map[string]any{"name": "m", "alias": "a", "version": "5"}, 404, "RESOURCE_DOES_NOT_EXIST"},
		{"bad filter", "GET", "model-versions/search", map[string]any{"filter": "name = m"}, 400, "INVALID_PARAMETER_VALUE"},
		{"bad order", "GET", "registered-models/search", map[string]any{"order_by": []string{"stage"}}, 400, "INVALID_PARAMETER_VALUE"},
		{"too many results", "GET", "registered-models/search", map[string]any{"max_results": "5000"}, 400, "INVALID_PARAMETER_VALUE"},
		{"bad page token", "GET", "model-versions/search", map[string]any{"page_token": "@@"}, 400, "INVALID_PARAMETER_VALUE"},
		{"bad stage", "POST", "model-versions/transition-stage", map[string]any{"name": "m", "version": "1", "stage": "Live"}, 400, "INVALID_PARAMETER_VALUE"},
		{"delete unknown", "DELETE", "registered-models/delete", map[string]any{"name": "nope"}, 404, "RESOURCE_DOES_NOT_EXIST"},
		{"rename onto taken", "POST", "registered-models/rename", map[string]any{"name": "m", "new_name": "taken"}, 400, "RESOURCE_ALREADY_EXISTS"},
	}
	for _, tt := range tests {
		st, out := call(t, srv, tt.method, tt.path, tt.params)
		if st != tt.status || out["error_code"] != tt.code || out["message"] == "" {
			t.Errorf("%s: %d %v, want %d %s", tt.name, st, out, tt.status, tt.code)
		}
	}
}

func TestMLflowRoundTrip(t *testing.T) {
	t.Parallel()
	b := setup(t)
	srv := mlflowServer(t, b, "")
	src := "blob:" + b.upload(t, map[string]string{"MLmodel": "x"})
	call(t, srv, "POST", "registered-models/create", map[string]any{"name": "m", "description": "d",
		"tags": []map[string]string{{"key": "team", "value": "ml"}}})
	for range 3 {
		if st, out := call(t, srv, "POST", "model-versions/create", map[string]any{"name": "m", "source": src, "run_id": "r1"}); st != 200 {
			t.Fatalf("create version: %d %v", st, out)
		}
	}
	call(t, srv, "POST", "registered-models/alias", map[string]any{"name": "m", "alias": "champion", "version": "2"})
	call(t, srv, "POST", "model-versions/set-tag", map[string]any{"name": "m", "version": "2", "key": "k", "value": "v"})
	call(t, srv, "PATCH", "model-versions/update", map[string]any{"name": "m", "version": "2", "description": "best"})

	_, out := call(t, srv, "GET", "registered-models/alias", map[string]any{"name": "m", "alias": "champion"})
	mv := out["model_version"].(map[string]any)
	if mv["version"] != "2" || mv["description"] != "best" || mv["status"] != "READY" || mv["run_id"] != "r1" ||
		mv["source"] != "mlflow-artifacts:/models/m/2" || mv["aliases"].([]any)[0] != "champion" {
		t.Errorf("version by alias = %v", mv)
	}
	_, out = call(t, srv, "GET", "model-versions/get-download-uri", map[string]any{"name": "m", "version": "2"})
	if out["artifact_uri"] != "mlflow-artifacts:/models/m/2" {
		t.Errorf("download uri = %v", out)
	}
	_, out = call(t, srv, "GET", "registered-models/get", map[string]any{"name": "m"})
	rm := out["registered_model"].(map[string]any)
	if rm["description"] != "d" || len(rm["aliases"].([]any)) != 1 || len(rm["latest_versions"].([]any)) != 1 {
		t.Errorf("registered model = %v", rm)
	}

	// Paging: one result a page, three pages, then none.
	var versions []string
	token := ""
	for range 4 {
		_, out = call(t, srv, "GET", "model-versions/search", map[string]any{
			"filter": "name='m' AND run_id = 'r1'", "max_results": "1", "page_token": token, "order_by": []string{"version_number ASC"}})
		for _, v := range out["model_versions"].([]any) {
			versions = append(versions, v.(map[string]any)["version"].(string))
		}
		if token, _ = out["next_page_token"].(string); token == "" {
			break
		}
	}
	if strings.Join(versions, ",") != "1,2,3" {
		t.Errorf("paged versions = %v", versions)
	}

	call(t, srv, "DELETE", "model-versions/delete", map[string]any{"name": "m", "version": "2"})
	if st, _ := call(t, srv, "GET", "registered-models/alias", map[string]any{"name": "m", "alias": "champion"}); st != 404 {
		t.Errorf("alias of a deleted version answered %d", st)
	}
	call(t, srv, "POST", "registered-models/rename", map[string]any{"name": "m", "new_name": "m2"})
	_, out = call(t, srv, "GET", "registered-models/search", map[string]any{"filter": "name LIKE 'm%'"})
	if list := out["registered_models"].([]any); len(list) != 1 || list[0].(map[string]any)["name"] != "m2" {
		t.Errorf("search after rename = %v", out)
	}
	if st, _ := call(t, srv, "DELETE", "registered-models/delete", map[string]any{"name": "m2"}); st != 200 {
		t.Errorf("delete answered %d", st)
	}
}

// TestMLflowSearchLeavesOutPrompts checks the filter the client adds to
// every search (prompts are registered models with a tag) keeps models
// without the tag, and asking for prompts finds only them.
func TestMLflowSearchLeavesOutPrompts(t *testing.T) {
	t.Parallel()
	b := setup(t)
	srv := mlflowServer(t, b, "")
	call(t, srv, "POST", "registered-models/create", map[string]any{"name": "model"})
	call(t, srv, "POST", "registered-models/create", map[string]any{"name": "prompt",
		"tags": []map[string]string{{"key": "mlflow.prompt.is_prompt", "value": "true"}}})
	tests := []struct{ filter, want string }{
		{"tags.`mlflow.prompt.is_prompt` != 'true'", "model"},
		{"name LIKE '%' AND tag.`mlflow.prompt.is_prompt` != 'true'", "model"},
		{"", "model"},
		{"tags.`mlflow.prompt.is_prompt` = 'true'", "prompt"},
	}
	for _, tt := range tests {
		_, out := call(t, srv, "GET", "registered-models/search", map[string]any{"filter": tt.filter})
		var names []string
		for _, m := range out["registered_models"].([]any) {
			names = append(names, m.(map[string]any)["name"].(string))
		}
		if strings.Join(names, ",") != tt.want {
			t.Errorf("search %q = %v, want %s", tt.filter, names, tt.want)
		}
	}
}

func TestMLflowToken(t *testing.T) {
	t.Parallel()
	b := setup(t)
	srv := mlflowServer(t, b, "secret")
	st, out := call(t, srv, "GET", "registered-models/search", nil)
	if st != http.StatusUnauthorized || out["error_code"] != "UNAUTHENTICATED" {
		t.Errorf("without token: %d %v", st, out)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/ws/"+ws+"/api/2.0/mlflow/registered-models/search", nil)
	req.Header.Set("Authorization", "Bearer secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("with token: %d", resp.StatusCode)
	}
}
