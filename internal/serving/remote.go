package serving

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
)

// maxReplyBody bounds what a pod may answer.
const maxReplyBody = 64 << 20

// unreachablePause is how long the forwarders of a pod that did not answer
// wait before they take another call: the watch usually drops the pod
// before then.
const unreachablePause = 500 * time.Millisecond

// remote serves a pool's calls from a deployment's pods on a Kubernetes
// cluster: for each ready pod, as many forwarders as a pod takes
// concurrent requests, each taking a call from the pool's queue and posting
// it to the pod. The pool keeps its queue, timeouts and 429s, so a
// deployment behaves alike on the server's processes and on a cluster.
type remote struct {
	pool     *pool
	settings settings
	token    string
	logs     *logSink
	client   *http.Client

	active   chan struct{}
	stopping chan struct{}
	once     sync.Once
	ctx      context.Context // ends when drained: the watch and posts stop
	cancel   context.CancelFunc
	wg       sync.WaitGroup

	mu    sync.Mutex
	pods  map[string]*podForwarders // by address
	addrs []string                  // sorted: an instance's index
	first chan struct{}             // closed when the first pod is ready
}

// podForwarders are the forwarders of one pod.
type podForwarders struct {
	target     PodTarget
	stop       chan struct{}
	pauseUntil time.Time // guarded by remote.mu
}

func newRemote(p *pool, s settings, token string, logs *logSink) *remote {
	ctx, cancel := context.WithCancel(context.Background())
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 3 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: s.concurrency + 2, IdleConnTimeout: 90 * time.Second,
		ResponseHeaderTimeout: s.requestTimeout + 5*time.Second,
	}
	return &remote{pool: p, settings: s, token: token, logs: logs, client: &http.Client{Transport: tr},
		active: make(chan struct{}), stopping: make(chan struct{}), ctx: ctx, cancel: cancel,
		pods: map[string]*podForwarders{}, first: make(chan struct{})}
}

func (r *remote) config() settings { return r.settings }

func (r *remote) home() *pool { return r.pool }

func (r *remote) activate() {
	select {
	case <-r.active:
	default:
		close(r.active)
	}
}

// instances lists the ready pods.
func (r *remote) instances() []Instance {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Instance, 0, len(r.addrs))
	for i, a := range r.addrs {
		out = append(out, Instance{Index: i, Address: a, State: "Running"})
	}
	return out
}

