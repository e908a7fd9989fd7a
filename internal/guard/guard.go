// Package guard is the front door of ciel's HTTP API: before any handler
// runs, it answers only the Host names the server serves, refuses requests
// from web pages of other origins, refuses the request shapes a browser can
// send cross-site without asking first, checks the bearer token, and bounds
// each request body in size, rate and time.
//
// It exists because the API runs commands as the user: a DNS-rebinding page
// or any site the user visits must not be able to submit a job, and a
// client trickling a body must not hold the server's memory or connections.
// It is not an authorization system: a token holder may do everything.
package guard

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Defaults for the zero values of Config.
const (
	DefaultMaxJSONBytes         = 8 << 20
	DefaultMaxConcurrentUploads = 8
	DefaultJSONBodyTimeout      = 30 * time.Second
	DefaultWriteTimeout         = 2 * time.Minute
	// A body slower than MinBodyRate after BodyRateGrace is cut off, as
	// Kestrel does with the same figures: no real client is that slow,
	// and trickling clients are how one host pins many connections.
	MinBodyRate   = 240 // bytes per second
	BodyRateGrace = 5 * time.Second
	// StallTimeout ends a body read that receives nothing at all.
	StallTimeout = 15 * time.Second
	// DefaultUploadWait is how long an upload waits for a free slot
	// before 503.
	DefaultUploadWait = 30 * time.Second
)

// Config configures a Guard.
type Config struct {
	// Token, when set, must come as "Authorization: Bearer <token>".
	Token string
	// ListenAddr is the address the server listens on; its host is one
	// the server serves, and a wildcard address adds the machine's own
	// interface addresses and hostname.
	ListenAddr string
	// AllowedHosts are further Host header values to serve: names, IPs,
	// "*.example.com" for subdomains, or "*" for any (behind a proxy that
	// checks Host itself).
	AllowedHosts []string
	// AllowedOrigins are web origins ("https://studio.example.com") other
	// than the server's own that may call the API from a browser; "*"
	// allows any.
	AllowedOrigins []string
	// MaxJSONBytes bounds a request body that is not an upload; 0 means
	// DefaultMaxJSONBytes.
	MaxJSONBytes int64
	// MaxConcurrentUploads bounds uploads in flight; more wait up to
	// UploadWait for a slot, then get 503. 0 means
	// DefaultMaxConcurrentUploads.
	MaxConcurrentUploads int
	// UploadWait is how long an upload waits for a slot; 0 means
	// DefaultUploadWait.
	UploadWait time.Duration
	// JSONBodyTimeout bounds the time to receive a non-upload body.
	JSONBodyTimeout time.Duration
	// WriteTimeout bounds the time to write a response that is not a
	// stream (streams call Streaming).
	WriteTimeout time.Duration
	// IsUpload tells upload requests (artifact and file bodies, which may
	// be large and carry binary content types) from API calls.
	IsUpload func(r *http.Request) bool
	// IsPublic tells requests that need no token (capability URLs).
	IsPublic func(r *http.Request) bool
	// Session, when set, reports whether r carries a valid session cookie
	// of the server's own web pages (the studio's sign-in). The cookie
	// stands for the token only on requests those pages make: same-origin
	// fetches and navigations, never a request a page of another origin
	// makes, whatever --cors-allowed-origins says.
	Session func(r *http.Request) bool
	// IsForm tells the server's own HTML form posts (the studio's sign-in
	// and sign-out): they may carry a form's content type, which any page
	// can send cross-site, so they are taken from the server's own origin
	// only.
	IsForm func(r *http.Request) bool
	// Reject writes a refusal in the shape the request's API uses; nil
	// writes a plain JSON error.
	Reject func(w http.ResponseWriter, r *http.Request, e *Error)
	// Logger receives refusals at debug level.
	Logger *slog.Logger
	// Attempts, when set, limits wrong tokens per client: a request that
	// carries an Authorization header from a client that has failed too
	// often is refused with 429 and Retry-After before its token is
	// compared, and each wrong one counts.
	Attempts Attempts
}

// Attempts counts failed credentials per client (authlimit.Limiter).
type Attempts interface {
	// Check reports whether r's client may present a credential now, and
	// if not, how long until it may.
	Check(r *http.Request) (retryAfter time.Duration, ok bool)
	// Fail records a wrong credential from r's client.
	Fail(r *http.Request)
}

