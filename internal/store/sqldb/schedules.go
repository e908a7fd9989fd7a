package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ciel-mlops/ciel/internal/schedule"
	"github.com/ciel-mlops/ciel/internal/store"
)

// Job schedules and their firings (0011_schedules.up.sql).

var _ schedule.Store = (*ScheduleStore)(nil)

// ScheduleStore is the schedule.Store kept in a Store's database: a view
// sharing the Store's writer and readers, closed with it.
type ScheduleStore struct {
	s *Store
}

// Schedules returns the schedule.Store view of s.
func (s *Store) Schedules() *ScheduleStore { return &ScheduleStore{s: s} }

const scheduleCols = `record, enabled, next_fire, revision, created_at, updated_at`

func scanJobSchedule(sc scanner) (schedule.Schedule, error) {
	var (
		x                schedule.Schedule
		record           string
		next             sql.NullInt64
		created, updated int64
	)
	if err := sc.Scan(&record, &x.Enabled, &next, &x.Revision, &created, &updated); err != nil {
		return x, err
	}
	enabled, revision := x.Enabled, x.Revision
	if err := json.Unmarshal([]byte(record), &x); err != nil {
		return x, fmt.Errorf("decode schedule: %w", err)
	}
	x.Enabled, x.Revision = enabled, revision
	x.NextFire = time.Time{}
	if next.Valid {
		x.NextFire = timeCol(next.Int64)
	}
	x.CreatedAt, x.UpdatedAt = timeCol(created), timeCol(updated)
	return x, nil
}

// optNext is a next fire time as a column: NULL for none.
func optNext(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return timeArg(t)
}

// PutSchedule creates x or replaces the schedule of its name, keeping its
// CreatedAt and giving it a new revision; store.ErrNotFound when the
// workspace does not exist.
func (c *ScheduleStore) PutSchedule(ctx context.Context, x schedule.Schedule) (schedule.Schedule, error) {
	now := time.Now().UTC().Round(0)
	x.UpdatedAt = now
	err := c.s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var created, revision int64
		err := tx.QueryRowContext(ctx, `SELECT created_at, revision FROM schedules WHERE workspace = ? AND name = ?`,
			x.Workspace, x.Name).Scan(&created, &revision)
		switch {
		case err == sql.ErrNoRows:
			x.CreatedAt, x.Revision = now, 1
		case err != nil:
			return err
		default:
			x.CreatedAt, x.Revision = timeCol(created), revision+1
		}
		rec, err := json.Marshal(x)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO schedules (workspace, name, `+scheduleCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (workspace, name) DO UPDATE SET record = excluded.record, enabled = excluded.enabled,
			next_fire = excluded.next_fire, revision = excluded.revision, updated_at = excluded.updated_at`,
			x.Workspace, x.Name, string(rec), x.Enabled, optNext(x.NextFire), x.Revision, timeArg(x.CreatedAt), timeArg(now))
		return err
	})
	if err != nil {
		return schedule.Schedule{}, opErr(fmt.Sprintf("put schedule %q in workspace %q", x.Name, x.Workspace), err)
	}
	return x, nil
}

// GetSchedule returns store.ErrNotFound when absent.
func (c *ScheduleStore) GetSchedule(ctx context.Context, ws, name string) (schedule.Schedule, error) {
	x, err := scanJobSchedule(c.s.rdb.QueryRowContext(ctx, `SELECT `+scheduleCols+` FROM schedules WHERE workspace = ? AND name = ?`, ws, name))
	if err != nil {
		return x, opErr(fmt.Sprintf("get schedule %q in workspace %q", name, ws), notFoundIfNone(err))
	}
	return x, nil
}

// ListSchedules returns a workspace's schedules by name;
// store.ErrNotFound when the workspace does not exist.
func (c *ScheduleStore) ListSchedules(ctx context.Context, ws string) ([]schedule.Schedule, error) {
	rows, err := c.s.rdb.QueryContext(ctx, `SELECT `+scheduleCols+` FROM schedules WHERE workspace = ? ORDER BY name`, ws)
	if err == nil {
		var out []schedule.Schedule
		if out, err = collect(rows, scanJobSchedule); err == nil && len(out) == 0 {
			err = c.s.requireWorkspace(ctx, ws)
		}
		if err == nil {
			return out, nil
		}
	}
	return nil, fmt.Errorf("list schedules in workspace %q: %w", ws, err)
}

