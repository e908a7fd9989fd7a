package serving

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ciel-mlops/ciel/internal/spec"
)

// Azure ML's defaults for request settings and probes.
const (
	defaultRequestTimeout = 5 * time.Second
	defaultQueueWait      = 500 * time.Millisecond
	defaultConcurrency    = 1
	defaultProbeDelay     = 10
	defaultProbePeriod    = 10
	defaultProbeTimeout   = 2
	defaultProbeSuccesses = 1
	defaultProbeFailures  = 30
)

// queueCapacity bounds the requests waiting for one deployment's workers;
// more are refused with 429 at once.
const queueCapacity = 4096

// probe is a liveness or readiness probe with defaults applied.
type probe struct {
	delay, period, timeout time.Duration
	successes, failures    int
}

// settings are a deployment's serving parameters with defaults applied.
type settings struct {
	instances      int
	requestTimeout time.Duration
	queueWait      time.Duration
	concurrency    int
	batchMax       int
	batchWait      time.Duration
	liveness       probe
	readiness      probe
}

// settingsOf reads a deployment's settings, filling Azure ML's defaults.
func settingsOf(d *spec.OnlineDeployment) settings {
	s := settings{
		instances: max(d.InstanceCount, 1), requestTimeout: defaultRequestTimeout, queueWait: defaultQueueWait,
		concurrency: defaultConcurrency, batchMax: max(d.MaxBatchSize, 1),
		batchWait: time.Duration(d.MaxBatchWaitMS) * time.Millisecond,
		liveness:  probeOf(d.LivenessProbe), readiness: probeOf(d.ReadinessProbe),
	}
	if r := d.RequestSettings; r != nil {
		if r.RequestTimeoutMS > 0 {
			s.requestTimeout = time.Duration(r.RequestTimeoutMS) * time.Millisecond
		}
		if r.MaxQueueWaitMS > 0 {
			s.queueWait = time.Duration(r.MaxQueueWaitMS) * time.Millisecond
		}
		if r.MaxConcurrentRequestsPerInstance > 0 {
			s.concurrency = r.MaxConcurrentRequestsPerInstance
		}
	}
	return s
}

func probeOf(p *spec.ProbeSettings) probe {
	sec := func(v, def int) time.Duration {
		if v <= 0 {
			v = def
		}
		return time.Duration(v) * time.Second
	}
	out := probe{delay: sec(0, defaultProbeDelay), period: sec(0, defaultProbePeriod), timeout: sec(0, defaultProbeTimeout),
		successes: defaultProbeSuccesses, failures: defaultProbeFailures}
	if p == nil {
		return out
	}
	out.delay, out.period, out.timeout = sec(p.InitialDelay, defaultProbeDelay), sec(p.Period, defaultProbePeriod), sec(p.Timeout, defaultProbeTimeout)
	if p.SuccessThreshold > 0 {
		out.successes = p.SuccessThreshold
	}
	if p.FailureThreshold > 0 {
		out.failures = p.FailureThreshold
	}
	return out
}

// Call states: a call moves from pending to exactly one of taken (a worker
// scores it) or abandoned (its caller stopped waiting), so a request that
// timed out in the queue is never scored. A call whose worker died may go
// back from taken to pending once, to be retried.
const (
	callPending int32 = iota
	callTaken
	callAbandoned
)

// call is one scoring request on its way through a deployment.
type call struct {
	body    []byte
	arrived time.Time
	state   atomic.Int32
	takenAt atomic.Int64 // unix nanoseconds; 0 while pending
	retried bool         // touched only by the worker that holds the call
	done    chan reply   // buffered 1: a worker never blocks on a caller
}

func newCall(body []byte) *call {
	return &call{body: body, arrived: time.Now(), done: make(chan reply, 1)}
}

// take claims a pending call for a worker.
func (c *call) take() bool {
	c.takenAt.Store(time.Now().UnixNano())
	return c.state.CompareAndSwap(callPending, callTaken)
}

// reply is a call's answer: the worker's, or one the front end made.
type reply struct {
	status int
	body   []byte
	// code labels front-end errors in metrics and logs ("" for a worker's
	// answer).
	code     string
	instance int
}

// errorReply is a reply the front end writes itself, in the API's JSON
// error shape.
func errorReply(status int, code, msg string) reply {
	var b struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	b.Error.Code, b.Error.Message = code, msg
	body, _ := json.Marshal(b)
	return reply{status: status, body: body, code: code, instance: -1}
}

// pool is one deployment's queue and the workers that pull from it. The
// queue outlives generations of workers, so an update that replaces the
// workers loses no request.
type pool struct {
	endpoint, name string
	queue          chan *call
	metrics        *deploymentMetrics

	// ready counts workers that are ready to pull calls.
	ready atomic.Int32
	// version is the UpdatedAt of the stored deployment its runner runs,
	// guarded by the Manager's mutex; added is when it was made.
	version, added time.Time

	mu       sync.Mutex
	settings settings
	current  runner // serving now; nil before the first is up
}

// runner serves a pool's calls between two updates: a generation of local
// worker processes, or the pods of a deployment on a Kubernetes cluster.
type runner interface {
	// activate lets it take calls.
	activate()
	// drain stops it taking calls and waits for the ones it holds, until
	// ctx ends.
	drain(ctx context.Context)
	// config is the settings it runs with.
	config() settings
	// instances are its instances as they run now.
	instances() []Instance
	// home is the pool whose calls it takes.
	home() *pool
}

