package kube

import (
	"context"
	"net"
	"net/http"
	"sync/atomic"
	"testing"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/ciel-mlops/ciel/internal/serving"
	"github.com/ciel-mlops/ciel/internal/spec"
)

// TestRouterTargets: endpoint_route pod reaches every pod at its address,
// apiserver every pod through the API server's proxy (its URL and client),
// and auto a pod at its address when that takes a connection and through
// the proxy when not, trying each address once.
func TestRouterTargets(t *testing.T) {
	cs, err := kubernetes.NewForConfig(&rest.Config{Host: "https://api.example:6443"})
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{}
	open, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()
	pods := []readyPod{{addr: open.Addr().String(), pod: "blue-1"}, {addr: closedAddr, pod: "blue-2"}, {addr: "10.0.0.9:5001"}}
	_, closedPort, _ := net.SplitHostPort(closedAddr)
	proxy := func(pod, port string) serving.PodTarget {
		return serving.PodTarget{URL: "https://api.example:6443/api/v1/namespaces/ml/pods/" + pod + ":" + port + "/proxy", Client: hc}
	}
	_, openPort, _ := net.SplitHostPort(open.Addr().String())
	for _, tc := range []struct {
		route string
		want  []serving.PodTarget
	}{
		{spec.RoutePod, []serving.PodTarget{serving.DirectTarget(pods[0].addr), serving.DirectTarget(closedAddr), serving.DirectTarget("10.0.0.9:5001")}},
		{spec.RouteAPIServer, []serving.PodTarget{proxy("blue-1", openPort), proxy("blue-2", closedPort), serving.DirectTarget("10.0.0.9:5001")}},
		{"", []serving.PodTarget{serving.DirectTarget(pods[0].addr), proxy("blue-2", closedPort), serving.DirectTarget("10.0.0.9:5001")}},
	} {
		var dials atomic.Int64
		r := &router{route: tc.route, ns: "ml", cs: cs, hc: hc, reach: map[string]bool{},
			dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
				dials.Add(1)
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			}}
		for range 2 {
			got := r.targets(context.Background(), pods)
			if len(got) != len(tc.want) {
				t.Fatalf("route %q: %d targets, want %d", tc.route, len(got), len(tc.want))
			}
			for i, g := range got {
				w := tc.want[i]
				if w.Addr == "" {
					w.Addr = pods[i].addr
				}
				if g.Addr != w.Addr || g.URL != w.URL || g.Client != w.Client {
					t.Errorf("route %q, pod %s: %+v, want %+v", tc.route, pods[i].addr, g, w)
				}
			}
		}
		if want := map[string]int64{"": 2}[tc.route]; dials.Load() != want {
			t.Errorf("route %q: %d connection attempts over two updates, want %d", tc.route, dials.Load(), want)
		}
	}
}
