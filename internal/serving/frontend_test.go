package serving

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/ciel-mlops/ciel/internal/spec"
)

// frontBundle is a front end serving endpoint "ep" with deployments blue
// (all the traffic) and green (none), keyed "k1"/"k2".
type frontBundle struct {
	url string
	fe  *frontEnd
}

func startFront(t *testing.T) frontBundle {
	t.Helper()
	return startFrontLogging(t, slog.New(slog.DiscardHandler))
}

// startFrontLogging is startFront with the front end's access log on log.
func startFrontLogging(t *testing.T, log *slog.Logger) frontBundle {
	t.Helper()
	metrics := newMetricsRegistry()
	fe := newFrontEnd(metrics, log)
	ep := &liveEndpoint{ws: "ws", name: "ep", pools: map[string]*pool{}, metrics: metrics.get("ep", "")}
	for _, name := range []string{"blue", "green"} {
		b := startPool(t, testSettings(1))
		b.pool.name, b.pool.metrics = name, metrics.get("ep", name)
		ep.pools[name] = b.pool
	}
	ep.auth.Store(authOf(Endpoint{AuthMode: spec.AuthKey, PrimaryKey: "k1", SecondaryKey: "k2"}))
	ep.routes.Store(newRouteTable(map[string]int{"blue": 100}, nil, ep.pools))
	fe.setEndpoint("ep", ep)
	srv := httptest.NewServer(fe)
	t.Cleanup(srv.Close)
	return frontBundle{url: srv.URL, fe: fe}
}

func (b frontBundle) post(t *testing.T, path, key string, headers map[string]string, body string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.url+path, strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp, string(out)
}

// syncBuffer is a bytes.Buffer the server's goroutines and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Every scoring request leaves one access-log line saying who asked for
// what and how it went, and no source position: through the Logger, or
// written by the front end itself to the server's AccessLog.
func TestFrontEndAccessLog(t *testing.T) {
	t.Parallel()
	for _, own := range []bool{false, true} {
		var buf syncBuffer
		log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{AddSource: true}))
		if own {
			log = slog.New(slog.DiscardHandler)
		}
		b := startFrontLogging(t, log)
		if own {
			b.fe.lines = newAccessWriter(&buf)
		}
		resp, _ := b.post(t, "/endpoints/ep/score", "k1", map[string]string{"x-request-id": "req-42"}, `{"x":1}`)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		b.post(t, "/endpoints/ep/score", "wrong", nil, `{"x":1}`)
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		if len(lines) != 2 {
			t.Fatalf("own writer %v: want 2 access-log lines, got:\n%s", own, buf.String())
		}
		for _, want := range []string{"level=INFO", "msg=score", "request_id=req-42", "endpoint=ep", "deployment=blue", "status=200", "error=\"\"", "instance=", "ms=", "bytes=", "remote=127.0.0.1:"} {
			if !strings.Contains(lines[0], want) {
				t.Errorf("own writer %v: line lacks %q: %s", own, want, lines[0])
			}
		}
		if !strings.HasPrefix(lines[0], "time=") || strings.Contains(lines[0], "source=") {
			t.Errorf("own writer %v: want a time and no source position: %s", own, lines[0])
		}
		if !strings.Contains(lines[1], "status=401") || !strings.Contains(lines[1], "error=Unauthorized") || !strings.Contains(lines[1], "deployment=\"\"") {
			t.Errorf("own writer %v: refused request's line: %s", own, lines[1])
		}
	}
}

