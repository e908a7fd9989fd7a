package tracking_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/ciel-mlops/ciel/internal/tracking"
)

// BenchmarkLogMetric is the hot path of tracking: concurrent clients
// logging one metric per call over HTTP, each call durable before its
// answer (the writes share commits).
func BenchmarkLogMetric(b *testing.B) {
	tb := setup(&testing.T{}, "")
	b.Cleanup(func() {})
	run := tb.newRun(&testing.T{})
	url := tb.srv.URL + "/ws/ws/api/2.0/mlflow/runs/log-metric"
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
		i := 0
		for pb.Next() {
			i++
			body := `{"run_id":"` + run + `","key":"loss","value":0.5,"timestamp":1700000000000,"step":` + strconv.Itoa(i) + `}`
			postOK(b, c, url, []byte(body))
		}
	})
}

// postOK posts a JSON body and stops the benchmark unless the answer is 200.
func postOK(b *testing.B, c *http.Client, url string, body []byte) {
	resp, err := c.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Fatalf("status %d", resp.StatusCode)
	}
}

// BenchmarkLogBatch is scenario (b) of bench/tracking on the server side:
// one client posting log_batch calls of 1,000 metrics, each durable before
// its answer.
func BenchmarkLogBatch(b *testing.B) {
	tb := setup(&testing.T{}, "")
	run := tb.newRun(&testing.T{})
	url := tb.srv.URL + "/ws/ws/api/2.0/mlflow/runs/log-batch"
	body := func(k int) []byte {
		var buf bytes.Buffer
		fmt.Fprintf(&buf, `{"run_id":%q,"metrics":[`, run)
		for i := range 1000 {
			if i > 0 {
				buf.WriteByte(',')
			}
			fmt.Fprintf(&buf, `{"key":"m","value":%d.5,"timestamp":1700000000000,"step":%d}`, i, k*1000+i)
		}
		buf.WriteString(`],"params":[]}`)
		return buf.Bytes()
	}
	c := &http.Client{}
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		in := body(i) // new steps each call: every row is a new one
		b.StartTimer()
		postOK(b, c, url, in)
	}
	b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "metrics/s")
}

// BenchmarkSearchRuns is scenario (c) of bench/tracking on the server
// side: a filtered search over 10,000 runs, reading every page.
func BenchmarkSearchRuns(b *testing.B) {
	tb := setup(&testing.T{}, "")
	const runs = 10000
	ids := make(chan int, runs)
	for i := range runs {
		ids <- i
	}
	close(ids)
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for i := range ids {
				id := fmt.Sprintf("%032x", i+1)
				if _, err := tb.st.CreateRun(context.Background(), "ws", tracking.RunInfo{RunID: id, ExperimentID: "0",
					Status: tracking.StatusFinished, StartTime: int64(1000 + i)}, []tracking.Tag{
					{Key: "group", Value: "g"}, {Key: tracking.TagRunName, Value: "r"}, {Key: tracking.TagUser, Value: "u"}}); err != nil {
					b.Error(err)
					return
				}
				kind := "linear"
				if i%2 == 1 {
					kind = "tree"
				}
				if err := tb.st.LogBatch(context.Background(), "ws", id, tracking.Batch{
					Params:  []tracking.Param{{Key: "kind", Value: kind}, {Key: "i", Value: fmt.Sprint(i)}},
					Metrics: []tracking.Metric{{Key: "m", Value: float64(i%100) / 100}, {Key: "loss", Value: 0.5}}}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	url := tb.srv.URL + "/ws/ws/api/2.0/mlflow/runs/search"
	b.ResetTimer()
	for b.Loop() {
		token, found := "", 0
		for {
			body, _ := json.Marshal(map[string]any{"experiment_ids": []string{"0"}, "max_results": 1000,
				"filter": "metrics.m > 0.5 and params.kind = 'tree'", "page_token": token})
			resp, err := http.Post(url, "application/json", bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			var out struct {
				Runs          []json.RawMessage `json:"runs"`
				NextPageToken string            `json:"next_page_token"`
			}
			err = json.NewDecoder(resp.Body).Decode(&out)
			resp.Body.Close()
			if err != nil {
				b.Fatal(err)
			}
			found += len(out.Runs)
			if token = out.NextPageToken; token == "" {
				break
			}
		}
		if found != 2500 {
			b.Fatalf("found %d runs, want 2500", found)
		}
	}
}
