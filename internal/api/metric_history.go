package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/ciel-mlops/ciel/internal/store"
	"github.com/ciel-mlops/ciel/internal/tracking"
)

// Bounds of ?max_points on a metric's bucketed history.
const (
	defaultMaxPoints = 1000
	maxMaxPoints     = 10000
)

// metricBucketer is the store's summing of a metric's history
// (sqldb.Store.MetricBuckets).
type metricBucketer interface {
	MetricBuckets(ctx context.Context, ws, runID, key string, q tracking.BucketQuery) ([]tracking.MetricBucket, error)
}

// metricHistoryRoutes serves a metric's history summarised for charts.
func (s *server) metricHistoryRoutes(h func(string, handlerFunc)) {
	h("GET /api/v1/workspaces/{ws}/runs/{run}/metrics/{key}/history", s.metricHistory)
}

// bucketJSON is a tracking.MetricBucket as the API answers it.
type bucketJSON struct {
	Step           int64              `json:"step"`
	Timestamp      int64              `json:"timestamp"`
	Value          tracking.JSONFloat `json:"value"`
	Min            any                `json:"min"`
	Max            any                `json:"max"`
	Count          int64              `json:"count"`
	FirstStep      int64              `json:"first_step"`
	FirstTimestamp int64              `json:"first_timestamp"`
}

// metricHistory answers a run's metric history in at most ?max_points
// buckets (default 1000, at most 10000) of equal step ranges, optionally
// within [?start_step, ?end_step]: each with its last point (step,
// timestamp, value), the exact min and max, the count and the first step
// and time. A history of fewer points than buckets comes back point by
// point (min = max = value). The key is one path segment: a key with "/"
// is sent escaped (train%2Floss).
func (s *server) metricHistory(_ http.ResponseWriter, r *http.Request) (any, error) {
	if _, err := s.workspace(r); err != nil {
		return nil, err
	}
	mb, ok := s.st.(metricBucketer)
	if !ok {
		return nil, &httpError{status: http.StatusNotImplemented, code: "NotImplemented", msg: "this store does not summarise metric histories"}
	}
	q := tracking.BucketQuery{MaxPoints: defaultMaxPoints}
	qs := r.URL.Query()
	if v := qs.Get("max_points"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxMaxPoints {
			return nil, badRequest("max_points", "max_points %q is not a whole number from 1 to %d", v, maxMaxPoints)
		}
		q.MaxPoints = n
	}
	for _, p := range []struct {
		name string
		dst  **int64
	}{{"start_step", &q.StartStep}, {"end_step", &q.EndStep}} {
		if v := qs.Get(p.name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, badRequest(p.name, "%s %q is not a whole number", p.name, v)
			}
			*p.dst = &n
		}
	}
	run, key := r.PathValue("run"), r.PathValue("key")
	buckets, err := mb.MetricBuckets(r.Context(), r.PathValue("ws"), run, key, q)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &httpError{status: http.StatusNotFound, code: "NotFound", target: "run",
			msg: fmt.Sprintf("run %q not found in workspace %s", run, r.PathValue("ws"))}
	}
	if err != nil {
		return nil, err
	}
	out := make([]bucketJSON, len(buckets))
	var points int64
	for i, b := range buckets {
		out[i] = bucketJSON{Step: b.Step, Timestamp: b.Timestamp, Value: tracking.JSONFloat(b.Value), Min: optFloat(b.Min), Max: optFloat(b.Max),
			Count: b.Count, FirstStep: b.FirstStep, FirstTimestamp: b.FirstTimestamp}
		points += b.Count
	}
	return map[string]any{"run_id": run, "key": key, "max_points": q.MaxPoints, "points": points, "buckets": out}, nil
}

// optFloat is f as JSON: null when nil.
func optFloat(f *float64) any {
	if f == nil {
		return nil
	}
	return tracking.JSONFloat(*f)
}
