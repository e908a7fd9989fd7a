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
	addr := func(s *httptest.Server) string { return strings.TrimPrefix(s.URL, "http://") }
	r.setAddrs([]string{addr(a), addr(b)})
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
	r.setAddrs([]string{addr(a)})
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
