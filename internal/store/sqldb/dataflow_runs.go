package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/ciel-mlops/ciel/internal/dataflow/run"
)

// Data Factory pipeline runs and activity runs
// (0014_dataflow_runs.up.sql): one row per record, the record as JSON.

var _ run.Store = (*Store)(nil)

// CreatePipelineRun records a new pipeline run and marks the others of
// its run group not latest, in one transaction; store.ErrConflict when
// the id is taken, store.ErrNotFound when the workspace is absent.
func (s *Store) CreatePipelineRun(ctx context.Context, r run.PipelineRun) error {
	r.IsLatest = true
	rec, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("create pipeline run: %w", err)
	}
	err = s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := clearLatest(ctx, tx, r.Workspace, r.RunGroupID); err != nil {
			return err
		}
		now := timeArg(nowIfZero(r.LastUpdated))
		_, err := tx.ExecContext(ctx, `INSERT INTO dataflow_pipeline_runs (workspace, run_id, run_group_id, pipeline, status, created_at, updated_at, record, owner)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.Workspace, r.RunID, r.RunGroupID, r.PipelineName, string(r.Status), now, now, string(rec), s.replica)
		return err
	})
	return opErr(fmt.Sprintf("create pipeline run %q in workspace %q", r.RunID, r.Workspace), err)
}

// clearLatest sets isLatest false on every run of a group.
func clearLatest(ctx context.Context, tx *sql.Tx, ws, group string) error {
	rows, err := tx.QueryContext(ctx, `SELECT run_id, record FROM dataflow_pipeline_runs WHERE workspace = ? AND run_group_id = ?`, ws, group)
	if err != nil {
		return err
	}
	type row struct {
		id  string
		rec run.PipelineRun
	}
	olds, err := collect(rows, func(sc scanner) (row, error) {
		var r row
		var rec string
		if err := sc.Scan(&r.id, &rec); err != nil {
			return r, err
		}
		return r, json.Unmarshal([]byte(rec), &r.rec)
	})
	if err != nil {
		return err
	}
	for _, o := range olds {
		if !o.rec.IsLatest {
			continue
		}
		o.rec.IsLatest = false
		b, err := json.Marshal(o.rec)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE dataflow_pipeline_runs SET record = ? WHERE workspace = ? AND run_id = ?`, string(b), ws, o.id); err != nil {
			return err
		}
	}
	return nil
}

// UpdatePipelineRun replaces a run's record, keeping isLatest as stored
// (a later rerun may have cleared it); store.ErrNotFound when absent.
func (s *Store) UpdatePipelineRun(ctx context.Context, r run.PipelineRun) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var cur run.PipelineRun
		if err := scanRecord(tx.QueryRowContext(ctx, `SELECT record FROM dataflow_pipeline_runs WHERE workspace = ? AND run_id = ?`, r.Workspace, r.RunID), &cur); err != nil {
			return err
		}
		r.IsLatest = cur.IsLatest
		rec, err := json.Marshal(r)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE dataflow_pipeline_runs SET status = ?, updated_at = ?, record = ? WHERE workspace = ? AND run_id = ?`,
			string(r.Status), timeArg(nowIfZero(r.LastUpdated)), string(rec), r.Workspace, r.RunID)
		return err
	})
	return opErr(fmt.Sprintf("update pipeline run %q in workspace %q", r.RunID, r.Workspace), err)
}

// GetPipelineRun returns one run; store.ErrNotFound when absent.
func (s *Store) GetPipelineRun(ctx context.Context, ws, runID string) (run.PipelineRun, error) {
	var r run.PipelineRun
	err := scanRecord(s.rdb.QueryRowContext(ctx, `SELECT record FROM dataflow_pipeline_runs WHERE workspace = ? AND run_id = ?`, ws, runID), &r)
	return r, opErr(fmt.Sprintf("get pipeline run %q in workspace %q", runID, ws), err)
}

// ListPipelineRuns returns a workspace's runs newest first, filtered by q;
// store.ErrNotFound when the workspace does not exist.
func (s *Store) ListPipelineRuns(ctx context.Context, ws string, q run.RunQuery) ([]run.PipelineRun, error) {
	where := []string{"workspace = ?"}
	args := []any{ws}
	if q.PipelineName != "" {
		where, args = append(where, "pipeline = ?"), append(args, q.PipelineName)
	}
	if q.Status != "" {
		where, args = append(where, "status = ?"), append(args, string(q.Status))
	}
	if q.RunGroupID != "" {
		where, args = append(where, "run_group_id = ?"), append(args, q.RunGroupID)
	}
	if !q.After.IsZero() {
		where, args = append(where, "created_at >= ?"), append(args, timeArg(q.After))
	}
	if !q.Before.IsZero() {
		where, args = append(where, "created_at < ?"), append(args, timeArg(q.Before))
	}
	limit := q.Limit
	if limit <= 0 || limit > 10000 {
		limit = 100
	}
	args = append(args, limit)
	rows, err := s.rdb.QueryContext(ctx, `SELECT record FROM dataflow_pipeline_runs WHERE `+strings.Join(where, " AND ")+
		` ORDER BY created_at DESC, run_id LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("list pipeline runs: %w", err)
	}
	out, err := collect(rows, func(sc scanner) (run.PipelineRun, error) {
		var r run.PipelineRun
		return r, scanRecord(sc, &r)
	})
	if err == nil && len(out) == 0 {
		err = s.requireWorkspace(ctx, ws)
	}
	if err != nil {
		return nil, fmt.Errorf("list pipeline runs: %w", err)
	}
	return out, nil
}

