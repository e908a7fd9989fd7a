package tracking_test

import (
	"fmt"
	"strings"
	"testing"
)

func TestIntegersOutOfRangeAreRefused(t *testing.T) {
	t.Parallel()
	b := setup(t, "")
	run := b.newRun(t)
	bodies := []string{
		`{"run_id":"%s","key":"m","value":1,"timestamp":1e23}`,
		`{"run_id":"%s","key":"m","value":1,"timestamp":"1e23"}`,
		`{"run_id":"%s","key":"m","value":1,"timestamp":9223372036854775808}`,
		`{"run_id":"%s","key":"m","value":1,"timestamp":-9.3e18}`,
		`{"run_id":"%s","key":"m","value":1,"timestamp":1,"step":1e19}`,
		`{"run_id":"%s","key":"m","value":1,"timestamp":1.5}`,
	}
	for _, body := range bodies {
		s, out := b.call(t, "POST", "runs/log-metric", fmt.Sprintf(body, run))
		if s != 400 || out["error_code"] != "INVALID_PARAMETER_VALUE" {
			t.Errorf("%s: %d %v, want 400 INVALID_PARAMETER_VALUE", body, s, out)
		}
	}
	s, out := b.call(t, "POST", "runs/log-batch", fmt.Sprintf(`{"run_id":"%s","metrics":[{"key":"m","value":1,"timestamp":1e23,"step":0}]}`, run))
	if s != 400 || out["error_code"] != "INVALID_PARAMETER_VALUE" || !strings.Contains(fmt.Sprint(out["message"]), "timestamp") {
		t.Errorf("log-batch: %d %v, want 400 naming timestamp", s, out)
	}
	_, got := b.call(t, "GET", "runs/get?run_id="+run, nil)
	if m := got["run"].(map[string]any)["data"].(map[string]any)["metrics"]; m != nil {
		t.Errorf("refused metrics were stored: %v", m)
	}
	// The ends of the range are integers like any other.
	for _, ts := range []string{"-9223372036854775808", "9223372036854775807", "-9.223372036854775808e18", "1e18"} {
		if s, out := b.call(t, "POST", "runs/log-metric", fmt.Sprintf(`{"run_id":"%s","key":"m","value":1,"timestamp":%s}`, run, ts)); s != 200 {
			t.Errorf("timestamp %s: %d %v", ts, s, out)
		}
	}
	if s, out := b.call(t, "POST", "/ws/ws/api/3.0/mlflow/traces", `{"trace":{"trace_info":{"trace_id":"tr-1","trace_location":{"type":"MLFLOW_EXPERIMENT","mlflow_experiment":{"experiment_id":"0"}},"request_time":"2024-01-01T00:00:00Z","execution_duration":"1e23s","state":"OK"}}}`); s != 400 {
		t.Errorf("trace with an endless duration: %d %v", s, out)
	}
}
