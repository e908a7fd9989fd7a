package sqldb

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/ciel-mlops/ciel/internal/store"
	"github.com/ciel-mlops/ciel/internal/tracking"
)

// TestMetricBatchRoundTrip logs a large batch (keys repeated, NaN, linked
// models, a key whose greatest step comes first) and reads back each key's
// history and latest value; on PostgreSQL this is the arrays path.
func TestMetricBatchRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t, filepath.Join(t.TempDir(), "ciel.db"))
	run := metricsFixture(t, s, "ws")
	var ms []tracking.Metric
	for i := range 1000 {
		m := tracking.Metric{Key: fmt.Sprintf("k%d", i%7), Value: float64(i), Timestamp: 1000, Step: int64(i)}
		if i%7 == 3 {
			m.Value = math.NaN()
		}
		if i%7 == 5 {
			m.ModelID, m.DatasetName, m.DatasetDigest = "m-1", "train", "abc"
		}
		ms = append(ms, m)
	}
	// k6's greatest step comes first in the batch.
	ms = append([]tracking.Metric{{Key: "k6", Value: -1, Timestamp: 1, Step: 5000}}, ms...)
	if err := s.LogBatch(ctx, "ws", run, tracking.Batch{Metrics: ms}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetRun(ctx, "ws", run)
	if err != nil {
		t.Fatal(err)
	}
	latest := map[string]tracking.Metric{}
	for _, m := range got.Metrics {
		latest[m.Key] = m
	}
	for k, want := range map[string]float64{"k0": 994, "k1": 995, "k2": 996, "k4": 998, "k5": 999, "k6": -1} {
		if m := latest[k]; m.Value != want {
			t.Errorf("latest %s = %+v, want value %v", k, m, want)
		}
	}
	if m := latest["k3"]; !math.IsNaN(m.Value) || m.Step != 997 {
		t.Errorf("latest k3 = %+v, want NaN at step 997", m)
	}
	// The linked model and dataset are stored, and NULL where unset.
	for key, want := range map[string]string{"k5": "m-1 train abc", "k0": "NULL NULL NULL"} {
		var model, name, digest *string
		err := s.rdb.QueryRow(`SELECT model_id, dataset_name, dataset_digest FROM latest_metrics WHERE key = '`+key+`'`).
			Scan(&model, &name, &digest)
		if err != nil {
			t.Fatal(err)
		}
		str := func(p *string) string {
			if p == nil {
				return "NULL"
			}
			return *p
		}
		if got := str(model) + " " + str(name) + " " + str(digest); got != want {
			t.Errorf("latest %s's model and dataset = %q, want %q", key, got, want)
		}
	}
	hist, err := s.MetricHistory(ctx, "ws", run, "k6", 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 143 {
		t.Errorf("k6 history has %d values, want 143", len(hist))
	}
	// The same batch again adds nothing.
	if err := s.LogBatch(ctx, "ws", run, tracking.Batch{Metrics: ms}); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, s, "metrics"); n != 1001 {
		t.Errorf("%d metric rows after logging the batch twice, want 1001", n)
	}
}

// TestMetricsGoWithTheirWorkspace: a run's metrics leave with its
// workspace (on PostgreSQL by a trigger, as they keep no foreign key).
func TestMetricsGoWithTheirWorkspace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t, filepath.Join(t.TempDir(), "ciel.db"))
	for _, ws := range []string{"doomed", "kept"} {
		run := metricsFixture(t, s, ws)
		if err := s.LogBatch(ctx, ws, run, tracking.Batch{Metrics: []tracking.Metric{
			{Key: "a", Value: 1, Step: 1}, {Key: "b", Value: 2, Step: 1}}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteWorkspace(ctx, "doomed"); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, s, "metrics"); n != 2 {
		t.Errorf("%d metric rows after deleting a workspace, want the other's 2", n)
	}
	if n := countRows(t, s, "latest_metrics"); n != 2 {
		t.Errorf("%d latest_metrics rows after deleting a workspace, want the other's 2", n)
	}
}

// metricsFixture makes workspace ws with an experiment and an active run.
func metricsFixture(t *testing.T, s *Store, ws string) string {
	t.Helper()
	ctx := context.Background()
	if err := s.CreateWorkspace(ctx, store.Workspace{Name: ws}); err != nil {
		t.Fatal(err)
	}
	exp, err := s.CreateExperiment(ctx, ws, tracking.Experiment{Name: "e"})
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.CreateRun(ctx, ws, tracking.RunInfo{RunID: "run-" + ws, ExperimentID: exp.ID, Status: "RUNNING",
		LifecycleStage: tracking.StageActive, StartTime: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return info.RunID
}

func countRows(t *testing.T, s *Store, table string) int {
	t.Helper()
	var n int
	if err := s.rdb.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
