package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ciel-mlops/ciel/internal/store"
)

// How values are kept: times as unix nanoseconds in UTC (NULL for a nil
// pointer), string maps as JSON text (NULL when empty), specs and plans as
// the caller's JSON bytes, untouched, so "same bytes" stays checkable.

// nowIfZero returns t, or the current time when t is zero.
func nowIfZero(t time.Time) time.Time {
	if t.IsZero() {
		return time.Now()
	}
	return t
}

func timeArg(t time.Time) int64 { return t.UnixNano() }

// leaseArg is a lease's end; 0 (no lease) for nil.
func leaseArg(t *time.Time) int64 {
	if t == nil {
		return 0
	}
	return t.UnixNano()
}

func optTimeArg(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixNano()
}

func timeCol(n int64) time.Time { return time.Unix(0, n).UTC() }

func optTimeCol(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := timeCol(n.Int64)
	return &t
}

func optIntArg(p *int) any {
	if p == nil {
		return nil
	}
	return int64(*p)
}

func optIntCol(n sql.NullInt64) *int {
	if !n.Valid {
		return nil
	}
	v := int(n.Int64)
	return &v
}

func mapArg(m map[string]string) (any, error) {
	if len(m) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

func mapCol(s sql.NullString) (map[string]string, error) {
	if !s.Valid || s.String == "" {
		return nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(s.String), &m); err != nil {
		return nil, fmt.Errorf("decode stored map: %w", err)
	}
	return m, nil
}

func rawCol(s string) json.RawMessage {
	if s == "" {
		return nil
	}
	return json.RawMessage(s)
}

// scanner is what *sql.Row and *sql.Rows have in common.
type scanner interface {
	Scan(dest ...any) error
}

func scanWorkspace(sc scanner) (store.Workspace, error) {
	var (
		w       store.Workspace
		tags    sql.NullString
		created int64
	)
	if err := sc.Scan(&w.Name, &w.ResourceGroup, &w.Location, &w.DisplayName, &w.Description,
		&tags, &created); err != nil {
		return w, err
	}
	w.CreatedAt = timeCol(created)
	var err error
	w.Tags, err = mapCol(tags)
	return w, err
}

func scanAsset(sc scanner) (store.Asset, error) {
	var (
		a       store.Asset
		spec    string
		created int64
	)
	if err := sc.Scan(&a.Workspace, &a.Kind, &a.Name, &a.Version, &spec, &a.Archived, &created); err != nil {
		return a, err
	}
	a.Spec = rawCol(spec)
	a.CreatedAt = timeCol(created)
	return a, nil
}

func scanJob(sc scanner) (store.Job, error) {
	var (
		j              store.Job
		spec, plan     string
		outputs        sql.NullString
		created, lease int64
		started, ended sql.NullInt64
	)
	if err := sc.Scan(&j.Workspace, &j.Name, &j.Type, &j.DisplayName, &j.ExperimentName, &j.Status,
		&j.Error, &spec, &plan, &outputs, &j.Archived, &j.CancelRequested, &created, &started, &ended,
		&j.Owner, &lease); err != nil {
		return j, err
	}
	if lease != 0 {
		t := timeCol(lease)
		j.LeaseUntil = &t
	}
	j.Spec, j.Plan = rawCol(spec), rawCol(plan)
	j.CreatedAt = timeCol(created)
	j.StartedAt, j.EndedAt = optTimeCol(started), optTimeCol(ended)
	var err error
	j.Outputs, err = mapCol(outputs)
	return j, err
}

func scanStep(sc scanner) (store.Step, error) {
	var (
		st             store.Step
		outputs        sql.NullString
		exit           sql.NullInt64
		started, ended sql.NullInt64
	)
	if err := sc.Scan(&st.Workspace, &st.Job, &st.Name, &st.Status, &st.Attempt, &st.ReusedFrom,
		&outputs, &st.Error, &exit, &st.PID, &started, &ended, &st.Log); err != nil {
		return st, err
	}
	st.ExitCode = optIntCol(exit)
	st.StartedAt, st.EndedAt = optTimeCol(started), optTimeCol(ended)
	var err error
	st.Outputs, err = mapCol(outputs)
	return st, err
}

func scanReuse(sc scanner) (store.Reuse, error) {
	var (
		r       store.Reuse
		outputs sql.NullString
		created int64
	)
	if err := sc.Scan(&r.Key, &r.Workspace, &r.Job, &r.Step, &outputs, &created); err != nil {
		return r, err
	}
	r.CreatedAt = timeCol(created)
	var err error
	r.Outputs, err = mapCol(outputs)
	return r, err
}

// queryLoaded runs sq on q, scans every row with scan and hands the lot to
// load, which fills in what lives in other tables (a search's runs, models
// or traces with their tags and the like).
func queryLoaded[T any](ctx context.Context, q querier, sq *sqlQuery, scan func(scanner) (T, error), load func([]T) error) ([]T, error) {
	rows, err := q.QueryContext(ctx, sq.String(), sq.args...)
	if err != nil {
		return nil, err
	}
	out, err := collect(rows, scan)
	if err != nil {
		return nil, err
	}
	if err := load(out); err != nil {
		return nil, err
	}
	return out, nil
}

// collect scans every row of rows with scan; it closes rows.
func collect[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
