package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/ciel-mlops/ciel/internal/dataflow/triggers"
	"github.com/ciel-mlops/ciel/internal/store"
)

// Data Factory triggers' runtime state, runs, windows and seen blobs
// (0016_dataflow_triggers.up.sql).

var _ triggers.Store = (*DataflowTriggerStore)(nil)

// DataflowTriggerStore is the triggers.Store kept in a Store's database: a
// view sharing the Store's writer and readers, closed with it.
type DataflowTriggerStore struct {
	s *Store
}

// DataflowTriggers returns the triggers.Store view of s.
func (s *Store) DataflowTriggers() *DataflowTriggerStore { return &DataflowTriggerStore{s: s} }

const dfTriggerCols = `workspace, name, definition, runtime_state, next, started_at, revision, updated_at`

func scanDFTrigger(sc scanner) (triggers.State, error) {
	var (
		st               triggers.State
		def              string
		next             sql.NullInt64
		started, updated int64
	)
	if err := sc.Scan(&st.Workspace, &st.Name, &def, &st.RuntimeState, &next, &started, &st.Revision, &updated); err != nil {
		return st, err
	}
	if err := json.Unmarshal([]byte(def), &st.Definition); err != nil {
		return st, fmt.Errorf("decode trigger %q: %w", st.Name, err)
	}
	if next.Valid {
		st.Next = timeCol(next.Int64)
	}
	st.StartedAt, st.UpdatedAt = timeCol(started), timeCol(updated)
	return st, nil
}

// PutTrigger creates st or replaces the state of its name with a new
// revision; store.ErrNotFound when the workspace does not exist. (An
// upsert, not a replace: replacing the row would cascade to its windows.)
func (c *DataflowTriggerStore) PutTrigger(ctx context.Context, st triggers.State) (triggers.State, error) {
	def, err := json.Marshal(st.Definition)
	if err != nil {
		return st, fmt.Errorf("put trigger %q: %w", st.Name, err)
	}
	st.UpdatedAt = time.Now().UTC().Round(0)
	err = c.s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var rev int64
		err := tx.QueryRowContext(ctx, `SELECT revision FROM dataflow_triggers WHERE workspace = ? AND name = ?`,
			st.Workspace, st.Name).Scan(&rev)
		if err != nil && err != sql.ErrNoRows {
			return err
		}
		st.Revision = rev + 1
		_, err = tx.ExecContext(ctx, `INSERT INTO dataflow_triggers (`+dfTriggerCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (workspace, name) DO UPDATE SET definition = excluded.definition,
			runtime_state = excluded.runtime_state, next = excluded.next, started_at = excluded.started_at,
			revision = excluded.revision, updated_at = excluded.updated_at`,
			st.Workspace, st.Name, string(def), st.RuntimeState, optNext(st.Next), timeArg(st.StartedAt), st.Revision, timeArg(st.UpdatedAt))
		return err
	})
	if err != nil {
		return triggers.State{}, opErr(fmt.Sprintf("put trigger %q in workspace %q", st.Name, st.Workspace), err)
	}
	return st, nil
}

// GetTrigger returns store.ErrNotFound when absent.
func (c *DataflowTriggerStore) GetTrigger(ctx context.Context, ws, name string) (triggers.State, error) {
	st, err := scanDFTrigger(c.s.rdb.QueryRowContext(ctx, `SELECT `+dfTriggerCols+` FROM dataflow_triggers
		WHERE workspace = ? AND name = ?`, ws, name))
	if err != nil {
		return st, opErr(fmt.Sprintf("get trigger %q in workspace %q", name, ws), notFoundIfNone(err))
	}
	return st, nil
}

// ListTriggers returns a workspace's triggers ("": every workspace's).
func (c *DataflowTriggerStore) ListTriggers(ctx context.Context, ws string) ([]triggers.State, error) {
	rows, err := c.s.rdb.QueryContext(ctx, `SELECT `+dfTriggerCols+` FROM dataflow_triggers
		WHERE ? = '' OR workspace = ? ORDER BY workspace, name`, ws, ws)
	if err == nil {
		var out []triggers.State
		if out, err = collect(rows, scanDFTrigger); err == nil {
			return out, nil
		}
	}
	return nil, fmt.Errorf("list triggers in workspace %q: %w", ws, err)
}

// DeleteTrigger deletes a trigger's state, windows and blobs (not its
// runs); store.ErrNotFound when absent.
func (c *DataflowTriggerStore) DeleteTrigger(ctx context.Context, ws, name string) error {
	err := c.s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM dataflow_triggers WHERE workspace = ? AND name = ?`, ws, name)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
	return opErr(fmt.Sprintf("delete trigger %q in workspace %q", name, ws), err)
}

