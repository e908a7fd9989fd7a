package serving

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// latencyBuckets are the upper bounds, in seconds, of the latency
// histogram.
var latencyBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// deploymentMetrics are the counters of one deployment (or, with an empty
// deployment, of the requests of an endpoint that reached none). Updates
// are lock-free atomics: they are on every request's path.
type deploymentMetrics struct {
	endpoint, deployment string

	codes    [600]atomic.Int64 // answers by HTTP status
	buckets  []atomic.Int64    // latency histogram, one per bucket plus +Inf
	sumNanos atomic.Int64
	count    atomic.Int64
	mirrored atomic.Int64
	restarts atomic.Int64

	errMu  sync.Mutex
	errors map[string]*atomic.Int64 // front-end error codes
}

// observe records one answered request.
func (m *deploymentMetrics) observe(status int, code string, d time.Duration) {
	if status >= 100 && status < len(m.codes) {
		m.codes[status].Add(1)
	}
	sec := d.Seconds()
	i, _ := slices.BinarySearch(latencyBuckets, sec)
	m.buckets[i].Add(1)
	m.sumNanos.Add(int64(d))
	m.count.Add(1)
	if code != "" {
		m.errorCounter(code).Add(1)
	}
}

func (m *deploymentMetrics) errorCounter(code string) *atomic.Int64 {
	m.errMu.Lock()
	defer m.errMu.Unlock()
	c, ok := m.errors[code]
	if !ok {
		c = new(atomic.Int64)
		m.errors[code] = c
	}
	return c
}

// metricsRegistry holds every deployment's metrics. Safe for concurrent
// use.
type metricsRegistry struct {
	mu  sync.Mutex
	all map[[2]string]*deploymentMetrics
}

func newMetricsRegistry() *metricsRegistry {
	return &metricsRegistry{all: map[[2]string]*deploymentMetrics{}}
}

// get returns the metrics of a deployment, creating them.
func (r *metricsRegistry) get(endpoint, deployment string) *deploymentMetrics {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := [2]string{endpoint, deployment}
	m, ok := r.all[k]
	if !ok {
		m = &deploymentMetrics{endpoint: endpoint, deployment: deployment,
			buckets: make([]atomic.Int64, len(latencyBuckets)+1), errors: map[string]*atomic.Int64{}}
		r.all[k] = m
	}
	return m
}

// drop forgets a deleted deployment's (or, with deployment "", endpoint's)
// metrics.
func (r *metricsRegistry) drop(endpoint, deployment string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k := range r.all {
		if k[0] == endpoint && (deployment == "" || k[1] == deployment) {
			delete(r.all, k)
		}
	}
}

// snapshot returns the metrics sorted by endpoint and deployment.
func (r *metricsRegistry) snapshot() []*deploymentMetrics {
	r.mu.Lock()
	out := make([]*deploymentMetrics, 0, len(r.all))
	for _, m := range r.all {
		out = append(out, m)
	}
	r.mu.Unlock()
	slices.SortFunc(out, func(a, b *deploymentMetrics) int {
		return strings.Compare(a.endpoint+"\x00"+a.deployment, b.endpoint+"\x00"+b.deployment)
	})
	return out
}

// gauge is one sample of a gauge, taken at scrape time.
type gauge struct {
	endpoint, deployment string
	ready, queued        int
}

// writeMetrics writes the Prometheus text exposition format (version
// 0.0.4).
func writeMetrics(w io.Writer, ms []*deploymentMetrics, gauges []gauge) error {
	var b strings.Builder
	header := func(name, typ, help string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	header("ciel_endpoint_requests_total", "counter", "Scoring requests answered, by endpoint, deployment and HTTP status.")
	for _, m := range ms {
		for code := range m.codes {
			if n := m.codes[code].Load(); n > 0 {
				fmt.Fprintf(&b, "ciel_endpoint_requests_total{%s,code=\"%d\"} %d\n", labels(m), code, n)
			}
		}
	}
	header("ciel_endpoint_request_errors_total", "counter", "Requests the front end refused or failed, by error code (TooManyRequests, RequestTimeout, NoHealthyInstance, Unauthorized, ...).")
	for _, m := range ms {
		m.errMu.Lock()
		codes := make([]string, 0, len(m.errors))
		for c := range m.errors {
			codes = append(codes, c)
		}
		m.errMu.Unlock()
		slices.Sort(codes)
		for _, c := range codes {
			fmt.Fprintf(&b, "ciel_endpoint_request_errors_total{%s,error=%s} %d\n", labels(m), quote(c), m.errorCounter(c).Load())
		}
	}
	header("ciel_endpoint_request_duration_seconds", "histogram", "Time from a request's arrival to its answer, by endpoint and deployment.")
	for _, m := range ms {
		writeHistogram(&b, m)
	}
	header("ciel_endpoint_mirrored_requests_total", "counter", "Requests copied to a mirror deployment.")
	header("ciel_deployment_worker_restarts_total", "counter", "Worker processes restarted after they exited or failed their liveness probe.")
	for _, m := range ms {
		if m.deployment == "" {
			continue
		}
		fmt.Fprintf(&b, "ciel_endpoint_mirrored_requests_total{%s} %d\n", labels(m), m.mirrored.Load())
		fmt.Fprintf(&b, "ciel_deployment_worker_restarts_total{%s} %d\n", labels(m), m.restarts.Load())
	}
	header("ciel_deployment_ready_instances", "gauge", "Worker processes taking requests.")
	header("ciel_deployment_queued_requests", "gauge", "Requests waiting for a worker.")
	for _, g := range gauges {
		l := fmt.Sprintf("endpoint=%s,deployment=%s", quote(g.endpoint), quote(g.deployment))
		fmt.Fprintf(&b, "ciel_deployment_ready_instances{%s} %d\n", l, g.ready)
		fmt.Fprintf(&b, "ciel_deployment_queued_requests{%s} %d\n", l, g.queued)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeHistogram(b *strings.Builder, m *deploymentMetrics) {
	if m.count.Load() == 0 {
		return
	}
	var cum int64
	for i := range m.buckets {
		cum += m.buckets[i].Load()
		le := "+Inf"
		if i < len(latencyBuckets) {
			le = strconv.FormatFloat(latencyBuckets[i], 'g', -1, 64)
		}
		fmt.Fprintf(b, "ciel_endpoint_request_duration_seconds_bucket{%s,le=%q} %d\n", labels(m), le, cum)
	}
	sum := float64(m.sumNanos.Load()) / float64(time.Second)
	fmt.Fprintf(b, "ciel_endpoint_request_duration_seconds_sum{%s} %s\n", labels(m), strconv.FormatFloat(sum, 'g', -1, 64))
	fmt.Fprintf(b, "ciel_endpoint_request_duration_seconds_count{%s} %d\n", labels(m), cum)
}

func labels(m *deploymentMetrics) string {
	return "endpoint=" + quote(m.endpoint) + ",deployment=" + quote(m.deployment)
}

// quote writes a label value as the exposition format wants it.
func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
	return `"` + r.Replace(s) + `"`
}