func newPool(endpoint, name string, m *deploymentMetrics) *pool {
	return &pool{endpoint: endpoint, name: name, queue: make(chan *call, queueCapacity), metrics: m, added: time.Now()}
}

// timing returns the queue wait and request timeout in force.
func (p *pool) timing() (queueWait, timeout time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.settings.queueWait, p.settings.requestTimeout
}

// submit queues body for the pool's workers and waits for the answer, the
// queue wait (429, or 503 when no worker is ready), the request timeout
// (408) or the end of ctx.
func (p *pool) submit(ctx context.Context, body []byte) reply {
	if p.ready.Load() == 0 {
		return errorReply(http.StatusServiceUnavailable, "NoHealthyInstance",
			"deployment "+p.name+" has no ready instance; see ciel online-deployment get-logs --name "+p.name+" --endpoint-name "+p.endpoint)
	}
	c := newCall(body)
	select {
	case p.queue <- c:
	default:
		return errorReply(http.StatusTooManyRequests, "TooManyRequests", "deployment "+p.name+" has too many requests waiting")
	}
	queueWait, timeout := p.timing()
	return p.await(ctx, c, queueWait, timeout)
}

// await waits for c's reply, enforcing the queue wait while it is pending
// and the request timeout once a worker took it.
func (p *pool) await(ctx context.Context, c *call, queueWait, timeout time.Duration) reply {
	timer := time.NewTimer(min(queueWait, timeout))
	defer timer.Stop()
	for {
		select {
		case r := <-c.done:
			return r
		case <-ctx.Done():
			c.state.CompareAndSwap(callPending, callAbandoned)
			return errorReply(499, "ClientClosedRequest", "the client went away")
		case <-timer.C:
		}
		now := time.Now()
		if taken := c.takenAt.Load(); taken != 0 && c.state.Load() == callTaken {
			left := time.Duration(taken + int64(timeout) - now.UnixNano())
			if left <= 0 {
				return errorReply(http.StatusRequestTimeout, "RequestTimeout",
					"the deployment did not answer within request_timeout_ms ("+timeout.String()+")")
			}
			timer.Reset(left)
			continue
		}
		waited := now.Sub(c.arrived)
		if waited < queueWait {
			timer.Reset(queueWait - waited)
			continue
		}
		if c.state.CompareAndSwap(callPending, callAbandoned) {
			if p.ready.Load() == 0 {
				return errorReply(http.StatusServiceUnavailable, "NoHealthyInstance", "deployment "+p.name+" has no ready instance")
			}
			return errorReply(http.StatusTooManyRequests, "TooManyRequests",
				"the request waited max_queue_wait_ms ("+queueWait.String()+") for a free instance of deployment "+p.name)
		}
		timer.Reset(time.Millisecond) // taken just now: look again
	}
}

// requeue puts a call whose worker died back in the queue, once. It
// reports false when the call cannot be retried.
func (p *pool) requeue(c *call) bool {
	if c.retried {
		return false
	}
	c.retried = true // before it is in the queue, where another takes it
	if !p.giveBack(c) {
		c.retried = false
		return false
	}
	return true
}

// giveBack puts back a call taken by a worker that cannot send it now (a
// pod that just failed), without spending the call's one retry. It
// reports false when the call cannot go back.
func (p *pool) giveBack(c *call) bool {
	if !c.state.CompareAndSwap(callTaken, callPending) {
		return false
	}
	c.takenAt.Store(0)
	select {
	case p.queue <- c:
		return true
	default:
		c.state.CompareAndSwap(callPending, callTaken)
		return false
	}
}

// swap makes r the pool's serving runner with its settings and returns the
// one it replaces.
func (p *pool) swap(r runner) runner {
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.current
	p.current, p.settings = r, r.config()
	return old
}

// running returns the serving runner, or nil.
func (p *pool) running() runner {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.current
}

// Effective are a deployment's request settings and probes with Azure ML's
// defaults filled in, in the units the YAML uses.
type Effective struct {
	RequestTimeoutMS                 int
	MaxConcurrentRequestsPerInstance int
	MaxQueueWaitMS                   int
	Liveness, Readiness              ProbeView
}

// ProbeView is a probe's settings in seconds and counts.
type ProbeView struct {
	InitialDelay, Period, Timeout      int
	SuccessThreshold, FailureThreshold int
}

// EffectiveSettings returns the settings a deployment runs with.
func EffectiveSettings(d *spec.OnlineDeployment) Effective {
	s := settingsOf(d)
	pv := func(p probe) ProbeView {
		return ProbeView{InitialDelay: int(p.delay / time.Second), Period: int(p.period / time.Second),
			Timeout: int(p.timeout / time.Second), SuccessThreshold: p.successes, FailureThreshold: p.failures}
	}
	return Effective{
		RequestTimeoutMS: int(s.requestTimeout / time.Millisecond), MaxConcurrentRequestsPerInstance: s.concurrency,
		MaxQueueWaitMS: int(s.queueWait / time.Millisecond), Liveness: pv(s.liveness), Readiness: pv(s.readiness),
	}
}