func TestFrontEndAnswers(t *testing.T) {
	t.Parallel()
	b := startFront(t)
	tests := []struct {
		name       string
		path, key  string
		headers    map[string]string
		status     int
		deployment string
		body       string
	}{
		{name: "scored", path: "/endpoints/ep/score", key: "k1", status: 200, deployment: "blue", body: `{"x":1}`},
		{name: "secondary key", path: "/endpoints/ep/score", key: "k2", status: 200, deployment: "blue", body: `{"x":1}`},
		{name: "no key", path: "/endpoints/ep/score", status: 401, body: `"code":"Unauthorized"`},
		{name: "wrong key", path: "/endpoints/ep/score", key: "nope", status: 401, body: `"code":"Unauthorized"`},
		{name: "unknown endpoint", path: "/endpoints/other/score", key: "k1", status: 404, body: `"code":"EndpointNotFound"`},
		{name: "by header", path: "/endpoints/ep/score", key: "k1", headers: map[string]string{"azureml-model-deployment": "green"},
			status: 200, deployment: "green", body: `{"x":1}`},
		{name: "unknown deployment", path: "/endpoints/ep/score", key: "k1", headers: map[string]string{"azureml-model-deployment": "red"},
			status: 404, body: `"code":"DeploymentNotFound"`},
		{name: "user error", path: "/endpoints/ep/score", key: "k1", status: 500, deployment: "blue", body: "run() raised"},
		{name: "no route", path: "/nothing", key: "k1", status: 404, body: `"code":"NotFound"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload := `{"x":1}`
			if tt.name == "user error" {
				payload = "error"
			}
			resp, body := b.post(t, tt.path, tt.key, tt.headers, payload)
			if resp.StatusCode != tt.status || !strings.Contains(body, tt.body) {
				t.Fatalf("got %d %s, want %d containing %s", resp.StatusCode, body, tt.status, tt.body)
			}
			if got := resp.Header.Get("azureml-model-deployment"); got != tt.deployment {
				t.Errorf("azureml-model-deployment = %q, want %q", got, tt.deployment)
			}
			if resp.Header.Get("x-request-id") == "" || resp.Header.Get("x-ms-request-id") != resp.Header.Get("x-request-id") {
				t.Errorf("request ids: %v", resp.Header)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}

func TestFrontEndKeepsCallersRequestID(t *testing.T) {
	t.Parallel()
	b := startFront(t)
	resp, _ := b.post(t, "/endpoints/ep/score", "k1", map[string]string{"x-request-id": "abc-123", "x-ms-client-request-id": "c1"}, "{}")
	if resp.Header.Get("x-request-id") != "abc-123" || resp.Header.Get("x-ms-client-request-id") != "c1" {
		t.Fatalf("ids not kept: %v", resp.Header)
	}
}

func TestFrontEndNoTraffic(t *testing.T) {
	t.Parallel()
	b := startFront(t)
	ep := b.fe.endpoint("ep")
	ep.routes.Store(newRouteTable(nil, nil, ep.pools))
	resp, body := b.post(t, "/endpoints/ep/score", "k1", nil, "{}")
	if resp.StatusCode != 503 || !strings.Contains(body, "NoTraffic") {
		t.Fatalf("got %d %s, want 503 NoTraffic", resp.StatusCode, body)
	}
}

func TestMetricsExposition(t *testing.T) {
	t.Parallel()
	b := startFront(t)
	b.post(t, "/endpoints/ep/score", "k1", nil, "{}")
	b.post(t, "/endpoints/ep/score", "bad", nil, "{}")
	resp, err := http.Get(b.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`ciel_endpoint_requests_total{endpoint="ep",deployment="blue",code="200"} 1`,
		`ciel_endpoint_requests_total{endpoint="ep",deployment="",code="401"} 1`,
		`ciel_endpoint_request_errors_total{endpoint="ep",deployment="",error="Unauthorized"} 1`,
		`ciel_endpoint_request_duration_seconds_count{endpoint="ep",deployment="blue"} 1`,
		`ciel_endpoint_request_duration_seconds_bucket{endpoint="ep",deployment="blue",le="+Inf"} 1`,
		`ciel_deployment_ready_instances{endpoint="ep",deployment="blue"} 1`,
		"# TYPE ciel_endpoint_request_duration_seconds histogram",
	} {
		if !strings.Contains(string(text), want) {
			t.Errorf("metrics lack %s\n%s", want, text)
		}
	}
}

// BenchmarkFrontEnd measures the front end's cost per request, with fake
// workers that answer at once: what ciel adds to a model's own time.
func BenchmarkFrontEnd(b *testing.B) {
	metrics := newMetricsRegistry()
	logf, err := os.Create(b.TempDir() + "/server.log")
	if err != nil {
		b.Fatal(err)
	}
	defer logf.Close()
	fe := newFrontEnd(metrics, slog.New(slog.NewTextHandler(logf, nil)))
	ep := &liveEndpoint{ws: "ws", name: "ep", pools: map[string]*pool{}, metrics: metrics.get("ep", "")}
	s := testSettings(2)
	s.concurrency = 4
	bundle := startPool(b, s)
	ep.pools["blue"] = bundle.pool
	ep.auth.Store(authOf(Endpoint{AuthMode: spec.AuthKey, PrimaryKey: "k1"}))
	ep.routes.Store(newRouteTable(map[string]int{"blue": 100}, nil, ep.pools))
	fe.setEndpoint("ep", ep)
	body := `{"data":[[1,2,3,4,5,6,7,8,9,10]]}`
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, "/endpoints/ep/score", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer k1")
			w := httptest.NewRecorder()
			fe.ServeHTTP(w, req)
			if w.Code != 200 {
				b.Fatalf("status %d", w.Code)
			}
		}
	})
}
