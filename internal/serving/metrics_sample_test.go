package serving

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// buckets returns a histogram with n requests in the bucket whose upper
// bound is le (seconds; 0 for +Inf), for each pair.
func buckets(pairs ...float64) []int64 {
	b := make([]int64, len(latencyBuckets)+1)
	for i := 0; i < len(pairs); i += 2 {
		le, n := pairs[i], int64(pairs[i+1])
		k := len(latencyBuckets)
		for j, ub := range latencyBuckets {
			if ub == le {
				k = j
			}
		}
		b[k] += n
	}
	return b
}

func TestRate(t *testing.T) {
	t.Parallel()
	ms := func(v float64) *float64 { return &v }
	empty := Counters{Buckets: buckets()}
	tests := []struct {
		name      string
		prev, cur Counters
		dt        time.Duration
		rps, errs float64
		p50, p99  *float64
	}{
		{"no traffic", empty, empty, time.Second, 0, 0, nil, nil},
		// 100 requests all in (5ms, 10ms]: p50 at the bucket's middle.
		{"one bucket", empty, Counters{Requests: 100, Buckets: buckets(0.01, 100)}, time.Second, 100, 0, ms(7.5), ms(9.95)},
		// 90 fast, 10 slow over 2s: the p99 lands in the slow bucket.
		{"two buckets", Counters{Requests: 5, Errors: 1, Buckets: buckets(0.001, 5)},
			Counters{Requests: 105, Errors: 11, Buckets: buckets(0.001, 95, 1, 10)}, 2 * time.Second, 50, 0.1, ms(0.5 + 0.5*50.0/90), ms(500 + 500*9.0/10)},
		// Over the last bound: the last finite bound.
		{"+Inf", empty, Counters{Requests: 2, Buckets: buckets(0, 2)}, time.Second, 2, 0, ms(30000), ms(30000)},
		// The deployment was made again: its counters start over.
		{"reset", Counters{Requests: 50, Buckets: buckets(0.01, 50)}, Counters{Requests: 4, Errors: 4, Buckets: buckets(0.01, 4)}, time.Second, 4, 1, ms(7.5), ms(9.95)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Rate(tt.prev, tt.cur, tt.dt)
			if s.RequestsPerSecond != tt.rps || s.ErrorRate != tt.errs {
				t.Errorf("rps %v errors %v, want %v %v", s.RequestsPerSecond, s.ErrorRate, tt.rps, tt.errs)
			}
			for _, q := range []struct {
				name      string
				got, want *float64
			}{{"p50", s.P50Ms, tt.p50}, {"p99", s.P99Ms, tt.p99}} {
				switch {
				case (q.got == nil) != (q.want == nil):
					t.Errorf("%s = %v, want %v", q.name, q.got, q.want)
				case q.got != nil && abs(*q.got-*q.want) > 0.001:
					t.Errorf("%s = %v, want %v", q.name, *q.got, *q.want)
				}
			}
		})
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// TestEndpointCountersReadTheRegistry checks that the counters are the
// ones the scoring front end records, errors being statuses >= 400.
func TestEndpointCountersReadTheRegistry(t *testing.T) {
	t.Parallel()
	m := &Manager{metrics: newMetricsRegistry(), front: newFrontEnd(newMetricsRegistry(), nil)}
	m.metrics.get("ep", "blue").observe(200, "", 3*time.Millisecond)
	m.metrics.get("ep", "blue").observe(500, "", 40*time.Millisecond)
	m.metrics.get("ep", "").observe(401, "Unauthorized", time.Millisecond)
	m.metrics.get("other", "blue").observe(200, "", time.Millisecond)
	got := m.EndpointCounters("ep")
	if len(got) != 2 || got[0].Deployment != "" || got[1].Deployment != "blue" {
		t.Fatalf("counters %+v", got)
	}
	if c := got[1]; c.Requests != 2 || c.Errors != 1 || c.Buckets[3] != 1 || c.Buckets[6] != 1 || abs(c.SumSeconds-0.043) > 1e-9 {
		t.Errorf("blue %+v", c)
	}
	if c := got[0]; c.Requests != 1 || c.Errors != 1 {
		t.Errorf("no deployment %+v", c)
	}
}

// TestLogFollowSeesWrites checks that a subscriber is told of each write
// and reads exactly the new bytes, from the start after a truncation.
func TestLogFollowSeesWrites(t *testing.T) {
	t.Parallel()
	sink, err := openLog(filepath.Join(t.TempDir(), "d.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer sink.close()
	sink.write([]byte("one\ntwo\n"))
	grew, stop := sink.subscribe()
	defer stop()
	f, err := os.Open(sink.path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	head, err := tailAt(f, 8, 1)
	if err != nil || head != "two\n" {
		t.Fatalf("tail %q %v", head, err)
	}
	sink.writer("[0] ").Write([]byte("three\nfour"))
	select {
	case <-grew:
	case <-time.After(time.Second):
		t.Fatal("no wake-up after a write")
	}
	var out bytes.Buffer
	off, err := copyNew(f, 8, &out)
	if err != nil || out.String() != "[0] three\n" || off != 18 {
		t.Fatalf("new bytes %q off %d %v", out.String(), off, err)
	}
	if err := sink.f.Truncate(0); err != nil {
		t.Fatal(err)
	}
	sink.size = 0
	sink.printf("after")
	out.Reset()
	if _, err := copyNew(f, off, &out); err != nil || !bytes.HasSuffix(out.Bytes(), []byte(" after\n")) {
		t.Fatalf("after truncation %q %v", out.String(), err)
	}
}

// TestEndpointCountersMatchPrometheus checks the counters against the
// exposition /metrics writes from the same registry: the request totals
// and each cumulative latency bucket agree.
func TestEndpointCountersMatchPrometheus(t *testing.T) {
	t.Parallel()
	m := &Manager{metrics: newMetricsRegistry(), front: newFrontEnd(newMetricsRegistry(), nil)}
	for i := range 50 {
		m.metrics.get("ep", "blue").observe(200+300*(i%5/4), "", time.Duration(i)*time.Millisecond)
	}
	var text bytes.Buffer
	if err := writeMetrics(&text, m.metrics.snapshot(), nil); err != nil {
		t.Fatal(err)
	}
	var requests, cum int64
	buckets := map[string]int64{}
	for _, line := range strings.Split(text.String(), "\n") {
		if !strings.Contains(line, `deployment="blue"`) {
			continue
		}
		f := strings.Fields(line)
		n, _ := strconv.ParseInt(f[len(f)-1], 10, 64)
		switch {
		case strings.HasPrefix(line, "ciel_endpoint_requests_total{"):
			requests += n
		case strings.HasPrefix(line, "ciel_endpoint_request_duration_seconds_bucket{"):
			le := line[strings.Index(line, `le="`)+4:]
			buckets[le[:strings.IndexByte(le, '"')]] = n
		}
	}
	c := m.EndpointCounters("ep")[0]
	if c.Requests != requests || c.Requests != 50 || c.Errors != 10 {
		t.Errorf("counters say %d requests (%d errors), /metrics %d", c.Requests, c.Errors, requests)
	}
	for i, n := range c.Buckets {
		cum += n
		le := "+Inf"
		if i < len(latencyBuckets) {
			le = strconv.FormatFloat(latencyBuckets[i], 'g', -1, 64)
		}
		if buckets[le] != cum {
			t.Errorf("bucket le=%s: counters %d, /metrics %d", le, cum, buckets[le])
		}
	}
}