// SetScheduleEnabled sets a schedule's enabled flag and next fire time
// and gives it a new revision; store.ErrNotFound when absent.
func (c *ScheduleStore) SetScheduleEnabled(ctx context.Context, ws, name string, enabled bool, next time.Time) (schedule.Schedule, error) {
	err := c.s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE schedules SET enabled = ?, next_fire = ?, revision = revision + 1, updated_at = ?
			WHERE workspace = ? AND name = ?`, enabled, optNext(next), timeArg(time.Now()), ws, name)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
	if err != nil {
		return schedule.Schedule{}, opErr(fmt.Sprintf("set schedule %q in workspace %q enabled=%v", name, ws, enabled), err)
	}
	return c.GetSchedule(ctx, ws, name)
}

// DeleteSchedule deletes a schedule and its firings; store.ErrNotFound
// when absent.
func (c *ScheduleStore) DeleteSchedule(ctx context.Context, ws, name string) error {
	err := c.s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM schedules WHERE workspace = ? AND name = ?`, ws, name)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
	return opErr(fmt.Sprintf("delete schedule %q in workspace %q", name, ws), err)
}

// DueSchedules returns every workspace's enabled schedules due at now,
// soonest first.
func (c *ScheduleStore) DueSchedules(ctx context.Context, now time.Time) ([]schedule.Schedule, error) {
	rows, err := c.s.rdb.QueryContext(ctx, `SELECT `+scheduleCols+` FROM schedules
		WHERE enabled = TRUE AND next_fire IS NOT NULL AND next_fire <= ? ORDER BY next_fire`, timeArg(now))
	if err == nil {
		var out []schedule.Schedule
		if out, err = collect(rows, scanJobSchedule); err == nil {
			return out, nil
		}
	}
	return nil, fmt.Errorf("list due schedules: %w", err)
}

// FireSchedule records firing f of x, x's next fire time and the job (if
// any) in one transaction, while x still has the revision and next fire
// time it was read with; store.ErrConflict otherwise.
func (c *ScheduleStore) FireSchedule(ctx context.Context, x schedule.Schedule, f schedule.Firing, next time.Time, job *store.Job, steps []store.Step) error {
	var insertJob txFunc
	if job != nil {
		var err error
		if insertJob, err = c.s.jobInsert(*job, steps); err != nil {
			return fmt.Errorf("fire schedule %q: %w", x.Name, err)
		}
	}
	err := c.s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE schedules SET next_fire = ? WHERE workspace = ? AND name = ?
			AND enabled = TRUE AND revision = ? AND next_fire = ?`,
			optNext(next), x.Workspace, x.Name, x.Revision, timeArg(x.NextFire))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err == nil {
				err = store.ErrConflict
			}
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schedule_firings (workspace, schedule, trigger_time, fired_at, job, error)
			VALUES (?, ?, ?, ?, ?, ?)`, x.Workspace, x.Name, timeArg(f.TriggerTime), timeArg(nowIfZero(f.FiredAt)), f.Job, f.Error); err != nil {
			return err
		}
		if insertJob != nil {
			return insertJob(ctx, tx)
		}
		return nil
	})
	return opErr(fmt.Sprintf("fire schedule %q in workspace %q", x.Name, x.Workspace), err)
}

// ListFirings returns a schedule's latest firings, newest first.
func (c *ScheduleStore) ListFirings(ctx context.Context, ws, name string, limit int) ([]schedule.Firing, error) {
	rows, err := c.s.rdb.QueryContext(ctx, `SELECT workspace, schedule, trigger_time, fired_at, job, error FROM schedule_firings
		WHERE workspace = ? AND schedule = ? ORDER BY id DESC LIMIT ?`, ws, name, limit)
	if err == nil {
		var out []schedule.Firing
		if out, err = collect(rows, scanFiring); err == nil {
			return out, nil
		}
	}
	return nil, fmt.Errorf("list firings of schedule %q in workspace %q: %w", name, ws, err)
}

func scanFiring(sc scanner) (schedule.Firing, error) {
	var (
		f              schedule.Firing
		trigger, fired int64
	)
	if err := sc.Scan(&f.Workspace, &f.Schedule, &trigger, &fired, &f.Job, &f.Error); err != nil {
		return f, err
	}
	f.TriggerTime, f.FiredAt = timeCol(trigger), timeCol(fired)
	return f, nil
}
