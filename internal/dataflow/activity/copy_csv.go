package activity

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ciel-mlops/ciel/internal/dataflow/db/postgres"
	"github.com/ciel-mlops/ciel/internal/dataflow/format"
)

// copyCSV is Copy's fast path from PostgreSQL to DelimitedText: when no
// row needs to pass through ciel (no translator, no additionalColumns,
// one file), PostgreSQL's COPY (query) TO STDOUT writes the text and ciel
// only rewrites row ends and the odd field COPY leaves bare, streaming
// into the sink file through the dataset's compression. The text is the
// row path's: the rewriter mends the columns whose COPY text differs
// (postgres.DescribeCSV names them; bytea and a few others take the row
// path). done is
// false when the path does not apply: nothing was written, and the row
// path runs.
func (cr *copyRun) copyCSV(ctx context.Context, c Call, in, out Dataset, source, sinkProps map[string]any) (done bool, err error) {
	if !csvFastPathApplies(c, in, out, source) {
		return false, nil
	}
	w, err := cr.env.openFileSink(ctx, out, sinkProps, nil)
	if err != nil {
		return false, nil // the row path reports it
	}
	s := w.(*fileSink)
	dt, ok := s.f.(*format.DelimitedText)
	if !ok || s.maxRows > 0 || !format.CanRewrite(dt.Syntax()) {
		s.Abort(ctx)
		return false, nil
	}
	d, err := OpenDatabase(ctx, in.LinkedService)
	if err != nil {
		s.Abort(ctx)
		return true, err
	}
	defer d.Close()
	pg, ok := d.(*postgres.DB)
	if !ok {
		s.Abort(ctx)
		return false, nil
	}
	q, err := sourceQuery(d, in, source)
	if err != nil {
		s.Abort(ctx)
		return true, err
	}
	n, nbytes, err := copyCSVFile(ctx, pg, q, s, dt)
	if errors.Is(err, postgres.ErrNoCSV) {
		s.Abort(ctx)
		return false, nil
	}
	if err != nil {
		s.Abort(context.WithoutCancel(ctx))
		return true, fmt.Errorf("source %q: %w", in.Name, err)
	}
	cr.filesOut = s
	if err := s.Commit(ctx); err != nil {
		return true, fmt.Errorf("sink %q: commit: %w", out.Name, err)
	}
	cr.rowsRead, cr.copied, cr.bytesIn, cr.bytesOut = n, n, nbytes, nbytes
	return true, nil
}

// copyCSVFile writes the query's text to the sink's file and marks it
// committed in s.
func copyCSVFile(ctx context.Context, pg *postgres.DB, q string, s *fileSink, dt *format.DelimitedText) (rows, nbytes int64, err error) {
	syn := dt.Syntax()
	pk, err := pg.DescribeCSV(ctx, q)
	if err != nil {
		return 0, 0, err
	}
	kinds := make([]format.FieldKind, len(pk))
	for i, k := range pk {
		kinds[i] = fieldKinds[k]
	}
	p := s.partName()
	file, err := s.t.fs.Create(ctx, p)
	if err != nil {
		return 0, 0, err
	}
	rw, err := dt.NewRawWriter(file)
	if err != nil {
		return 0, 0, err
	}
	rew := format.NewCSVRewriter(rw, syn, kinds)
	o := postgres.CSVOptions{Delim: byte(syn.Delim), Quote: byte(syn.Quote), Escape: byte(syn.Escape), Null: syn.Null, Header: syn.Header}
	rows, err = pg.CopyCSV(ctx, q, o, rew)
	if err == nil {
		err = rew.Close()
	}
	if err != nil {
		rw.Abort()
		return 0, 0, err
	}
	if err := rw.Commit(); err != nil {
		return 0, 0, fmt.Errorf("write %s: %w", p, err)
	}
	s.committed = append(s.committed, p)
	return rows, rew.N, nil
}

// fieldKinds maps postgres's column kinds to the rewriter's.
var fieldKinds = map[postgres.CSVKind]format.FieldKind{postgres.CSVSame: format.FieldSame, postgres.CSVBool: format.FieldBool,
	postgres.CSVFloat: format.FieldFloat, postgres.CSVTimestampTZ: format.FieldOffset}

// csvFastPathApplies: a PostgreSQL table source, a DelimitedText sink,
// and nothing that needs the rows themselves.
func csvFastPathApplies(c Call, in, out Dataset, source map[string]any) bool {
	if out.Type != "DelimitedText" || !IsTable(in.Type) || c.TypeProperties["translator"] != nil {
		return false
	}
	if extra, _ := source["additionalColumns"].([]any); len(extra) > 0 || (source["additionalColumns"] != nil && extra == nil) {
		return false
	}
	switch strings.ToLower(in.LinkedService.Type) {
	case "postgresqlv2", "postgresql", "azurepostgresql":
		return true
	}
	return false
}
