package tracking_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// v3 is the 3.0 API of workspace ws, where the client starts, gets and
// searches traces.
const v3 = "/ws/ws/api/3.0/mlflow/"

// startTrace records a trace in experiment 0 as the mlflow client does and
// returns the trace_info answered.
func (b *testBundle) startTrace(t *testing.T, id string) map[string]any {
	t.Helper()
	code, out := b.call(t, "POST", v3+"traces", map[string]any{"trace": map[string]any{"trace_info": map[string]any{
		"trace_id":           id,
		"trace_location":     map[string]any{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": map[string]any{"experiment_id": "0"}},
		"request_time":       "2025-04-15T08:49:18.699Z",
		"execution_duration": "0.073s",
		"state":              "OK",
		"trace_metadata":     map[string]string{"mlflow.traceInputs": `{"x": 3}`},
		"tags":               map[string]string{"mlflow.traceName": "f"},
		"request_preview":    `{"x": 3}`,
	}}})
	if code != 200 {
		t.Fatalf("start trace: %d %v", code, out)
	}
	return out["trace"].(map[string]any)["trace_info"].(map[string]any)
}

func TestTraceRoundTrip(t *testing.T) {
	t.Parallel()
	b := setup(t, "")
	id := "tr-" + strings.Repeat("ab", 16)
	info := b.startTrace(t, id)
	tags := info["tags"].(map[string]any)
	if info["request_time"] != "2025-04-15T08:49:18.699Z" || info["execution_duration"] != "0.073s" ||
		info["state"] != "OK" || tags["mlflow.artifactLocation"] != "mlflow-artifacts:/0/traces/"+id+"/artifacts" {
		t.Errorf("started trace: %v", info)
	}
	code, out := b.call(t, "GET", v3+"traces/"+id, nil)
	got := out["trace"].(map[string]any)["trace_info"].(map[string]any)
	if code != 200 || got["trace_metadata"].(map[string]any)["mlflow.traceInputs"] != `{"x": 3}` ||
		got["trace_location"].(map[string]any)["mlflow_experiment"].(map[string]any)["experiment_id"] != "0" {
		t.Errorf("get trace info: %d %v", code, out)
	}
	code, out = b.call(t, "POST", v3+"traces/search", map[string]any{
		"locations": []any{map[string]any{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": map[string]any{"experiment_id": "0"}}},
		"filter":    "name = 'f' AND trace.status = 'OK'", "max_results": 10})
	if traces, _ := out["traces"].([]any); code != 200 || len(traces) != 1 {
		t.Errorf("search traces: %d %v", code, out)
	}
	code, out = b.call(t, "POST", v3+"traces/batchGetInfos", map[string]any{"trace_ids": []string{id, "tr-none"}})
	if infos, _ := out["trace_infos"].([]any); code != 200 || len(infos) != 1 {
		t.Errorf("batch get trace infos: %d %v", code, out)
	}

	// The spans, uploaded through the artifact proxy, go with the trace.
	code, out = b.call(t, "PUT", "/ws/ws/api/2.0/mlflow-artifacts/artifacts/0/traces/"+id+"/artifacts/traces.json", `{"spans": []}`)
	if code != 200 {
		t.Fatalf("upload spans: %d %v", code, out)
	}
	dir := filepath.Join(b.dir, "mlartifacts", "ws", "0", "traces", id)
	code, out = b.call(t, "POST", "traces/delete-traces", map[string]any{"experiment_id": "0", "request_ids": []string{id}})
	if code != 200 || out["traces_deleted"] != float64(1) {
		t.Errorf("delete traces: %d %v", code, out)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("spans of a deleted trace are still there: %v", err)
	}
}

func TestTraceErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, "")
	id := "tr-" + strings.Repeat("cd", 16)
	b.startTrace(t, id)
	loc := map[string]any{"mlflow_experiment": map[string]any{"experiment_id": "0"}}
	info := func(kv ...any) map[string]any {
		ti := map[string]any{"trace_id": "tr-1", "trace_location": loc, "state": "OK"}
		for i := 0; i < len(kv); i += 2 {
			ti[kv[i].(string)] = kv[i+1]
		}
		return map[string]any{"trace": map[string]any{"trace_info": ti}}
	}
	tests := []struct {
		name, method, path string
		body               any
		status             int
		code               string
	}{
		{"unknown trace", "GET", v3 + "traces/tr-none", nil, 404, "RESOURCE_DOES_NOT_EXIST"},
		{"get trace with spans", "GET", v3 + "traces/get?trace_id=" + id, nil, 404, "RESOURCE_DOES_NOT_EXIST"},
		{"other 3.0 call", "POST", v3 + "traces/" + id + "/assessments", map[string]any{}, 404, "ENDPOINT_NOT_FOUND"},
		{"v2 start trace", "POST", "traces", map[string]any{"experiment_id": "0"}, 404, "ENDPOINT_NOT_FOUND"},
		{"no trace", "POST", v3 + "traces", map[string]any{}, 400, "INVALID_PARAMETER_VALUE"},
		{"bad trace id", "POST", v3 + "traces", info("trace_id", "../x"), 400, "INVALID_PARAMETER_VALUE"},
		{"bad state", "POST", v3 + "traces", info("state", "DONE"), 400, "INVALID_PARAMETER_VALUE"},
		{"bad time", "POST", v3 + "traces", info("request_time", "yesterday"), 400, "INVALID_PARAMETER_VALUE"},
		{"bad duration", "POST", v3 + "traces", info("execution_duration", "5m"), 400, "INVALID_PARAMETER_VALUE"},
		{"table location", "POST", v3 + "traces", info("trace_location", map[string]any{"type": "INFERENCE_TABLE"}), 400, "INVALID_PARAMETER_VALUE"},
		{"unknown experiment", "POST", v3 + "traces", info("trace_location", map[string]any{"mlflow_experiment": map[string]any{"experiment_id": "9"}}), 404, "RESOURCE_DOES_NOT_EXIST"},
		{"unknown workspace", "GET", "/ws/other/api/3.0/mlflow/traces/" + id, nil, 404, "RESOURCE_DOES_NOT_EXIST"},
		{"no workspace", "GET", "/api/3.0/mlflow/traces/" + id, nil, 404, "ENDPOINT_NOT_FOUND"},
		{"span filter", "POST", v3 + "traces/search", map[string]any{"locations": []any{loc}, "filter": "span.name = 'x'"}, 400, "INVALID_PARAMETER_VALUE"},
		{"bad order", "POST", v3 + "traces/search", map[string]any{"locations": []any{loc}, "order_by": []string{"metrics.m"}}, 400, "INVALID_PARAMETER_VALUE"},
		{"no locations", "POST", v3 + "traces/search", map[string]any{}, 400, "INVALID_PARAMETER_VALUE"},
		{"tag unknown trace", "PATCH", "traces/tr-none/tags", map[string]any{"key": "k", "value": "v"}, 404, "RESOURCE_DOES_NOT_EXIST"},
		{"immutable tag", "PATCH", "traces/" + id + "/tags", map[string]any{"key": "mlflow.trace.spansLocation", "value": "TRACKING_STORE"}, 400, "INVALID_PARAMETER_VALUE"},
		{"missing tag", "DELETE", "traces/" + id + "/tags", map[string]any{"key": "nope"}, 404, "RESOURCE_DOES_NOT_EXIST"},
		{"delete neither", "POST", "traces/delete-traces", map[string]any{"experiment_id": "0"}, 400, "INVALID_PARAMETER_VALUE"},
		{"delete both", "POST", "traces/delete-traces", map[string]any{"experiment_id": "0", "max_timestamp_millis": 1, "request_ids": []string{id}}, 400, "INVALID_PARAMETER_VALUE"},
		{"link unknown run", "POST", "traces/link-to-run", map[string]any{"run_id": strings.Repeat("a", 32), "trace_ids": []string{id}}, 404, "RESOURCE_DOES_NOT_EXIST"},
	}
	for _, tt := range tests {
		status, out := b.call(t, tt.method, tt.path, tt.body)
		if status != tt.status || out["error_code"] != tt.code || out["message"] == "" {
			t.Errorf("%s: %d %v, want %d %s", tt.name, status, out, tt.status, tt.code)
		}
	}
	unknownExp := info("trace_location", map[string]any{"mlflow_experiment": map[string]any{"experiment_id": "9"}})
	if _, out := b.call(t, "POST", v3+"traces", unknownExp); out["message"] != "No Experiment with id=9 exists" {
		t.Errorf("start trace in unknown experiment: %v", out)
	}
	// The client takes this wording to mean "no GET /traces/get here".
	if _, out := b.call(t, "GET", v3+"traces/get?trace_id="+id, nil); out["message"] != "Trace with ID 'get' not found." {
		t.Errorf("GET traces/get: %v", out)
	}
}
