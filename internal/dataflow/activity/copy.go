package activity

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/ciel-mlops/ciel/internal/dataflow/db"
	"github.com/ciel-mlops/ciel/internal/dataflow/tabular"
	"github.com/ciel-mlops/ciel/internal/dataflow/tabular/convert"
)

func init() { funcs["Copy"] = runCopy }

// maxSkippedInOutput bounds the skipped rows listed in a Copy's output;
// all of them go to the activity's log.
const maxSkippedInOutput = 100

// skipped is a row a Copy dropped (enableSkipIncompatibleRow).
type skipped struct {
	Row    int64  `json:"rowNumber"`
	Column string `json:"column,omitempty"`
	Reason string `json:"reason"`
}

// batch is rows on their way from the source to the sink, with each row's
// number in the source (from 1).
type batch struct {
	rows [][]any
	nums []int64
}

// copyRun is one Copy's state.
type copyRun struct {
	env         *Env
	name        string
	skip        bool
	extra       []extraColumn
	m           *mapping
	pather      FilePather
	filesIn     fileCounter // file sources and sinks: filesRead, filesWritten
	filesOut    fileCounter
	rowsRead    int64
	bytesIn     int64
	bytesOut    int64
	copied      int64
	mu          sync.Mutex // skipped and nSkipped: the reader and the writer both skip
	skipped     []skipped
	nSkipped    int64
	cur         []int64 // row numbers of the batch being written
	convSkipped int64   // of nSkipped, the rows dropped before the sink
	log         *skipLog
	logErr      error
	logPath     string
}

// runCopy runs a Copy: rows from the source dataset (a table, a query or
// files) through the translator's mapping and type conversion into the
// sink (a table in one transaction, or files renamed into place), read and
// written in bounded batches, reading and writing at once.
func runCopy(ctx context.Context, env *Env, c Call) (map[string]any, error) {
	start := time.Now()
	if len(c.Inputs) != 1 || len(c.Outputs) != 1 {
		return nil, &Error{Code: "2200", Msg: fmt.Sprintf("Copy %q: want one input and one output dataset, got %d and %d", c.Name, len(c.Inputs), len(c.Outputs))}
	}
	in, out := c.Inputs[0], c.Outputs[0]
	source, _ := c.TypeProperties["source"].(map[string]any)
	sinkProps, _ := c.TypeProperties["sink"].(map[string]any)
	cr := &copyRun{env: env, name: c.Name}
	cr.skip, _ = c.TypeProperties["enableSkipIncompatibleRow"].(bool)
	fail := func(err error) (map[string]any, error) {
		cr.finishLog()
		var ae *Error
		if errors.As(err, &ae) {
			return cr.output(start, in, out), err
		}
		return cr.output(start, in, out), &Error{Code: "2200", Msg: fmt.Sprintf("Copy %q: %v", c.Name, err)}
	}

	if cr.skip {
		var err error
		if cr.log, err = env.openSkipLog(ctx, c.Name, c.TypeProperties); err != nil {
			return fail(err)
		}
	}
	if done, err := cr.copyCSV(ctx, c, in, out, source, sinkProps); done {
		if err != nil {
			return fail(err)
		}
		return cr.output(start, in, out), nil
	}
	r, err := env.OpenSource(ctx, in, source)
	if err != nil {
		return fail(fmt.Errorf("source %q: %w", in.Name, err))
	}
	defer r.Close()
	cr.pather, _ = r.(FilePather)
	cr.filesIn, _ = r.(fileCounter)
	srcSchema := r.Schema()
	var extraCols tabular.Schema
	if cr.extra, extraCols, err = parseExtraColumns(source["additionalColumns"], srcSchema); err != nil {
		return fail(err)
	}
	full := append(append(tabular.Schema{}, srcSchema...), extraCols...)
	tr, err := parseTranslator(c.TypeProperties["translator"])
	if err != nil {
		return fail(err)
	}
	w, err := cr.openSink(ctx, out, sinkProps, tr, full)
	if err != nil {
		return fail(fmt.Errorf("sink %q: %w", out.Name, err))
	}
	cr.filesOut, _ = w.(fileCounter)
	if err := cr.pump(ctx, r, w); err != nil {
		w.Abort(context.WithoutCancel(ctx))
		return fail(err)
	}
	if err := w.Commit(ctx); err != nil {
		return fail(fmt.Errorf("sink %q: commit: %w", out.Name, err))
	}
	if ac, ok := r.(afterCommitter); ok { // deleteFilesAfterCompletion
		if err := ac.AfterCommit(ctx); err != nil {
			return fail(fmt.Errorf("source %q: %w", in.Name, err))
		}
	}
	if err := cr.finishLog(); err != nil {
		return fail(err)
	}
	return cr.output(start, in, out), nil
}

