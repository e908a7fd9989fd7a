package api

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/ciel-mlops/ciel/internal/guard"
	"github.com/ciel-mlops/ciel/internal/imagestore"
)

// newGuard returns the guard in front of every route: the routes that take
// uploads and the one that needs no token are named here, beside routes.
func (s *server) newGuard(listen string) *guard.Guard {
	hosts, origins := s.cfg.AllowedHosts, s.cfg.CORSAllowedOrigins
	if u, err := url.Parse(s.cfg.ExternalURL); err == nil && u.Host != "" {
		// The name clients use is one the server serves, and pages it
		// serves there are its own origin.
		hosts = append(slices.Clip(hosts), u.Host)
		origins = append(slices.Clip(origins), u.Scheme+"://"+u.Host)
	}
	if u, err := url.Parse(s.cfg.ReplicaURL); err == nil && u.Host != "" {
		// The other servers sharing the store ask this one by that name.
		hosts = append(slices.Clip(hosts), u.Host)
	}
	var session func(*http.Request) bool
	if s.studio != nil {
		session = s.studio.HasSession
	}
	return guard.New(guard.Config{
		Token:          s.cfg.Token,
		Session:        session,
		IsForm:         isStudioForm,
		ListenAddr:     listen,
		AllowedHosts:   hosts,
		AllowedOrigins: origins,
		MaxJSONBytes:   s.cfg.MaxJSONBytes,
		IsUpload:       isUpload,
		IsPublic:       isPublic,
		Reject:         s.rejectPage,
		Logger:         s.log,
		Attempts:       s.attempts,
	})
}

// isUpload tells the requests whose bodies are files: ciel's tar uploads
// (of data and code, and of a factory folder to import),
// MLflow's artifact PUTs (whole files and multipart parts) and git's pushes
// and fetches (whose answers are packs).
func isUpload(r *http.Request) bool {
	seg := strings.Split(r.URL.Path, "/")
	switch r.Method {
	case http.MethodPost:
		if matchSegments(seg, "", "git", "*", "*", "git-receive-pack") || matchSegments(seg, "", "git", "*", "*", "git-upload-pack") {
			return true
		}
		return matchSegments(seg, "", "api", "v1", "workspaces", "*", "uploads") ||
			matchSegments(seg, "", "api", "v1", "workspaces", "*", "datafactory", "importFolder")
	case http.MethodPut:
		return len(seg) > 6 && matchSegments(seg[:6], "", "ws", "*", "api", "2.0", "mlflow-artifacts")
	}
	return false
}

// isPublic tells the requests that need no token: multipart part uploads
// and external pipelines' webhooks, which carry their own proof, the
// studio's sign-in, which takes the token, and image pulls, which carry
// the pull token (images.go).
func isPublic(r *http.Request) bool {
	return isPartUpload(r) || isPipelineHook(r) || isStudioSignIn(r) || imagestore.IsPull(r)
}

// isPipelineHook tells a webhook POST to an external pipeline: GitHub and
// the like cannot send ciel's token, so the handler checks the pipeline's
// shared secret instead (X-Hub-Signature-256 or X-Ciel-Webhook-Secret).
func isPipelineHook(r *http.Request) bool {
	return r.Method == http.MethodPost && matchSegments(strings.Split(r.URL.Path, "/"),
		"", "api", "v1", "workspaces", "*", "pipelines", "*", "hooks")
}

// isPartUpload tells a multipart part PUT: the client sends it to the URL
// the create call handed out, without credentials (as to a cloud store's
// presigned URL); the unguessable upload ID is the capability.
func isPartUpload(r *http.Request) bool {
	return r.Method == http.MethodPut && matchSegments(strings.Split(r.URL.Path, "/"),
		"", "ws", "*", "api", "2.0", "mlflow-artifacts", "mpu", "parts", "*", "*")
}

