package activity

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/dataflow/files"
	"github.com/ciel-mlops/ciel/internal/dataflow/format"
	"github.com/ciel-mlops/ciel/internal/dataflow/tabular"
)

// pgFileSource makes a PostgreSQL table of awkward values and returns
// its dataset.
func pgFileSource(t *testing.T) (server, Dataset) {
	s := pgServer(t)
	s.exec(t, `CREATE TABLE src (id bigint, name text, ok boolean, ratio double precision, price numeric(12,2),
		at timestamp, atz timestamptz, day date)`)
	s.exec(t, `INSERT INTO src VALUES
		(1, 'plain', true, 0.1, 12.50, '2026-01-02 03:04:05.25', '2026-01-02 03:04:05+00', '2026-01-02'),
		(2, 'a,b "q" \x', false, 1e20, -0.01, '2026-01-02 00:00:00', NULL, NULL),
		(3, E'two\nlines\r', NULL, 5e-05, NULL, NULL, '1999-12-31 23:59:59.123456+00', '1999-12-31'),
		(4, '', true, -2.5e-7, 0, '2000-01-01 00:00:00.000001', NULL, '2000-02-29'),
		(5, NULL, false, 'NaN', 1, NULL, NULL, NULL),
		(6, 'back\slash|pipe', true, -1.2345e-05, 2, NULL, NULL, NULL)`)
	return s, Dataset{Name: "src", Type: "PostgreSqlV2Table", LinkedService: s.ls, Properties: map[string]any{"schema": "public", "table": "src"}}
}

