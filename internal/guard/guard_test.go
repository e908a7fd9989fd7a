package guard_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/guard"
)

// echo answers 200 with the body it read, or 413/408 when the guard cut the
// body off, as ciel's handlers do.
func echo(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	if ge := guard.BodyError(err); ge != nil {
		http.Error(w, ge.Message, ge.Status)
		return
	}
	_, _ = w.Write(b)
}

func newGuard(cfg guard.Config) http.Handler {
	if cfg.ListenAddr == "" {
		cfg.ListenAddr = "127.0.0.1:7311"
	}
	cfg.IsUpload = func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/upload") }
	cfg.IsPublic = func(r *http.Request) bool { return r.URL.Path == "/upload/public" }
	return guard.New(cfg).Wrap(http.HandlerFunc(echo))
}

func TestAdmit(t *testing.T) {
	t.Parallel()
	const tok = "s3cret"
	type req struct {
		method, path, host, origin, ctype, auth, body string
		site, mode                                    string // Sec-Fetch-Site, Sec-Fetch-Mode
	}
	tests := []struct {
		name  string
		cfg   guard.Config
		req   req
		want  int
		hasCO bool // answer carries Access-Control-Allow-Origin
	}{
		{"loopback GET", guard.Config{}, req{method: "GET", host: "127.0.0.1:7311"}, 200, false},
		{"localhost POST json", guard.Config{}, req{method: "POST", host: "localhost:7311", ctype: "application/json", body: "{}"}, 200, false},
		{"ipv6 loopback", guard.Config{}, req{method: "GET", host: "[::1]:7311"}, 200, false},
		{"rebinding host", guard.Config{}, req{method: "GET", host: "evil.example:7311"}, 403, false},
		{"empty host", guard.Config{}, req{method: "GET", host: ""}, 403, false},
		{"allowed host", guard.Config{AllowedHosts: []string{"ciel.corp"}}, req{method: "GET", host: "ciel.corp:443"}, 200, false},
		{"allowed host wildcard", guard.Config{AllowedHosts: []string{"*.corp"}}, req{method: "GET", host: "a.corp"}, 200, false},
		{"wildcard is not the apex", guard.Config{AllowedHosts: []string{"*.corp"}}, req{method: "GET", host: "corp"}, 403, false},
		{"listen ip is served", guard.Config{ListenAddr: "10.1.2.3:80"}, req{method: "GET", host: "10.1.2.3"}, 200, false},
		{"text/plain cross-site post", guard.Config{}, req{method: "POST", host: "127.0.0.1:7311", origin: "http://evil.example", ctype: "text/plain", body: "{}"}, 403, false},
		{"text/plain same-site post", guard.Config{}, req{method: "POST", host: "127.0.0.1:7311", ctype: "text/plain", body: "{}"}, 415, false},
		{"form post", guard.Config{}, req{method: "POST", host: "127.0.0.1:7311", ctype: "application/x-www-form-urlencoded", body: "a=b"}, 415, false},
		{"multipart form post", guard.Config{}, req{method: "POST", host: "127.0.0.1:7311", ctype: "multipart/form-data; boundary=x", body: "x"}, 415, false},
		{"post without type", guard.Config{}, req{method: "POST", host: "127.0.0.1:7311", body: "{}"}, 415, false},
		{"delete with text/plain (preflighted)", guard.Config{}, req{method: "DELETE", host: "127.0.0.1:7311", ctype: "text/plain"}, 200, false},
		{"put with text/plain (mlflow's .txt)", guard.Config{}, req{method: "PUT", path: "/upload/x", host: "127.0.0.1:7311", ctype: "text/plain", body: "x"}, 200, false},
		{"upload post without type", guard.Config{}, req{method: "POST", path: "/upload/x", host: "127.0.0.1:7311", body: "x"}, 415, false},
		{"delete without type", guard.Config{}, req{method: "DELETE", host: "127.0.0.1:7311"}, 200, false},
		{"upload post octet", guard.Config{}, req{method: "POST", path: "/upload/x", host: "127.0.0.1:7311", ctype: "application/octet-stream", body: "x"}, 200, false},
		{"upload post tar", guard.Config{}, req{method: "POST", path: "/upload/x", host: "127.0.0.1:7311", ctype: "application/x-tar", body: "x"}, 200, false},
		{"upload post text", guard.Config{}, req{method: "POST", path: "/upload/x", host: "127.0.0.1:7311", ctype: "text/plain", body: "x"}, 415, false},
		{"json post elsewhere octet", guard.Config{}, req{method: "POST", host: "127.0.0.1:7311", ctype: "application/octet-stream", body: "x"}, 415, false},
		{"same origin", guard.Config{}, req{method: "POST", host: "127.0.0.1:7311", origin: "http://127.0.0.1:7311", ctype: "application/json", body: "{}"}, 200, false},
		{"foreign origin get", guard.Config{}, req{method: "GET", host: "127.0.0.1:7311", origin: "https://evil.example"}, 403, false},
		{"null origin", guard.Config{}, req{method: "POST", host: "127.0.0.1:7311", origin: "null", ctype: "application/json", body: "{}"}, 403, false},
		{"allowed origin", guard.Config{AllowedOrigins: []string{"https://app.corp"}}, req{method: "POST", host: "127.0.0.1:7311", origin: "https://app.corp", ctype: "application/json", body: "{}"}, 200, true},
		{"allowed origin preflight", guard.Config{AllowedOrigins: []string{"https://app.corp"}}, req{method: "OPTIONS", host: "127.0.0.1:7311", origin: "https://app.corp"}, 204, true},
		{"foreign preflight", guard.Config{}, req{method: "OPTIONS", host: "127.0.0.1:7311", origin: "https://evil.example"}, 403, false},
		{"cross-site script tag", guard.Config{}, req{method: "GET", host: "127.0.0.1:7311", site: "cross-site", mode: "no-cors"}, 403, false},
		{"same-site fetch (another local port)", guard.Config{}, req{method: "GET", host: "127.0.0.1:7311", site: "same-site", mode: "cors"}, 403, false},
		{"cross-site link followed", guard.Config{}, req{method: "GET", host: "127.0.0.1:7311", site: "cross-site", mode: "navigate"}, 200, false},
		{"cross-site form navigation", guard.Config{}, req{method: "POST", host: "127.0.0.1:7311", site: "cross-site", mode: "navigate", ctype: "application/json", body: "{}"}, 403, false},
		{"same-origin fetch", guard.Config{}, req{method: "GET", host: "127.0.0.1:7311", site: "same-origin", mode: "cors"}, 200, false},
		{"typed into the address bar", guard.Config{}, req{method: "GET", host: "127.0.0.1:7311", site: "none", mode: "navigate"}, 200, false},
		{"token missing", guard.Config{Token: tok}, req{method: "GET", host: "127.0.0.1:7311"}, 401, false},
		{"token without Bearer", guard.Config{Token: tok}, req{method: "GET", host: "127.0.0.1:7311", auth: tok}, 401, false},
		{"token wrong", guard.Config{Token: tok}, req{method: "GET", host: "127.0.0.1:7311", auth: "Bearer nope"}, 401, false},
		{"token right", guard.Config{Token: tok}, req{method: "GET", host: "127.0.0.1:7311", auth: "Bearer " + tok}, 200, false},
		{"token scheme any case", guard.Config{Token: tok}, req{method: "GET", host: "127.0.0.1:7311", auth: "bearer " + tok}, 200, false},
		{"public route needs none", guard.Config{Token: tok}, req{method: "PUT", path: "/upload/public", host: "127.0.0.1:7311", body: "x"}, 200, false},
		{"token does not beat origin", guard.Config{Token: tok}, req{method: "POST", host: "127.0.0.1:7311", origin: "https://evil.example", auth: "Bearer " + tok, ctype: "application/json", body: "{}"}, 403, false},
		{"json over the cap", guard.Config{MaxJSONBytes: 10}, req{method: "POST", host: "127.0.0.1:7311", ctype: "application/json", body: strings.Repeat("x", 11)}, 413, false},
		{"json at the cap", guard.Config{MaxJSONBytes: 10}, req{method: "POST", host: "127.0.0.1:7311", ctype: "application/json", body: strings.Repeat("x", 10)}, 200, false},
		{"upload is not capped as json", guard.Config{MaxJSONBytes: 10}, req{method: "PUT", path: "/upload/x", host: "127.0.0.1:7311", body: strings.Repeat("x", 100)}, 200, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := tt.req.path
			if path == "" {
				path = "/api"
			}
			r := httptest.NewRequest(tt.req.method, path, strings.NewReader(tt.req.body))
			r.Host = tt.req.host
			for k, v := range map[string]string{"Origin": tt.req.origin, "Content-Type": tt.req.ctype, "Authorization": tt.req.auth,
				"Sec-Fetch-Site": tt.req.site, "Sec-Fetch-Mode": tt.req.mode} {
				if v != "" {
					r.Header.Set(k, v)
				}
			}
			w := httptest.NewRecorder()
			newGuard(tt.cfg).ServeHTTP(w, r)
			if w.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.want, w.Body)
			}
			if w.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Error("answer lacks X-Content-Type-Options: nosniff")
			}
			if got := w.Header().Get("Access-Control-Allow-Origin") != ""; got != tt.hasCO {
				t.Errorf("Access-Control-Allow-Origin present = %v, want %v", got, tt.hasCO)
			}
			if w.Code >= 400 && w.Code != 413 {
				var body struct {
					Error struct{ Message string } `json:"error"`
				}
				if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error.Message == "" {
					t.Errorf("refusal is not a JSON error body: %q", w.Body)
				}
			}
		})
	}
}

