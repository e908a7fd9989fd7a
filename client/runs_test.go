package client

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestExperimentsDecodeMLflowTimes: MLflow sends experiment times as
// milliseconds since the epoch, in get-by-name and in search alike.
func TestExperimentsDecodeMLflowTimes(t *testing.T) {
	const exp = `{"experiment_id":"1","name":"e","lifecycle_stage":"active","creation_time":1764806400000,"last_update_time":1764806401000}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/ws/ws/api/2.0/mlflow/experiments/get-by-name":
			_, _ = w.Write([]byte(`{"experiment":` + exp + `}`))
		case "/ws/ws/api/2.0/mlflow/experiments/search":
			_, _ = w.Write([]byte(`{"experiments":[` + exp + `]}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	c := New(Config{URL: srv.URL})
	want := time.UnixMilli(1764806400000)
	e, err := c.GetExperimentByName(t.Context(), "ws", "e")
	if err != nil || e.Name != "e" || e.CreationTime == nil || !e.CreationTime.Equal(want) {
		t.Fatalf("get-by-name: %+v, %v", e, err)
	}
	list, err := c.ListExperiments(t.Context(), "ws", false)
	if err != nil || len(list) != 1 || list[0].LastUpdateTime == nil || !list[0].LastUpdateTime.Equal(want.Add(time.Second)) {
		t.Fatalf("search: %+v, %v", list, err)
	}
}
