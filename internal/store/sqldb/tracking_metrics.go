package sqldb

import (
	"context"
	"database/sql"
	"math"
	"strings"

	"github.com/ciel-mlops/ciel/internal/tracking"
)

// metricArgs are a metric's column values after its key and run: NaN is
// stored as 0 with is_nan set.
func metricArgs(m tracking.Metric) (value float64, isNaN bool) {
	if math.IsNaN(m.Value) {
		return 0, true
	}
	return m.Value, false
}

// putMetrics records each value and keeps latest_metrics at the greatest
// (step, timestamp, value) of each key: the batch's own greatest value per
// key is found here, so each key costs one upsert whatever the batch's size.
func (s *Store) putMetrics(ctx context.Context, tx *sql.Tx, sc runScope, runID string, ms []tracking.Metric) error {
	if s.d.metricArrays {
		return s.putMetricArrays(ctx, tx, sc, runID, ms)
	}
	if err := insertMetricRows(ctx, tx, s.ws.insertMetrics, runID, ms, nil); err != nil {
		return err
	}
	return insertMetricRows(ctx, tx, s.ws.upsertLatest, runID, latestPerKey(ms), &sc)
}

// The statements of the metricArrays dialect: the run and its scope bind
// once (first: parameters are numbered in the order they appear),
// the metrics' columns as arrays. latestPerKey leaves one row per key, as
// an upsert touching a row twice is an error in PostgreSQL.
const (
	metricArrayCols    = `?::text[], ?::bigint[], ?::bigint[], ?::float8[], ?::bool[], ?::text[], ?::text[], ?::text[]`
	metricArraysInsert = metricInsert + ` (` + metricWriteCols + `)
		SELECT ?::text, u.* FROM unnest(` + metricArrayCols + `) u` + metricIgnore
	latestArraysUpsert = latestInsert + ` (` + latestWriteCols + `)
		SELECT ?::text, u.*, ?::text, ?::bigint, ?::bigint FROM unnest(` + metricArrayCols + `) u` + latestUpsert
)

// metricColumns are a batch's metrics as one slice per column of
// metricArrayCols; nil entries of the text columns are NULLs.
type metricColumns struct {
	keys                            []string
	steps, times                    []int64
	values                          []float64
	nans                            []bool
	models, datasetNames, datasetDs []*string
}

func columnsOf(ms []tracking.Metric) metricColumns {
	n := len(ms)
	c := metricColumns{keys: make([]string, n), steps: make([]int64, n), times: make([]int64, n), values: make([]float64, n),
		nans: make([]bool, n), models: make([]*string, n), datasetNames: make([]*string, n), datasetDs: make([]*string, n)}
	for i, m := range ms {
		c.keys[i], c.steps[i], c.times[i] = m.Key, m.Step, m.Timestamp
		c.values[i], c.nans[i] = metricArgs(m)
		c.models[i], c.datasetNames[i], c.datasetDs[i] = nullPtr(m.ModelID), nullPtr(m.DatasetName), nullPtr(m.DatasetDigest)
	}
	return c
}

func (c metricColumns) args() []any {
	return []any{c.keys, c.steps, c.times, c.values, c.nans, c.models, c.datasetNames, c.datasetDs}
}

// putMetricArrays is putMetrics in two statements whatever the batch's size.
func (s *Store) putMetricArrays(ctx context.Context, tx *sql.Tx, sc runScope, runID string, ms []tracking.Metric) error {
	if len(ms) == 0 {
		return nil
	}
	all := columnsOf(ms)
	if _, err := tx.StmtContext(ctx, s.ws.insertMetricArr).ExecContext(ctx, append([]any{runID}, all.args()...)...); err != nil {
		return err
	}
	latest := all
	if len(ms) > 1 {
		latest = columnsOf(latestPerKey(ms))
	}
	args := append([]any{runID, sc.ws, sc.experiment, sc.startTime}, latest.args()...)
	_, err := tx.StmtContext(ctx, s.ws.upsertLatestArr).ExecContext(ctx, args...)
	return err
}

