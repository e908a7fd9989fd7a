package sqldb

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/ciel-mlops/ciel/internal/store"
)

// Job leases: when several servers share one database, each unfinished job
// runs on the server holding its lease (jobs.owner until jobs.lease_until,
// 0019_job_leases.up.sql). The owner renews its leases well before they
// end; a job whose lease has ended (its server died) is claimed by
// another, which resumes it.

// ClaimJobs gives owner the lease, until until, of up to limit unfinished
// jobs whose lease ended before now (or, with mine, that owner holds: a
// server starting again takes back its own at once), and returns them
// oldest first. Servers
// claiming at once each get different jobs: on PostgreSQL the rows another
// is claiming are skipped (FOR UPDATE SKIP LOCKED), and SQLite has one
// writer.
func (s *Store) ClaimJobs(ctx context.Context, owner string, mine bool, now, until time.Time, limit int) ([]store.Job, error) {
	var out []store.Job
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, s.claimSQL("jobs", "seq", `owner = ?1, lease_until = ?2`,
			`status NOT IN `+terminalStatuses+` AND (lease_until < ?3 OR (?5 AND owner = ?1))`, ` ORDER BY seq LIMIT ?4`, jobCols),
			owner, timeArg(until), timeArg(now), limit, mine)
		if err != nil {
			return err
		}
		out, err = collect(rows, scanJob)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim jobs for %s: %w", owner, err)
	}
	slices.SortFunc(out, func(a, b store.Job) int { return cmp.Compare(a.CreatedAt.UnixNano(), b.CreatedAt.UnixNano()) })
	return out, nil
}

// RenewLeases extends to until the lease of every unfinished job owner
// holds and returns those jobs (with their CancelRequested, so a cancel
// asked of another server reaches the owner). A job missing from the
// answer is no longer owner's: another server claimed it after the lease
// ended.
func (s *Store) RenewLeases(ctx context.Context, owner string, until time.Time) ([]store.Job, error) {
	var out []store.Job
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `UPDATE jobs SET lease_until = ?
			WHERE owner = ? AND status NOT IN `+terminalStatuses+` RETURNING `+jobCols, timeArg(until), owner)
		if err != nil {
			return err
		}
		out, err = collect(rows, scanJob)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("renew the leases of %s: %w", owner, err)
	}
	return out, nil
}
