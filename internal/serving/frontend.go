package serving

import (
	"context"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ciel-mlops/ciel/internal/guard"
)

// maxRequestBody bounds a scoring request's body.
const maxRequestBody = 64 << 20

// The headers the scoring path reads and writes, in net/http's canonical
// form: every request reads or sets each, and indexing the map with the
// canonical key skips canonicalising it again each time.
const (
	hdrRequestID       = "X-Request-Id"
	hdrMSRequestID     = "X-Ms-Request-Id"
	hdrClientRequestID = "X-Ms-Client-Request-Id"
	hdrDeployment      = "Azureml-Model-Deployment"
	hdrAuthorization   = "Authorization"
	hdrContentType     = "Content-Type"
)

// jsonContentType is every reply's Content-Type value; net/http only reads
// a header's values, so the replies share the one slice.
var jsonContentType = []string{"application/json"}

// header is h.Get for a key already in canonical form.
func header(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// setRequestID sets both request-id headers Azure ML answers with.
func setRequestID(h http.Header, id string) {
	ids := []string{id}
	h[hdrRequestID], h[hdrMSRequestID] = ids, ids
}

// liveEndpoint is an endpoint as the front end sees it. The fields the
// request path reads are atomics swapped whole, so a request never waits
// for a change.
type liveEndpoint struct {
	ws, name string
	auth     atomic.Pointer[auth]
	routes   atomic.Pointer[routeTable]
	counter  atomic.Uint64
	metrics  *deploymentMetrics // requests that reached no deployment

	// pools are the endpoint's deployments that serve, guarded by the
	// Manager's mutex; routes is rebuilt from it.
	pools map[string]*pool
	// added is when it went live and version the UpdatedAt of the stored
	// endpoint its routes and keys come from, both guarded by the
	// Manager's mutex: a sync that read the store before a change here
	// undoes nothing.
	added, version time.Time
}

// frontEnd is the HTTP handler of the scoring listener: every endpoint's
// /endpoints/<name>/score, and /metrics.
type frontEnd struct {
	endpoints atomic.Pointer[map[string]*liveEndpoint]
	metrics   *metricsRegistry
	log       *slog.Logger
	mirrors   sync.WaitGroup
	mux       *http.ServeMux
	// metricsToken, when set, is the bearer token /metrics requires: the
	// metrics name every endpoint and deployment and their traffic.
	metricsToken string
	// lines, when set, writes the access log instead of log.
	lines *accessWriter
}

func newFrontEnd(metrics *metricsRegistry, log *slog.Logger) *frontEnd {
	f := &frontEnd{metrics: metrics, log: log, mux: http.NewServeMux()}
	empty := map[string]*liveEndpoint{}
	f.endpoints.Store(&empty)
	f.mux.HandleFunc("POST /endpoints/{name}/score", f.score)
	f.mux.HandleFunc("GET /metrics", f.serveMetrics)
	f.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		writeReply(w, reply{status: http.StatusOK, body: []byte(`{"status":"Healthy"}`)})
	})
	f.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		setRequestID(w.Header(), requestID(r))
		writeReply(w, errorReply(http.StatusNotFound, "NotFound",
			"no such scoring route "+r.Method+" "+r.URL.Path+"; score with POST /endpoints/<name>/score"))
	})
	return f
}

// ServeHTTP serves the scoring listener's routes.
func (f *frontEnd) ServeHTTP(w http.ResponseWriter, r *http.Request) { f.mux.ServeHTTP(w, r) }

// endpoint returns the live endpoint of a name, or nil.
func (f *frontEnd) endpoint(name string) *liveEndpoint {
	return (*f.endpoints.Load())[name]
}

// setEndpoint adds or (with nil) removes an endpoint. Callers serialize
// changes (the Manager's mutex).
func (f *frontEnd) setEndpoint(name string, e *liveEndpoint) {
	old := *f.endpoints.Load()
	next := make(map[string]*liveEndpoint, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	if e == nil {
		delete(next, name)
	} else {
		next[name] = e
	}
	f.endpoints.Store(&next)
}

// score authenticates, routes and answers one scoring request.
func (f *frontEnd) score(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := requestID(r)
	h := w.Header()
	setRequestID(h, id)
	if c := header(r.Header, hdrClientRequestID); c != "" && len(c) <= 128 {
		h[hdrClientRequestID] = []string{c}
	}
	name := r.PathValue("name")
	ep := f.endpoint(name)
	if ep == nil {
		f.finish(w, r, id, nil, nil, start, errorReply(http.StatusNotFound, "EndpointNotFound",
			"no online endpoint "+name+" on this server; list them with: ciel online-endpoint list"))
		return
	}
	if !ep.auth.Load().check(header(r.Header, hdrAuthorization), name, start) {
		h.Set("WWW-Authenticate", `Bearer realm="ciel"`)
		f.finish(w, r, id, ep, nil, start, errorReply(http.StatusUnauthorized, "Unauthorized",
			"missing or wrong key: send Authorization: Bearer <key> (ciel online-endpoint get-credentials --name "+name+")"))
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			f.finish(w, r, id, ep, nil, start, errorReply(http.StatusRequestEntityTooLarge, "RequestTooLarge", "the request body is larger than 64 MiB"))
		}
		return
	}
	rt := ep.routes.Load()
	var p *pool
	if dn := header(r.Header, hdrDeployment); dn != "" {
		if p = rt.pools[dn]; p == nil {
			f.finish(w, r, id, ep, nil, start, errorReply(http.StatusNotFound, "DeploymentNotFound",
				"endpoint "+name+" has no serving deployment "+dn+" (azureml-model-deployment header)"))
			return
		}
	} else {
		n := ep.counter.Add(1)
		if p = rt.pick(n); p == nil {
			f.finish(w, r, id, ep, nil, start, errorReply(http.StatusServiceUnavailable, "NoTraffic",
				"endpoint "+name+" sends no traffic to any deployment; set it with: ciel online-endpoint update --name "+name+" --traffic <deployment>=100"))
			return
		}
		rt.mirrors(n, func(mp *pool) { f.mirror(mp, body) })
	}
	h[hdrDeployment] = []string{p.name}
	f.finish(w, r, id, ep, p, start, p.submit(r.Context(), body))
}