// matchSegments reports whether a path's segments are want's, "*" matching
// any one segment but an empty, "." or ".." one.
func matchSegments(seg []string, want ...string) bool {
	if len(seg) != len(want) {
		return false
	}
	for i, w := range want {
		if w == "*" {
			if seg[i] == "" || seg[i] == "." || seg[i] == ".." {
				return false
			}
		} else if seg[i] != w {
			return false
		}
	}
	return true
}

// reject answers a refusal in the shape of the API the request is for:
// MLflow's {"error_code", "message"} under /ws/ and MLflow's own paths,
// ciel's {"error": {...}} elsewhere.
func reject(w http.ResponseWriter, r *http.Request, e *guard.Error) {
	p := r.URL.Path
	if strings.HasPrefix(p, "/ws/") || strings.Contains(p, "/2.0/") || strings.Contains(p, "/3.0/") {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(e.Status)
		_ = json.NewEncoder(w).Encode(map[string]string{"error_code": mlflowCode(e.Status), "message": e.Message})
		return
	}
	writeError(w, refusal(e))
}

// refusal is the guard's refusal as ciel's API answers it: the status, its
// text as the code ("RequestEntityTooLarge"), the message.
func refusal(e *guard.Error) *httpError {
	return &httpError{status: e.Status, code: strings.ReplaceAll(http.StatusText(e.Status), " ", ""), msg: e.Message}
}

// mlflowCode is MLflow's error code for a refusal's status.
func mlflowCode(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "UNAUTHENTICATED"
	case http.StatusForbidden:
		return "PERMISSION_DENIED"
	case http.StatusRequestEntityTooLarge:
		return "RESOURCE_EXHAUSTED"
	case http.StatusRequestTimeout:
		return "DEADLINE_EXCEEDED"
	case http.StatusServiceUnavailable:
		return "TEMPORARILY_UNAVAILABLE"
	case http.StatusTooManyRequests:
		return "REQUEST_LIMIT_EXCEEDED"
	}
	return "BAD_REQUEST"
}

// loopbackOnly answers requests from this machine only.
func loopbackOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !guard.IsLoopback(r) {
			writeError(w, &httpError{status: http.StatusForbidden, code: "Forbidden", msg: "profiling answers this machine only"})
			return
		}
		h.ServeHTTP(w, r)
	})
}

// checkExposure refuses to serve other machines with no token, which would
// let anyone who reaches the port run commands as this user, unless the
// operator said --insecure-no-auth; then it says so loudly.
func checkExposure(addr net.Addr, cfg Config) error {
	ta, ok := addr.(*net.TCPAddr)
	if !ok || ta.IP.IsLoopback() || cfg.Token != "" {
		return nil
	}
	if !cfg.InsecureNoAuth {
		return fmt.Errorf("refusing to listen on %s with no token: anyone who reaches it could run commands as this user; "+
			"set CIEL_TOKEN (or --token), listen on 127.0.0.1, or pass --insecure-no-auth if a proxy in front authenticates", addr)
	}
	cfg.Logger.Warn("INSECURE: listening on a non-loopback address with no token; anyone who reaches "+
		addr.String()+" can run commands as this user", "addr", addr.String())
	return nil
}

// listenURLs returns the URL this machine reaches the server at (a
// wildcard address is reached on loopback) and the one it hands clients:
// external when set, else the local one.
func listenURLs(addr net.Addr, external string) (local, base string) {
	host := addr.String()
	if ta, ok := addr.(*net.TCPAddr); ok && ta.IP.IsUnspecified() {
		lo := "127.0.0.1"
		if ta.IP.To4() == nil {
			lo = "::1"
		}
		host = net.JoinHostPort(lo, strconv.Itoa(ta.Port))
	}
	local = "http://" + host
	if external != "" {
		return local, strings.TrimSuffix(external, "/")
	}
	return local, local
}

// metricsToken is the token the scoring listener's /metrics requires: its
// own when given, else the API's.
func metricsToken(cfg Config) string {
	if cfg.MetricsToken != "" {
		return cfg.MetricsToken
	}
	return cfg.Token
}
