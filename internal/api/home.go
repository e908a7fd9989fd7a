package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// DefaultAddr is where a local server listens when neither --addr nor an
// earlier start chose an address. A fixed port keeps the URLs a server hands
// out (MLFLOW_TRACKING_URI, workspace tracking URIs) valid across restarts.
// 7311 is in a range no common developer tool claims, unlike 5000 (MLflow,
// macOS AirPlay), 3000, 8000, 8080, 8888 (Jupyter) or 6006 (TensorBoard).
const DefaultAddr = "127.0.0.1:7311"

// Names of the files a server keeps in its home besides its data.
const (
	// homeLockName is the file a server holds an exclusive flock on for its
	// whole life, so that one CIEL_HOME has one server; it holds the pid.
	// (CIEL_HOME/server.lock is another lock: the one CLIs take for a
	// moment while they start a server.)
	homeLockName = "home.lock"
	// addrName remembers the address the last server listened on.
	addrName = "address.json"
)

// HomeInUseError is Serve's error when another server holds the home.
type HomeInUseError struct {
	Home string
	// PID is the other server's process, 0 when unknown.
	PID int
	// URL is where it listens, "" while it is still starting.
	URL string
}

func (e *HomeInUseError) Error() string {
	who := "pid unknown"
	if e.PID != 0 {
		who = "pid " + strconv.Itoa(e.PID)
	}
	where := "still starting"
	if e.URL != "" {
		where = e.URL
	}
	return fmt.Sprintf("another ciel server (%s, %s) is using CIEL_HOME %s; stop it with ciel server stop", who, where, e.Home)
}

// AddrInUseError is Serve's error when its address is taken by another
// program.
type AddrInUseError struct {
	Addr string
	Err  error
}

func (e *AddrInUseError) Error() string {
	host, _, err := net.SplitHostPort(e.Addr)
	if err != nil {
		host = "127.0.0.1"
	}
	return fmt.Sprintf("%s is in use by another program; start ciel on another with ciel server start --addr %s",
		e.Addr, net.JoinHostPort(host, "PORT"))
}

func (e *AddrInUseError) Unwrap() error { return e.Err }

// lockHome takes the home's server lock without waiting and writes this
// process's pid into it; release gives it back. When another process holds
// it the error is a *HomeInUseError naming that server. The lock file is
// opened close-on-exec, so steps and workers the server starts never hold it.
func lockHome(home string) (release func(), err error) {
	path := filepath.Join(home, homeLockName)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock CIEL_HOME: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, homeInUse(home)
		}
		return nil, fmt.Errorf("lock CIEL_HOME: %w", err)
	}
	err = f.Truncate(0)
	if err == nil {
		_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock CIEL_HOME: %w", err)
	}
	return func() {
		_ = f.Truncate(0)
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// homeInUse describes the server holding home's lock: its pid from the lock
// file, its URL from server.json when that file is the same server's.
func homeInUse(home string) *HomeInUseError {
	e := &HomeInUseError{Home: home}
	if b, err := os.ReadFile(filepath.Join(home, homeLockName)); err == nil {
		e.PID, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	if info, err := readInfo(home); err == nil && (e.PID == 0 || info.PID == e.PID) {
		e.PID, e.URL = info.PID, info.URL
	}
	return e
}

// tightenHome makes a home left by an older ciel private: the home 0700,
// which alone keeps other users from everything inside, and the files that
// hold secrets (the database with its WAL, server.json, the CLI's config)
// 0600. What ciel creates now is private from the start.
func tightenHome(home string) error {
	if err := chmodPrivate(home); err != nil {
		return fmt.Errorf("tighten CIEL_HOME: %w", err)
	}
	for _, name := range []string{"ciel.db", "ciel.db-wal", "ciel.db-shm", "server.json", "config.json", addrName, blobStoreName, metaStoreName, replicaName, homeLockName} {
		if err := chmodPrivate(filepath.Join(home, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("tighten CIEL_HOME: %w", err)
		}
	}
	return nil
}

// chmodPrivate clears the group and other bits of path, when it has any.
func chmodPrivate(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSymlink != 0 || fi.Mode().Perm()&0o077 == 0 {
		return nil
	}
	return os.Chmod(path, fi.Mode().Perm()&^0o077)
}

// addrState is what Home/address.json remembers.
type addrState struct {
	Addr string `json:"addr"`
}

// HomeAddr returns the address a server of home listens on when started
// with no address: the one its last server used, else DefaultAddr.
func HomeAddr(home string) string {
	var st addrState
	if b, err := os.ReadFile(filepath.Join(home, addrName)); err == nil && json.Unmarshal(b, &st) == nil && st.Addr != "" {
		return st.Addr
	}
	return DefaultAddr
}

// listen opens the server's listener on addr; "" means the address the
// last server of home used, else DefaultAddr. The address is remembered
// with the port actually opened, so that port 0 ("pick a free one") is
// picked once and kept by later starts. A taken port is an
// *AddrInUseError. accept vets the opened address before it is remembered,
// so an address the server then refuses to serve is not tried again.
func listen(home, addr string, accept func(net.Addr) error) (net.Listener, error) {
	if addr == "" {
		addr = HomeAddr(home)
	}
	ln, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, &AddrInUseError{Addr: addr, Err: err}
	}
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	if err := accept(ln.Addr()); err != nil {
		ln.Close()
		return nil, err
	}
	host, _, _ := net.SplitHostPort(addr)
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	b, _ := json.Marshal(addrState{Addr: net.JoinHostPort(host, port)})
	if err := writePrivate(filepath.Join(home, addrName), b); err != nil {
		ln.Close()
		return nil, fmt.Errorf("remember address: %w", err)
	}
	return ln, nil
}

// readInfo reads Home/server.json.
func readInfo(home string) (ServerInfo, error) {
	var info ServerInfo
	b, err := os.ReadFile(InfoPath(home))
	if err != nil {
		return info, err
	}
	return info, json.Unmarshal(b, &info)
}

// writeInfo writes server.json atomically, readable by its owner only.
func writeInfo(home string, info ServerInfo) error {
	b, err := json.Marshal(info)
	if err != nil {
		return err
	}
	if err := writePrivate(InfoPath(home), b); err != nil {
		return fmt.Errorf("write server info: %w", err)
	}
	return nil
}

// removeInfo removes server.json if it is still own's: a file another
// server wrote is not this one's to remove.
func removeInfo(home string, own ServerInfo) {
	if info, err := readInfo(home); err == nil && info == own {
		_ = os.Remove(InfoPath(home))
	}
}

// writePrivate replaces path with data atomically, mode 0600.
func writePrivate(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	// WriteFile keeps the mode of a tmp an earlier run left behind.
	if err := os.Chmod(tmp, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
