// Package authlimit limits failed sign-in attempts per client address, so
// that the server's token cannot be guessed by trying many: each client
// has a bucket of attempts that failures empty and time refills, and a
// client whose bucket is empty is refused before its credential is even
// compared (a refusal that depended on the credential would tell a right
// guess from a wrong one).
//
// A token of ciel's own (32 random bytes) cannot be guessed at any rate;
// the limit matters for tokens people choose, and keeps a script that
// hammers the server with a wrong token from costing more than a refusal.
package authlimit

import (
	"math"
	"net"
	"net/http"
	"sync"
	"time"
)

// Defaults for the zero values of Config: twenty wrong tries at once, then
// one every ten seconds (six a minute).
const (
	DefaultBurst      = 20
	DefaultEvery      = 10 * time.Second
	DefaultMaxClients = 10000
)

// Config configures a Limiter.
type Config struct {
	// Burst is how many failures a client may make before it is refused.
	Burst int
	// Every is how long it takes to regain one attempt.
	Every time.Duration
	// MaxClients bounds the addresses remembered; beyond it, new
	// addresses share one bucket, so that many addresses (an IPv6 range)
	// cannot grow memory nor escape the limit.
	MaxClients int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Limiter counts failed attempts per client. Its methods may be called
// concurrently; a nil Limiter limits nothing.
type Limiter struct {
	cfg     Config
	mu      sync.Mutex
	clients map[string]*bucket
}

// bucket is a client's attempts left as of at.
type bucket struct {
	tokens float64
	at     time.Time
}

// overflowKey is the bucket the addresses beyond MaxClients share.
const overflowKey = "overflow"

// New returns a limiter for cfg.
func New(cfg Config) *Limiter {
	if cfg.Burst <= 0 {
		cfg.Burst = DefaultBurst
	}
	if cfg.Every <= 0 {
		cfg.Every = DefaultEvery
	}
	if cfg.MaxClients <= 0 {
		cfg.MaxClients = DefaultMaxClients
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Limiter{cfg: cfg, clients: map[string]*bucket{}}
}

// Check reports whether r's client may present a credential now; when it
// may not, retryAfter is how long until it may (at least a second).
func (l *Limiter) Check(r *http.Request) (retryAfter time.Duration, ok bool) {
	if l == nil {
		return 0, true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.cfg.Now()
	b := l.clients[l.keyLocked(clientKey(r), now)]
	if b == nil {
		return 0, true
	}
	tokens := l.refill(b, now)
	if tokens >= 1 {
		return 0, true
	}
	wait := time.Duration(math.Ceil((1 - tokens) * float64(l.cfg.Every)))
	return max(wait.Round(time.Second), time.Second), false
}

// Fail records a failed attempt by r's client.
func (l *Limiter) Fail(r *http.Request) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.cfg.Now()
	key := l.keyLocked(clientKey(r), now)
	b := l.clients[key]
	if b == nil {
		b = &bucket{tokens: float64(l.cfg.Burst), at: now}
		l.clients[key] = b
	}
	b.tokens = max(l.refill(b, now)-1, 0)
	b.at = now
}

// refill returns b's attempts at now.
func (l *Limiter) refill(b *bucket, now time.Time) float64 {
	gained := float64(now.Sub(b.at)) / float64(l.cfg.Every)
	return min(b.tokens+max(gained, 0), float64(l.cfg.Burst))
}

// keyLocked returns the bucket key of client: its own while there is room
// (forgetting clients whose buckets have refilled to make room), else the
// shared one.
func (l *Limiter) keyLocked(client string, now time.Time) string {
	if _, ok := l.clients[client]; ok || len(l.clients) < l.cfg.MaxClients {
		return client
	}
	for k, b := range l.clients {
		if l.refill(b, now) >= float64(l.cfg.Burst) {
			delete(l.clients, k)
		}
	}
	if len(l.clients) < l.cfg.MaxClients {
		return client
	}
	return overflowKey
}

// clientKey is r's client address: the IP of the connection's peer, an
// IPv6 one by its /64 (one host holds a whole /64). Behind a reverse
// proxy every client is the proxy; the limit then holds for all at once.
func clientKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return host
	}
	if ip.To4() == nil {
		return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
	return ip.String()
}
