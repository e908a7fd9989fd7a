package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/ciel-mlops/ciel/internal/tracking"
)

// The tracking.TraceStore half of Store: MLflow 3 traces' metadata, tags
// and links to runs (migration 0006). Spans are never here; they are the
// artifact traces.json under each trace's artifact location.

const traceCols = `t.trace_id, t.experiment_id, t.client_request_id, t.request_time, t.execution_duration, t.state,
	t.request_preview, t.response_preview`

// traceLink ties a tags or metadata row (aliased x) to its trace t.
const traceLink = "x.workspace = t.workspace AND x.trace_id = t.trace_id"

var traceSchema = &searchSchema{
	attrs: map[string]string{"trace_id": "t.trace_id", "experiment_id": "t.experiment_id",
		"timestamp_ms": "t.request_time", "execution_time_ms": "t.execution_duration",
		"end_time_ms": "(t.request_time + t.execution_duration)", "status": "t.state",
		"client_request_id": "t.client_request_id"},
	sub: map[string]subTable{
		tracking.KindTag:      {from: "trace_tags x", link: traceLink},
		tracking.KindMetadata: {from: "trace_metadata x", link: traceLink},
	},
}

func scanTraceInfo(sc scanner) (tracking.TraceInfo, error) {
	var (
		t   tracking.TraceInfo
		exp int64
	)
	err := sc.Scan(&t.TraceID, &exp, &t.ClientRequestID, &t.RequestTime, &t.ExecutionDuration, &t.State,
		&t.RequestPreview, &t.ResponsePreview)
	t.ExperimentID = strconv.FormatInt(exp, 10)
	return t, err
}

// traceArtifactLocation is where a trace's spans go: beside its
// experiment's runs and logged models, as MLflow's server puts them.
func traceArtifactLocation(expLocation, traceID string) string {
	return expLocation + "/traces/" + traceID + "/artifacts"
}

// StartTrace records a trace; see tracking.TraceStore.
func (s *Store) StartTrace(ctx context.Context, ws string, t tracking.TraceInfo) (tracking.TraceInfo, error) {
	op := fmt.Sprintf("start trace %s in experiment %s of workspace %q", t.TraceID, t.ExperimentID, ws)
	exp, err := parseExpID(t.ExperimentID)
	if err != nil {
		return tracking.TraceInfo{}, opErr(op, err)
	}
	err = s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var loc, stage string
		if err := tx.StmtContext(ctx, s.ws.runExperiment).QueryRowContext(ctx, ws, exp).Scan(&loc, &stage); err != nil {
			return fmt.Errorf("experiment %s: %w", t.ExperimentID, notFoundIfNone(err))
		}
		if stage != tracking.StageActive {
			return tracking.Errorf(tracking.CodeInvalidParameterValue,
				"The experiment %s must be in the 'active' state. Current state is %s.", t.ExperimentID, stage)
		}
		// A retry of the same trace replaces its fields; tags and metadata
		// merge below.
		if _, err := tx.ExecContext(ctx, `INSERT INTO traces (workspace, trace_id, experiment_id, client_request_id,
			request_time, execution_duration, state, request_preview, response_preview) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (workspace, trace_id) DO UPDATE SET experiment_id = excluded.experiment_id,
			client_request_id = excluded.client_request_id, request_time = excluded.request_time,
			execution_duration = excluded.execution_duration, state = excluded.state,
			request_preview = excluded.request_preview, response_preview = excluded.response_preview`,
			ws, t.TraceID, exp, t.ClientRequestID, t.RequestTime, t.ExecutionDuration, t.State,
			t.RequestPreview, t.ResponsePreview); err != nil {
			return err
		}
		tags := make(map[string]string, len(t.Tags)+2)
		for k, v := range t.Tags {
			tags[k] = v
		}
		tags[tracking.TagTraceArtifactLocation] = traceArtifactLocation(loc, t.TraceID)
		tags[tracking.TagSpansLocation] = tracking.SpansInArtifacts
		if err := putTraceKVs(ctx, tx, "trace_tags", ws, t.TraceID, tags); err != nil {
			return err
		}
		return putTraceKVs(ctx, tx, "trace_metadata", ws, t.TraceID, t.Metadata)
	})
	if err != nil {
		return tracking.TraceInfo{}, opErr(op, err)
	}
	return s.GetTraceInfo(ctx, ws, t.TraceID)
}

// putTraceKVs upserts key/value rows of a trace into table (trace_tags or
// trace_metadata), in key order so that concurrent writers would take
// locks in one order.
func putTraceKVs(ctx context.Context, tx *sql.Tx, table, ws, id string, kv map[string]string) error {
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+table+` (workspace, trace_id, key, value) VALUES (?, ?, ?, ?)
			ON CONFLICT (workspace, trace_id, key) DO UPDATE SET value = excluded.value`, ws, id, k, kv[k]); err != nil {
			return fmt.Errorf("%s %q: %w", table, k, err)
		}
	}
	return nil
}

