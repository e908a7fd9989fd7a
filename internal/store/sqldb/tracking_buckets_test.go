package sqldb

import (
	"context"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/store"
	"github.com/ciel-mlops/ciel/internal/tracking"
)

// bucketRun returns a store with workspace "ws" holding a running run.
func bucketRun(t testing.TB) (*Store, string) {
	t.Helper()
	s := openTest(t, filepath.Join(t.TempDir(), "ciel.db"))
	ctx := context.Background()
	if err := s.CreateWorkspace(ctx, store.Workspace{Name: "ws"}); err != nil {
		t.Fatal(err)
	}
	e, err := s.CreateExperiment(ctx, "ws", tracking.Experiment{Name: "e"})
	if err != nil {
		t.Fatal(err)
	}
	run, err := s.CreateRun(ctx, "ws", tracking.RunInfo{RunID: "0123456789abcdef0123456789abcdef", ExperimentID: e.ID,
		Status: tracking.StatusRunning, StartTime: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s, run.RunID
}

func logPoints(t testing.TB, s *Store, run, key string, ms []tracking.Metric) {
	t.Helper()
	for len(ms) > 0 {
		n := min(len(ms), 1000)
		for i := range ms[:n] {
			ms[i].Key = key
		}
		if err := s.LogBatch(context.Background(), "ws", run, tracking.Batch{Metrics: ms[:n]}); err != nil {
			t.Fatal(err)
		}
		ms = ms[n:]
	}
}

// TestMetricBuckets checks each bucket against the points it covers,
// computed here the slow way.
func TestMetricBuckets(t *testing.T) {
	t.Parallel()
	s, run := bucketRun(t)
	var pts []tracking.Metric
	for i := range 5000 {
		v := math.Sin(float64(i)/97) * float64(i%13)
		switch i {
		case 1234:
			v = math.Inf(1)
		case 2345:
			v = math.NaN()
		}
		pts = append(pts, tracking.Metric{Step: int64(i / 2), Timestamp: 1_700_000_000_000 + int64(i), Value: v})
	}
	logPoints(t, s, run, "loss", append([]tracking.Metric(nil), pts...))
	var flat []tracking.Metric
	for i := range 300 {
		flat = append(flat, tracking.Metric{Timestamp: int64(1000 + i*7), Value: float64(i % 17)})
	}
	logPoints(t, s, run, "acc", append([]tracking.Metric(nil), flat...))
	ptr := func(v int64) *int64 { return &v }
	tests := []struct {
		name    string
		key     string
		q       tracking.BucketQuery
		points  []tracking.Metric
		maxBkts int
	}{
		{"1000 buckets of 5000 points", "loss", tracking.BucketQuery{MaxPoints: 1000}, pts, 1000},
		{"one bucket", "loss", tracking.BucketQuery{MaxPoints: 1}, pts, 1},
		{"more buckets than steps", "loss", tracking.BucketQuery{MaxPoints: 10000}, pts, 2500},
		{"zoomed", "loss", tracking.BucketQuery{MaxPoints: 50, StartStep: ptr(100), EndStep: ptr(199)}, pts[200:400], 50},
		{"one step: by time", "acc", tracking.BucketQuery{MaxPoints: 30}, flat, 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.MetricBuckets(context.Background(), "ws", run, tt.key, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) == 0 || len(got) > tt.maxBkts {
				t.Fatalf("%d buckets, want 1..%d", len(got), tt.maxBkts)
			}
			// Buckets are consecutive runs of the points in (step,
			// time) order: each ends at its last point.
			i := 0
			for bi, b := range got {
				var in []tracking.Metric
				for i < len(tt.points) && (tt.points[i].Step < b.Step || tt.points[i].Step == b.Step && tt.points[i].Timestamp <= b.Timestamp) {
					in = append(in, tt.points[i])
					i++
				}
				checkBucket(t, bi, b, in)
			}
			if i != len(tt.points) {
				t.Errorf("buckets cover %d of %d points", i, len(tt.points))
			}
		})
	}
	if _, err := s.MetricBuckets(context.Background(), "other", run, "loss", tracking.BucketQuery{MaxPoints: 5}); err == nil {
		t.Error("a run of another workspace answers")
	}
	if got, err := s.MetricBuckets(context.Background(), "ws", run, "nothing", tracking.BucketQuery{MaxPoints: 5}); err != nil || len(got) != 0 {
		t.Errorf("an unlogged key: %v, %v", got, err)
	}
}

func checkBucket(t *testing.T, bi int, b tracking.MetricBucket, in []tracking.Metric) {
	t.Helper()
	if int64(len(in)) != b.Count || len(in) == 0 {
		t.Fatalf("bucket %d: count %d, its points %d", bi, b.Count, len(in))
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, m := range in {
		if !math.IsNaN(m.Value) {
			lo, hi = min(lo, m.Value), max(hi, m.Value)
		}
	}
	last := in[len(in)-1]
	if b.Min == nil || b.Max == nil || *b.Min != lo || *b.Max != hi {
		t.Errorf("bucket %d: min %v max %v, want %v %v", bi, b.Min, b.Max, lo, hi)
	}
	same := b.Value == last.Value || (math.IsNaN(b.Value) && math.IsNaN(last.Value))
	if b.Step != last.Step || b.Timestamp != last.Timestamp || !same || b.FirstStep != in[0].Step || b.FirstTimestamp != in[0].Timestamp {
		t.Errorf("bucket %d: %+v, want last %+v first %+v", bi, b, last, in[0])
	}
}

// BenchmarkMetricBuckets1M summarises a history of 1,000,000 points in
// 1,000 buckets, as the studio's chart asks.
func BenchmarkMetricBuckets1M(b *testing.B) {
	s, run := bucketRun(b)
	ctx := context.Background()
	start := time.Now()
	if _, err := s.wdb.ExecContext(ctx, `WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < 999999)
		INSERT INTO metrics (run_id, key, step, timestamp, value, is_nan) SELECT ?, 'loss', i, 1700000000000 + i, sin(i / 1000.0), 0 FROM c`, run); err != nil {
		b.Fatal(err)
	}
	b.Logf("loaded 1,000,000 points in %v", time.Since(start))
	for b.Loop() {
		got, err := s.MetricBuckets(ctx, "ws", run, "loss", tracking.BucketQuery{MaxPoints: 1000})
		if err != nil || len(got) != 1000 {
			b.Fatalf("%d buckets, %v", len(got), err)
		}
	}
}

func TestBucketBounds(t *testing.T) {
	tests := []struct {
		lo, hi int64
		n      int
		want   string
	}{
		{0, 9, 5, "[[0,1],[2,3],[4,5],[6,7],[8,9]]"},
		{0, 9, 3, "[[0,3],[4,7],[8,9]]"},
		{5, 5, 10, "[[5,5]]"},
		{-3, 2, 100, "[[-3,-3],[-2,-2],[-1,-1],[0,0],[1,1],[2,2]]"},
		{math.MinInt64, math.MaxInt64, 2, "[[-9223372036854775808,-1],[0,9223372036854775807]]"},
		{math.MaxInt64 - 1, math.MaxInt64, 1, "[[9223372036854775806,9223372036854775807]]"},
	}
	for _, tt := range tests {
		if got := bucketBounds(tt.lo, tt.hi, tt.n); got != tt.want {
			t.Errorf("bucketBounds(%d, %d, %d) = %s, want %s", tt.lo, tt.hi, tt.n, got, tt.want)
		}
	}
}
