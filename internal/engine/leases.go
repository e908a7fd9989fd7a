package engine

import (
	"context"
	"maps"
	"time"

	"github.com/ciel-mlops/ciel/internal/store"
)

// Leases is a store several servers share (PostgreSQL): each unfinished
// job runs on the server that holds its lease (store.Job.Owner).
type Leases interface {
	// ClaimJobs gives owner the lease, until until, of up to limit
	// unfinished jobs whose lease ended before now (or, with mine, that
	// owner holds), and returns them.
	ClaimJobs(ctx context.Context, owner string, mine bool, now, until time.Time, limit int) ([]store.Job, error)
	// RenewLeases extends owner's leases to until and returns the jobs it
	// still holds.
	RenewLeases(ctx context.Context, owner string, until time.Time) ([]store.Job, error)
}

// claimBatch bounds the jobs one claim takes, so that servers starting
// together share a backlog.
const claimBatch = 50

// claim takes over the jobs whose lease has ended (and, with mine, those
// the engine's replica held before it started again) and resumes them.
func (e *Engine) claim(ctx context.Context, mine bool) error {
	now := time.Now()
	jobs, err := e.cfg.Leases.ClaimJobs(ctx, e.cfg.Replica, mine, now, now.Add(e.cfg.Lease), claimBatch)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		if e.isRunning(j) {
			continue // ours already: claimed again after a late renewal
		}
		e.cfg.Logger.Info("taking over job", "workspace", j.Workspace, "job", j.Name)
		if err := e.resumeJob(ctx, j); err != nil {
			return err
		}
	}
	return nil
}

// keepLeases renews the engine's leases every third of the lease, stops
// the runs of jobs it no longer holds, passes on cancels asked of another
// server, resumes jobs it holds but no longer runs, and takes over jobs
// whose lease has ended, until the engine closes.
func (e *Engine) keepLeases() {
	defer e.wg.Done()
	tick := time.NewTicker(e.cfg.Lease / 3)
	defer tick.Stop()
	renewed := time.Now()
	var orphans map[string]bool
	for {
		select {
		case <-e.ctx.Done():
			return
		case <-tick.C:
		}
		// The runs as they are before the renewal: a job started while it
		// runs was recorded after the renewal read the jobs, so its
		// absence from the answer says nothing.
		before := e.runs()
		held, err := e.cfg.Leases.RenewLeases(e.ctx, e.cfg.Replica, time.Now().Add(e.cfg.Lease))
		if err != nil {
			e.cfg.Logger.Warn("renew job leases", "err", err)
			if time.Since(renewed) > e.cfg.Lease*2/3 {
				// Another server may take them any moment: stop first.
				e.release(nil, e.runs())
			}
			continue
		}
		renewed = time.Now()
		e.release(held, before)
		orphans = e.resumeOrphans(held, before, orphans)
		if err := e.claim(e.ctx, false); err != nil && e.ctx.Err() == nil {
			e.cfg.Logger.Warn("take over jobs", "err", err)
		}
	}
}

// runs returns a copy of the engine's runs by job key.
func (e *Engine) runs() map[string]*jobRun {
	e.mu.Lock()
	defer e.mu.Unlock()
	return maps.Clone(e.running)
}

// release stops the local runs, among runs (taken before the renewal that
// returned held), of jobs not in held, which another server now holds, and
// cancels those in held whose cancel was asked elsewhere.
func (e *Engine) release(held []store.Job, runs map[string]*jobRun) {
	keep := make(map[string]store.Job, len(held))
	for _, j := range held {
		keep[j.Workspace+"/"+j.Name] = j
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for key, r := range runs {
		if e.running[key] != r || r.ended.Load() {
			continue // ended since, or recording its end
		}
		j, ok := keep[key]
		switch {
		case !ok:
			e.cfg.Logger.Warn("lost the lease of a job: stopping it here", "job", key)
			r.release()
		case j.CancelRequested:
			r.cancel()
		}
	}
}

// resumeOrphans resumes the jobs this engine holds (held) but did not run
// (runs, taken before the renewal) at this renewal and the one before
// (last, what it returned then): its runs stopped when a renewal failed,
// and renewing their leases since has kept every other server off them.
// One renewal alone is not enough: a job being created is held before it
// runs. It returns this renewal's orphans.
func (e *Engine) resumeOrphans(held []store.Job, runs map[string]*jobRun, last map[string]bool) map[string]bool {
	now := make(map[string]bool)
	for _, j := range held {
		key := j.Workspace + "/" + j.Name
		if runs[key] != nil || e.isRunning(j) {
			continue
		}
		now[key] = true
		if !last[key] {
			continue
		}
		e.cfg.Logger.Warn("resuming a job this server holds but no longer runs", "job", key)
		if err := e.resumeJob(e.ctx, j); err != nil && e.ctx.Err() == nil {
			e.cfg.Logger.Warn("resume job", "job", key, "err", err)
		}
		delete(now, key)
	}
	return now
}

// isRunning reports whether j runs in this engine.
func (e *Engine) isRunning(j store.Job) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.running[j.Workspace+"/"+j.Name] != nil
}