// AdvanceTrigger moves st on to next and adds runs and windows, in one
// transaction, while st still has its revision and next.
func (c *DataflowTriggerStore) AdvanceTrigger(ctx context.Context, st triggers.State, next time.Time, runs []triggers.Run, windows []triggers.Window) error {
	err := c.s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE dataflow_triggers SET next = ? WHERE workspace = ? AND name = ?
			AND revision = ? AND next IS NOT DISTINCT FROM ?`, optNext(next), st.Workspace, st.Name, st.Revision, optNext(st.Next))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err == nil {
				err = store.ErrConflict
			}
			return err
		}
		for _, r := range runs {
			if err := putRun(ctx, tx, r); err != nil {
				return err
			}
		}
		for _, w := range windows {
			if err := putWindow(ctx, tx, w); err != nil {
				return err
			}
		}
		return nil
	})
	return opErr(fmt.Sprintf("advance trigger %q in workspace %q", st.Name, st.Workspace), err)
}

// putRun inserts or replaces run r.
func putRun(ctx context.Context, tx *sql.Tx, r triggers.Run) error {
	props, err := json.Marshal(r.Properties)
	if err != nil {
		return err
	}
	pipes, err := json.Marshal(r.TriggeredPipelines)
	if err != nil {
		return err
	}
	scope, err := json.Marshal(r.Trigger)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO dataflow_trigger_runs (id, workspace, trigger_name, trigger_type,
		run_timestamp, status, message, properties, triggered_pipelines, scope) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET status = excluded.status, message = excluded.message,
		properties = excluded.properties, triggered_pipelines = excluded.triggered_pipelines`,
		r.ID, r.Workspace, r.TriggerName, r.TriggerType, timeArg(r.Timestamp), r.Status, r.Message,
		string(props), string(pipes), string(scope))
	return err
}

// PutRun records r, replacing the run of its id.
func (c *DataflowTriggerStore) PutRun(ctx context.Context, r triggers.Run) error {
	err := c.s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error { return putRun(ctx, tx, r) })
	return opErr(fmt.Sprintf("put trigger run %s of %q", r.ID, r.TriggerName), err)
}

func scanDFRun(sc scanner) (triggers.Run, error) {
	var (
		r                   triggers.Run
		ts                  int64
		props, pipes, scope string
	)
	if err := sc.Scan(&r.ID, &r.Workspace, &r.TriggerName, &r.TriggerType, &ts, &r.Status, &r.Message, &props, &pipes, &scope); err != nil {
		return r, err
	}
	r.Timestamp = timeCol(ts)
	for _, f := range []struct {
		s string
		v any
	}{{props, &r.Properties}, {pipes, &r.TriggeredPipelines}, {scope, &r.Trigger}} {
		if err := json.Unmarshal([]byte(f.s), f.v); err != nil {
			return r, fmt.Errorf("decode trigger run %s: %w", r.ID, err)
		}
	}
	return r, nil
}

