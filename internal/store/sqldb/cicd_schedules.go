package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ciel-mlops/ciel/internal/cicd"
)

// Schedule states of CI/CD pipelines (0010_cicd_schedules.up.sql).

const cicdScheduleCols = `workspace, pipeline, branch, cron, next_fire, last_sha`

func scanSchedule(sc scanner) (cicd.ScheduleState, error) {
	var (
		st   cicd.ScheduleState
		next int64
	)
	if err := sc.Scan(&st.Workspace, &st.Pipeline, &st.Branch, &st.Cron, &next, &st.LastSHA); err != nil {
		return st, err
	}
	st.NextFire = timeCol(next)
	return st, nil
}

// ListSchedules returns the states of pipeline ws/pipeline by branch and
// cron.
func (c *CICDStore) ListSchedules(ctx context.Context, ws, pipeline string) ([]cicd.ScheduleState, error) {
	rows, err := c.s.rdb.QueryContext(ctx, `SELECT `+cicdScheduleCols+` FROM cicd_schedules
		WHERE workspace = ? AND pipeline = ? ORDER BY branch, cron`, ws, pipeline)
	if err == nil {
		var out []cicd.ScheduleState
		out, err = collect(rows, scanSchedule)
		if err == nil {
			return out, nil
		}
	}
	return nil, fmt.Errorf("list schedules of pipeline %q in workspace %q: %w", pipeline, ws, err)
}

// DueSchedules returns every workspace's states due at now, soonest first.
func (c *CICDStore) DueSchedules(ctx context.Context, now time.Time) ([]cicd.ScheduleState, error) {
	rows, err := c.s.rdb.QueryContext(ctx, `SELECT `+cicdScheduleCols+` FROM cicd_schedules
		WHERE next_fire <= ? ORDER BY next_fire`, timeArg(now))
	if err == nil {
		var out []cicd.ScheduleState
		out, err = collect(rows, scanSchedule)
		if err == nil {
			return out, nil
		}
	}
	return nil, fmt.Errorf("list due schedules: %w", err)
}

// AddSchedule stores st unless its pipeline, branch and cron have a state
// already; store.ErrNotFound when the pipeline does not exist.
func (c *CICDStore) AddSchedule(ctx context.Context, st cicd.ScheduleState) error {
	err := c.s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO cicd_schedules (`+cicdScheduleCols+`) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT DO NOTHING`, st.Workspace, st.Pipeline, st.Branch, st.Cron, timeArg(st.NextFire), st.LastSHA)
		return err
	})
	return opErr(fmt.Sprintf("add schedule %q of pipeline %q on %s", st.Cron, st.Pipeline, st.Branch), err)
}

// DeleteSchedule deletes st's state; none is no error.
func (c *CICDStore) DeleteSchedule(ctx context.Context, st cicd.ScheduleState) error {
	err := c.s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM cicd_schedules WHERE workspace = ? AND pipeline = ? AND branch = ? AND cron = ?`,
			st.Workspace, st.Pipeline, st.Branch, st.Cron)
		return err
	})
	return opErr(fmt.Sprintf("delete schedule %q of pipeline %q on %s", st.Cron, st.Pipeline, st.Branch), err)
}

// FireSchedule sets st's next fire time and last commit and, when r is
// not nil, creates the run, in one transaction; store.ErrNotFound when the
// state is gone.
func (c *CICDStore) FireSchedule(ctx context.Context, st cicd.ScheduleState, r *cicd.Run) (cicd.Run, error) {
	var run cicd.Run
	err := c.s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE cicd_schedules SET next_fire = ?, last_sha = ?
			WHERE workspace = ? AND pipeline = ? AND branch = ? AND cron = ?`,
			timeArg(st.NextFire), st.LastSHA, st.Workspace, st.Pipeline, st.Branch, st.Cron)
		if err != nil {
			return err
		}
		if err := mustAffect(res); err != nil || r == nil {
			return err
		}
		run = utcRun(*r)
		run.ID = 0
		run.QueueTime = nowIfZero(run.QueueTime).UTC().Round(0)
		rec, err := json.Marshal(run)
		if err != nil {
			return err
		}
		run.ID, err = insertRun(ctx, tx, run, rec, c.s.replica)
		return err
	})
	if err != nil {
		return cicd.Run{}, opErr(fmt.Sprintf("fire schedule %q of pipeline %q on %s", st.Cron, st.Pipeline, st.Branch), err)
	}
	return run, nil
}