// Error is a refusal: the status and a message saying what to do.
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string { return e.Message }

// Guard wraps the API's handler. Its methods may be called concurrently.
type Guard struct {
	cfg     Config
	hosts   hostSet
	origins map[string]bool
	anyOrig bool
	uploads chan struct{}
}

// New returns a guard for cfg.
func New(cfg Config) *Guard {
	if cfg.MaxJSONBytes <= 0 {
		cfg.MaxJSONBytes = DefaultMaxJSONBytes
	}
	if cfg.MaxConcurrentUploads <= 0 {
		cfg.MaxConcurrentUploads = DefaultMaxConcurrentUploads
	}
	if cfg.UploadWait <= 0 {
		cfg.UploadWait = DefaultUploadWait
	}
	if cfg.JSONBodyTimeout <= 0 {
		cfg.JSONBodyTimeout = DefaultJSONBodyTimeout
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	g := &Guard{cfg: cfg, hosts: newHostSet(cfg.ListenAddr, cfg.AllowedHosts), origins: map[string]bool{},
		uploads: make(chan struct{}, cfg.MaxConcurrentUploads)}
	for _, o := range cfg.AllowedOrigins {
		if o == "*" {
			g.anyOrig = true
		}
		g.origins[strings.TrimSuffix(strings.ToLower(o), "/")] = true
	}
	return g
}

// Wrap returns next behind the guard.
func (g *Guard) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// No answer is a script or a page to a browser that guesses, and
		// none may be embedded by another site's page.
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cross-Origin-Resource-Policy", "same-origin")
		upload := g.cfg.IsUpload != nil && g.cfg.IsUpload(r)
		bySession, e := g.admit(w, r, upload)
		if e != nil {
			g.reject(w, r, e)
			return
		}
		if bySession {
			r = r.WithContext(context.WithValue(r.Context(), sessionKey{}, true))
		}
		if r.Method == http.MethodOptions {
			// An allowed origin's preflight: admit set the CORS headers.
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if upload {
			release, e := g.uploadSlot(r.Context())
			if e != nil {
				g.reject(w, r, e)
				return
			}
			defer release()
			// An upload may take long; the body's rate bounds it instead,
			// and an earlier request's deadline on this connection must not.
			Streaming(w)
		} else {
			_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(g.cfg.WriteTimeout))
		}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = g.bodyReader(w, r, upload)
		}
		next.ServeHTTP(w, r)
	})
}

// admit runs the checks in the order an attacker meets them; bySession
// tells a request admitted on a session cookie rather than the token.
func (g *Guard) admit(w http.ResponseWriter, r *http.Request, upload bool) (bySession bool, e *Error) {
	if !g.hosts.allows(r.Host) {
		return false, &Error{http.StatusForbidden, "Host " + quote(r.Host) +
			" is not one this server serves; a server reached by another name needs --allowed-hosts"}
	}
	if e := g.checkOrigin(w, r); e != nil {
		return false, e
	}
	if r.Method == http.MethodOptions {
		return false, nil
	}
	if e := g.checkContentType(r, upload); e != nil {
		return false, e
	}
	if g.cfg.Token != "" && !(g.cfg.IsPublic != nil && g.cfg.IsPublic(r)) {
		ok, e := g.checkToken(w, r)
		if e != nil {
			return false, e
		}
		if !ok {
			if g.cfg.Session == nil || !g.cfg.Session(r) {
				return false, &Error{http.StatusUnauthorized, "missing or wrong token: send Authorization: Bearer <token> (CIEL_TOKEN, or MLFLOW_TRACKING_TOKEN for mlflow)"}
			}
			if e := checkOwnPage(r, "a session cookie counts only on requests from the studio's own pages"); e != nil {
				return false, e
			}
			bySession = true
		}
	}
	if !upload && r.ContentLength > g.cfg.MaxJSONBytes {
		return false, &Error{http.StatusRequestEntityTooLarge, tooLarge(g.cfg.MaxJSONBytes)}
	}
	return bySession, nil
}

