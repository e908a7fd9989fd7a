package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/ciel-mlops/ciel/internal/tracking"
)

// MetricBuckets summarises a run's metric in at most q.MaxPoints buckets
// of equal step ranges (of equal time ranges when every point has one
// step). SQLite does the summing: each bucket is an index range of the
// metrics table, read once inside the database, so a history of a million
// points costs no more memory than its buckets. store.ErrNotFound when ws
// has no such run.
func (s *Store) MetricBuckets(ctx context.Context, ws, runID, key string, q tracking.BucketQuery) ([]tracking.MetricBucket, error) {
	var one int
	err := s.rdb.QueryRowContext(ctx, `SELECT 1 FROM runs WHERE run_id = ? AND workspace = ?`, runID, ws).Scan(&one)
	if err != nil {
		return nil, fmt.Errorf("metric buckets of run %s: %w", runID, notFoundIfNone(err))
	}
	if q.MaxPoints <= 0 {
		return nil, fmt.Errorf("metric buckets of run %s: max points %d is not positive", runID, q.MaxPoints)
	}
	lo, hi, ok, err := s.metricBound(ctx, "step", runID, key, q.StartStep, q.EndStep, nil)
	if err != nil || !ok {
		return nil, err
	}
	col, fixed := "step", (*int64)(nil)
	if lo == hi {
		// One step (MLflow logs step 0 when none is given): the points
		// differ only in time, which the index orders next.
		step := lo
		col, fixed = "timestamp", &step
		if lo, hi, _, err = s.metricBound(ctx, "timestamp", runID, key, nil, nil, fixed); err != nil {
			return nil, err
		}
	}
	return s.bucketParts(ctx, runID, key, col, fixed, bucketRangesOf(lo, hi, q.MaxPoints))
}

// minPartBuckets is the fewest buckets a part read on its own connection
// holds: below it, a history is short enough that one query is quicker
// than starting several.
const minPartBuckets = 64

// bucketParts reads the buckets of ranges in up to GOMAXPROCS (at most 4)
// contiguous parts at once, each a query on its own reader connection: a
// history of a million points is one scan of its index range per part,
// so the parts share the scan across cores. Results keep ranges' order.
func (s *Store) bucketParts(ctx context.Context, runID, key, col string, fixed *int64, ranges [][2]int64) ([]tracking.MetricBucket, error) {
	parts := min(runtime.GOMAXPROCS(0), 4, max(1, len(ranges)/minPartBuckets))
	size := (len(ranges) + parts - 1) / parts
	outs := make([][]tracking.MetricBucket, parts)
	errs := make([]error, parts)
	var wg sync.WaitGroup
	for p := range parts {
		part := ranges[min(p*size, len(ranges)):min((p+1)*size, len(ranges))]
		if len(part) == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[p], errs[p] = s.bucketRanges(ctx, runID, key, col, fixed, boundsJSON(part))
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	out := []tracking.MetricBucket{}
	for _, o := range outs {
		out = append(out, o...)
	}
	return out, nil
}

// metricBound returns the least and greatest col of a metric within
// [start, end] (of its points at step fixed, when set); ok is false when
// it has none. Each is one seek of the primary key.
func (s *Store) metricBound(ctx context.Context, col, runID, key string, start, end, fixed *int64) (lo, hi int64, ok bool, err error) {
	where := `run_id = ? AND key = ? AND (CAST(? AS BIGINT) IS NULL OR step >= ?) AND (CAST(? AS BIGINT) IS NULL OR step <= ?) AND (CAST(? AS BIGINT) IS NULL OR step = ?)`
	args := []any{runID, key, start, start, end, end, fixed, fixed}
	var l, h sql.NullInt64
	if err := s.rdb.QueryRowContext(ctx, `SELECT min(`+col+`) FROM metrics WHERE `+where, args...).Scan(&l); err != nil {
		return 0, 0, false, fmt.Errorf("metric buckets of run %s: %w", runID, err)
	}
	if err := s.rdb.QueryRowContext(ctx, `SELECT max(`+col+`) FROM metrics WHERE `+where, args...).Scan(&h); err != nil {
		return 0, 0, false, fmt.Errorf("metric buckets of run %s: %w", runID, err)
	}
	return l.Int64, h.Int64, l.Valid && h.Valid, nil
}

// bucketBounds splits [lo, hi] into at most n ranges of equal width,
// as [[from, to], ...] JSON.
func bucketBounds(lo, hi int64, n int) string {
	return boundsJSON(bucketRangesOf(lo, hi, n))
}

// bucketRangesOf splits [lo, hi] into at most n ranges of equal width; the
// arithmetic is unsigned, so the widest int64 span does not overflow.
func bucketRangesOf(lo, hi int64, n int) [][2]int64 {
	span := uint64(hi) - uint64(lo)
	width := span/uint64(n) + 1
	var out [][2]int64
	for from := uint64(lo); ; from += width {
		to := from + width - 1
		last := to-uint64(lo) >= span || to < from
		if last {
			to = uint64(hi)
		}
		out = append(out, [2]int64{int64(from), int64(to)})
		if last {
			return out
		}
	}
}

// boundsJSON writes ranges as [[from, to], ...], the JSON bucketRanges reads.
func boundsJSON(ranges [][2]int64) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, r := range ranges {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "[%d,%d]", r[0], r[1])
	}
	b.WriteByte(']')
	return b.String()
}