// ListRuns returns the runs q selects, newest first.
func (c *DataflowTriggerStore) ListRuns(ctx context.Context, q triggers.RunQuery) ([]triggers.Run, error) {
	var where []string
	var args []any
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	if q.Workspace != "" {
		add("workspace = ?", q.Workspace)
	}
	if q.Trigger != "" {
		add("trigger_name = ?", q.Trigger)
	}
	if q.Status != "" {
		add("status = ?", q.Status)
	}
	if !q.From.IsZero() {
		add("run_timestamp >= ?", timeArg(q.From))
	}
	if !q.To.IsZero() {
		add("run_timestamp < ?", timeArg(q.To))
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 1000
	}
	query := `SELECT id, workspace, trigger_name, trigger_type, run_timestamp, status, message, properties,
		triggered_pipelines, scope FROM dataflow_trigger_runs`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := c.s.rdb.QueryContext(ctx, query+" ORDER BY run_timestamp DESC, rowid DESC LIMIT ?", append(args, limit)...)
	if err == nil {
		var out []triggers.Run
		if out, err = collect(rows, scanDFRun); err == nil {
			return out, nil
		}
	}
	return nil, fmt.Errorf("list trigger runs: %w", err)
}

// putWindow inserts or replaces window w.
func putWindow(ctx context.Context, tx *sql.Tx, w triggers.Window) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO dataflow_trigger_windows (workspace, trigger_name, window_start,
		window_end, status, attempt, trigger_run_id, run_id, not_before, message, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (workspace, trigger_name, window_start) DO UPDATE SET status = excluded.status,
		attempt = excluded.attempt, trigger_run_id = excluded.trigger_run_id, run_id = excluded.run_id,
		not_before = excluded.not_before, message = excluded.message, updated_at = excluded.updated_at`,
		w.Workspace, w.Trigger, timeArg(w.Start), timeArg(w.End), w.Status, w.Attempt, w.TriggerRunID, w.RunID,
		optNext(w.NotBefore), w.Message, timeArg(time.Now()))
	return err
}

func scanDFWindow(sc scanner) (triggers.Window, error) {
	var (
		w                   triggers.Window
		start, end, updated int64
		notBefore           sql.NullInt64
	)
	if err := sc.Scan(&w.Workspace, &w.Trigger, &start, &end, &w.Status, &w.Attempt, &w.TriggerRunID, &w.RunID,
		&notBefore, &w.Message, &updated); err != nil {
		return w, err
	}
	w.Start, w.End, w.UpdatedAt = timeCol(start), timeCol(end), timeCol(updated)
	if notBefore.Valid {
		w.NotBefore = timeCol(notBefore.Int64)
	}
	return w, nil
}

// ListWindows returns a trigger's windows with one of statuses (none: all),
// earliest first, at most limit (0: all).
func (c *DataflowTriggerStore) ListWindows(ctx context.Context, ws, trigger string, statuses []string, limit int) ([]triggers.Window, error) {
	query := `SELECT workspace, trigger_name, window_start, window_end, status, attempt, trigger_run_id, run_id,
		not_before, message, updated_at FROM dataflow_trigger_windows WHERE workspace = ? AND trigger_name = ?`
	args := []any{ws, trigger}
	if len(statuses) > 0 {
		query += " AND status IN (?" + strings.Repeat(", ?", len(statuses)-1) + ")"
		for _, s := range statuses {
			args = append(args, s)
		}
	}
	query += " ORDER BY window_start"
	if limit > 0 {
		query += " LIMIT ?"
		args = append(args, limit)
	}
	rows, err := c.s.rdb.QueryContext(ctx, query, args...)
	if err == nil {
		var out []triggers.Window
		if out, err = collect(rows, scanDFWindow); err == nil {
			return out, nil
		}
	}
	return nil, fmt.Errorf("list windows of trigger %q in workspace %q: %w", trigger, ws, err)
}

// UpdateWindow replaces window w (and records r) while it still has prev's
// status and attempt; store.ErrConflict otherwise.
func (c *DataflowTriggerStore) UpdateWindow(ctx context.Context, prev, w triggers.Window, r *triggers.Run) error {
	err := c.s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var n int
		err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM dataflow_trigger_windows WHERE workspace = ?
			AND trigger_name = ? AND window_start = ? AND status = ? AND attempt = ?`,
			prev.Workspace, prev.Trigger, timeArg(prev.Start), prev.Status, prev.Attempt).Scan(&n)
		if err != nil {
			return err
		}
		if n == 0 {
			return store.ErrConflict
		}
		if err := putWindow(ctx, tx, w); err != nil {
			return err
		}
		if r != nil {
			return putRun(ctx, tx, *r)
		}
		return nil
	})
	return opErr(fmt.Sprintf("update window %s of trigger %q", prev.Start.Format(time.RFC3339), prev.Trigger), err)
}