// finishLog commits the skipped rows' log, once; an error writing it
// fails the Copy, as ADF's does.
func (cr *copyRun) finishLog() error {
	if cr.log == nil {
		return nil
	}
	l := cr.log
	cr.log = nil
	p, err := l.finish()
	cr.logPath = p
	if cr.logErr != nil {
		err = cr.logErr
	}
	if err != nil {
		return fmt.Errorf("log of skipped rows: %w", err)
	}
	return nil
}

// openSink resolves the mapping against the sink's columns (a table's, or
// the mapped source columns for files) and opens the sink.
func (cr *copyRun) openSink(ctx context.Context, out Dataset, props map[string]any, tr *translator, src tabular.Schema) (tabular.Writer, error) {
	if !IsTable(out.Type) {
		m, err := tr.resolve(src, nil)
		if err != nil {
			return nil, err
		}
		cr.m = m
		return cr.env.OpenSink(ctx, out, props, m.sink)
	}
	d, err := OpenDatabase(ctx, out.LinkedService)
	if err != nil {
		return nil, err
	}
	o, err := sinkOptions(out, props, nil)
	if err != nil {
		d.Close()
		return nil, err
	}
	cols, err := d.Columns(ctx, o.Table)
	if errors.Is(err, db.ErrNoTable) && o.AutoCreate {
		cols, err = nil, nil
	}
	if err != nil {
		d.Close()
		return nil, err
	}
	if cr.m, err = tr.resolve(src, cols); err != nil {
		d.Close()
		return nil, err
	}
	o.Columns = cr.m.sink
	o.SkipIncompatible = cr.skip
	o.OnSkip = func(i int, col string, err error) { cr.skipRow(cr.cur[i], col, err) }
	w, err := d.Sink(ctx, o)
	if err != nil {
		d.Close()
		return nil, err
	}
	return &closingWriter{Writer: w, db: d}, nil
}

func (cr *copyRun) skipRow(row int64, col string, err error) {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	cr.nSkipped++
	if len(cr.skipped) < maxSkippedInOutput {
		cr.skipped = append(cr.skipped, skipped{Row: row, Column: col, Reason: err.Error()})
	}
	if cr.log != nil && cr.logErr == nil {
		cr.logErr = cr.log.add(context.Background(), row, col, err.Error())
	}
	if cr.env.Log != nil {
		cr.env.Log.Warn("skipped incompatible row", slog.String("activity", cr.name), slog.Int64("row", row),
			slog.String("column", col), slog.String("reason", err.Error()))
	}
}

// pump reads in one goroutine (mapping and converting there) and writes
// in this one, two batches in flight at most.
func (cr *copyRun) pump(ctx context.Context, r tabular.Reader, w tabular.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan batch, 1)
	errc := make(chan error, 1)
	go func() {
		defer close(ch)
		errc <- cr.read(ctx, r, ch)
	}()
	for b := range ch {
		cr.cur = b.nums
		if err := w.Write(ctx, b.rows); err != nil {
			cancel()
			for range ch {
			}
			var re *db.RowError
			if errors.As(err, &re) && re.Index < len(b.nums) {
				return &Error{Code: "2200", Row: b.nums[re.Index], Column: re.Column,
					Msg: fmt.Sprintf("Copy %q: the sink refused row %d%s: %v", cr.name, b.nums[re.Index], inColumn(re.Column), re.Err)}
			}
			return fmt.Errorf("write: %w", err)
		}
		cr.copied += int64(len(b.rows))
		for _, row := range b.rows {
			cr.bytesOut += rowSize(row)
		}
	}
	cr.copied -= cr.sinkSkipped()
	return <-errc
}

// sinkSkipped is how many of the skipped rows the sink dropped (counted
// as written above).
func (cr *copyRun) sinkSkipped() int64 { return cr.nSkipped - cr.convSkipped }

func inColumn(c string) string {
	if c == "" {
		return ""
	}
	return fmt.Sprintf(", column %q", c)
}

