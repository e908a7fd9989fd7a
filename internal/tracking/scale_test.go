package tracking_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/tracking"
)

// TestSearchPageLatency times first pages of search_runs through the MLflow
// API over one experiment of CIEL_SEARCH_SCALE runs (skipped when unset):
// each run has params p (10 values) and lr, tag t (4 values), metrics x
// and m (1% of runs lack x, 1% have it NaN). It prints the median of
// CIEL_SEARCH_REPS (default 15) answers per query and fails when one is
// over 50 ms, the studio's goal at 100,000 runs.
//
//	CIEL_SEARCH_SCALE=100000 go test -run TestSearchPageLatency -v ./internal/tracking/
func TestSearchPageLatency(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("CIEL_SEARCH_SCALE"))
	if n <= 0 {
		t.Skip("set CIEL_SEARCH_SCALE (e.g. 100000) to time search pages at scale")
	}
	reps := 15
	if r, err := strconv.Atoi(os.Getenv("CIEL_SEARCH_REPS")); err == nil && r > 0 {
		reps = r
	}
	tb := setup(t, "")
	exp := loadScaleRuns(t, tb, n)
	url := tb.srv.URL + "/ws/ws/api/2.0/mlflow/runs/search"
	search := func(filter string, order []string, token string) (int, string, time.Duration) {
		body, _ := json.Marshal(map[string]any{"experiment_ids": []string{exp}, "max_results": 100,
			"filter": filter, "order_by": order, "page_token": token})
		start := time.Now()
		resp, err := http.Post(url, "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			Runs          []json.RawMessage `json:"runs"`
			NextPageToken string            `json:"next_page_token"`
		}
		err = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		took := time.Since(start)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("search %q %v: status %d, %v", filter, order, resp.StatusCode, err)
		}
		return len(out.Runs), out.NextPageToken, took
	}
	cases := []struct {
		name, filter string
		order        []string
		page2        bool
	}{
		{"order by start_time", "", nil, false},
		{"order by metrics.x DESC", "", []string{"metrics.x DESC"}, false},
		{"order by metrics.x ASC", "", []string{"metrics.x ASC"}, false},
		{"params.p = 'v3' AND metrics.m > 0.5, order by metrics.x DESC", "params.p = 'v3' AND metrics.m > 0.5", []string{"metrics.x DESC"}, false},
		{"tags.t = 't1', order by params.lr", "tags.t = 't1'", []string{"params.lr"}, false},
		{"order by tags.t DESC", "", []string{"tags.t DESC"}, false},
		{"params.p = 'v3' (start_time order)", "params.p = 'v3'", nil, false},
		{"page 2 of order by metrics.x DESC", "", []string{"metrics.x DESC"}, true},
		{"page 2 of order by start_time", "", nil, true},
		// 0.2% of runs match: the search starts from them, not from the
		// metric order (where 100 matches lie far apart).
		{"params.p = 'v3' AND metrics.m > 0.98, by metrics.x (rare)", "params.p = 'v3' AND metrics.m > 0.98", []string{"metrics.x DESC"}, false},
	}
	t.Logf("search_runs, first page of 100, %d runs in one experiment, median of %d", n, reps)
	for _, c := range cases {
		token := ""
		if c.page2 {
			_, token, _ = search(c.filter, c.order, "")
		}
		times := make([]time.Duration, reps)
		for i := range times {
			got, _, took := search(c.filter, c.order, token)
			if got != 100 {
				t.Fatalf("%s: %d runs, want a page of 100", c.name, got)
			}
			times[i] = took
		}
		slices.Sort(times)
		med := times[reps/2]
		t.Logf("%-62s %8.2f ms", c.name, float64(med.Microseconds())/1000)
		if n <= 100000 && med > 50*time.Millisecond {
			t.Errorf("%s: median %v, goal < 50 ms", c.name, med)
		}
	}
}

// loadScaleRuns creates n runs in a new experiment through the store, many
// at once so the writer groups them in few commits.
func loadScaleRuns(t *testing.T, tb *testBundle, n int) string {
	ctx := context.Background()
	e, err := tb.st.CreateExperiment(ctx, "ws", tracking.Experiment{Name: "scale"})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	ids := make(chan int, n)
	for i := range n {
		ids <- i
	}
	close(ids)
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for i := range ids {
				rng := rand.New(rand.NewPCG(uint64(i), 7))
				id := fmt.Sprintf("%032x", i+1)
				if _, err := tb.st.CreateRun(ctx, "ws", tracking.RunInfo{RunID: id, ExperimentID: e.ID,
					Status: tracking.StatusFinished, StartTime: int64(1_700_000_000_000 + i/2)}, []tracking.Tag{
					{Key: "t", Value: fmt.Sprintf("t%d", i%4)}, {Key: tracking.TagRunName, Value: "r" + strconv.Itoa(i)}}); err != nil {
					t.Error(err)
					return
				}
				b := tracking.Batch{
					Params: []tracking.Param{{Key: "p", Value: fmt.Sprintf("v%d", i%10)},
						{Key: "lr", Value: strconv.FormatFloat(rng.Float64(), 'f', 6, 64)}},
					Metrics: []tracking.Metric{{Key: "m", Value: rng.Float64(), Timestamp: 1}}}
				switch i % 100 {
				case 0: // no x
				case 1:
					b.Metrics = append(b.Metrics, tracking.Metric{Key: "x", Value: math.NaN(), Timestamp: 1})
				default:
					b.Metrics = append(b.Metrics, tracking.Metric{Key: "x", Value: rng.Float64(), Timestamp: 1})
				}
				if err := tb.st.LogBatch(ctx, "ws", id, b); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("loaded %d runs in %v", n, time.Since(start).Round(time.Millisecond))
	return e.ID
}