// CountWindows counts a trigger's windows with status overlapping [from, to).
func (c *DataflowTriggerStore) CountWindows(ctx context.Context, ws, trigger, status string, from, to time.Time) (int, error) {
	var n int
	err := c.s.rdb.QueryRowContext(ctx, `SELECT COUNT(*) FROM dataflow_trigger_windows WHERE workspace = ?
		AND trigger_name = ? AND status = ? AND window_start < ? AND window_end > ?`,
		ws, trigger, status, timeArg(to), timeArg(from)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count windows of trigger %q: %w", trigger, err)
	}
	return n, nil
}

// ListBlobs returns the blobs a trigger has seen, by path.
func (c *DataflowTriggerStore) ListBlobs(ctx context.Context, ws, trigger string) ([]triggers.Blob, error) {
	rows, err := c.s.rdb.QueryContext(ctx, `SELECT path, size, mtime FROM dataflow_trigger_blobs
		WHERE workspace = ? AND trigger_name = ? ORDER BY path`, ws, trigger)
	if err == nil {
		var out []triggers.Blob
		if out, err = collect(rows, scanDFBlob); err == nil {
			return out, nil
		}
	}
	return nil, fmt.Errorf("list blobs of trigger %q: %w", trigger, err)
}

func scanDFBlob(sc scanner) (triggers.Blob, error) {
	var b triggers.Blob
	var mtime int64
	err := sc.Scan(&b.Path, &b.Size, &mtime)
	b.ModTime = timeCol(mtime)
	return b, err
}

// ResetBlobs replaces the blobs a trigger has seen.
func (c *DataflowTriggerStore) ResetBlobs(ctx context.Context, ws, trigger string, blobs []triggers.Blob) error {
	err := c.s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM dataflow_trigger_blobs WHERE workspace = ? AND trigger_name = ?`, ws, trigger); err != nil {
			return err
		}
		for _, b := range blobs {
			if err := putBlob(ctx, tx, ws, trigger, b); err != nil {
				return err
			}
		}
		return nil
	})
	return opErr(fmt.Sprintf("reset blobs of trigger %q in workspace %q", trigger, ws), err)
}

func putBlob(ctx context.Context, tx *sql.Tx, ws, trigger string, b triggers.Blob) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO dataflow_trigger_blobs (workspace, trigger_name, path, size, mtime)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (workspace, trigger_name, path) DO UPDATE SET size = excluded.size,
		mtime = excluded.mtime`, ws, trigger, b.Path, b.Size, timeArg(b.ModTime))
	return err
}

// RecordBlob records b as seen (or forgets it when gone) and records r,
// in one transaction.
func (c *DataflowTriggerStore) RecordBlob(ctx context.Context, ws, trigger string, b triggers.Blob, gone bool, r *triggers.Run) error {
	err := c.s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		if gone {
			_, err = tx.ExecContext(ctx, `DELETE FROM dataflow_trigger_blobs WHERE workspace = ? AND trigger_name = ? AND path = ?`, ws, trigger, b.Path)
		} else {
			err = putBlob(ctx, tx, ws, trigger, b)
		}
		if err != nil || r == nil {
			return err
		}
		return putRun(ctx, tx, *r)
	})
	return opErr(fmt.Sprintf("record blob %q of trigger %q", b.Path, trigger), err)
}
