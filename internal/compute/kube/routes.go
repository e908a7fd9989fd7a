package kube

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/ciel-mlops/ciel/internal/serving"
	"github.com/ciel-mlops/ciel/internal/spec"
)

// probeTimeout bounds the connection by which endpoint_route auto tells
// whether this server is on the pods' network.
const probeTimeout = 2 * time.Second

// router says how the front end reaches each ready pod of a deployment:
// at its address, or through the API server's proxy to it (a server off
// the pods' network: a laptop or a VM outside an AKS, EKS or GKE cluster's
// overlay network).
type router struct {
	route string // spec.Route*
	ns    string
	cs    kubernetes.Interface
	hc    *http.Client
	dial  func(ctx context.Context, network, addr string) (net.Conn, error)

	mu    sync.Mutex
	reach map[string]bool // auto: whether a pod's address took a connection
}

func (d *deployer) router() *router {
	return &router{route: d.x.k.EndpointRoute, ns: d.x.k.Namespace, cs: d.x.cs, hc: d.x.hc,
		dial: (&net.Dialer{Timeout: probeTimeout}).DialContext, reach: map[string]bool{}}
}

// targets are pods as the front end reaches them. A pod whose endpoint
// names no pod (a hand-made EndpointSlice) can only be reached at its
// address.
func (r *router) targets(ctx context.Context, pods []readyPod) []serving.PodTarget {
	direct := r.direct(ctx, pods)
	out := make([]serving.PodTarget, 0, len(pods))
	for _, p := range pods {
		if direct[p.addr] || p.pod == "" || r.hc == nil {
			out = append(out, serving.DirectTarget(p.addr))
			continue
		}
		out = append(out, serving.PodTarget{Addr: p.addr, URL: r.proxyURL(p), Client: r.hc})
	}
	return out
}

// direct says which pods are reached at their address: all with route pod,
// none with apiserver, and with auto those whose address took a connection
// (tried once per address, at once for the new ones).
func (r *router) direct(ctx context.Context, pods []readyPod) map[string]bool {
	out := make(map[string]bool, len(pods))
	switch r.route {
	case spec.RoutePod:
		for _, p := range pods {
			out[p.addr] = true
		}
		return out
	case spec.RouteAPIServer:
		return out
	}
	var wg sync.WaitGroup
	for _, p := range pods {
		if p.pod == "" {
			continue // reached at its address whatever the probe says
		}
		r.mu.Lock()
		_, seen := r.reach[p.addr]
		r.mu.Unlock()
		if seen {
			continue
		}
		wg.Go(func() {
			pctx, cancel := context.WithTimeout(ctx, probeTimeout)
			defer cancel()
			c, err := r.dial(pctx, "tcp", p.addr)
			if err == nil {
				c.Close()
			}
			r.mu.Lock()
			r.reach[p.addr] = err == nil
			r.mu.Unlock()
		})
	}
	wg.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range pods {
		out[p.addr] = r.reach[p.addr]
	}
	for a := range r.reach {
		if _, ok := out[a]; !ok {
			delete(r.reach, a) // gone: rollouts would otherwise pile up addresses
		}
	}
	return out
}

// proxyURL is the API server's proxy to pod p's instance port.
func (r *router) proxyURL(p readyPod) string {
	_, port, _ := net.SplitHostPort(p.addr)
	u := r.cs.CoreV1().RESTClient().Post().Namespace(r.ns).Resource("pods").Name(p.pod + ":" + port).SubResource("proxy").URL()
	return strings.TrimSuffix(u.String(), "/")
}