// TestTrickledBodyIsCut sends a body at one byte per 400 ms, below the
// minimum rate, over a real connection: the guard ends it soon after the
// grace period instead of holding the connection for as long as the
// client likes.
func TestTrickledBodyIsCut(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(newGuard(guard.Config{}))
	t.Cleanup(srv.Close)
	for _, path := range []string{"/api", "/upload/x"} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			hdr := "PUT " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n"
			if _, err := conn.Write([]byte(hdr)); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			done := make(chan string, 1)
			go func() {
				b, _ := io.ReadAll(conn)
				done <- string(b)
			}()
			tick := time.NewTicker(400 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case ans := <-done:
					if !strings.HasPrefix(ans, "HTTP/1.1 408") {
						t.Fatalf("answer %q, want 408", ans)
					}
					if el := time.Since(start); el > guard.BodyRateGrace+3*time.Second {
						t.Fatalf("cut off after %s; want soon after %s", el, guard.BodyRateGrace)
					}
					return
				case <-tick.C:
					_, _ = conn.Write([]byte("x"))
					if time.Since(start) > 20*time.Second {
						t.Fatal("a body trickled at 2.5 B/s is still being read after 20 s")
					}
				}
			}
		})
	}
}

func TestTokenOK(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		header string
		want   bool
	}{
		{"Bearer abc", true}, {"BEARER abc", true}, {"Bearer  abc ", true},
		{"abc", false}, {"Bearer ab", false}, {"Bearer abcd", false}, {"Basic abc", false}, {"", false}, {"Bearer ", false},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", tt.header)
		if got := guard.TokenOK(r, "abc"); got != tt.want {
			t.Errorf("TokenOK(%q) = %v, want %v", tt.header, got, tt.want)
		}
	}
}