// checkToken reports whether r carries the token. A request that carries
// an Authorization header is an attempt: from a client over its limit of
// wrong tokens it is refused with 429 and Retry-After, its token not even
// compared (a refusal that depended on it would tell a right guess from a
// wrong one); a wrong one counts.
func (g *Guard) checkToken(w http.ResponseWriter, r *http.Request) (bool, *Error) {
	if g.cfg.Attempts == nil || r.Header.Get("Authorization") == "" {
		return TokenOK(r, g.cfg.Token), nil
	}
	if wait, ok := g.cfg.Attempts.Check(r); !ok {
		secs := strconv.Itoa(int(wait.Round(time.Second) / time.Second))
		w.Header().Set("Retry-After", secs)
		return false, &Error{http.StatusTooManyRequests, "too many wrong tokens from this address; try again in " + secs + "s"}
	}
	if TokenOK(r, g.cfg.Token) {
		return true, nil
	}
	g.cfg.Attempts.Fail(r)
	return false, nil
}

// sessionKey marks in a request's context that the guard admitted it on a
// session cookie.
type sessionKey struct{}

// BySession reports whether the guard admitted r on a session cookie, for
// handlers that check the token again themselves.
func BySession(r *http.Request) bool {
	v, _ := r.Context().Value(sessionKey{}).(bool)
	return v
}

// checkOwnPage refuses a request that a browser did not make for a page of
// the server's own origin: one whose Origin is another (even an allowed
// one), one a browser says comes from elsewhere (Sec-Fetch-Site) unless it
// is a link followed, and a state change without Origin, which every
// browser sends on those. A request from no browser at all (no Origin, no
// Sec-Fetch-Site) may read.
func checkOwnPage(r *http.Request, why string) *Error {
	if o := r.Header.Get("Origin"); o != "" {
		lower := strings.TrimSuffix(strings.ToLower(o), "/")
		if lower != "http://"+strings.ToLower(r.Host) && lower != "https://"+strings.ToLower(r.Host) {
			return &Error{http.StatusForbidden, why + " (Origin " + quote(o) + ")"}
		}
	} else if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return &Error{http.StatusForbidden, why + " (no Origin on " + r.Method + ")"}
	}
	switch site := r.Header.Get("Sec-Fetch-Site"); {
	case site == "", site == "same-origin", site == "none":
		return nil
	case r.Method == http.MethodGet && r.Header.Get("Sec-Fetch-Mode") == "navigate":
		// A link followed from a sibling site (the cookie, SameSite=
		// Strict, comes along from the same site only): the page opens
		// for the user, and no other page can read it.
		return nil
	default:
		return &Error{http.StatusForbidden, why + " (Sec-Fetch-Site: " + site + ")"}
	}
}

// checkOrigin refuses a browser request from a page of another origin, and
// answers an allowed origin with CORS headers. Requests without Origin come
// from programs (curl, mlflow, the CLI), not from pages.
func (g *Guard) checkOrigin(w http.ResponseWriter, r *http.Request) *Error {
	origin := r.Header.Get("Origin")
	if origin == "" {
		if r.Method == http.MethodOptions {
			return &Error{http.StatusForbidden, "OPTIONS without Origin: nothing to preflight"}
		}
		return g.checkFetchSite(r)
	}
	lower := strings.TrimSuffix(strings.ToLower(origin), "/")
	same := lower == "http://"+strings.ToLower(r.Host) || lower == "https://"+strings.ToLower(r.Host)
	if same {
		return nil
	}
	if !g.anyOrig && !g.origins[lower] {
		return &Error{http.StatusForbidden, "Origin " + quote(origin) +
			" may not call this server; allow a web app with --cors-allowed-origins"}
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
	if r.Method == http.MethodOptions {
		h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Request-Id")
		h.Set("Access-Control-Max-Age", "600")
	}
	return nil
}

// checkFetchSite refuses what a browser fetches for a page of another site
// without sending Origin (a <script> or <img> GET, a no-cors fetch): the
// answer is the user's data. Sec-Fetch-Site says where such a request
// comes from; a link followed (a top-level GET navigation) may come from
// anywhere, as links to a run's page do.
func (g *Guard) checkFetchSite(r *http.Request) *Error {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
		return nil
	}
	if r.Method == http.MethodGet && r.Header.Get("Sec-Fetch-Mode") == "navigate" {
		return nil
	}
	return &Error{http.StatusForbidden, "a page of another site may not read this server's answers (Sec-Fetch-Site: " +
		r.Header.Get("Sec-Fetch-Site") + ")"}
}