// GetTraceInfo returns one trace with its tags and metadata.
func (s *Store) GetTraceInfo(ctx context.Context, ws, traceID string) (tracking.TraceInfo, error) {
	t, err := scanTraceInfo(s.rdb.QueryRowContext(ctx, `SELECT `+traceCols+` FROM traces t
		WHERE t.workspace = ? AND t.trace_id = ?`, ws, traceID))
	if err == nil {
		list := []tracking.TraceInfo{t}
		if err = loadTraceData(ctx, s.rdb, ws, list); err == nil {
			return list[0], nil
		}
	}
	return tracking.TraceInfo{}, fmt.Errorf("get trace %s in workspace %q: %w", traceID, ws, notFoundIfNone(err))
}

// GetTraceInfos returns the traces of ids that exist, in the order of ids.
func (s *Store) GetTraceInfos(ctx context.Context, ws string, ids []string) ([]tracking.TraceInfo, error) {
	sq := s.query()
	sq.add(`SELECT `+traceCols+` FROM traces t
		WHERE t.workspace = ? AND t.trace_id IN (SELECT value FROM json_each(?))`, ws, idList(ids))
	found, err := queryLoaded(ctx, s.rdb, sq, scanTraceInfo, traceLoader(ctx, s.rdb, ws))
	if err != nil {
		return nil, fmt.Errorf("get traces in workspace %q: %w", ws, err)
	}
	byID := make(map[string]tracking.TraceInfo, len(found))
	for _, t := range found {
		byID[t.TraceID] = t
	}
	out := make([]tracking.TraceInfo, 0, len(found))
	for _, id := range ids {
		if t, ok := byID[id]; ok {
			out = append(out, t)
			delete(byID, id) // an ID asked for twice is answered once
		}
	}
	return out, nil
}

// traceLoader is loadTraceData for queryLoaded.
func traceLoader(ctx context.Context, q querier, ws string) func([]tracking.TraceInfo) error {
	return func(traces []tracking.TraceInfo) error { return loadTraceData(ctx, q, ws, traces) }
}

// loadTraceData fills in the tags and metadata of traces of workspace ws,
// one query per kind for all of them.
func loadTraceData(ctx context.Context, q querier, ws string, traces []tracking.TraceInfo) error {
	if len(traces) == 0 {
		return nil
	}
	at := make(map[string]*tracking.TraceInfo, len(traces))
	ids := make([]string, len(traces))
	for i := range traces {
		ids[i] = traces[i].TraceID
		at[ids[i]] = &traces[i]
	}
	list := idList(ids)
	for _, table := range []string{"trace_tags", "trace_metadata"} {
		rows, err := q.QueryContext(ctx, `SELECT trace_id, key, value FROM `+table+`
			WHERE workspace = ? AND trace_id IN (SELECT value FROM json_each(?))`, ws, list)
		if err != nil {
			return fmt.Errorf("read %s: %w", table, err)
		}
		err = func() error {
			defer rows.Close()
			for rows.Next() {
				var id, k, v string
				if err := rows.Scan(&id, &k, &v); err != nil {
					return err
				}
				t := at[id]
				m := &t.Tags
				if table == "trace_metadata" {
					m = &t.Metadata
				}
				if *m == nil {
					*m = map[string]string{}
				}
				(*m)[k] = v
			}
			return rows.Err()
		}()
		if err != nil {
			return fmt.Errorf("read %s: %w", table, err)
		}
	}
	return nil
}

// SearchTraces returns the traces of ws matching q, filtered and ordered
// in SQL.
func (s *Store) SearchTraces(ctx context.Context, ws string, q tracking.TraceQuery) ([]tracking.TraceInfo, error) {
	exps, _ := json.Marshal(experimentIDs(q.ExperimentIDs))
	sq := s.query()
	sq.add(`SELECT `+traceCols+` FROM traces t WHERE t.workspace = ?
		AND t.experiment_id IN (SELECT CAST(value AS BIGINT) FROM json_each(?))`, ws, string(exps))
	if err := traceWhere(sq, q.Filter); err != nil {
		return nil, err
	}
	order := q.OrderBy
	if !hasOrder(order, "timestamp_ms") {
		order = append(order, tracking.OrderBy{Kind: tracking.KindAttribute, Key: "timestamp_ms"})
	}
	if !hasOrder(order, "trace_id") {
		order = append(order, tracking.OrderBy{Kind: tracking.KindAttribute, Key: "trace_id", Asc: true})
	}
	sq.add(" ORDER BY ")
	if err := traceSchema.orderBy(sq, order); err != nil {
		return nil, err
	}
	sq.add(" LIMIT ? OFFSET ?", q.Limit, q.Offset)
	out, err := queryLoaded(ctx, s.rdb, sq, scanTraceInfo, traceLoader(ctx, s.rdb, ws))
	if err != nil {
		return nil, fmt.Errorf("search traces: %w", err)
	}
	return out, nil
}