// FuzzHost checks no Host header panics the guard or gets a foreign name
// past it.
func FuzzHost(f *testing.F) {
	for _, s := range []string{"127.0.0.1:1", "[::1]:2", "localhost", "evil.com", "127.0.0.1.evil.com", "[::ffff:127.0.0.1]", "", "a:b:c", "LOCALHOST.", "x.localhost"} {
		f.Add(s)
	}
	h := newGuard(guard.Config{})
	f.Fuzz(func(t *testing.T, host string) {
		r := httptest.NewRequest("GET", "/api", nil)
		r.Host = host
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code == 200 {
			name := strings.ToLower(host)
			if h, _, err := net.SplitHostPort(name); err == nil {
				name = h
			}
			name = strings.Trim(name, "[]")
			ip := net.ParseIP(name)
			name = strings.TrimSuffix(name, ".")
			if !(ip != nil && ip.IsLoopback()) && name != "localhost" && !strings.HasSuffix(name, ".localhost") {
				t.Fatalf("Host %q admitted", host)
			}
		}
	})
}

// TestUploadsAreCapped holds one upload open with MaxConcurrentUploads 1:
// a second waits for the slot, then gets 503; once the first ends, the
// next upload goes through.
func TestUploadsAreCapped(t *testing.T) {
	t.Parallel()
	h := newGuard(guard.Config{MaxConcurrentUploads: 1, UploadWait: 300 * time.Millisecond})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	pr, pw := io.Pipe()
	first := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("PUT", srv.URL+"/upload/a", pr)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			first <- 0
			return
		}
		resp.Body.Close()
		first <- resp.StatusCode
	}()
	_, _ = pw.Write([]byte("partial")) // the first upload holds the slot
	time.Sleep(100 * time.Millisecond)
	put := func() int {
		req, _ := http.NewRequest("PUT", srv.URL+"/upload/b", strings.NewReader("x"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := put(); got != http.StatusServiceUnavailable {
		t.Fatalf("second upload while the slot is held: %d, want 503", got)
	}
	pw.Close()
	if got := <-first; got != 200 {
		t.Fatalf("first upload: %d", got)
	}
	if got := put(); got != 200 {
		t.Fatalf("upload after the slot is free: %d", got)
	}
}

// TestRefusedTrickleIsDropped: a request refused before its body is read
// (here a foreign Host) does not keep its connection while the client
// trickles the body; nor does one a handler answers without reading.
func TestRefusedTrickleIsDropped(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("/early", func(w http.ResponseWriter, r *http.Request) { http.Error(w, `{"error":{}}`, 400) })
	mux.HandleFunc("/", echo)
	srv := httptest.NewServer(guard.New(guard.Config{ListenAddr: "127.0.0.1:1"}).Wrap(mux))
	t.Cleanup(srv.Close)
	for _, tc := range []struct{ name, path, host string }{
		{"refused by the guard", "/api", "evil.example"},
		{"answered early by the handler", "/early", "127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_, _ = conn.Write([]byte("PUT " + tc.path + " HTTP/1.1\r\nHost: " + tc.host + "\r\nContent-Length: 1000\r\n\r\nx"))
			closed := make(chan struct{})
			go func() {
				_, _ = io.ReadAll(conn)
				close(closed)
			}()
			start := time.Now()
			for {
				select {
				case <-closed:
					t.Logf("connection closed after %s", time.Since(start).Round(100*time.Millisecond))
					return
				case <-time.After(time.Second):
					_, _ = conn.Write([]byte("x"))
					if time.Since(start) > guard.StallTimeout+5*time.Second {
						t.Fatal("the server still holds a trickling connection it answered")
					}
				}
			}
		})
	}
}