// readBody reads a request's body, at most maxRequestBody bytes; a longer
// declared length is refused before anything is read. A body of a declared
// length up to 1 MiB is read into one buffer of that length; a longer one
// grows with what arrives, so a length that the client never sends costs
// nothing.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	n := r.ContentLength
	if n > maxRequestBody {
		return nil, &http.MaxBytesError{Limit: maxRequestBody}
	}
	if n < 0 || n > 1<<20 {
		return io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBody))
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r.Body, body); err != nil {
		return nil, err
	}
	return body, nil
}

// mirror sends a copy of a request to a mirror deployment and discards the
// answer.
func (f *frontEnd) mirror(p *pool, body []byte) {
	p.metrics.mirrored.Add(1)
	f.mirrors.Add(1)
	go func() {
		defer f.mirrors.Done()
		start := time.Now()
		rep := p.submit(context.Background(), body)
		p.metrics.observe(rep.status, rep.code, time.Since(start))
	}()
}

// finish writes a reply, counts it and logs the access.
func (f *frontEnd) finish(w http.ResponseWriter, r *http.Request, id string, ep *liveEndpoint, p *pool, start time.Time, rep reply) {
	if rep.status != 499 {
		writeReply(w, rep)
	}
	d := time.Since(start)
	a := access{at: start.Add(d), id: id, endpoint: r.PathValue("name"), status: rep.status, code: rep.code,
		instance: rep.instance, took: d, bytes: len(rep.body), remote: r.RemoteAddr}
	switch {
	case p != nil:
		a.deploy = p.name
		p.metrics.observe(rep.status, rep.code, d)
	case ep != nil:
		ep.metrics.observe(rep.status, rep.code, d)
	}
	if f.lines != nil {
		f.lines.write(&a)
		return
	}
	// The record is made here rather than by f.log.LogAttrs, which would
	// walk the stack for a source position the access log does not print.
	ctx := r.Context()
	if !f.log.Enabled(ctx, slog.LevelInfo) {
		return
	}
	rec := slog.NewRecord(a.at, slog.LevelInfo, "score", 0)
	rec.AddAttrs(a.attrs()...)
	_ = f.log.Handler().Handle(ctx, rec)
}

// writeReply writes a JSON answer.
func writeReply(w http.ResponseWriter, rep reply) {
	w.Header()[hdrContentType] = jsonContentType
	w.WriteHeader(rep.status)
	_, _ = w.Write(rep.body)
}

// serveMetrics writes the Prometheus metrics.
func (f *frontEnd) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if f.metricsToken != "" && !guard.TokenOK(r, f.metricsToken) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="ciel metrics"`)
		writeReply(w, errorReply(http.StatusUnauthorized, "Unauthorized",
			"missing or wrong token: /metrics needs Authorization: Bearer <the server's token or --metrics-token>"))
		return
	}
	var gauges []gauge
	for _, ep := range *f.endpoints.Load() {
		for _, p := range ep.routes.Load().sortedPools() {
			gauges = append(gauges, gauge{endpoint: ep.name, deployment: p.name, ready: int(p.ready.Load()), queued: len(p.queue)})
		}
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_ = writeMetrics(w, f.metrics.snapshot(), gauges)
}

// requestID returns the caller's x-request-id when it is a sensible one,
// else a new random UUID.
func requestID(r *http.Request) string {
	if id := header(r.Header, hdrRequestID); id != "" && len(id) <= 128 && printable(id) {
		return id
	}
	var b [16]byte
	hi, lo := rand.Uint64(), rand.Uint64()
	for i := range 8 {
		b[i], b[8+i] = byte(hi>>(8*i)), byte(lo>>(8*i))
	}
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // variant
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}