// nullPtr is &s, or nil (NULL) when s is empty.
func nullPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// The statements putMetrics runs: "<insert> (cols) VALUES (...), ...
// <suffix>" with a row per metric.
const (
	metricInsert = `INSERT INTO metrics`
	metricIgnore = ` ON CONFLICT DO NOTHING`
	latestInsert = `INSERT INTO latest_metrics`
	latestUpsert = ` ON CONFLICT (run_id, key) DO UPDATE SET
			step = excluded.step, timestamp = excluded.timestamp, value = excluded.value, is_nan = excluded.is_nan,
			model_id = excluded.model_id, dataset_name = excluded.dataset_name, dataset_digest = excluded.dataset_digest
			WHERE (excluded.step, excluded.timestamp, excluded.value) >= (latest_metrics.step, latest_metrics.timestamp, latest_metrics.value)`
	// metricWriteCols are a metrics row's columns; latestWriteCols a latest_metrics
	// row's, which carry their run's scope too.
	metricWriteCols = `run_id, key, step, timestamp, value, is_nan, model_id, dataset_name, dataset_digest`
	latestWriteCols = metricWriteCols + `, workspace, experiment_id, start_time`
	metricRowCols   = ` (` + metricWriteCols + `) VALUES `
	metricRow       = `(?,?,?,?,?,?,?,?,?)`
	latestRowCols   = ` (` + latestWriteCols + `) VALUES `
	latestRow       = `(?,?,?,?,?,?,?,?,?,?,?,?)`
	latestRowArgs   = 12
)

// metricRowSizes are the row counts of the multi-row statements prepared
// for metrics, largest first; the last must be 1. Compiling SQL costs more
// than running it (a 500-row INSERT spent half its time in SQLite's
// parser), so a batch of any size runs as a few executions of statements
// compiled once at open. 64 rows bind at most 768 parameters (latest_metrics
// rows have 12 columns), under SQLite's limit.
var metricRowSizes = [...]int{64, 8, 1}

// rowLadder holds one prepared statement per size in metricRowSizes.
type rowLadder [len(metricRowSizes)]*sql.Stmt

// metricRowsSQL is "<insert> <cols> <row>,<row>... <suffix>" with rows rows.
func metricRowsSQL(insert, cols, row, suffix string, rows int) string {
	var q strings.Builder
	q.Grow(len(insert) + len(suffix) + len(cols) + (len(row)+1)*rows)
	q.WriteString(insert)
	q.WriteString(cols)
	for i := range rows {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteString(row)
	}
	q.WriteString(suffix)
	return q.String()
}

// insertMetricRows runs the ladder's statements over ms, the largest that
// fits first, binding one row per metric (and the run's scope after each
// row's metric columns when sc is set, for latest_metrics).
func insertMetricRows(ctx context.Context, tx *sql.Tx, ladder rowLadder, runID string, ms []tracking.Metric, sc *runScope) error {
	args := make([]any, 0, latestRowArgs*metricRowSizes[0])
	for i, size := range metricRowSizes {
		if len(ms) < size {
			continue
		}
		st := tx.StmtContext(ctx, ladder[i])
		for ; len(ms) >= size; ms = ms[size:] {
			args = args[:0]
			for _, m := range ms[:size] {
				v, nan := metricArgs(m)
				args = append(args, runID, m.Key, m.Step, m.Timestamp, v, nan, nullString(m.ModelID),
					nullString(m.DatasetName), nullString(m.DatasetDigest))
				if sc != nil {
					args = append(args, sc.ws, sc.experiment, sc.startTime)
				}
			}
			if _, err := st.ExecContext(ctx, args...); err != nil {
				return err
			}
		}
	}
	return nil
}

// latestPerKey returns, for each key in ms (in order of first appearance),
// the metric with the greatest (step, timestamp, stored value); on a tie
// the later one, as a later upsert would.
func latestPerKey(ms []tracking.Metric) []tracking.Metric {
	if len(ms) == 1 {
		return ms
	}
	at := make(map[string]int, 8)
	out := make([]tracking.Metric, 0, 8)
	for _, m := range ms {
		i, ok := at[m.Key]
		if !ok {
			at[m.Key] = len(out)
			out = append(out, m)
			continue
		}
		cur := out[i]
		v, _ := metricArgs(m)
		cv, _ := metricArgs(cur)
		if m.Step > cur.Step || m.Step == cur.Step && (m.Timestamp > cur.Timestamp || m.Timestamp == cur.Timestamp && v >= cv) {
			out[i] = m
		}
	}
	return out
}
