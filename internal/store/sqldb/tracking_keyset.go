package sqldb

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
	drive, err := s.selectiveClause(ctx, ws, exp, q.Filter)
	if err != nil {
		return nil, err
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
		sq, err := segmentQuery(s.query(), ws, exp, q, drive, seg, after, q.Limit-len(out))
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

// selectiveBound is how many runs a filter clause may match and still
// drive a search: the page is then sorted from those runs, instead of
// read in order from the sort key's index, where it would take about
// limit * runs / matches rows to find.
const selectiveBound = 5000

// selectiveClause returns the filter clause a search should start from:
// the one of q's equalities on a param or tag, or comparisons of a metric,
// that matches fewest runs of the experiment, if under selectiveBound;
// else nil. Each count reads at most selectiveBound index entries.
func (s *Store) selectiveClause(ctx context.Context, ws string, exp int64, filter []tracking.Clause) (*tracking.Clause, error) {
	var best *tracking.Clause
	least := selectiveBound
	if s.noDrive {
		return nil, nil
	}
	for i, c := range filter {
		if !drivable(c) {
			continue
		}
		sq := s.query()
		sq.add(`SELECT COUNT(*) FROM (SELECT 1 FROM ` + keyTables[c.Kind] + ` d WHERE `)
		if err := driverCond(sq, ws, exp, c); err != nil {
			return nil, err
		}
		sq.add(` LIMIT ?) AS matches`, selectiveBound)
		var n int
		if err := s.rdb.QueryRowContext(ctx, sq.String(), sq.args...).Scan(&n); err != nil {
			return nil, err
		}
		if n < least {
			best, least = &filter[i], n
		}
	}
	return best, nil
}

// drivable reports whether an index of migration 0017 finds the runs c
// matches.
func drivable(c tracking.Clause) bool {
	switch c.Kind {
	case tracking.KindParam, tracking.KindTag:
		return c.Op == "="
	case tracking.KindMetric:
		return c.Op != "!=" && c.Op != "IS NULL" && c.Op != "IS NOT NULL"
	}
	return false
}

// driverCond appends the condition on table alias d of the rows of the
// experiment that c matches.
func driverCond(sq *sqlQuery, ws string, exp int64, c tracking.Clause) error {
	sq.add(`d.workspace = ? AND d.experiment_id = ? AND d.key = ? AND `, ws, exp, c.Key)
	if c.Kind == tracking.KindMetric {
		sq.add(`d.is_nan = FALSE AND `)
	}
	return runSchema.compare(sq, "d.value", c, false)
}

// segmentQuery is the query of one segment of searchByKey's order: up to
// limit runs after the cursor (if any). With a driving clause, the runs it
// matches are read first and sorted; the clause stays in the filter too.
func segmentQuery(sq *sqlQuery, ws string, exp int64, q tracking.RunQuery, drive *tracking.Clause, seg int, after *tracking.RunCursor, limit int) (*sqlQuery, error) {
	o := q.OrderBy[0]
	table := keyTables[o.Kind]
	metric := o.Kind == tracking.KindMetric
	from := func(rest string) error {
		if drive == nil {
			sq.add(` FROM ` + rest + ` WHERE `)
			return nil
		}
		sq.add(` FROM ` + keyTables[drive.Kind] + ` d CROSS JOIN ` + rest + ` WHERE `)
		if err := driverCond(sq, ws, exp, *drive); err != nil {
			return err
		}
		sq.add(` AND `)
		return nil
	}
	link := func(alias string) {
		if drive != nil {
			sq.add(` AND ` + alias + `.run_id = d.run_id`)
		}
	}
	if seg == tracking.SegMissing {
		sq.add(`SELECT ` + runCols)
		if err := from(`runs r`); err != nil {
			return nil, err
		}
		sq.add(`r.workspace = ? AND r.experiment_id = ?`, ws, exp)
		link("r")
		sq.add(` AND `)
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
	sq.add(`SELECT ` + runCols)
	if err := from(table + ` k CROSS JOIN runs r`); err != nil {
		return nil, err
	}
	sq.add(`k.workspace = ? AND k.experiment_id = ? AND k.key = ?`, ws, exp, o.Key)
	link("k")
	if metric && seg == tracking.SegNaN {
		// A NaN is stored as 0 with is_nan set: the value is fixed, so the
		// index's start_time order is the segment's.
		sq.add(` AND k.is_nan = TRUE AND k.value = 0`)
	} else if metric {
		sq.add(` AND k.is_nan = FALSE`)
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