// bucketRanges summarises the points whose col lies in each range of
// bounds; empty ranges are left out.
func (s *Store) bucketRanges(ctx context.Context, runID, key, col string, fixed *int64, bounds string) ([]tracking.MetricBucket, error) {
	in := `FROM metrics WHERE run_id = ?1 AND key = ?2 AND (CAST(?3 AS BIGINT) IS NULL OR step = ?3) AND ` + col + ` BETWEEN b.lo AND b.hi`
	// Each range's summary and last point, as JSON arrays.
	ranges, array := `SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?4)`, `json_array`
	if s.d == postgresDialect {
		ranges, array = `SELECT CAST(value->>0 AS BIGINT), CAST(value->>1 AS BIGINT) FROM json_array_elements(CAST(?4 AS json))`, `json_build_array`
	}
	value := `CASE WHEN is_nan THEN NULL ELSE value END`
	rows, err := s.rdb.QueryContext(ctx, `WITH b(lo, hi) AS (`+ranges+`)
		SELECT
			(SELECT `+array+`(count(*), min(`+value+`), max(`+value+`), min(step), min(timestamp)) `+in+`),
			(SELECT `+array+`(step, timestamp, `+value+`) `+in+` ORDER BY step DESC, timestamp DESC, value DESC LIMIT 1)
		FROM b`, runID, key, fixed, bounds)
	if err != nil {
		return nil, fmt.Errorf("metric buckets of run %s: %w", runID, err)
	}
	defer rows.Close()
	out := []tracking.MetricBucket{}
	for rows.Next() {
		var agg string
		var last sql.NullString
		if err := rows.Scan(&agg, &last); err != nil {
			return nil, fmt.Errorf("metric buckets of run %s: %w", runID, err)
		}
		if !last.Valid {
			continue // no point in this range
		}
		b, err := decodeBucket(agg, last.String)
		if err != nil {
			return nil, fmt.Errorf("metric buckets of run %s: %w", runID, err)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("metric buckets of run %s: %w", runID, err)
	}
	return out, nil
}

// decodeBucket reads the JSON arrays bucketRanges selects:
// [count, min, max, first step, first time] and [step, time, value]. A
// NaN is null; SQLite writes ±Inf as ±9e999, which parses as ±Inf.
// Counts, steps and times are parsed as integers, exact past 2^53.
func decodeBucket(agg, last string) (tracking.MetricBucket, error) {
	var a, l []json.RawMessage
	if err := json.Unmarshal([]byte(agg), &a); err != nil || len(a) != 5 {
		return tracking.MetricBucket{}, fmt.Errorf("decode bucket %q: %v", agg, err)
	}
	if err := json.Unmarshal([]byte(last), &l); err != nil || len(l) != 3 {
		return tracking.MetricBucket{}, fmt.Errorf("decode bucket %q: %v", last, err)
	}
	var b tracking.MetricBucket
	var err error
	for _, f := range []struct {
		dst *int64
		raw json.RawMessage
	}{{&b.Count, a[0]}, {&b.FirstStep, a[3]}, {&b.FirstTimestamp, a[4]}, {&b.Step, l[0]}, {&b.Timestamp, l[1]}} {
		if *f.dst, err = strconv.ParseInt(string(f.raw), 10, 64); err != nil {
			return b, fmt.Errorf("decode bucket %s %s: %w", agg, last, err)
		}
	}
	if b.Min, err = jsonFloat(a[1]); err == nil {
		b.Max, err = jsonFloat(a[2])
	}
	v, err2 := jsonFloat(l[2])
	if err = errors.Join(err, err2); err != nil {
		return b, fmt.Errorf("decode bucket %s %s: %w", agg, last, err)
	}
	b.Value = math.NaN()
	if v != nil {
		b.Value = *v
	}
	return b, nil
}

// jsonFloat parses a JSON number (nil for null), ±9e999 as ±Inf.
func jsonFloat(raw json.RawMessage) (*float64, error) {
	if string(raw) == "null" {
		return nil, nil
	}
	text := string(raw)
	if unq, err := strconv.Unquote(text); err == nil {
		text = unq // PostgreSQL writes infinities as "Infinity" and "-Infinity"
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return nil, err
	}
	return &f, nil
}