// PutActivityRun creates or replaces an activity run's record;
// store.ErrNotFound when its pipeline run is absent.
func (s *Store) PutActivityRun(ctx context.Context, a run.ActivityRun) error {
	rec, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("put activity run: %w", err)
	}
	started := time.Now()
	if a.ActivityRunStart != nil {
		started = *a.ActivityRunStart
	}
	err = s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO dataflow_activity_runs (workspace, run_id, activity_run_id, started_at, status, record)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (workspace, run_id, activity_run_id) DO UPDATE SET status = excluded.status, record = excluded.record`,
			a.Workspace, a.PipelineRunID, a.ActivityRunID, timeArg(started), string(a.Status), string(rec))
		return err
	})
	return opErr(fmt.Sprintf("put activity run %q of pipeline run %q", a.ActivityName, a.PipelineRunID), err)
}

// ListActivityRuns returns a run's activity runs in the order they
// started.
func (s *Store) ListActivityRuns(ctx context.Context, ws, runID string) ([]run.ActivityRun, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT record FROM dataflow_activity_runs WHERE workspace = ? AND run_id = ? ORDER BY started_at, activity_run_id`, ws, runID)
	if err != nil {
		return nil, fmt.Errorf("list activity runs: %w", err)
	}
	out, err := collect(rows, func(sc scanner) (run.ActivityRun, error) {
		var a run.ActivityRun
		return a, scanRecord(sc, &a)
	})
	if err != nil {
		return nil, fmt.Errorf("list activity runs of %q: %w", runID, err)
	}
	return out, nil
}

// MarkInterrupted ends every run and activity run a stopped server left
// open, in one transaction: runs Queued or InProgress become Failed with
// msg, Canceling ones Cancelled; their open activity runs become Failed.
// With servers sharing the database, only runs no live server runs are
// ended (replicas.go), and this server becomes their owner.
func (s *Store) MarkInterrupted(ctx context.Context, msg string, at time.Time) ([]string, error) {
	return s.markInterrupted(ctx, msg, at, true)
}

// MarkStranded is MarkInterrupted for a server that runs on: it leaves its
// own runs alone and ends those of servers that stopped.
func (s *Store) MarkStranded(ctx context.Context, msg string, at time.Time) ([]string, error) {
	return s.markInterrupted(ctx, msg, at, false)
}

func (s *Store) markInterrupted(ctx context.Context, msg string, at time.Time, mine bool) ([]string, error) {
	at = at.UTC()
	var ids []string
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		ids = nil
		cond, args := s.stranded("owner", at, mine)
		rows, err := tx.QueryContext(ctx, s.claimSQL("dataflow_pipeline_runs", "workspace, run_id", `owner = ?`,
			`status IN ('Queued', 'InProgress', 'Canceling') AND `+cond, ``, `record`),
			append(append([]any{s.replica}, args...), args...)...)
		if err != nil {
			return err
		}
		runs, err := collect(rows, func(sc scanner) (run.PipelineRun, error) {
			var r run.PipelineRun
			return r, scanRecord(sc, &r)
		})
		if err != nil {
			return err
		}
		for _, r := range runs {
			if r.Status == run.StatusCanceling {
				r.Status, r.Message = run.StatusCancelled, ""
			} else {
				r.Status, r.Message = run.StatusFailed, msg
			}
			r.RunEnd, r.LastUpdated = &at, at
			if r.RunStart != nil {
				d := at.Sub(*r.RunStart).Milliseconds()
				r.DurationInMs = &d
			}
			rec, err := json.Marshal(r)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE dataflow_pipeline_runs SET status = ?, updated_at = ?, record = ? WHERE workspace = ? AND run_id = ?`,
				string(r.Status), timeArg(at), string(rec), r.Workspace, r.RunID); err != nil {
				return err
			}
			ids = append(ids, r.RunID)
			if err := closeActivityRuns(ctx, tx, r.Workspace, r.RunID, msg, at); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, opErr("mark interrupted pipeline runs", err)
	}
	return ids, nil
}

// closeActivityRuns fails the activity runs left open.
func closeActivityRuns(ctx context.Context, tx *sql.Tx, ws, runID, msg string, at time.Time) error {
	rows, err := tx.QueryContext(ctx, `SELECT record FROM dataflow_activity_runs
		WHERE workspace = ? AND run_id = ? AND status IN ('Queued', 'InProgress')`, ws, runID)
	if err != nil {
		return err
	}
	acts, err := collect(rows, func(sc scanner) (run.ActivityRun, error) {
		var a run.ActivityRun
		return a, scanRecord(sc, &a)
	})
	if err != nil {
		return err
	}
	for _, a := range acts {
		a.Status, a.ActivityRunEnd = run.StatusFailed, &at
		a.Error = &run.ErrorInfo{ErrorCode: "ServerStopped", Message: msg, FailureType: "SystemError", Target: a.ActivityName}
		if a.ActivityRunStart != nil {
			d := at.Sub(*a.ActivityRunStart).Milliseconds()
			a.DurationInMs = &d
		}
		rec, err := json.Marshal(a)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE dataflow_activity_runs SET status = ?, record = ? WHERE workspace = ? AND run_id = ? AND activity_run_id = ?`,
			string(a.Status), string(rec), a.Workspace, a.PipelineRunID, a.ActivityRunID); err != nil {
			return err
		}
	}
	return nil
}
