package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ciel-mlops/ciel/client"
)

// How long the CLI waits for servers.
const (
	healthTimeout = 2 * time.Second  // one health check
	startTimeout  = 10 * time.Second // a started server to answer
	lockTimeout   = 30 * time.Second // another CLI to finish starting one
)

// serverInfo is CIEL_HOME/server.json, written by a running server.
type serverInfo struct {
	URL string `json:"url"`
	PID int    `json:"pid"`
}

// readServerInfo reads home/server.json; ok is false when there is none.
func readServerInfo(home string) (info serverInfo, ok bool, err error) {
	raw, err := os.ReadFile(filepath.Join(home, "server.json"))
	if errors.Is(err, os.ErrNotExist) {
		return info, false, nil
	}
	if err != nil {
		return info, false, fmt.Errorf("read server.json: %w", err)
	}
	if err := json.Unmarshal(raw, &info); err != nil || info.URL == "" {
		return info, false, nil // being written, or garbage: as if absent
	}
	return info, true, nil
}

// healthy reports whether a server answers at url within healthTimeout.
// Any HTTP answer counts (a server that wants another token is up; the
// commands then say so).
func healthy(ctx context.Context, url, token string) bool {
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	cl := client.New(client.Config{URL: url, Token: token, HTTPClient: &http.Client{Timeout: healthTimeout}})
	err := cl.Health(ctx)
	var ae *client.APIError
	return err == nil || errors.As(err, &ae)
}

// client returns a client for the server this CLI uses: CIEL_URL when set
// (never started here), else the local server of CIEL_HOME, started in the
// background when none answers.
func (b *base) client(ctx context.Context) (*client.Client, error) {
	if b.url != "" {
		return client.New(client.Config{URL: b.url, Token: b.token}), nil
	}
	info, err := b.ensureServer(ctx, "")
	if err != nil {
		return nil, err
	}
	return client.New(client.Config{URL: info.URL, Token: b.token}), nil
}

// runningServer returns the local server that answers, if one does.
func (b *base) runningServer(ctx context.Context) (serverInfo, bool, error) {
	home, err := b.cielHome()
	if err != nil {
		return serverInfo{}, false, err
	}
	info, ok, err := readServerInfo(home)
	if err != nil || !ok {
		return info, false, err
	}
	return info, healthy(ctx, info.URL, b.token), nil
}

// ensureServer returns the local server, starting `<exe> server run` when
// none answers, on addr ("" for the address CIEL_HOME remembers). A lock on
// CIEL_HOME/server.lock makes concurrent CLIs start one server between them:
// the others wait and then find it.
func (b *base) ensureServer(ctx context.Context, addr string) (serverInfo, error) {
	if info, ok, err := b.runningServer(ctx); err != nil || ok {
		return info, err
	}
	home, _ := b.cielHome()
	if err := os.MkdirAll(filepath.Join(home, "logs"), 0o700); err != nil {
		return serverInfo{}, fmt.Errorf("create CIEL_HOME: %w", err)
	}
	unlock, err := lockFile(ctx, filepath.Join(home, "server.lock"))
	if err != nil {
		return serverInfo{}, err
	}
	defer unlock()
	if info, ok, err := b.runningServer(ctx); err != nil || ok {
		return info, err // another CLI started it while we waited
	}
	// A stale server.json stays: the new server replaces it, and one that
	// is only slow to answer keeps its own (the new server then refuses
	// to share the home with it, and says so).
	s, err := b.spawnServer(home, addr)
	if err != nil {
		return serverInfo{}, err
	}
	return b.awaitServer(ctx, s)
}

// spawnedServer is a `server run` this CLI started.
type spawnedServer struct {
	exited  <-chan error // yields the process's end should it end
	log     string       // CIEL_HOME/logs/server.log
	logFrom int64        // where its output starts in log
}

// spawnServer starts `<exe> server run [--addr addr]` in its own session,
// detached from this terminal, logging to CIEL_HOME/logs/server.log.
func (b *base) spawnServer(home, addr string) (*spawnedServer, error) {
	exe := b.executable
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("start server: find this executable: %w", err)
		}
	}
	s := &spawnedServer{log: filepath.Join(home, "logs", "server.log")}
	logFile, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("start server: %w", err)
	}
	defer logFile.Close()
	if fi, err := logFile.Stat(); err == nil {
		s.logFrom = fi.Size()
	}
	args := []string{"server", "run"}
	if addr != "" {
		args = append(args, "--addr", addr)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), "CIEL_HOME="+home)
	cmd.Stdin = nil // /dev/null
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start server %s: %w", exe, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }() // reaps it if it dies while we live
	s.exited = exited
	return s, nil
}

// awaitServer waits up to startTimeout for a started server to write
// server.json and answer. When it exits instead, the error carries the last
// line it logged (a taken port, another server on the home).
func (b *base) awaitServer(ctx context.Context, s *spawnedServer) (serverInfo, error) {
	deadline := time.NewTimer(startTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return serverInfo{}, ctx.Err()
		case err := <-s.exited:
			if line := lastLogLine(s.log, s.logFrom); line != "" {
				return serverInfo{}, fmt.Errorf("local ciel server exited while starting: %s\n(see %s)", line, s.log)
			}
			return serverInfo{}, fmt.Errorf("local ciel server exited while starting (%v); see %s", err, s.log)
		case <-deadline.C:
			return serverInfo{}, fmt.Errorf("local ciel server did not answer within %s; see %s", startTimeout, s.log)
		case <-tick.C:
			if info, ok, err := b.runningServer(ctx); err != nil || ok {
				return info, err
			}
		}
	}
}

// lastLogLine returns the last line written to the log at path after offset
// from, without the "ERROR: " the server's main puts before its error; ""
// when there is none.
func lastLogLine(path string, from int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	const tail = 4 << 10
	if fi, err := f.Stat(); err == nil && fi.Size()-from > tail {
		from = fi.Size() - tail
	}
	b, err := io.ReadAll(io.NewSectionReader(f, from, tail))
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.TrimPrefix(strings.TrimSpace(lines[len(lines)-1]), "ERROR: ")
}

// lockFile takes an exclusive flock on path, polling until ctx ends or
// lockTimeout passes; the returned func releases it.
func lockFile(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	deadline := time.Now().Add(lockTimeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// explain makes errors say what to do: the server's answers are printed as
// they are, its validation answers (400, 422) being usage errors, and an
// unreachable server says how to start one.
func (b *base) explain(err error) error {
	if err == nil {
		return nil
	}
	var ae *client.APIError
	if errors.As(err, &ae) {
		// The server's messages stand alone (spec problems carry their
		// file:line:col), so they are printed as they are.
		if ae.Status == http.StatusBadRequest || ae.Status == http.StatusUnprocessableEntity {
			return &ExitError{Code: ExitUsage, Err: ae}
		}
		return ae
	}
	var opErr *net.OpError
	if !errors.As(err, &opErr) && !errors.Is(err, syscall.ECONNREFUSED) {
		return err
	}
	if opErr != nil && opErr.Op == "listen" {
		return err // `server run`'s own address, which says what to do
	}
	if b.url != "" {
		return fmt.Errorf("%w\nis the server at CIEL_URL=%s running? (unset CIEL_URL to use a local server)", err, b.url)
	}
	home, _ := b.cielHome()
	return fmt.Errorf("%w\nthe local ciel server is not answering; start it with `ciel server start` (log: %s)", err, filepath.Join(home, "logs", "server.log"))
}
