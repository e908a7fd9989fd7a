package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/ciel-mlops/ciel/internal/engine"
	"github.com/ciel-mlops/ciel/internal/store"
	"github.com/ciel-mlops/ciel/internal/ui"
)

// Servers sharing a store each run some jobs, and a step's live log is on
// the disk of the server running it (engine/steplog.go). Any server serves
// it by asking that one for the new part of it (GET .../logs?step=&offset=
// &limit=), as the caller: with the caller's own credentials, so that no
// server holds a key to the others, at the address that server recorded
// with its heartbeat, never at one a request names. A forwarded read is
// marked, and answered from the disk and the blob store only, so reads
// never go round in circles.

// forwardedHeader marks a log read one server asks of another, naming the
// server asking.
const forwardedHeader = "X-Ciel-Forwarded-By"

// remoteLogTimeout bounds one read of a log from another server.
const remoteLogTimeout = 10 * time.Second

// replicaAddresses finds the servers sharing the store.
type replicaAddresses interface {
	// ReplicaAddress returns the base URL the server named id recorded
	// with a heartbeat renewed at now; store.ErrNotFound otherwise.
	ReplicaAddress(ctx context.Context, id string, now time.Time) (string, error)
}

// replicaLogs reads step logs from the other servers sharing the store.
type replicaLogs struct {
	addrs  replicaAddresses // nil for a server alone
	self   string           // this server's replica name
	client *http.Client
}

// newReplicaClient is the HTTP client of reads from other servers: bounded
// in time, and following no redirect (an answer cannot send the caller's
// credentials elsewhere).
func newReplicaClient() *http.Client {
	return &http.Client{
		Timeout:       remoteLogTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// remote returns the engine.RemoteLog with which request r reads the logs
// of jobs other servers run: nil for a server alone or a request itself
// forwarded by another server.
func (rl replicaLogs) remote(r *http.Request) engine.RemoteLog {
	if rl.addrs == nil || r.Header.Get(forwardedHeader) != "" {
		return nil
	}
	auth := r.Header.Get("Authorization")
	session, _ := r.Cookie(ui.CookieName)
	return func(ctx context.Context, owner, ws, job, step string, offset, limit int64) ([]byte, error) {
		addr, err := rl.addrs.ReplicaAddress(ctx, owner, time.Now())
		if err != nil {
			return nil, err
		}
		base, err := url.Parse(addr)
		if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
			return nil, fmt.Errorf("address %q of server %s: not an http(s) URL", addr, owner)
		}
		u := base.JoinPath("api", "v1", "workspaces", ws, "jobs", job, "logs")
		u.RawQuery = url.Values{"step": {step}, "offset": {strconv.FormatInt(offset, 10)},
			"limit": {strconv.FormatInt(limit, 10)}}.Encode()
		ctx, cancel := context.WithTimeout(ctx, remoteLogTimeout)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set(forwardedHeader, rl.self)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		if session != nil {
			req.AddCookie(session)
		}
		resp, err := rl.client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("read a log from server %s: %w", owner, err)
		}
		defer resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusOK:
		case http.StatusNotFound:
			return nil, fmt.Errorf("log of step %s of job %s on server %s: %w", step, job, owner, store.ErrNotFound)
		default:
			return nil, fmt.Errorf("read a log from server %s: %s", owner, resp.Status)
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, limit))
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read a log from server %s: %w", owner, err)
		}
		return b, nil
	}
}