func (cr *copyRun) read(ctx context.Context, r tabular.Reader, ch chan<- batch) error {
	for {
		in, err := r.Next(ctx)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			var re *db.RowError
			if errors.As(err, &re) {
				return &Error{Code: "2200", Row: int64(re.Index) + 1, Column: re.Column,
					Msg: fmt.Sprintf("Copy %q: source row %d%s: %v", cr.name, re.Index+1, inColumn(re.Column), re.Err)}
			}
			return fmt.Errorf("read: %w", err)
		}
		if len(in) == 0 {
			continue
		}
		b, err := cr.mapBatch(in)
		if err != nil {
			return err
		}
		select {
		case ch <- b:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// mapBatch adds the additional columns, maps and converts: rows a value
// of which cannot be converted are skipped or fail the copy.
func (cr *copyRun) mapBatch(in [][]any) (batch, error) {
	path := ""
	if cr.pather != nil {
		path = cr.pather.FilePath()
	}
	nsrc := len(in[0]) // source columns, before the additional ones
	out := batch{rows: make([][]any, 0, len(in)), nums: make([]int64, 0, len(in))}
	vals := make([]any, len(in)*len(cr.m.src))
	for _, row := range in {
		cr.rowsRead++
		cr.bytesIn += rowSize(row)
		dst := vals[len(out.rows)*len(cr.m.src) : (len(out.rows)+1)*len(cr.m.src)]
		ok := true
		for j, si := range cr.m.src {
			var v any
			if si < nsrc {
				v = row[si]
			} else {
				ec := cr.extra[si-nsrc]
				switch {
				case ec.filePath:
					v = path
				case ec.column >= 0:
					v = row[ec.column]
				default:
					v = ec.constant
				}
			}
			to := cr.m.sink[j].Type
			if v != nil && cr.m.from[j] != to {
				cv, err := convert.Convert(v, cr.m.from[j], to, &cr.m.conv)
				if err != nil {
					if !cr.skip {
						return batch{}, &Error{Code: "2200", Row: cr.rowsRead, Column: cr.m.sink[j].Name,
							Msg: fmt.Sprintf("Copy %q: row %d, column %q: %v", cr.name, cr.rowsRead, cr.m.sink[j].Name, err)}
					}
					cr.convSkipped++
					cr.skipRow(cr.rowsRead, cr.m.sink[j].Name, err)
					ok = false
					break
				}
				v = cv
			}
			dst[j] = v
		}
		if ok {
			out.rows = append(out.rows, dst)
			out.nums = append(out.nums, cr.rowsRead)
		}
	}
	return out, nil
}

// rowSize estimates the bytes a row takes, for dataRead and dataWritten.
func rowSize(row []any) int64 {
	var n int64
	for _, v := range row {
		switch x := v.(type) {
		case string:
			n += int64(len(x))
		case []byte:
			n += int64(len(x))
		case nil:
		case bool:
			n++
		default:
			n += 8
		}
	}
	return n
}

// output is the Copy's output object, with Data Factory's names.
func (cr *copyRun) output(start time.Time, in, out Dataset) map[string]any {
	d := time.Since(start)
	secs := d.Seconds()
	o := map[string]any{
		"dataRead":                    cr.bytesIn,
		"dataWritten":                 cr.bytesOut,
		"rowsRead":                    cr.rowsRead,
		"rowsCopied":                  cr.copied,
		"rowsSkipped":                 cr.nSkipped,
		"copyDuration":                int64(secs + 0.5),
		"throughput":                  float64(cr.bytesIn) / 1024 / max(secs, 1e-3), // KB/s, as ADF
		"errors":                      []any{},
		"effectiveIntegrationRuntime": "ciel",
		"usedParallelCopies":          1,
		"executionDetails": []any{map[string]any{
			"source":             map[string]any{"type": in.Type},
			"sink":               map[string]any{"type": out.Type},
			"status":             "Succeeded",
			"start":              start.UTC().Format(time.RFC3339Nano),
			"duration":           int64(secs + 0.5),
			"usedParallelCopies": 1,
			"detailedDurations":  map[string]any{"queuingDuration": 0, "transferDuration": int64(secs + 0.5)},
		}},
	}
	if len(cr.skipped) > 0 {
		o["skippedRows"] = cr.skipped
	}
	if cr.logPath != "" {
		o["logFilePath"] = cr.logPath
	}
	if cr.filesIn != nil {
		o["filesRead"] = cr.filesIn.Files()
	}
	if cr.filesOut != nil {
		o["filesWritten"] = cr.filesOut.Files()
	}
	return o
}
