// Package s3test runs an S3-compatible server (moto's, installed by
// scripts/s3server.sh) for the tests of everything ciel keeps on S3: the
// blob store, the S3 datastores and Data Factory's S3 file stores.
package s3test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Server is an S3-compatible server for tests (moto's).
type Server struct {
	Endpoint    string
	cl          *minio.Client
	key, secret string // "" for moto's test keys
}

// Test keys: moto accepts any; they reach the FS as environment variables
// through Getenv.
const (
	KeyEnv    = "S3TEST_KEY"
	SecretEnv = "S3TEST_SECRET"
)

// Getenv answers the two test key variables.
func Getenv(name string) string {
	switch name {
	case KeyEnv:
		return "testing"
	case SecretEnv:
		return "testing-secret"
	}
	return ""
}

func motoServer() string {
	if p := os.Getenv("CIEL_TEST_MOTO_SERVER"); p != "" {
		return p
	}
	_, file, _, _ := runtime.Caller(0)
	p := filepath.Join(filepath.Dir(file), "../../.venv-s3/bin/moto_server")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	p, _ = exec.LookPath("moto_server")
	return p
}

// Start runs moto's S3 server on a free loopback port until the test
// ends. It skips t when there is none, except under CI=true, where it
// fails.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartOn(t, "127.0.0.1")
}

// StartOn is Start listening on host (an IP address of this machine), for
// clients elsewhere: a Kubernetes pod reaching the host over its bridge.
func StartOn(t testing.TB, host string) *Server {
	t.Helper()
	bin := motoServer()
	if bin == "" {
		msg := "no S3 server: run scripts/s3server.sh install (moto[server] from PyPI) or set CIEL_TEST_MOTO_SERVER"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(bin, "-H", host, "-p", fmt.Sprint(port))
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	hostPort := net.JoinHostPort(host, fmt.Sprint(port))
	s := &Server{Endpoint: "http://" + hostPort}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(s.Endpoint + "/")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("S3 server did not start: %v\n%s", err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.cl, err = minio.New(hostPort, &minio.Options{Creds: credentials.NewStaticV4("testing", "testing-secret", "")})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var bucketSeq atomic.Int64

// Bucket makes a new empty bucket and returns its name.
func (s *Server) Bucket(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("s3test-%d-%d", time.Now().UnixNano()%1e9, bucketSeq.Add(1))
	if err := s.cl.MakeBucket(context.Background(), name, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("make bucket %s: %v", name, err)
	}
	return name
}

// Client is a client of the server with the test keys.
func (s *Server) Client() *minio.Client { return s.cl }

// One server for the whole test process, for suites that run many servers
// of ciel (e2e's S3 leg), each with its own bucket.
var (
	sharedOnce sync.Once
	shared     *Server
	sharedErr  error
)

// Shared returns a server for the whole test process: the one at
// CIEL_TEST_S3_ENDPOINT (with the keys of AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY), else a moto server started once, which dies with
// the process. Like Start, it skips t when there is none, except under
// CI=true.
func Shared(t testing.TB) *Server {
	t.Helper()
	sharedOnce.Do(func() { shared, sharedErr = startShared() })
	if sharedErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(sharedErr)
		}
		t.Skip(sharedErr)
	}
	return shared
}

func startShared() (*Server, error) {
	if ep := os.Getenv("CIEL_TEST_S3_ENDPOINT"); ep != "" {
		u, err := url.Parse(ep)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("CIEL_TEST_S3_ENDPOINT %q: want http://HOST:PORT", ep)
		}
		cl, err := minio.New(u.Host, &minio.Options{Secure: u.Scheme == "https",
			Creds: credentials.NewStaticV4(os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), "")})
		if err != nil {
			return nil, err
		}
		return &Server{Endpoint: ep, cl: cl, key: os.Getenv("AWS_ACCESS_KEY_ID"), secret: os.Getenv("AWS_SECRET_ACCESS_KEY")}, nil
	}
	bin := motoServer()
	if bin == "" {
		return nil, errors.New("no S3 server: run scripts/s3server.sh install (moto[server] from PyPI) or set CIEL_TEST_S3_ENDPOINT")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	// Killed when this process ends, however it ends.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &Server{Endpoint: fmt.Sprintf("http://127.0.0.1:%d", port), key: "testing", secret: "testing-secret"}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get(s.Endpoint + "/")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("S3 server did not start: %v", err)
		}
	}
	s.cl, err = minio.New(fmt.Sprintf("127.0.0.1:%d", port), &minio.Options{Creds: credentials.NewStaticV4(s.key, s.secret, "")})
	return s, err
}

// Keys returns the access key and secret the server takes.
func (s *Server) Keys() (key, secret string) {
	if s.key == "" {
		return "testing", "testing-secret"
	}
	return s.key, s.secret
}
