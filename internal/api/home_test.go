package api

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestLockHomeIsExclusive(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	release, err := lockHome(home)
	if err != nil {
		t.Fatal(err)
	}
	info := ServerInfo{URL: "http://127.0.0.1:7399", PID: os.Getpid()}
	if err := writeInfo(home, info); err != nil {
		t.Fatal(err)
	}

	_, err = lockHome(home)
	var inUse *HomeInUseError
	if !errors.As(err, &inUse) {
		t.Fatalf("second lockHome = %v, want a HomeInUseError", err)
	}
	want := "another ciel server (pid " + strconv.Itoa(os.Getpid()) + ", http://127.0.0.1:7399) is using CIEL_HOME " + home +
		"; stop it with ciel server stop"
	if err.Error() != want {
		t.Errorf("error %q\nwant  %q", err, want)
	}

	// A stale server.json of another process is not the holder's address.
	if err := writeInfo(home, ServerInfo{URL: "http://127.0.0.1:1", PID: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := lockHome(home); err == nil || !strings.Contains(err.Error(), "still starting") {
		t.Errorf("with a stale server.json: %v, want the holder still starting", err)
	}

	release()
	release, err = lockHome(home)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	release()
}

func TestRemoveInfoOnlyOwn(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	other := ServerInfo{URL: "http://127.0.0.1:1", PID: 1}
	if err := writeInfo(home, other); err != nil {
		t.Fatal(err)
	}
	removeInfo(home, ServerInfo{URL: "http://127.0.0.1:2", PID: os.Getpid()})
	if got, err := readInfo(home); err != nil || got != other {
		t.Fatalf("another server's server.json: %+v, %v; want it kept", got, err)
	}
	removeInfo(home, other)
	if _, err := os.Stat(InfoPath(home)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("own server.json still there: %v", err)
	}
}

func TestTightenHome(t *testing.T) {
	t.Parallel()
	home := filepath.Join(t.TempDir(), "home")
	if err := os.Mkdir(home, 0o755); err != nil {
		t.Fatal(err)
	}
	files := []string{"ciel.db", "ciel.db-wal", "ciel.db-shm", "server.json", "config.json"}
	for _, name := range files {
		if err := os.WriteFile(filepath.Join(home, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(home, name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(home, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := tightenHome(home); err != nil {
		t.Fatal(err)
	}
	checkMode(t, home, 0o700)
	for _, name := range files {
		checkMode(t, filepath.Join(home, name), 0o600)
	}
}

func checkMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != want {
		t.Errorf("%s: mode %v, want %v", path, fi.Mode().Perm(), want)
	}
}

func TestListenRemembersAddress(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	ln, err := listen(home, "127.0.0.1:0", acceptAny)
	if err != nil {
		t.Fatal(err)
	}
	picked := ln.Addr().String()
	ln.Close()
	checkMode(t, filepath.Join(home, addrName), 0o600)

	// "" is the remembered address with the port picked, not a new one.
	ln, err = listen(home, "", acceptAny)
	if err != nil {
		t.Fatal(err)
	}
	if got := ln.Addr().String(); got != picked {
		t.Errorf("restart listens on %s, want %s", got, picked)
	}

	// Taken (here by the listener still open): a clear error, not a move.
	_, err = listen(home, "", acceptAny)
	var inUse *AddrInUseError
	if !errors.As(err, &inUse) {
		t.Fatalf("listen on a taken port = %v, want an AddrInUseError", err)
	}
	want := picked + " is in use by another program; start ciel on another with ciel server start --addr 127.0.0.1:PORT"
	if err.Error() != want {
		t.Errorf("error %q\nwant  %q", err, want)
	}
	ln.Close()

	// An address the server refuses to serve is not remembered.
	refused := errors.New("no token")
	if _, err := listen(home, "127.0.0.1:0", func(net.Addr) error { return refused }); !errors.Is(err, refused) {
		t.Fatalf("listen with a refusing accept = %v", err)
	}
	if ln, err = listen(home, "", acceptAny); err != nil {
		t.Fatal(err)
	}
	if got := ln.Addr().String(); got != picked {
		t.Errorf("after a refused start the server listens on %s, want %s", got, picked)
	}
	ln.Close()
}

func acceptAny(net.Addr) error { return nil }

func TestListenDefault(t *testing.T) {
	t.Parallel()
	host, port, err := net.SplitHostPort(DefaultAddr)
	if err != nil || host != "127.0.0.1" || port == "0" {
		t.Fatalf("DefaultAddr %q is not a fixed loopback port", DefaultAddr)
	}
}