func readAllFile(t *testing.T, fsys files.FS, p string) []byte {
	t.Helper()
	rc, err := fsys.Open(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCopyPostgresToDelimitedText copies a table to text with the COPY
// fast path and with the row path (a translator forces it) under several
// dataset settings: both files must be the same bytes, and read back as
// the source's rows.
func TestCopyPostgresToDelimitedText(t *testing.T) {
	ctx := context.Background()
	_, src := pgFileSource(t)
	env, fsys := localEnv(t)
	copyFn, _ := For("Copy")
	cases := []struct {
		name  string
		props map[string]any
	}{
		{"defaults", map[string]any{}},
		{"header, pipe rows, null word", map[string]any{"firstRowAsHeader": true, "rowDelimiter": "|", "nullValue": "NULL"}},
		{"doubled quotes, tab, LF", map[string]any{"columnDelimiter": "\t", "escapeChar": `"`, "rowDelimiter": "\n", "firstRowAsHeader": true}},
		{"gzip", map[string]any{"compressionCodec": "gzip", "firstRowAsHeader": true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got [2][]byte
			for i, tr := range []any{nil, map[string]any{"type": "TabularTranslator"}} {
				name := []string{"fast.csv", "rows.csv"}[i]
				out := blobDS("DelimitedText", "out", name, tc.props)
				tp := map[string]any{"source": map[string]any{"type": "PostgreSqlV2Source"}, "sink": map[string]any{"type": "DelimitedTextSink"}}
				if tr != nil {
					tp["translator"] = tr
				}
				res, err := copyFn(ctx, env, Call{Name: "c", Type: "Copy", TypeProperties: tp, Inputs: []Dataset{src}, Outputs: []Dataset{out}})
				if err != nil {
					t.Fatal(err)
				}
				if res["rowsCopied"] != int64(6) || res["filesWritten"] != 1 {
					t.Fatalf("output %v", res)
				}
				got[i] = readAllFile(t, fsys, "data/out/"+name)
			}
			// The first copy took the COPY path: run it directly.
			cr := &copyRun{env: env, name: "c"}
			sink := map[string]any{"type": "DelimitedTextSink"}
			if done, err := cr.copyCSV(ctx, Call{TypeProperties: map[string]any{}}, src, blobDS("DelimitedText", "out", "direct.csv", tc.props), map[string]any{}, sink); !done || err != nil || cr.copied != 6 {
				t.Fatalf("COPY path: done %v, err %v, rows %d", done, err, cr.copied)
			}
			if tc.props["compressionCodec"] == "gzip" {
				for i := range got {
					zr, err := gzip.NewReader(bytes.NewReader(got[i]))
					if err != nil {
						t.Fatal(err)
					}
					if got[i], err = io.ReadAll(zr); err != nil {
						t.Fatal(err)
					}
				}
			}
			if !bytes.Equal(got[0], got[1]) {
				t.Fatalf("COPY path wrote\n%q\nrow path wrote\n%q", got[0], got[1])
			}
			rows := readBackText(t, fsys, tc.props)
			if len(rows) != 6 || rows[1][1] != `a,b "q" \x` || rows[2][1] != "two\nlines\r" || rows[3][1] != "" || rows[4][1] != nil ||
				rows[5][1] != `back\slash|pipe` || rows[1][3] != "1E+20" || rows[2][3] != "0.00005" || rows[0][2] != "True" {
				t.Fatalf("read back %q", rows)
			}
		})
	}
}

// readBackText reads out/fast.csv with the dataset's settings.
func readBackText(t *testing.T, fsys files.FS, props map[string]any) [][]any {
	t.Helper()
	f, err := format.New("DelimitedText", props, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := format.Open(context.Background(), fsys, []string{"data/out/fast.csv"}, f, nil)
	if err != nil {
		t.Fatal(err)
	}
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

// TestCopyPostgresToParquet copies the table to Parquet and reads it
// back: types kept, values equal, nulls null.
func TestCopyPostgresToParquet(t *testing.T) {
	ctx := context.Background()
	_, src := pgFileSource(t)
	env, fsys := localEnv(t)
	copyFn, _ := For("Copy")
	out := blobDS("Parquet", "out", "t.parquet", nil)
	res, err := copyFn(ctx, env, Call{Name: "c", Type: "Copy", TypeProperties: map[string]any{
		"source": map[string]any{"type": "PostgreSqlV2Source", "query": "SELECT * FROM src ORDER BY id"},
		"sink":   map[string]any{"type": "ParquetSink"}}, Inputs: []Dataset{src}, Outputs: []Dataset{out}})
	if err != nil {
		t.Fatal(err)
	}
	if res["rowsCopied"] != int64(6) {
		t.Fatalf("output %v", res)
	}
	f, _ := format.New("Parquet", nil, nil)
	r, err := format.Open(ctx, fsys, []string{"data/out/t.parquet"}, f, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	want := tabular.Schema{{Name: "id", Type: tabular.Int64}, {Name: "name", Type: tabular.String}, {Name: "ok", Type: tabular.Boolean},
		{Name: "ratio", Type: tabular.Double}, {Name: "price", Type: tabular.Decimal}, {Name: "at", Type: tabular.DateTime},
		{Name: "atz", Type: tabular.DateTimeOffset}, {Name: "day", Type: tabular.Date}}
	for i, c := range r.Schema() {
		if c.Name != want[i].Name || c.Type != want[i].Type {
			t.Fatalf("column %d: %+v, want %+v", i, c, want[i])
		}
	}
	var rows [][]any
	for {
		b, err := r.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, b...)
	}
	if len(rows) != 6 {
		t.Fatalf("%d rows", len(rows))
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 250_000_000, time.UTC)
	if rows[0][0] != int64(1) || rows[0][1] != "plain" || rows[0][2] != true || rows[0][3] != 0.1 ||
		!timeIs(rows[0][5], at) || !timeIs(rows[2][6], time.Date(1999, 12, 31, 23, 59, 59, 123456000, time.UTC)) ||
		rows[1][3] != 1e20 || rows[4][1] != nil || rows[2][2] != nil || !math.IsNaN(rows[4][3].(float64)) {
		t.Fatalf("read back %v", rows)
	}
	if s := fmtDecimal(rows[1][4]); s != "-0.01" {
		t.Fatalf("price %v (%T), want -0.01", rows[1][4], rows[1][4])
	}
}

func timeIs(v any, want time.Time) bool {
	x, ok := v.(time.Time)
	return ok && x.Equal(want)
}

func fmtDecimal(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case interface{ String() string }:
		return x.String()
	}
	return ""
}

// TestCopyPostgresBinaryColumnTakesRowPath: a bytea column cannot go by
// COPY (its text differs); the row path writes it, base64.
func TestCopyPostgresBinaryColumnTakesRowPath(t *testing.T) {
	ctx := context.Background()
	s := pgServer(t)
	s.exec(t, `CREATE TABLE blobs (id int, b bytea); INSERT INTO blobs VALUES (1, '\x0102ff')`)
	src := Dataset{Name: "src", Type: "PostgreSqlV2Table", LinkedService: s.ls, Properties: map[string]any{"table": "blobs"}}
	env, fsys := localEnv(t)
	cr := &copyRun{env: env, name: "c"}
	out := blobDS("DelimitedText", "out", "b.csv", nil)
	if done, err := cr.copyCSV(ctx, Call{TypeProperties: map[string]any{}}, src, out, map[string]any{}, map[string]any{}); done || err != nil {
		t.Fatalf("COPY path taken for bytea: done %v, err %v", done, err)
	}
	copyFn, _ := For("Copy")
	if _, err := copyFn(ctx, env, Call{Name: "c", Type: "Copy", TypeProperties: map[string]any{"source": map[string]any{}, "sink": map[string]any{}},
		Inputs: []Dataset{src}, Outputs: []Dataset{out}}); err != nil {
		t.Fatal(err)
	}
	if got := string(readAllFile(t, fsys, "data/out/b.csv")); got != "1,AQL/\r\n" {
		t.Fatalf("wrote %q", got)
	}
}

// checkSkipLog finds the one log under folder (in the datastore "logs"
// maps to, workspaceblobstore) and checks its rows name want, in order.
func checkSkipLog(t *testing.T, fsys files.FS, logPath any, folder string, want []string) {
	t.Helper()
	ctx := context.Background()
	stamps, err := fsys.List(ctx, folder)
	if err != nil || len(stamps) != 1 {
		t.Fatalf("log folders under %s: %v, %v", folder, stamps, err)
	}
	dir := folder + "/" + stamps[0].Name
	if logPath != "workspaceblobstore:"+dir {
		t.Errorf("logFilePath %v, want workspaceblobstore:%s", logPath, dir)
	}
	r := csv.NewReader(bytes.NewReader(readAllFile(t, fsys, dir+"/incompatiblerows.csv")))
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(want)+1 || strings.Join(recs[0], ",") != "Timestamp,Level,OperationName,OperationItem,Message" {
		t.Fatalf("log %q", recs)
	}
	for i, w := range want {
		if recs[i+1][3] != w || recs[i+1][1] != "Warning" || recs[i+1][4] == "" {
			t.Errorf("log row %d: %q, want %q", i+1, recs[i+1], w)
		}
	}
}
