package sqlite

import (
	"context"
	"strconv"

	"github.com/ciel-mlops/ciel/internal/tracking"
)

// keyTables are the tables holding one row per run and key of each kind a
// search can order runs by, each with the search indexes of migration 0017
// (workspace, experiment_id, key, [is_nan,] value ASC or DESC, start_time
// DESC, run_id).
var keyTables = map[string]string{
	tracking.KindMetric: "latest_metrics",
	tracking.KindParam:  "run_params",
	tracking.KindTag:    "run_tags",
}

// byKey reports whether q is answered by searchByKey: one experiment, one
// metric, param or tag key to order by, and no offset.
func byKey(q tracking.RunQuery) (int64, bool) {
	exps := experimentIDs(q.ExperimentIDs)
	if ok, _ := q.KeysetOrder(); !ok || len(exps) != 1 || len(q.OrderBy) != 1 || q.Offset != 0 {
		return 0, false
	}
	_, ok := keyTables[q.OrderBy[0].Kind]
	return exps[0], ok
}

// searchByKey answers a search of one experiment ordered by one key the way
// MLflow orders it: runs with a value by value, then (metrics) runs whose
// value is NaN, then runs without the key; within each, start_time DESC,
// then run_id. Each of those segments is read from an index already in
// that order, stopping once the page is full, so a page costs about its own
// size however many runs the experiment holds; q.After resumes inside the
// segment it names.
func (s *Store) searchByKey(ctx context.Context, ws string, exp int64, q tracking.RunQuery) ([]tracking.Run, error) {
	segs := []int{tracking.SegValue, tracking.SegMissing}
	if q.OrderBy[0].Kind == tracking.KindMetric {
		segs = []int{tracking.SegValue, tracking.SegNaN, tracking.SegMissing}
	}
	out := []tracking.Run{}
	for _, seg := range segs {
		if q.After != nil && seg < q.After.Seg {
			continue
		}
		if len(out) >= q.Limit {
			break
		}
		var after *tracking.RunCursor
		if q.After != nil && q.After.Seg == seg {
			after = q.After
		}
		sq, err := segmentQuery(ws, exp, q, seg, after, q.Limit-len(out))
		if err != nil {
			return nil, err
		}
		runs, err := queryLoaded(ctx, s.rdb, sq, scanRunInfo, func([]tracking.Run) error { return nil })
		if err != nil {
			return nil, err
		}
		out = append(out, runs...)
	}
	if err := s.loadRunData(ctx, out); err != nil {
		return nil, err
	}
	return out, nil
}

// segmentQuery is the query of one segment of searchByKey's order: up to
// limit runs after the cursor (if any).
func segmentQuery(ws string, exp int64, q tracking.RunQuery, seg int, after *tracking.RunCursor, limit int) (*sqlQuery, error) {
	o := q.OrderBy[0]
	table := keyTables[o.Kind]
	metric := o.Kind == tracking.KindMetric
	sq := &sqlQuery{}
	if seg == tracking.SegMissing {
		sq.add(`SELECT `+runCols+` FROM runs r WHERE r.workspace = ? AND r.experiment_id = ? AND `, ws, exp)
		sq.add(stageCond("r.lifecycle_stage", q.ViewType))
		sq.add(` AND NOT EXISTS (SELECT 1 FROM `+table+` k WHERE k.run_id = r.run_id AND k.key = ?)`, o.Key)
		if after != nil {
			sq.add(` AND r.start_time <= ? AND (r.start_time < ? OR r.run_id > ?)`, after.StartTime, after.StartTime, after.RunID)
		}
		if err := runSchema.where(sq, q.Filter); err != nil {
			return nil, err
		}
		sq.add(` ORDER BY r.start_time DESC, r.run_id LIMIT ?`, limit)
		return sq, nil
	}
	// CROSS JOIN keeps the key's index the outer loop: SQLite reads it in
	// order and joins each run by its primary key.
	sq.add(`SELECT `+runCols+` FROM `+table+` k CROSS JOIN runs r
		WHERE k.workspace = ? AND k.experiment_id = ? AND k.key = ?`, ws, exp, o.Key)
	if metric && seg == tracking.SegNaN {
		// A NaN is stored as 0 with is_nan set: the value is fixed, so the
		// index's start_time order is the segment's.
		sq.add(` AND k.is_nan = 1 AND k.value = 0`)
	} else if metric {
		sq.add(` AND k.is_nan = 0`)
	}
	if after != nil {
		if seg == tracking.SegValue {
			v, err := cursorValue(after.Value, metric)
			if err != nil {
				return nil, err
			}
			cmp, strict := ">=", ">"
			if !o.Asc {
				cmp, strict = "<=", "<"
			}
			sq.add(` AND k.value `+cmp+` ? AND (k.value `+strict+` ? OR k.start_time < ? OR (k.start_time = ? AND k.run_id > ?))`,
				v, v, after.StartTime, after.StartTime, after.RunID)
		} else {
			sq.add(` AND k.start_time <= ? AND (k.start_time < ? OR k.run_id > ?)`, after.StartTime, after.StartTime, after.RunID)
		}
	}
	sq.add(` AND r.run_id = k.run_id AND ` + stageCond("r.lifecycle_stage", q.ViewType))
	if err := runSchema.where(sq, q.Filter); err != nil {
		return nil, err
	}
	dir := " ASC"
	if !o.Asc {
		dir = " DESC"
	}
	sq.add(` ORDER BY k.value`+dir+`, k.start_time DESC, k.run_id LIMIT ?`, limit)
	return sq, nil
}

// cursorValue is a page token's value as the key's column holds it.
func cursorValue(v string, metric bool) (any, error) {
	if !metric {
		return v, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return nil, tracking.Errorf(tracking.CodeInvalidParameterValue, "Invalid page token: metric value %q", v)
	}
	return f, nil
}
