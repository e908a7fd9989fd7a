package format_test

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/dataflow/format"
	"github.com/ciel-mlops/ciel/internal/dataflow/tabular"
)

// benchSchema is the bench's 10-column table.
var benchSchema = tabular.Schema{
	{Name: "id", Type: tabular.Int64}, {Name: "customer", Type: tabular.Int32}, {Name: "name", Type: tabular.String},
	{Name: "email", Type: tabular.String}, {Name: "amount", Type: tabular.Decimal, Precision: 12, Scale: 2},
	{Name: "score", Type: tabular.Double}, {Name: "active", Type: tabular.Boolean}, {Name: "created", Type: tabular.DateTime},
	{Name: "day", Type: tabular.Date}, {Name: "note", Type: tabular.String},
}

func benchRows(n int) [][]any {
	ts := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	rows := make([][]any, n)
	for i := range rows {
		rows[i] = []any{int64(i), int64(i % 5000), fmt.Sprintf("name %d", i), fmt.Sprintf("user%d@example.com", i),
			fmt.Sprintf("%d.%02d", i%100000, i%100), float64(i) / 7, i%3 == 0, ts.Add(time.Duration(i) * time.Second), ts, "a short note, with a comma"}
	}
	return rows
}

// BenchmarkWriters writes 100k rows of 10 columns per op, in batches of
// 1024, to a local file; rows/s is reported.
func BenchmarkWriters(b *testing.B) {
	rows := benchRows(format.BatchRows)
	for _, c := range []struct {
		name string
		f    func() format.Format
	}{
		{"csv", func() format.Format {
			return mustFormat(b, "DelimitedText", map[string]any{"firstRowAsHeader": true}, nil)
		}},
		{"parquet-snappy", func() format.Format { p, _ := format.NewParquet("snappy"); return p }},
	} {
		b.Run(c.name, func(b *testing.B) {
			fsys := newFS(b)
			ctx := context.Background()
			const batches = 100
			for i := 0; i < b.N; i++ {
				file, err := fsys.Create(ctx, "out")
				if err != nil {
					b.Fatal(err)
				}
				w, err := c.f().NewWriter(ctx, file, benchSchema)
				if err != nil {
					b.Fatal(err)
				}
				for range batches {
					if err := w.Write(ctx, rows); err != nil {
						b.Fatal(err)
					}
				}
				if err := w.Commit(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batches*len(rows))/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkReaders reads back 100k rows of the bench table per op.
func BenchmarkReaders(b *testing.B) {
	rows := benchRows(format.BatchRows)
	for _, c := range []struct {
		name string
		f    func() format.Format
	}{
		{"csv", func() format.Format {
			return mustFormat(b, "DelimitedText", map[string]any{"firstRowAsHeader": true}, nil)
		}},
		{"parquet-snappy", func() format.Format { p, _ := format.NewParquet("snappy"); return p }},
	} {
		b.Run(c.name, func(b *testing.B) {
			fsys := newFS(b)
			ctx := context.Background()
			file, _ := fsys.Create(ctx, "in")
			w, _ := c.f().NewWriter(ctx, file, benchSchema)
			for range 100 {
				_ = w.Write(ctx, rows)
			}
			if err := w.Commit(ctx); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			n := 0
			for i := 0; i < b.N; i++ {
				r, err := format.Open(ctx, fsys, []string{"in"}, c.f(), nil)
				if err != nil {
					b.Fatal(err)
				}
				for {
					batch, err := r.Next(ctx)
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					n += len(batch)
				}
				r.Close()
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
