package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/ciel-mlops/ciel/internal/serving"
)

// An endpoint's live numbers for the studio: a snapshot of the counters
// the scoring listener's /metrics exports, read from the same registry,
// and a stream of one sample a second computed from them; and a
// deployment's log followed as it is written.

// metricsInterval is how often the metrics stream sends a sample.
const metricsInterval = time.Second

// endpointLiveRoutes adds the metrics routes under base (the online
// endpoints' collection).
func (s *server) endpointLiveRoutes(h func(string, handlerFunc), base string) {
	h("GET "+base+"/{name}/metrics", s.endpointMetrics)
	h("GET "+base+"/{name}/metrics/stream", s.endpointMetricsStream)
}

// DeploymentCounters is one deployment's cumulative counters, as the
// Prometheus metrics of the scoring listener have them.
type DeploymentCounters struct {
	// Deployment is "" for requests that reached no deployment.
	Deployment    string  `json:"deployment"`
	RequestsTotal int64   `json:"requests_total"`
	ErrorsTotal   int64   `json:"errors_total"`
	Buckets       []int64 `json:"latency_buckets"`
	SumSeconds    float64 `json:"latency_sum_seconds"`
	Ready         int     `json:"ready_instances"`
	Queued        int     `json:"queued_requests"`
}

// EndpointMetrics answers GET .../online-endpoints/{name}/metrics.
type EndpointMetrics struct {
	Endpoint string    `json:"endpoint"`
	Time     time.Time `json:"time"`
	// Bounds are the latency buckets' upper bounds in seconds; each
	// deployment's latency_buckets has one more count, for +Inf.
	Bounds      []float64            `json:"latency_bounds_seconds"`
	Deployments []DeploymentCounters `json:"deployments"`
}

// MetricsSample is one event of the metrics stream: what each deployment
// did in the last interval.
type MetricsSample struct {
	Endpoint    string           `json:"endpoint"`
	Time        time.Time        `json:"time"`
	Seconds     float64          `json:"interval_seconds"`
	Deployments []serving.Sample `json:"deployments"`
}

// liveEndpoint checks that the endpoint of the path exists in its
// workspace and returns its name.
func (s *server) liveEndpoint(r *http.Request) (string, error) {
	if _, err := s.workspace(r); err != nil {
		return "", err
	}
	name := r.PathValue("name")
	if _, err := s.serving.GetEndpoint(r.Context(), r.PathValue("ws"), name); err != nil {
		return "", err
	}
	return name, nil
}

func (s *server) endpointMetrics(_ http.ResponseWriter, r *http.Request) (any, error) {
	name, err := s.liveEndpoint(r)
	if err != nil {
		return nil, err
	}
	out := EndpointMetrics{Endpoint: name, Time: time.Now().UTC(), Bounds: serving.LatencyBuckets(), Deployments: []DeploymentCounters{}}
	for _, c := range s.serving.EndpointCounters(name) {
		out.Deployments = append(out.Deployments, DeploymentCounters{Deployment: c.Deployment, RequestsTotal: c.Requests,
			ErrorsTotal: c.Errors, Buckets: c.Buckets, SumSeconds: c.SumSeconds, Ready: c.Ready, Queued: c.Queued})
	}
	return out, nil
}

// endpointMetricsStream sends "event: sample" with a MetricsSample every
// second (the first one a second after it opens) until the client leaves
// or the endpoint is deleted ("event: end").
func (s *server) endpointMetricsStream(w http.ResponseWriter, r *http.Request) (any, error) {
	name, err := s.liveEndpoint(r)
	if err != nil {
		return nil, err
	}
	release, err := s.eventSlot()
	if err != nil {
		return nil, err
	}
	defer release()
	// The baseline is taken before the answer's headers go out, so every
	// request a client sends once it sees them counts in a rate.
	prev := map[string]serving.Counters{}
	for _, c := range s.serving.EndpointCounters(name) {
		prev[c.Deployment] = c
	}
	last := time.Now()
	startEventStream(w)
	es := &eventWriter{w: w}
	es.raw("retry: 2000\n\n")
	es.flush()
	tick := time.NewTicker(metricsInterval)
	defer tick.Stop()
	for n := 1; es.err == nil; n++ {
		select {
		case <-r.Context().Done():
			return streamed{}, nil
		case now := <-tick.C:
			if n%5 == 0 {
				if _, err := s.serving.GetEndpoint(r.Context(), r.PathValue("ws"), name); err != nil {
					es.raw("event: end\ndata: {}\n\n")
					return streamed{}, nil
				}
			}
			sample := MetricsSample{Endpoint: name, Time: now.UTC(), Seconds: now.Sub(last).Seconds(), Deployments: []serving.Sample{}}
			cur := map[string]serving.Counters{}
			for _, c := range s.serving.EndpointCounters(name) {
				sample.Deployments = append(sample.Deployments, serving.Rate(prev[c.Deployment], c, now.Sub(last)))
				cur[c.Deployment] = c
			}
			prev, last = cur, now
			b, err := json.Marshal(sample)
			if err != nil {
				return streamed{}, err
			}
			es.raw(fmt.Sprintf("event: sample\ndata: %s\n\n", b))
			es.flush()
		}
	}
	return streamed{}, nil
}

// followDeploymentLogs streams a deployment's log as plain text as it is
// written (GET .../logs?follow=true), the last ?lines= first.
func (s *server) followDeploymentLogs(w http.ResponseWriter, r *http.Request, lines int) (any, error) {
	ws, ep, dep := r.PathValue("ws"), r.PathValue("name"), r.PathValue("dep")
	if _, err := s.serving.GetDeployment(r.Context(), ws, ep, dep); err != nil {
		return nil, err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	flush := func() {
		if fl != nil {
			fl.Flush()
		}
	}
	if err := s.serving.FollowDeploymentLogs(r.Context(), ws, ep, dep, lines, w, flush); err != nil {
		s.log.Debug("deployment log stream ended", "deployment", dep, "err", err)
	}
	return streamed{}, nil
}