// traceWhere appends the conditions of a trace filter. run_id matches a
// trace created in the run (its mlflow.sourceRun metadata) or linked to it
// later, as in MLflow.
func traceWhere(sq *sqlQuery, clauses []tracking.Clause) error {
	for _, c := range clauses {
		sq.add(" AND ")
		if c.Kind != tracking.KindAttribute || c.Key != "run_id" {
			if err := traceSchema.clause(sq, c); err != nil {
				return err
			}
			continue
		}
		meta := c
		meta.Kind, meta.Key = tracking.KindMetadata, tracking.MetaSourceRun
		sq.add("(")
		if err := traceSchema.clause(sq, meta); err != nil {
			return err
		}
		sq.add(" OR EXISTS (SELECT 1 FROM trace_run_links x WHERE " + traceLink + " AND ")
		if err := traceSchema.compare(sq, "x.run_id", c, false); err != nil {
			return err
		}
		sq.add("))")
	}
	return nil
}

// traceExists returns nil if trace id is in workspace ws, else an error
// wrapping store.ErrNotFound.
func traceExists(ctx context.Context, tx *sql.Tx, ws, id string) error {
	var one int
	return notFoundIfNone(tx.QueryRowContext(ctx, `SELECT 1 FROM traces WHERE workspace = ? AND trace_id = ?`, ws, id).Scan(&one))
}

// changeTrace runs fn in one write after checking the trace exists.
func (s *Store) changeTrace(ctx context.Context, op, ws, id string, fn func(ctx context.Context, tx *sql.Tx) error) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := traceExists(ctx, tx, ws, id); err != nil {
			return err
		}
		return fn(ctx, tx)
	})
	return opErr(fmt.Sprintf("%s trace %s in workspace %q", op, id, ws), err)
}

// SetTraceTag sets one tag of a trace.
func (s *Store) SetTraceTag(ctx context.Context, ws, traceID string, t tracking.Tag) error {
	return s.changeTrace(ctx, "tag", ws, traceID, func(ctx context.Context, tx *sql.Tx) error {
		return putTraceKVs(ctx, tx, "trace_tags", ws, traceID, map[string]string{t.Key: t.Value})
	})
}

// DeleteTraceTag removes a tag; store.ErrNotFound if absent.
func (s *Store) DeleteTraceTag(ctx context.Context, ws, traceID, key string) error {
	return s.changeTrace(ctx, "untag", ws, traceID, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM trace_tags WHERE workspace = ? AND trace_id = ? AND key = ?`,
			ws, traceID, key)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
}

// DeleteTraces deletes the traces d selects and returns them.
func (s *Store) DeleteTraces(ctx context.Context, ws string, d tracking.TraceDeletion) ([]tracking.TraceInfo, error) {
	op := fmt.Sprintf("delete traces of experiment %s in workspace %q", d.ExperimentID, ws)
	exp, err := parseExpID(d.ExperimentID)
	if err != nil {
		return nil, opErr(op, err)
	}
	var deleted []tracking.TraceInfo
	err = s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		sq := s.query()
		sq.add(`SELECT `+traceCols+` FROM traces t WHERE t.workspace = ? AND t.experiment_id = ?`, ws, exp)
		if d.MaxTimestamp != nil {
			sq.add(` AND t.request_time <= ?`, *d.MaxTimestamp)
		}
		if len(d.TraceIDs) > 0 {
			sq.add(` AND t.trace_id IN (SELECT value FROM json_each(?))`, idList(d.TraceIDs))
		}
		// The oldest go first when only some may go.
		sq.add(` ORDER BY t.request_time, t.trace_id`)
		if d.MaxTraces != nil {
			sq.add(` LIMIT ?`, *d.MaxTraces)
		}
		var err error
		if deleted, err = queryLoaded(ctx, tx, sq, scanTraceInfo, traceLoader(ctx, tx, ws)); err != nil {
			return err
		}
		ids := make([]string, len(deleted))
		for i, t := range deleted {
			ids[i] = t.TraceID
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM traces WHERE workspace = ? AND trace_id IN (SELECT value FROM json_each(?))`,
			ws, idList(ids))
		return err
	})
	if err != nil {
		return nil, opErr(op, err)
	}
	return deleted, nil
}

// LinkTracesToRun links traces to a run, all or none.
func (s *Store) LinkTracesToRun(ctx context.Context, ws, runID string, traceIDs []string) error {
	err := s.w.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var stage string
		if err := tx.StmtContext(ctx, s.ws.runStage).QueryRowContext(ctx, runID, ws).Scan(&stage); err != nil {
			return fmt.Errorf("run %s: %w", runID, notFoundIfNone(err))
		}
		for _, id := range traceIDs {
			res, err := tx.ExecContext(ctx, `INSERT INTO trace_run_links (workspace, trace_id, run_id)
				SELECT workspace, trace_id, ? FROM traces WHERE workspace = ? AND trace_id = ?
				ON CONFLICT DO NOTHING`, runID, ws, id)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 {
				// Linked already, or no such trace: only the latter fails.
				if err := traceExists(ctx, tx, ws, id); err != nil {
					return fmt.Errorf("trace %s: %w", id, err)
				}
			}
		}
		return nil
	})
	return opErr(fmt.Sprintf("link traces to run %s in workspace %q", runID, ws), err)
}
