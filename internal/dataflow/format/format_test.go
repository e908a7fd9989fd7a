package format_test

import (
	"archive/zip"
	"context"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/dataflow/files"
	"github.com/ciel-mlops/ciel/internal/dataflow/files/filestest"
	"github.com/ciel-mlops/ciel/internal/dataflow/files/local"
	"github.com/ciel-mlops/ciel/internal/dataflow/format"
	"github.com/ciel-mlops/ciel/internal/dataflow/tabular"
)

func newFS(t testing.TB) files.FS {
	l, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// write writes rows to p in f, committing.
func write(t testing.TB, fsys files.FS, p string, f format.Format, schema tabular.Schema, rows [][]any) {
	t.Helper()
	ctx := context.Background()
	file, err := fsys.Create(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	w, err := f.NewWriter(ctx, file, schema)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

// readAll reads every row of p in f.
func readAll(t testing.TB, fsys files.FS, p string, f format.Format, schema tabular.Schema) (tabular.Schema, [][]any, error) {
	t.Helper()
	ctx := context.Background()
	r, err := format.Open(ctx, fsys, []string{p}, f, schema)
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	var out [][]any
	for {
		b, err := r.Next(ctx)
		if err == io.EOF {
			return r.Schema(), out, nil
		}
		if err != nil {
			return r.Schema(), out, err
		}
		for _, row := range b {
			row = append([]any(nil), row...)
			for i, v := range row {
				if p, ok := v.([]byte); ok {
					row[i] = append([]byte(nil), p...) // a batch is valid until the next
				}
			}
			out = append(out, row)
		}
	}
}

func mustFormat(t testing.TB, typ string, props, settings map[string]any) format.Format {
	t.Helper()
	f, err := format.New(typ, props, settings)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

var textSchema = tabular.Schema{{Name: "id", Type: tabular.String}, {Name: "text", Type: tabular.String}}

// hardRows are strings that need quoting or escaping in every dialect.
var hardRows = [][]any{
	{"1", "plain"},
	{"2", `comma, "quoted" and \backslash\`},
	{"3", "line\nbreak and\r\nwindows"},
	{"4", ""},
	{"5", nil},
	{"6", "tab\there|pipe;semi"},
	{"7", "ünïcödé ✓ 日本"},
	{"8", `C:\data\x`},
}

func TestDelimitedRoundTrip(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		props map[string]any
		rows  [][]any
	}{
		{"adf defaults", map[string]any{}, hardRows},
		{"header doubled quotes", map[string]any{"firstRowAsHeader": true, "escapeChar": `"`}, hardRows},
		{"tab, LF, NULL", map[string]any{"columnDelimiter": "\t", "rowDelimiter": "\n", "nullValue": "NULL", "firstRowAsHeader": true}, hardRows},
		{"pipe rows", map[string]any{"rowDelimiter": "|", "columnDelimiter": ";", "quoteChar": "'"}, hardRows},
		{"gzip", map[string]any{"compressionCodec": "gzip", "firstRowAsHeader": true}, hardRows},
		{"deflate optimal", map[string]any{"compressionCodec": "deflate", "compressionLevel": "Optimal"}, hardRows},
		{"zip", map[string]any{"compressionCodec": "ZipDeflate", "firstRowAsHeader": true}, hardRows},
		{"utf-16", map[string]any{"encodingName": "UTF-16", "firstRowAsHeader": true}, hardRows},
		{"latin-1", map[string]any{"encodingName": "ISO-8859-1"}, [][]any{{"1", "café, crème"}, {"2", nil}}},
		{"no quote, escape only", map[string]any{"quoteChar": "", "escapeChar": `\`}, [][]any{{"1", `a,b\c`}, {"2", "x\ny"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			fsys := newFS(t)
			f := mustFormat(t, "DelimitedText", c.props, nil)
			write(t, fsys, "out/data.csv", f, textSchema, c.rows)
			schema, got, err := readAll(t, fsys, "out/data.csv", f, nil)
			if err != nil {
				t.Fatal(err)
			}
			if header, _ := c.props["firstRowAsHeader"].(bool); header && (schema[0].Name != "id" || schema[1].Name != "text") {
				t.Errorf("header read back as %v", schema)
			} else if !header && schema[0].Name != "Prop_0" {
				t.Errorf("columns without a header named %v, want Prop_0...", schema)
			}
			if !reflect.DeepEqual(got, c.rows) {
				t.Fatalf("read back\n%q\nwant\n%q", got, c.rows)
			}
		})
	}
}

// TestDelimitedReadsADF reads text as other tools write it.
func TestDelimitedReadsADF(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		props map[string]any
		set   map[string]any
		data  string
		want  [][]any
	}{
		{"excel quotes", map[string]any{"escapeChar": `"`}, nil, "a,\"b \"\"x\"\"\",c\r\n", [][]any{{"a", `b "x"`, "c"}}},
		{"backslash escapes", nil, nil, `"a\"b",\,,` + "\n", [][]any{{`a"b`, ",", nil}}},
		{"mixed line ends, BOM, empty lines", nil, nil, "\xef\xbb\xbfa,b\r\n\nc,d\re,f", [][]any{{"a", "b"}, {"c", "d"}, {"e", "f"}}},
		{"skipLineCount then header", map[string]any{"firstRowAsHeader": true}, map[string]any{"skipLineCount": 2.0},
			"junk\nmore junk\nx,y\n1,2\n", [][]any{{"1", "2"}}},
		{"quoted empty is not null", nil, nil, `"",` + "\n", [][]any{{"", nil}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fsys := newFS(t)
			filestest.Put(t, fsys, "in.csv", c.data)
			_, got, err := readAll(t, fsys, "in.csv", mustFormat(t, "DelimitedText", c.props, c.set), nil)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
}

// TestDelimitedTypedAndErrors checks that a dataset schema types the
// columns and that a bad value names its file, row and column.
func TestDelimitedTypedAndErrors(t *testing.T) {
	t.Parallel()
	fsys := newFS(t)
	filestest.Put(t, fsys, "t.csv", "id,price,ok,day\n1,2.5,true,2026-11-01\n2,,false,2026-11-02 10:00:00\n")
	f := mustFormat(t, "DelimitedText", map[string]any{"firstRowAsHeader": true}, nil)
	schema := format.SchemaFromDataset([]any{
		map[string]any{"name": "id", "type": "Int32"}, map[string]any{"name": "PRICE", "type": "double"},
		map[string]any{"name": "ok", "type": "Boolean"}, map[string]any{"name": "day", "type": "DateTime"}})
	_, got, err := readAll(t, fsys, "t.csv", f, schema)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]any{
		{int64(1), 2.5, true, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)},
		{int64(2), nil, false, time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	filestest.Put(t, fsys, "bad.csv", "id,price,ok,day\n1,2.5,true,2026-11-01\n2,cheap,false,2026-11-02\n")
	_, _, err = readAll(t, fsys, "bad.csv", f, schema)
	var re *format.RowError
	if !errors.As(err, &re) || re.Row != 2 || re.Column != "price" || re.File != "bad.csv" {
		t.Fatalf("error = %v, want a RowError at bad.csv row 2 column price", err)
	}
	filestest.Put(t, fsys, "open.csv", "a,\"never closed\n1,2\n")
	if _, _, err := readAll(t, fsys, "open.csv", mustFormat(t, "DelimitedText", nil, nil), nil); err == nil || !strings.Contains(err.Error(), "closing quote") {
		t.Fatalf("unclosed quote: %v", err)
	}
}

func TestBadSettings(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		typ   string
		props map[string]any
		want  string
	}{
		{"DelimitedText", map[string]any{"columnDelimiter": ",,"}, "single character"},
		{"DelimitedText", map[string]any{"compressionCodec": "lzo"}, "not supported"},
		{"DelimitedText", map[string]any{"encodingName": "klingon"}, "encodingName"},
		{"DelimitedText", map[string]any{"escapeChar": ""}, "escapeChar"},
		{"Parquet", map[string]any{"compressionCodec": "lzo"}, "compressionCodec"},
		{"Avro", nil, "not a file format"},
	} {
		if _, err := format.New(c.typ, c.props, nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%s, %v) = %v, want an error saying %q", c.typ, c.props, err, c.want)
		}
	}
}

func TestJSONRoundTrip(t *testing.T) {
	t.Parallel()
	schema := tabular.Schema{{Name: "id", Type: tabular.Int64, Nullable: true}, {Name: "name", Type: tabular.String, Nullable: true},
		{Name: "score", Type: tabular.Double, Nullable: true}, {Name: "ok", Type: tabular.Boolean, Nullable: true}}
	rows := [][]any{{int64(1), "a \"quoted\"\nline", 1.5, true}, {int64(2), nil, 2.0, false}, {int64(3), "ü", nil, nil}}
	for _, c := range []struct {
		name           string
		props, setting map[string]any
	}{
		{"setOfObjects", nil, nil},
		{"arrayOfObjects gzip", map[string]any{"compressionCodec": "gzip"}, map[string]any{"filePattern": "arrayOfObjects"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			fsys := newFS(t)
			f := mustFormat(t, "Json", c.props, c.setting)
			write(t, fsys, "o.json", f, schema, rows)
			got, _, err := readAll(t, fsys, "o.json", f, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, schema) {
				t.Errorf("inferred schema %v, want %v", got, schema)
			}
			_, back, err := readAll(t, fsys, "o.json", f, nil)
			if err != nil || !reflect.DeepEqual(back, rows) {
				t.Fatalf("read back %v (%v), want %v", back, err, rows)
			}
		})
	}
	fsys := newFS(t)
	filestest.Put(t, fsys, "n.json", `{"a":1,"nested":{"x":[1,2]}} {"b":"late","a":2}`)
	s, got, err := readAll(t, fsys, "n.json", mustFormat(t, "Json", nil, nil), nil)
	if err != nil || len(s) != 3 || s[1].Name != "nested" || got[0][1] != `{"x":[1,2]}` || got[1][2] != "late" {
		t.Fatalf("nested: %v %v %v", s, got, err)
	}
}

func TestParquetRoundTrip(t *testing.T) {
	t.Parallel()
	schema := tabular.Schema{
		{Name: "i16", Type: tabular.Int16}, {Name: "i32", Type: tabular.Int32}, {Name: "i64", Type: tabular.Int64},
		{Name: "f32", Type: tabular.Single}, {Name: "f64", Type: tabular.Double}, {Name: "dec", Type: tabular.Decimal, Precision: 12, Scale: 3},
		{Name: "b", Type: tabular.Boolean}, {Name: "ts", Type: tabular.DateTime}, {Name: "tso", Type: tabular.DateTimeOffset},
		{Name: "d", Type: tabular.Date}, {Name: "s", Type: tabular.String}, {Name: "g", Type: tabular.GUID}, {Name: "bytes", Type: tabular.ByteArray},
	}
	ts := time.Date(2026, 11, 1, 12, 30, 45, 123456000, time.UTC)
	var rows [][]any
	for i := range 2500 {
		rows = append(rows, []any{int64(i % 100), int64(i), int64(i) << 33, 0.5, float64(i) / 4, "123456789.125", i%2 == 0,
			ts, ts, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), "row " + string(rune('a'+i%26)), "6f1c1c1e-0000-0000-0000-000000000001", []byte{1, 2, byte(i)}})
	}
	rows = append(rows, make([]any, len(schema))) // all null
	for _, codec := range []string{"snappy", "gzip", "zstd", "none"} {
		t.Run(codec, func(t *testing.T) {
			fsys := newFS(t)
			f, err := format.NewParquet(codec)
			if err != nil {
				t.Fatal(err)
			}
			f.RowGroupRows = 1000
			write(t, fsys, "p.parquet", f, schema, rows)
			got, back, err := readAll(t, fsys, "p.parquet", f, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := range schema {
				want := schema[i].Type
				if want == tabular.GUID {
					want = tabular.String // Parquet has no GUID; it is kept as text
				}
				if got[i].Name != schema[i].Name || got[i].Type != want {
					t.Errorf("column %d read back as %+v, want %+v", i, got[i], schema[i])
				}
			}
			if len(back) != len(rows) {
				t.Fatalf("read %d rows, want %d", len(back), len(rows))
			}
			for _, i := range []int{0, 1, 1999, len(rows) - 1} {
				if !reflect.DeepEqual(back[i], rows[i]) {
					t.Errorf("row %d = %v, want %v", i, back[i], rows[i])
				}
			}
		})
	}
}

func TestBinaryRoundTrip(t *testing.T) {
	t.Parallel()
	fsys := newFS(t)
	data := strings.Repeat("binary\x00\xff", format.ChunkBytes/4) + "tail"
	filestest.Put(t, fsys, "in.bin", data)
	src := mustFormat(t, "Binary", nil, nil)
	dst := mustFormat(t, "Binary", map[string]any{"compressionCodec": "gzip"}, nil)
	_, rows, err := readAll(t, fsys, "in.bin", src, nil)
	if err != nil || len(rows) != 3 {
		t.Fatalf("read %d chunks, %v; want 3", len(rows), err)
	}
	write(t, fsys, "out.bin.gz", dst, format.BinarySchema, rows)
	_, back, err := readAll(t, fsys, "out.bin.gz", dst, nil)
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	for _, r := range back {
		sb.Write(r[0].([]byte))
	}
	if sb.String() != data {
		t.Fatalf("binary copy changed the bytes (%d of %d)", sb.Len(), len(data))
	}
}

// TestZipEntryName checks that a ZipDeflate file holds one named entry
// that other tools can unpack.
func TestZipEntryName(t *testing.T) {
	t.Parallel()
	fsys := newFS(t)
	write(t, fsys, "o.zip", mustFormat(t, "DelimitedText", map[string]any{"compressionCodec": "ZipDeflate"}, nil), textSchema, [][]any{{"1", "a"}})
	r, err := fsys.Open(context.Background(), "o.zip")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ra := r.(io.ReaderAt)
	size, _ := r.(io.Seeker).Seek(0, io.SeekEnd)
	zr, err := zip.NewReader(ra, size)
	if err != nil || len(zr.File) != 1 || zr.File[0].Name != "data.csv" {
		t.Fatalf("zip entries %v (%v), want one data.csv", zr, err)
	}
}
