package postgres

import (
	"context"
	"errors"
	"io"
	"reflect"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/dataflow/db"
	"github.com/ciel-mlops/ciel/internal/dataflow/tabular"
	"github.com/ciel-mlops/ciel/internal/dbtest"
)

func open(t *testing.T) *DB {
	t.Helper()
	ctx := context.Background()
	d, err := Open(ctx, dbtest.Postgres(t).Properties())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func readAll(t *testing.T, r tabular.Reader) [][]any {
	t.Helper()
	defer r.Close()
	var out [][]any
	for {
		b, err := r.Next(context.Background())
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b...)
	}
}

// Every mapped type survives a write by COPY and a read back, as the
// interim type Data Factory gives it.
func TestPostgresTypesRoundTrip(t *testing.T) {
	ctx := context.Background()
	d := open(t)
	if _, err := d.Exec(ctx, `CREATE TABLE t (i2 smallint, i4 integer, i8 bigint, f4 real, f8 double precision,
		n numeric(12,3), b boolean, d date, ts timestamp, tz timestamptz, tm time, g uuid, by bytea, s text, j jsonb, iv interval)`, nil); err != nil {
		t.Fatal(err)
	}
	ts := time.Date(2026, 11, 1, 10, 20, 30, 123456000, time.UTC)
	row := []any{int64(-7), int64(1 << 30), int64(1 << 40), float64(float32(1.5)), 2.25, "12345.678", true,
		time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), ts, ts, "10:20:30", "6f1c2b7e-1c9a-4c8e-9a3e-2f1d0b9c8a7e",
		[]byte{0, 1, 255}, "héllo", `{"a": 1}`, "01:00:00"}
	w, err := d.Sink(ctx, db.SinkOptions{Table: db.Table{Name: "t"}, Columns: schemaFor(t, d, "t")})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, [][]any{row, make([]any, len(row))}); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	r, err := d.Query(ctx, "SELECT * FROM t ORDER BY i2 NULLS LAST")
	if err != nil {
		t.Fatal(err)
	}
	wantTypes := []tabular.Type{tabular.Int16, tabular.Int32, tabular.Int64, tabular.Single, tabular.Double, tabular.Decimal,
		tabular.Boolean, tabular.Date, tabular.DateTime, tabular.DateTimeOffset, tabular.TimeSpan, tabular.GUID,
		tabular.ByteArray, tabular.String, tabular.String, tabular.String}
	for i, c := range r.Schema() {
		if c.Type != wantTypes[i] {
			t.Errorf("column %s: type %s, want %s", c.Name, c.Type, wantTypes[i])
		}
	}
	got := readAll(t, r)
	want := append([]any(nil), row...)
	want[16-2] = `{"a": 1}`
	if len(got) != 2 {
		t.Fatalf("got %d rows, want 2", len(got))
	}
	if !reflect.DeepEqual(got[0], want) {
		t.Errorf("row:\n got %#v\nwant %#v", got[0], want)
	}
	if !reflect.DeepEqual(got[1], make([]any, len(row))) {
		t.Errorf("NULL row: got %#v", got[1])
	}
}

func schemaFor(t *testing.T, d *DB, table string) tabular.Schema {
	s, err := d.Columns(context.Background(), db.Table{Name: table})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPostgresColumnsOfMissingTable(t *testing.T) {
	_, err := open(t).Columns(context.Background(), db.Table{Name: "nope"})
	if !errors.Is(err, db.ErrNoTable) {
		t.Fatalf("err = %v, want ErrNoTable", err)
	}
}