// simpleTypes are the content types a page may POST cross-site with no
// preflight (a form or a text/plain fetch); an API call never uses them.
var simpleTypes = map[string]bool{
	"application/x-www-form-urlencoded": true, "multipart/form-data": true, "text/plain": true,
}

// uploadTypes are the body types upload routes take besides JSON; none is
// one a cross-site page can send without a preflight.
var uploadTypes = map[string]bool{
	"application/octet-stream": true, "application/x-tar": true, "application/gzip": true,
	// git's smart HTTP: a push and a fetch negotiation.
	"application/x-git-receive-pack-request": true, "application/x-git-upload-pack-request": true,
}

// checkContentType makes every POST one a browser would only send after a
// CORS preflight (which checkOrigin refuses to foreign pages): it must say
// application/json, or an upload type on uploads. PUT, PATCH and DELETE
// are preflighted whatever they carry (and mlflow PUTs artifacts with their
// own types, text/plain among them), so the Origin check covers them.
func (g *Guard) checkContentType(r *http.Request, upload bool) *Error {
	if r.Method != http.MethodPost {
		return nil
	}
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if ct != "" && err != nil {
		return &Error{http.StatusUnsupportedMediaType, "Content-Type " + quote(ct) + " is not a media type"}
	}
	if mt == "application/json" || (upload && uploadTypes[mt]) {
		return nil
	}
	if mt != "text/plain" && simpleTypes[mt] && g.cfg.IsForm != nil && g.cfg.IsForm(r) {
		return checkOwnPage(r, "the studio's forms are taken from its own pages only")
	}
	if simpleTypes[mt] {
		return &Error{http.StatusUnsupportedMediaType, "Content-Type " + mt +
			" is refused on POST (a web page can send it cross-site); send application/json"}
	}
	if upload {
		return &Error{http.StatusUnsupportedMediaType, "an upload needs Content-Type application/x-tar or application/octet-stream"}
	}
	return &Error{http.StatusUnsupportedMediaType, "POST needs Content-Type: application/json"}
}

// uploadSlot waits for one of the upload slots.
func (g *Guard) uploadSlot(ctx context.Context) (func(), *Error) {
	select {
	case g.uploads <- struct{}{}:
		return func() { <-g.uploads }, nil
	default:
	}
	t := time.NewTimer(g.cfg.UploadWait)
	defer t.Stop()
	select {
	case g.uploads <- struct{}{}:
		return func() { <-g.uploads }, nil
	case <-t.C:
	case <-ctx.Done():
	}
	return nil, &Error{http.StatusServiceUnavailable, "too many uploads in flight; try again"}
}

func (g *Guard) reject(w http.ResponseWriter, r *http.Request, e *Error) {
	g.cfg.Logger.Debug("request refused", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr,
		"status", e.Status, "why", e.Message)
	if e.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="ciel"`)
	}
	if r.ContentLength != 0 {
		// The body is not wanted: the connection closes after the answer,
		// and the little the server still reads of it (to let the client
		// finish sending) may take a moment, not as long as the client
		// likes.
		w.Header().Set("Connection", "close")
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(2 * time.Second))
	}
	if g.cfg.Reject != nil {
		g.cfg.Reject(w, r, e)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Status)
	_, _ = w.Write([]byte(`{"error":{"code":"` + http.StatusText(e.Status) + `","message":` + quote(e.Message) + "}}\n"))
}

// TokenOK reports whether r carries "Authorization: Bearer <token>" (the
// scheme in any case, as RFC 9110 has it).
func TokenOK(r *http.Request, token string) bool {
	h := r.Header.Get("Authorization")
	const scheme = "bearer "
	if len(h) <= len(scheme) || !strings.EqualFold(h[:len(scheme)], scheme) {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(h[len(scheme):])), []byte(token)) == 1
}

// Streaming lifts the write deadline of a response that streams (a live
// log, a download): it may take as long as the client reads.
func Streaming(w http.ResponseWriter) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
}

// IsLoopback reports whether a request came from this machine.
func IsLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
