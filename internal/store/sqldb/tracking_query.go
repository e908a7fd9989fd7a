package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/ciel-mlops/ciel/internal/tracking"
)

// SearchRuns returns the runs of ws matching q, with their data. The filter
// runs in SQL (EXISTS over the params, tags and latest metrics tables), so
// only the page asked for is read in full.
func (s *Store) SearchRuns(ctx context.Context, ws string, q tracking.RunQuery) ([]tracking.Run, error) {
	if exp, ok := byKey(q); ok {
		runs, err := s.searchByKey(ctx, ws, exp, q)
		if err != nil {
			return nil, fmt.Errorf("search runs: %w", err)
		}
		return runs, nil
	}
	sq := s.query()
	sq.add(`SELECT `+runCols+` FROM runs r WHERE r.workspace = ? AND `, ws)
	if exps := experimentIDs(q.ExperimentIDs); len(exps) == 1 {
		// One experiment: its index gives the runs in start_time order, so
		// a page stops reading once it has its runs.
		sq.add(`r.experiment_id = ?`, exps[0])
	} else {
		ids, _ := json.Marshal(exps)
		sq.add(`r.experiment_id IN (SELECT CAST(value AS BIGINT) FROM json_each(?))`, string(ids))
	}
	sq.add(` AND ` + stageCond("r.lifecycle_stage", q.ViewType))
	if err := runSchema.where(sq, q.Filter); err != nil {
		return nil, err
	}
	if c := q.After; c != nil { // by start_time: byKey took the other orders
		if _, asc := q.KeysetOrder(); asc {
			sq.add(` AND r.start_time >= ? AND (r.start_time > ? OR r.run_id > ?)`, c.StartTime, c.StartTime, c.RunID)
		} else {
			sq.add(` AND r.start_time <= ? AND (r.start_time < ? OR r.run_id > ?)`, c.StartTime, c.StartTime, c.RunID)
		}
	}
	order := q.OrderBy
	if !hasOrder(order, "start_time") {
		order = append(order, tracking.OrderBy{Kind: tracking.KindAttribute, Key: "start_time"})
	}
	order = append(order, tracking.OrderBy{Kind: tracking.KindAttribute, Key: "run_id", Asc: true})
	sq.add(" ORDER BY ")
	if err := runSchema.orderBy(sq, order); err != nil {
		return nil, err
	}
	sq.add(" LIMIT ? OFFSET ?", q.Limit, q.Offset)
	runs, err := queryLoaded(ctx, s.rdb, sq, scanRunInfo, func(runs []tracking.Run) error { return s.loadRunData(ctx, runs) })
	if err != nil {
		return nil, fmt.Errorf("search runs: %w", err)
	}
	return runs, nil
}

// loadRunData fills in the params, tags, latest metrics, dataset inputs and
// model inputs and outputs of runs: from the run cache, and for the runs
// not in it one query per kind for all of them. The slices filled in may
// be shared with other readers, so callers must not change their
// elements.
func (s *Store) loadRunData(ctx context.Context, runs []tracking.Run) error {
	missing, snap := s.runs.fill(runs)
	if len(missing) == 0 {
		return nil
	}
	at := make(map[string]*tracking.Run, len(missing))
	ids := make([]string, len(missing))
	for i, r := range missing {
		ids[i] = r.Info.RunID
		at[ids[i]] = r
	}
	list := idList(ids)
	loaders := []struct {
		query string
		scan  func(rows *sql.Rows, r func(string) *tracking.Run) error
	}{
		{`SELECT run_id, key, value FROM run_params WHERE run_id IN (SELECT value FROM json_each(?)) ORDER BY run_id, key`,
			func(rows *sql.Rows, run func(string) *tracking.Run) error {
				var id string
				var p tracking.Param
				if err := rows.Scan(&id, &p.Key, &p.Value); err != nil {
					return err
				}
				r := run(id)
				r.Params = append(r.Params, p)
				return nil
			}},
		{`SELECT run_id, key, value FROM run_tags WHERE run_id IN (SELECT value FROM json_each(?)) ORDER BY run_id, key`,
			func(rows *sql.Rows, run func(string) *tracking.Run) error {
				var id string
				var t tracking.Tag
				if err := rows.Scan(&id, &t.Key, &t.Value); err != nil {
					return err
				}
				r := run(id)
				r.Tags = append(r.Tags, t)
				return nil
			}},
		{`SELECT run_id, ` + metricCols + ` FROM latest_metrics WHERE run_id IN (SELECT value FROM json_each(?)) ORDER BY run_id, key`,
			func(rows *sql.Rows, run func(string) *tracking.Run) error {
				var id string
				m, err := scanMetric(rows, &id)
				if err != nil {
					return err
				}
				m.ModelID, m.DatasetName, m.DatasetDigest = "", "", ""
				r := run(id)
				r.Metrics = append(r.Metrics, m)
				return nil
			}},
		{`SELECT run_id, name, digest, source_type, source, schema, profile, COALESCE(tags, '') FROM run_datasets
			WHERE run_id IN (SELECT value FROM json_each(?)) ORDER BY run_id, seq`, scanDatasetInput},
		{`SELECT run_id, direction, model_id, step FROM run_models WHERE run_id IN (SELECT value FROM json_each(?))
			ORDER BY run_id, direction, model_id`, scanRunModel},
	}
	// The loaders fill different fields of the runs, so they run at once,
	// each on its own read connection.
	run := func(id string) *tracking.Run { return at[id] }
	errs := make([]error, len(loaders))
	var wg sync.WaitGroup
	for i, l := range loaders {
		wg.Go(func() {
			errs[i] = s.eachRow(ctx, l.query, list, func(rows *sql.Rows) error { return l.scan(rows, run) })
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	s.runs.store(missing, snap)
	return nil
}

func scanDatasetInput(rows *sql.Rows, run func(string) *tracking.Run) error {
	var (
		id   string
		d    tracking.DatasetInput
		tags string
	)
	if err := rows.Scan(&id, &d.Dataset.Name, &d.Dataset.Digest, &d.Dataset.SourceType, &d.Dataset.Source,
		&d.Dataset.Schema, &d.Dataset.Profile, &tags); err != nil {
		return err
	}
	if tags != "" {
		if err := json.Unmarshal([]byte(tags), &d.Tags); err != nil {
			return fmt.Errorf("decode dataset tags: %w", err)
		}
	}
	r := run(id)
	r.Inputs = append(r.Inputs, d)
	return nil
}

func scanRunModel(rows *sql.Rows, run func(string) *tracking.Run) error {
	var (
		id, dir string
		m       tracking.ModelOutput
	)
	if err := rows.Scan(&id, &dir, &m.ModelID, &m.Step); err != nil {
		return err
	}
	r := run(id)
	if dir == "input" {
		r.ModelInputs = append(r.ModelInputs, tracking.ModelInput{ModelID: m.ModelID})
	} else {
		r.ModelOutputs = append(r.ModelOutputs, m)
	}
	return nil
}

// eachRow runs a read query and calls fn for every row.
func (s *Store) eachRow(ctx context.Context, query string, arg any, fn func(*sql.Rows) error) error {
	rows, err := s.rdb.QueryContext(ctx, query, arg)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
