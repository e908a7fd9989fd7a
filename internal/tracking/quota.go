package tracking

import (
	"context"
	"sync"
	"time"
)

// quotaRemeasure is how long a workspace's measured size is trusted: the
// registry and trace deletions change the tree behind the proxy's back, so
// the proxy walks it again at most this often while uploads come in.
const quotaRemeasure = time.Minute

// quota bounds the bytes of artifacts each workspace holds: the files in
// its tree plus the uploads being received and the multipart parts waiting
// to be joined. A nil *quota allows everything. Its methods may be called
// concurrently.
type quota struct {
	limit int64
	usage func(ctx context.Context, ws string) (int64, error)
	mu    sync.Mutex
	ws    map[string]*usage
}

// usage is what one workspace holds.
type usage struct {
	stored   int64     // bytes in its tree when measured, plus files placed since
	measured time.Time // zero: measure again before trusting stored
	pending  int64     // bytes being received or waiting as parts
}

// newQuota returns a quota of limit bytes per workspace, or nil for none.
func newQuota(limit int64, measure func(ctx context.Context, ws string) (int64, error)) *quota {
	if limit <= 0 {
		return nil
	}
	return &quota{limit: limit, usage: measure, ws: map[string]*usage{}}
}

// get returns ws's usage, measuring its tree when the last measure is
// stale. The walk runs without the lock; q.mu is held on return.
func (q *quota) get(ctx context.Context, ws string) *usage {
	q.mu.Lock()
	u := q.ws[ws]
	if u == nil {
		u = &usage{}
		q.ws[ws] = u
	}
	if time.Since(u.measured) < quotaRemeasure {
		return u
	}
	q.mu.Unlock()
	size, err := q.usage(ctx, ws)
	q.mu.Lock()
	if err == nil { // else the last measure stands, tried again next time
		u.stored, u.measured = size, time.Now()
	}
	return u
}

// exceeded is the answer to an upload past the quota.
func (q *quota) exceeded(ws string) error {
	return Errorf(CodeResourceExhausted, "workspace %s holds its quota of %d bytes of artifacts; "+
		"delete runs' artifacts (mlflow gc) or raise the server's artifact quota", ws, q.limit)
}

// fits checks, without reserving, that n more bytes (a declared
// Content-Length; negative when unknown) fit in ws's quota.
func (q *quota) fits(ctx context.Context, ws string, n int64) error {
	if q == nil || n <= 0 {
		return nil
	}
	u := q.get(ctx, ws)
	defer q.mu.Unlock()
	if u.stored+u.pending+n > q.limit {
		return q.exceeded(ws)
	}
	return nil
}

// take reserves n bytes being received for ws, or refuses them.
func (q *quota) take(ctx context.Context, ws string, n int64) error {
	if q == nil || n == 0 {
		return nil
	}
	u := q.get(ctx, ws)
	defer q.mu.Unlock()
	if u.stored+u.pending+n > q.limit {
		return q.exceeded(ws)
	}
	u.pending += n
	return nil
}

// release gives back n reserved bytes of ws: an upload that failed or was
// aborted, or parts joined into a file.
func (q *quota) release(ws string, n int64) {
	if q == nil || n == 0 {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if u := q.ws[ws]; u != nil {
		u.pending -= n
	}
}

// commit gives back reserved bytes of ws that became a file of size
// bytes in its tree, which replaced one of old bytes.
func (q *quota) commit(ws string, reserved, size, old int64) {
	if q == nil {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if u := q.ws[ws]; u != nil {
		u.pending -= reserved
		u.stored += size - old
	}
}

// overAfter measures ws's tree again, now, and reports whether it holds
// more than the quota: for bytes that arrived behind the quota's back
// (parts PUT straight to the store), found once they are a file.
func (q *quota) overAfter(ctx context.Context, ws string) error {
	if q == nil {
		return nil
	}
	q.forget(ws)
	u := q.get(ctx, ws)
	defer q.mu.Unlock()
	if u.stored+u.pending > q.limit {
		return q.exceeded(ws)
	}
	return nil
}

// forget makes the next upload to ws measure its tree again, after a
// deletion.
func (q *quota) forget(ws string) {
	if q == nil {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if u := q.ws[ws]; u != nil {
		u.measured = time.Time{}
	}
}
