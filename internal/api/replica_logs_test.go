package api

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/store"
	"github.com/ciel-mlops/ciel/internal/ui"
)

// fixedAddresses answers the address of one server.
type fixedAddresses map[string]string

func (f fixedAddresses) ReplicaAddress(_ context.Context, id string, _ time.Time) (string, error) {
	if a, ok := f[id]; ok {
		return a, nil
	}
	return "", store.ErrNotFound
}

// TestReplicaRemoteLog: a log read of another server goes to the address
// it recorded, with the caller's credentials and the forwarded mark, asks
// for the offset and limit, takes at most limit bytes, follows no
// redirect, and maps a 404 to store.ErrNotFound; a request itself
// forwarded, or on a server alone, reads nothing remote.
func TestReplicaRemoteLog(t *testing.T) {
	t.Parallel()
	var seen *http.Request
	owner := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.Clone(context.Background())
		switch r.URL.Query().Get("step") {
		case "gone":
			http.Error(w, `{"error":{}}`, http.StatusNotFound)
		case "moved":
			http.Redirect(w, r, "http://198.51.100.1/steal", http.StatusFound)
		default:
			_, _ = w.Write([]byte(strings.Repeat("x", 100)))
		}
	}))
	defer owner.Close()
	rl := replicaLogs{addrs: fixedAddresses{"host/a": owner.URL, "host/bad": "file:///etc"}, self: "host/b", client: newReplicaClient()}
	caller := httptest.NewRequest(http.MethodGet, "/api/v1/workspaces/ws/jobs/j/stream", nil)
	caller.Header.Set("Authorization", "Bearer t0ken")
	caller.AddCookie(&http.Cookie{Name: ui.CookieName, Value: "s3ss"})
	caller.AddCookie(&http.Cookie{Name: "other", Value: "kept-here"})
	remote := rl.remote(caller)
	ctx := context.Background()

	b, err := remote(ctx, "host/a", "ws", "j", "sub/train", 7, 10)
	if err != nil || string(b) != strings.Repeat("x", 10) {
		t.Fatalf("read: %q, %v; want 10 bytes", b, err)
	}
	q := seen.URL.Query()
	if seen.URL.Path != "/api/v1/workspaces/ws/jobs/j/logs" || q.Get("step") != "sub/train" || q.Get("offset") != "7" || q.Get("limit") != "10" {
		t.Errorf("asked %s", seen.URL)
	}
	if seen.Header.Get("Authorization") != "Bearer t0ken" || seen.Header.Get(forwardedHeader) != "host/b" {
		t.Errorf("headers sent %v", seen.Header)
	}
	if c, err := seen.Cookie(ui.CookieName); err != nil || c.Value != "s3ss" {
		t.Errorf("session cookie sent: %v, %v", c, err)
	}
	if _, err := seen.Cookie("other"); err == nil {
		t.Error("a cookie other than the session's was forwarded")
	}
	for _, tc := range []struct {
		owner, step string
		notFound    bool
	}{
		{"host/a", "gone", true},
		{"host/a", "moved", false},
		{"host/gone", "main", true},
		{"host/bad", "main", false},
	} {
		if b, err := remote(ctx, tc.owner, "ws", "j", tc.step, 0, 10); err == nil || errors.Is(err, store.ErrNotFound) != tc.notFound {
			t.Errorf("owner %s step %s: %q, %v; want an error (not found: %v)", tc.owner, tc.step, b, err, tc.notFound)
		}
	}
	forwarded := caller.Clone(ctx)
	forwarded.Header.Set(forwardedHeader, "host/c")
	if rl.remote(forwarded) != nil {
		t.Error("a forwarded request reads logs of other servers in turn")
	}
	if (replicaLogs{}).remote(caller) != nil {
		t.Error("a server alone reads logs of other servers")
	}
}

// TestByteCount: ?offset= and ?limit= are counts of bytes.
func TestByteCount(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		v    []string
		want int64
		ok   bool
	}{{nil, 0, true}, {[]string{""}, 0, true}, {[]string{"42"}, 42, true}, {[]string{"-1"}, 0, false}, {[]string{"1e3"}, 0, false}, {[]string{"99999999999999999999"}, 0, false}} {
		got, err := byteCount(map[string][]string{"offset": tc.v}, "offset")
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("offset %q: %d, %v", tc.v, got, err)
		}
		if err != nil && status(err) != http.StatusBadRequest {
			t.Errorf("offset %q: status %d, want 400", tc.v, status(err))
		}
	}
}
