package format_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"runtime"
	"testing"

	"github.com/ciel-mlops/ciel/internal/dataflow/files"
	"github.com/ciel-mlops/ciel/internal/dataflow/format"
	"github.com/ciel-mlops/ciel/internal/dataflow/tabular"
)

// TestStreamingMemoryFlat copies a generated CSV to Parquet and the
// Parquet back to gzipped CSV at two sizes, four times apart, and checks
// that the peak heap does not grow with the row count: nothing holds a
// whole file.
func TestStreamingMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("writes about 100 MB")
	}
	small, smallSize := copyPeak(t, 100_000)
	large, largeSize := copyPeak(t, 400_000)
	t.Logf("peak heap: %d MiB for %d MiB of CSV, %d MiB for %d MiB", small>>20, smallSize>>20, large>>20, largeSize>>20)
	if large > small+small/2+8<<20 || large > 96<<20 {
		t.Fatalf("peak heap grew with the rows: %d MiB at 100k rows, %d MiB at 400k", small>>20, large>>20)
	}
}

// copyPeak generates n rows of CSV, copies them CSV -> Parquet -> CSV.gz
// and returns the peak heap seen and the CSV's size.
func copyPeak(t *testing.T, n int) (uint64, int64) {
	ctx := context.Background()
	fsys := newFS(t)
	f, err := fsys.Create(ctx, "big.csv")
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriter(f)
	fmt.Fprintln(bw, "id,name,amount,day,note")
	for i := range n {
		fmt.Fprintf(bw, "%d,customer %d,%d.%02d,2026-11-%02d,\"a note, with \\\"quotes\\\" and padding %060d\"\n", i, i%977, i%10000, i%100, 1+i%28, i)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	info, _ := fsys.Stat(ctx, "big.csv")
	csv := mustFormat(t, "DelimitedText", map[string]any{"firstRowAsHeader": true}, nil)
	schema := tabular.Schema{{Name: "id", Type: tabular.Int64}, {Name: "name", Type: tabular.String},
		{Name: "amount", Type: tabular.Decimal, Precision: 10, Scale: 2}, {Name: "day", Type: tabular.Date}, {Name: "note", Type: tabular.String}}
	pq, _ := format.NewParquet("snappy")
	pq.RowGroupRows = 32 * 1024 // several row groups at both sizes
	runtime.GC()
	var peak uint64
	sample := func() {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		peak = max(peak, m.HeapAlloc)
	}
	if got := pipe(t, fsys, "big.csv", csv, schema, "big.parquet", pq, sample); got != int64(n) {
		t.Fatalf("copied %d rows to Parquet, want %d", got, n)
	}
	gz := mustFormat(t, "DelimitedText", map[string]any{"firstRowAsHeader": true, "compressionCodec": "gzip"}, nil)
	if got := pipe(t, fsys, "big.parquet", pq, nil, "back.csv.gz", gz, sample); got != int64(n) {
		t.Fatalf("copied %d rows back to CSV, want %d", got, n)
	}
	return peak, info.Size
}

// pipe copies every row of src to dst batch by batch.
func pipe(t *testing.T, fsys files.FS, src string, in format.Format, schema tabular.Schema, dst string, out format.Format, sample func()) int64 {
	ctx := context.Background()
	r, err := format.Open(ctx, fsys, []string{src}, in, schema)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	f, err := fsys.Create(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	w, err := out.NewWriter(ctx, f, r.Schema())
	if err != nil {
		t.Fatal(err)
	}
	var rows int64
	for {
		b, err := r.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
		rows += int64(len(b))
		if rows%(16*format.BatchRows) == 0 {
			sample()
		}
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	return rows
}
