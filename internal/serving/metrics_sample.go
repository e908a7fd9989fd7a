package serving

import (
	"math"
	"slices"
	"strings"
	"time"
)

// LatencyBuckets returns the upper bounds, in seconds, of the latency
// histogram /metrics exports (ciel_endpoint_request_duration_seconds);
// Counters.Buckets has one more, for +Inf.
func LatencyBuckets() []float64 { return slices.Clone(latencyBuckets) }

// Counters are one deployment's cumulative counters at one moment: the
// numbers /metrics exposes, read from the same registry.
type Counters struct {
	// Deployment is "" for the requests of the endpoint that reached no
	// deployment (no traffic, a wrong key).
	Deployment string
	// Requests counts answered requests; Errors those answered with an
	// HTTP status of 400 or more (the front end's refusals included).
	Requests, Errors int64
	// Buckets counts requests by latency, one per LatencyBuckets bound
	// plus one for +Inf (not cumulative).
	Buckets []int64
	// SumSeconds is the total latency of the requests counted.
	SumSeconds float64
	// Ready and Queued are the gauges: workers taking requests and
	// requests waiting for one.
	Ready, Queued int
}

// EndpointCounters returns the counters of endpoint name's deployments
// (and of its requests that reached none), by deployment name. It is
// empty for an endpoint that does not run here.
func (m *Manager) EndpointCounters(name string) []Counters {
	gauges := map[string][2]int{}
	if eps := m.front.endpoints.Load(); eps != nil {
		if ep := (*eps)[name]; ep != nil {
			for _, p := range ep.routes.Load().sortedPools() {
				gauges[p.name] = [2]int{int(p.ready.Load()), len(p.queue)}
			}
		}
	}
	var out []Counters
	for _, dm := range m.metrics.snapshot() {
		if dm.endpoint != name {
			continue
		}
		c := Counters{Deployment: dm.deployment, Buckets: make([]int64, len(dm.buckets))}
		for i := range dm.buckets {
			c.Buckets[i] = dm.buckets[i].Load()
		}
		for code := range dm.codes {
			n := dm.codes[code].Load()
			c.Requests += n
			if code >= 400 {
				c.Errors += n
			}
		}
		c.SumSeconds = float64(dm.sumNanos.Load()) / float64(time.Second)
		g := gauges[dm.deployment]
		c.Ready, c.Queued = g[0], g[1]
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Counters) int { return strings.Compare(a.Deployment, b.Deployment) })
	return out
}

// Sample is what a deployment did between two readings of its Counters:
// the rates and latency quantiles a dashboard draws.
type Sample struct {
	Deployment        string  `json:"deployment"`
	RequestsPerSecond float64 `json:"requests_per_second"`
	// ErrorRate is the share (0 to 1) of the interval's answers with a
	// status of 400 or more; 0 when there were none.
	ErrorRate float64 `json:"error_rate"`
	// P50Ms and P99Ms are latency quantiles of the interval's requests,
	// interpolated within histogram buckets as Prometheus's
	// histogram_quantile does; nil when there was no request.
	P50Ms *float64 `json:"p50_ms"`
	P99Ms *float64 `json:"p99_ms"`
	// RequestsTotal and ErrorsTotal are the cumulative counters.
	RequestsTotal int64 `json:"requests_total"`
	ErrorsTotal   int64 `json:"errors_total"`
	Ready         int   `json:"ready_instances"`
	Queued        int   `json:"queued_requests"`
}

// Rate returns the Sample of the interval dt between prev and cur, two
// readings of one deployment's Counters. A counter that went down (the
// deployment was deleted and made again) counts from zero.
func Rate(prev, cur Counters, dt time.Duration) Sample {
	s := Sample{Deployment: cur.Deployment, RequestsTotal: cur.Requests, ErrorsTotal: cur.Errors, Ready: cur.Ready, Queued: cur.Queued}
	if cur.Requests < prev.Requests || len(prev.Buckets) != len(cur.Buckets) {
		prev = Counters{Buckets: make([]int64, len(cur.Buckets))}
	}
	n := cur.Requests - prev.Requests
	if sec := dt.Seconds(); sec > 0 {
		s.RequestsPerSecond = float64(n) / sec
	}
	if n > 0 {
		s.ErrorRate = float64(cur.Errors-prev.Errors) / float64(n)
	}
	delta := make([]int64, len(cur.Buckets))
	for i := range delta {
		delta[i] = max(0, cur.Buckets[i]-prev.Buckets[i])
	}
	s.P50Ms = quantileMs(0.5, delta)
	s.P99Ms = quantileMs(0.99, delta)
	return s
}

// quantileMs estimates the q-quantile, in milliseconds, of the latencies
// counted in buckets (one per latencyBuckets bound plus +Inf), assuming
// they are spread evenly within each bucket; a quantile in the +Inf
// bucket is the last finite bound. nil when buckets count nothing.
func quantileMs(q float64, buckets []int64) *float64 {
	var total int64
	for _, b := range buckets {
		total += b
	}
	if total == 0 {
		return nil
	}
	rank := q * float64(total)
	var cum int64
	for i, b := range buckets {
		if b == 0 || float64(cum+b) < rank {
			cum += b
			continue
		}
		if i >= len(latencyBuckets) {
			v := latencyBuckets[len(latencyBuckets)-1] * 1000
			return &v
		}
		lo := 0.0
		if i > 0 {
			lo = latencyBuckets[i-1]
		}
		hi := latencyBuckets[i]
		v := (lo + (hi-lo)*(rank-float64(cum))/float64(b)) * 1000
		v = math.Round(v*1000) / 1000
		return &v
	}
	return nil
}