// waitFirst waits until a pod is ready or ctx ends.
func (r *remote) waitFirst(ctx context.Context) error {
	select {
	case <-r.first:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// setPods starts forwarders for pods that became ready (or are now reached
// another way) and stops those of pods that are not any more.
func (r *remote) setPods(pods []PodTarget) {
	byAddr := make(map[string]PodTarget, len(pods))
	for _, p := range pods {
		byAddr[p.Addr] = p
	}
	addrs := slices.Sorted(maps.Keys(byAddr))
	r.mu.Lock()
	defer r.mu.Unlock()
	select {
	case <-r.stopping:
		return
	default:
	}
	for _, a := range addrs {
		t := byAddr[a]
		if pf := r.pods[a]; pf != nil {
			if pf.target.URL == t.URL && pf.target.Client == t.Client {
				continue
			}
			close(pf.stop) // reached another way now: new forwarders
			r.pool.ready.Add(-1)
		}
		pf := &podForwarders{target: t, stop: make(chan struct{})}
		r.pods[a] = pf
		r.pool.ready.Add(1)
		for range r.settings.concurrency {
			r.wg.Add(1)
			go r.forward(pf)
		}
	}
	for a, pf := range r.pods {
		if _, ok := byAddr[a]; !ok {
			close(pf.stop)
			delete(r.pods, a)
			r.pool.ready.Add(-1)
		}
	}
	if !slices.Equal(r.addrs, addrs) {
		proxied := 0
		for _, p := range byAddr {
			if p.Client != nil {
				proxied++
			}
		}
		via := ""
		if proxied > 0 {
			via = fmt.Sprintf(" (%d through the API server's proxy: this server cannot reach the pods' addresses, or endpoint_route says so)", proxied)
		}
		r.logs.printf("[ciel] ready instances: %d %v%s", len(addrs), addrs, via)
	}
	r.addrs = addrs
	if len(addrs) > 0 {
		select {
		case <-r.first:
		default:
			close(r.first)
		}
	}
}

// forward takes calls for one pod until it or the runner stops.
func (r *remote) forward(pf *podForwarders) {
	defer r.wg.Done()
	select {
	case <-r.active:
	case <-pf.stop:
		return
	}
	for {
		if wait := r.pauseLeft(pf); wait > 0 {
			select {
			case <-time.After(wait):
			case <-pf.stop:
				return
			}
		}
		var c *call
		select {
		case c = <-r.pool.queue:
		case <-pf.stop:
			return
		}
		if !c.take() {
			continue
		}
		// Another forwarder of this pod failed while this one waited:
		// the call goes to another pod, its retry unspent.
		if r.pauseLeft(pf) > 0 && r.pool.giveBack(c) {
			continue
		}
		rep, err := r.post(pf.target, c.body)
		if err != nil {
			r.pause(pf)
			if r.pool.requeue(c) {
				continue
			}
			rep = errorReply(http.StatusBadGateway, "InstanceUnreachable",
				fmt.Sprintf("instance %s of deployment %s did not answer: %v", pf.target.Addr, r.pool.name, err))
		}
		c.done <- rep
	}
}

func (r *remote) pauseLeft(pf *podForwarders) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return time.Until(pf.pauseUntil)
}

func (r *remote) pause(pf *podForwarders) {
	r.mu.Lock()
	pf.pauseUntil = time.Now().Add(unreachablePause)
	r.mu.Unlock()
}

// post sends one request to a pod; an error means the pod gave no answer.
func (r *remote) post(t PodTarget, body []byte) (reply, error) {
	ctx, cancel := context.WithTimeout(r.ctx, r.settings.requestTimeout+2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL+ScorePath, bytes.NewReader(body))
	if err != nil {
		return reply{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	client := r.client
	if t.Client != nil {
		client = t.Client
		req.Header.Set(InstanceTokenHeader, r.token)
	} else {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxReplyBody+1))
	if err != nil {
		return reply{}, err
	}
	if len(b) > maxReplyBody {
		return errorReply(http.StatusBadGateway, "ReplyTooLarge", "the deployment's answer is larger than 64 MiB"), nil
	}
	if t.Client != nil && resp.StatusCode >= 400 {
		if msg, ok := apiServerStatus(b); ok {
			return reply{}, fmt.Errorf("the API server's proxy to the pod: %s", msg)
		}
	}
	rep := reply{status: resp.StatusCode, body: b, instance: r.index(t.Addr)}
	if resp.StatusCode == http.StatusUnauthorized {
		return reply{}, errors.New("the pod refused the instance token")
	}
	return rep, nil
}

// apiServerStatus reads an answer of the API server itself (a Status
// object: the proxy forbidden, the pod unreachable) rather than of the pod
// behind it, and returns its message.
func apiServerStatus(b []byte) (string, bool) {
	var st struct {
		Kind, APIVersion, Message string
	}
	if json.Unmarshal(b, &st) != nil || st.Kind != "Status" || st.APIVersion != "v1" {
		return "", false
	}
	return st.Message, true
}

// index is a pod's place among the ready ones, for the access log.
func (r *remote) index(addr string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Index(r.addrs, addr)
}

// drain stops the forwarders once the calls they hold are answered, and the
// watch. The pods keep running: they are the cluster's, and other server
// replicas route to them.
func (r *remote) drain(ctx context.Context) {
	r.once.Do(func() {
		r.mu.Lock()
		close(r.stopping)
		for a, pf := range r.pods {
			close(pf.stop)
			delete(r.pods, a)
			r.pool.ready.Add(-1)
		}
		r.mu.Unlock()
	})
	done := make(chan struct{})
	go func() {
		r.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
	r.cancel()
	<-done
	r.client.CloseIdleConnections()
}
