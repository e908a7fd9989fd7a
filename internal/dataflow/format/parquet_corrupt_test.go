package format_test

import (
	"context"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/ciel-mlops/ciel/internal/dataflow/format"
	"github.com/ciel-mlops/ciel/internal/dataflow/tabular"
)

// TestParquetCorruptFiles reads 1000 randomly corrupted Parquet files:
// each must end in rows or an error, never a crash (a corrupt stored Arrow
// schema once made Arrow allocate 300 GB).
func TestParquetCorruptFiles(t *testing.T) {
	t.Parallel()
	fsys := newFS(t)
	pq, _ := format.NewParquet("snappy")
	write(t, fsys, "seed.parquet", pq, tabular.Schema{{Name: "a", Type: tabular.Int64}, {Name: "s", Type: tabular.String}},
		[][]any{{int64(1), "x"}, {nil, "y"}, {int64(3), nil}})
	r, _ := fsys.Open(context.Background(), "seed.parquet")
	seed, _ := io.ReadAll(r)
	r.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 1000; i++ {
		data := append([]byte(nil), seed...)
		for k := 0; k < 1+rng.IntN(4); k++ {
			data[rng.IntN(len(data))] = byte(rng.IntN(256))
		}
		if rng.IntN(4) == 0 {
			data = data[rng.IntN(len(data)):]
		}
		p, _ := fsys.Create(context.Background(), "f.parquet")
		p.Write(data)
		p.Commit()
		_, _, _ = readAll(t, fsys, "f.parquet", pq, nil)
	}
}
