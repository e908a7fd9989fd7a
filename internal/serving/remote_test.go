package serving

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/spec"
)

// fakePod is an instance server that answers with its name, counting
// requests, and refuses a wrong instance token.
func fakePod(t *testing.T, name string, n *atomic.Int64) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != ScorePath || r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		n.Add(1)
		w.Write([]byte(`"` + name + `"`))
	}))
	t.Cleanup(s.Close)
	return s
}

func TestRemoteRoutesToReadyPods(t *testing.T) {
	var na, nb atomic.Int64
	a, b := fakePod(t, "a", &na), fakePod(t, "b", &nb)
	d := spec.OnlineDeployment{RequestSettings: &spec.RequestSettings{MaxConcurrentRequestsPerInstance: 2}}
	p := newPool("svc", "blue", newMetricsRegistry().get("svc", "blue"))
	r := newRemote(p, settingsOf(&d), "tok", &logSink{w: &strings.Builder{}})
	p.swap(r)
	if rep := p.submit(context.Background(), []byte(`{}`)); rep.status != http.StatusServiceUnavailable {
		t.Fatalf("no pod ready: %d %s", rep.status, rep.body)
	}
	pod := func(s *httptest.Server) PodTarget { return DirectTarget(strings.TrimPrefix(s.URL, "http://")) }
	r.setPods([]PodTarget{pod(a), pod(b)})
	r.activate()
	for range 40 {
		if rep := p.submit(context.Background(), []byte(`{}`)); rep.status != 200 {
			t.Fatalf("score: %d %s", rep.status, rep.body)
		}
	}
	if na.Load() == 0 || nb.Load() == 0 {
		t.Fatalf("requests went to a %d, b %d: want both", na.Load(), nb.Load())
	}
	if got := r.instances(); len(got) != 2 || got[0].Address == "" {
		t.Fatalf("instances %+v", got)
	}

	// A pod that went away before the watch saw it: its requests are
	// retried on the other.
	b.Close()
	for range 20 {
		if rep := p.submit(context.Background(), []byte(`{}`)); rep.status != 200 {
			t.Fatalf("score with a dead pod listed: %d %s", rep.status, rep.body)
		}
	}
	r.setPods([]PodTarget{pod(a)})
	if p.ready.Load() != 1 {
		t.Fatalf("ready %d after one pod left", p.ready.Load())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r.drain(ctx)
	if p.ready.Load() != 0 {
		t.Fatalf("ready %d after drain", p.ready.Load())
	}
}

// credentialed is a transport that adds the cluster's own Authorization,
// as client-go's does for the API server.
type credentialed struct{}

func (credentialed) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer cluster-credential")
	return http.DefaultTransport.RoundTrip(req)
}

// TestRemoteThroughAPIServer: a pod reached through the API server's proxy
// gets its requests at the proxy's URL, with the cluster's credentials in
// Authorization and the instance token in its own header; an answer of the
// API server itself (the proxy forbidden) is not taken for the pod's, and
// the caller is told why.
func TestRemoteThroughAPIServer(t *testing.T) {
	const proxyPath = "/api/v1/namespaces/ml/pods/blue-1:5001/proxy"
	var scored atomic.Int64
	var forbid atomic.Bool
	apiserver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer cluster-credential" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if forbid.Load() {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","message":"pods \"blue-1\" is forbidden: cannot create resource \"pods/proxy\"","code":403}`))
			return
		}
		if r.URL.Path != proxyPath+ScorePath || r.Header.Get(InstanceTokenHeader) != "tok" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		scored.Add(1)
		w.Write([]byte(`"proxied"`))
	}))
	t.Cleanup(apiserver.Close)
	d := spec.OnlineDeployment{RequestSettings: &spec.RequestSettings{MaxConcurrentRequestsPerInstance: 1, MaxQueueWaitMS: 5000}}
	p := newPool("svc", "blue", newMetricsRegistry().get("svc", "blue"))
	r := newRemote(p, settingsOf(&d), "tok", &logSink{w: &strings.Builder{}})
	p.swap(r)
	r.setPods([]PodTarget{{Addr: "10.9.9.9:5001", URL: apiserver.URL + proxyPath, Client: &http.Client{Transport: credentialed{}}}})
	r.activate()
	rep := p.submit(context.Background(), []byte(`{}`))
	if rep.status != 200 || string(rep.body) != `"proxied"` || scored.Load() != 1 {
		t.Fatalf("through the proxy: %d %s (scored %d)", rep.status, rep.body, scored.Load())
	}
	if got := r.instances(); len(got) != 1 || got[0].Address != "10.9.9.9:5001" {
		t.Errorf("instances %+v, want the pod's own address", got)
	}
	forbid.Store(true)
	rep = p.submit(context.Background(), []byte(`{}`))
	if rep.status != http.StatusBadGateway || !strings.Contains(string(rep.body), "pods/proxy") {
		t.Errorf("proxy forbidden: %d %s; want 502 saying why", rep.status, rep.body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r.drain(ctx)
}
