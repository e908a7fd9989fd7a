package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ciel-mlops/ciel/internal/api"
)

// serveEnv, when set, makes the test binary act as `ciel server run` with
// a fake api.Serve: the CLI's autostart re-executes this binary.
const serveEnv = "CIEL_CLI_TEST_SERVE"

func TestMain(m *testing.M) {
	if os.Getenv(serveEnv) == "1" {
		err := NewRoot(Config{Args: os.Args[1:], Serve: fakeServe}).Execute()
		if err != nil {
			fmt.Fprintln(os.Stderr, "ERROR:", err)
		}
		os.Exit(ExitCode(err))
	}
	os.Setenv(serveEnv, "1") // seen only by the servers tests start
	os.Exit(m.Run())
}

// fakeServe does what api.Serve promises the CLI: listen, write
// Home/server.json, answer health checks, remove the file on stop.
func fakeServe(ctx context.Context, cfg api.Config) error {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	url := "http://" + ln.Addr().String()
	raw, _ := json.Marshal(serverInfo{URL: url, PID: os.Getpid()})
	info := filepath.Join(cfg.Home, "server.json")
	if err := os.WriteFile(info, raw, 0o644); err != nil {
		return err
	}
	defer os.Remove(info)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/health", func(http.ResponseWriter, *http.Request) {})
	srv := &http.Server{Handler: mux}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if cfg.Ready != nil {
		cfg.Ready(url)
	}
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func TestAutostartStartsOneServer(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	newTestBase := func() *base {
		return newBase(Config{Executable: exe, Getenv: func(k string) string { return tb.env[k] }})
	}

	// Several CLIs at once find no server; the lock lets one start it.
	const n = 4
	infos := make([]serverInfo, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { infos[i], errs[i] = newTestBase().ensureServer(t.Context(), "") })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("ensureServer %d: %v", i, errs[i])
		}
		if infos[i] != infos[0] {
			t.Errorf("ensureServer %d found %+v, another %+v: more than one server started", i, infos[i], infos[0])
		}
	}
	t.Cleanup(func() { _ = (&serverStopCmd{newTestBase()}).Run(context.Background(), &serverOpts{}) })

	// The commands see it.
	var out strings.Builder
	b := newTestBase()
	b.out = &out
	if err := (&serverStatusCmd{b}).Run(t.Context(), &serverOpts{output{Format: formatJSON}}); err != nil {
		t.Fatal(err)
	}
	var st serverStatus
	if err := json.Unmarshal([]byte(out.String()), &st); err != nil || !st.Running || st.PID != infos[0].PID {
		t.Fatalf("server status = %s (%v), want running pid %d", out.String(), err, infos[0].PID)
	}
	if _, err := b.client(t.Context()); err != nil {
		t.Fatal(err)
	}

	// stop ends the process and the next status says so.
	out.Reset()
	if err := (&serverStopCmd{b}).Run(t.Context(), &serverOpts{}); err != nil {
		t.Fatal(err)
	}
	if processAlive(infos[0].PID) {
		t.Errorf("pid %d still alive after server stop", infos[0].PID)
	}
	if _, ok, err := b.runningServer(t.Context()); ok || err != nil {
		t.Errorf("after stop: running %v, err %v", ok, err)
	}
	log, _ := os.ReadFile(filepath.Join(tb.home, "logs", "server.log"))
	if !strings.Contains(string(log), "ciel server listening on") {
		t.Errorf("server.log = %q, want the server's own output", log)
	}
}

func TestAutostartReportsAServerThatDies(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	b := newBase(Config{Executable: "/bin/false", Getenv: func(k string) string { return tb.env[k] }})
	_, err := b.client(t.Context())
	if err == nil || !strings.Contains(err.Error(), "exited while starting") || !strings.Contains(err.Error(), "server.log") {
		t.Fatalf("client() = %v, want an error pointing at the log", err)
	}
}

// A server that exits while starting says why: the CLI shows the last line
// it logged in this start, not one left by an earlier run.
func TestAutostartShowsWhyTheServerExited(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	if err := os.MkdirAll(filepath.Join(tb.home, "logs"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tb.home, "logs", "server.log"), []byte("ERROR: an old run's error\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(t.TempDir(), "ciel")
	script := "#!/bin/sh\necho 'level=INFO msg=starting'\necho \"ERROR: 127.0.0.1:7311 is in use ($*)\" >&2\nexit 1\n"
	if err := os.WriteFile(exe, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	b := newBase(Config{Executable: exe, Getenv: func(k string) string { return tb.env[k] }})
	_, err := b.ensureServer(t.Context(), "127.0.0.1:7311")
	if err == nil || !strings.Contains(err.Error(), "exited while starting: 127.0.0.1:7311 is in use (server run --addr 127.0.0.1:7311)") {
		t.Fatalf("ensureServer = %v, want the server's last line, run with --addr", err)
	}
	if strings.Contains(err.Error(), "old run") {
		t.Errorf("error shows an earlier run's line: %v", err)
	}
}

func TestServerStartAddr(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b := newBase(Config{Executable: exe, Getenv: func(k string) string { return tb.env[k] }})
	t.Cleanup(func() { _ = (&serverStopCmd{b}).Run(context.Background(), &serverOpts{}) })
	var out strings.Builder
	b.out = &out
	if err := (&serverStartCmd{b}).Run(t.Context(), &serverStartOpts{Addr: "127.0.0.1:0", output: output{Format: formatJSON}}); err != nil {
		t.Fatal(err)
	}
	var st serverStatus
	if err := json.Unmarshal([]byte(out.String()), &st); err != nil || !st.Running || !strings.HasPrefix(st.URL, "http://127.0.0.1:") {
		t.Fatalf("server start = %s (%v)", out.String(), err)
	}
	// Port 0 accepts the running server; another address is refused.
	if err := (&serverStartCmd{b}).Run(t.Context(), &serverStartOpts{Addr: "127.0.0.1:0", output: output{Format: formatJSON}}); err != nil {
		t.Errorf("start again on port 0: %v", err)
	}
	err = (&serverStartCmd{b}).Run(t.Context(), &serverStartOpts{Addr: "127.0.0.1:1", output: output{Format: formatJSON}})
	if err == nil || !strings.Contains(err.Error(), "is already running at "+st.URL) {
		t.Errorf("start on another address = %v, want already running at %s", err, st.URL)
	}
}

func TestValidateAddr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr string
		ok   bool
	}{
		{"", true},
		{"127.0.0.1:7311", true},
		{"127.0.0.1:0", true},
		{"[::1]:7311", true},
		{":7311", true},
		{"127.0.0.1", false},
		{"127.0.0.1:", false},
		{"http://127.0.0.1:7311", false},
	}
	for _, tt := range tests {
		if err := validateAddr(tt.addr); (err == nil) != tt.ok {
			t.Errorf("validateAddr(%q) = %v, want ok %v", tt.addr, err, tt.ok)
		}
	}
}

func TestServesAt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url, addr string
		want      bool
	}{
		{"http://127.0.0.1:7311", "127.0.0.1:7311", true},
		{"http://127.0.0.1:7311", "127.0.0.1:0", true},
		{"http://127.0.0.1:7311", "127.0.0.1:7312", false},
		{"http://127.0.0.1:7311", "localhost:7311", false},
		{"http://[::1]:7311", "[::1]:7311", true},
	}
	for _, tt := range tests {
		if got := servesAt(tt.url, tt.addr); got != tt.want {
			t.Errorf("servesAt(%q, %q) = %v, want %v", tt.url, tt.addr, got, tt.want)
		}
	}
}
