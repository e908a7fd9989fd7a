package format

import (
	"context"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/ciel-mlops/ciel/internal/dataflow/files"
	"github.com/ciel-mlops/ciel/internal/dataflow/tabular"
)

// DefaultRowGroupRows is how many rows a Parquet row group holds: what a
// writer buffers (encoded and compressed) before writing it out.
const DefaultRowGroupRows = 128 * 1024

// dictPageLimit bounds a column chunk's dictionary: past it the column
// falls back to plain encoding. Columns of few distinct values (codes,
// flags, categories) stay well under it; for one of mostly distinct
// values (ids, amounts, timestamps) the 1 MiB default meant hashing
// ~128Ki values per row group only to throw the dictionary away — half
// the time of a Copy to Parquet. Found with bench/dataflow's profile.
const dictPageLimit = 64 << 10

// Parquet is the Parquet format, through Apache Arrow's Go module.
type Parquet struct {
	codec compress.Compression
	name  string
	// RowGroupRows is the rows of a row group (DefaultRowGroupRows when 0).
	RowGroupRows int
}

func newParquet(props map[string]any) (*Parquet, error) {
	s, err := str(props, "compressionCodec")
	if err != nil {
		return nil, err
	}
	p := &Parquet{name: strings.ToLower(s)}
	switch p.name {
	case "", "snappy":
		p.codec, p.name = compress.Codecs.Snappy, "snappy"
	case "none":
		p.codec = compress.Codecs.Uncompressed
	case "gzip":
		p.codec = compress.Codecs.Gzip
	case "zstd":
		p.codec = compress.Codecs.Zstd
	case "brotli":
		p.codec = compress.Codecs.Brotli
	case "lz4":
		p.codec = compress.Codecs.Lz4Raw
	default:
		return nil, fmt.Errorf("Parquet compressionCodec %q: expected none, snappy, gzip, zstd, brotli or lz4", s)
	}
	return p, nil
}

// NewParquet returns the Parquet format with a codec (none, snappy, gzip,
// zstd, brotli, lz4; "" is snappy, ADF's default).
func NewParquet(codec string) (*Parquet, error) {
	return newParquet(map[string]any{"compressionCodec": codec})
}

// Type is "Parquet".
func (p *Parquet) Type() string { return "Parquet" }

// Ext is ".parquet" (ADF names its files *.snappy.parquet, ciel keeps it
// short).
func (p *Parquet) Ext() string { return ".parquet" }

// arrowType maps an interim type to the Arrow type it is stored as.
func arrowType(c tabular.Column) arrow.DataType {
	switch c.Type {
	case tabular.Int16:
		return arrow.PrimitiveTypes.Int16
	case tabular.Int32:
		return arrow.PrimitiveTypes.Int32
	case tabular.Int64:
		return arrow.PrimitiveTypes.Int64
	case tabular.Single:
		return arrow.PrimitiveTypes.Float32
	case tabular.Double:
		return arrow.PrimitiveTypes.Float64
	case tabular.Boolean:
		return arrow.FixedWidthTypes.Boolean
	case tabular.DateTime:
		return &arrow.TimestampType{Unit: arrow.Microsecond}
	case tabular.DateTimeOffset:
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	case tabular.Date:
		return arrow.FixedWidthTypes.Date32
	case tabular.ByteArray:
		return arrow.BinaryTypes.Binary
	case tabular.Decimal:
		if c.Precision > 0 && c.Precision <= 38 && c.Scale >= 0 && c.Scale <= c.Precision {
			return &arrow.Decimal128Type{Precision: int32(c.Precision), Scale: int32(c.Scale)}
		}
	}
	return arrow.BinaryTypes.String
}

// writerOnly hides a files.File's other methods from the Parquet writer,
// which closes what it can.
type writerOnly struct{ io.Writer }

// NewWriter writes row groups of RowGroupRows rows.
func (p *Parquet) NewWriter(ctx context.Context, f files.File, schema tabular.Schema) (tabular.Writer, error) {
	fields := make([]arrow.Field, len(schema))
	for i, c := range schema {
		fields[i] = arrow.Field{Name: c.Name, Type: arrowType(c), Nullable: true}
	}
	as := arrow.NewSchema(fields, nil)
	props := parquet.NewWriterProperties(parquet.WithCompression(p.codec), parquet.WithDictionaryDefault(true), parquet.WithDictionaryPageSizeLimit(dictPageLimit),
		parquet.WithMaxRowGroupLength(math.MaxInt64))
	fw, err := pqarrow.NewFileWriter(as, writerOnly{f}, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		f.Abort()
		return nil, fmt.Errorf("parquet writer: %w", err)
	}
	rg := p.RowGroupRows
	if rg <= 0 {
		rg = DefaultRowGroupRows
	}
	return &parquetWriter{f: f, fw: fw, b: array.NewRecordBuilder(memory.DefaultAllocator, as), schema: schema, rowGroup: rg}, nil
}

type parquetWriter struct {
	f        files.File
	fw       *pqarrow.FileWriter
	b        *array.RecordBuilder
	schema   tabular.Schema
	rowGroup int
	inGroup  int
	rows     int64
	done     bool
}

func (w *parquetWriter) Write(ctx context.Context, rows [][]any) error {
	if w.done {
		return errClosed
	}
	for _, row := range rows {
		w.rows++
		for i, v := range row {
			if err := appendArrow(w.b.Field(i), v); err != nil {
				w.b.NewRecordBatch().Release() // drop the half row
				return &RowError{File: "parquet sink", Row: w.rows, Column: w.schema[i].Name, Err: err}
			}
		}
	}
	rec := w.b.NewRecordBatch()
	defer rec.Release()
	if err := w.fw.WriteBuffered(rec); err != nil {
		return fmt.Errorf("parquet: %w", err)
	}
	w.inGroup += int(rec.NumRows())
	if w.inGroup >= w.rowGroup {
		w.fw.NewBufferedRowGroup()
		w.inGroup = 0
	}
	return ctx.Err()
}

func (w *parquetWriter) Commit(ctx context.Context) error {
	if w.done {
		return errClosed
	}
	w.done = true
	w.b.Release()
	if err := w.fw.Close(); err != nil {
		w.f.Abort()
		return fmt.Errorf("parquet: %w", err)
	}
	return w.f.Commit()
}

func (w *parquetWriter) Abort(ctx context.Context) error {
	if w.done {
		return nil
	}
	w.done = true
	w.b.Release()
	return w.f.Abort()
}

// NewReader reads a Parquet file a record batch at a time, row group by
// row group, through the random access every files.FS reader gives.
func (p *Parquet) NewReader(ctx context.Context, r io.ReadCloser, name string, schema tabular.Schema) (_ tabular.Reader, err error) {
	// Arrow's reader can panic on a corrupt file; a bad file must not
	// take the server down.
	defer func() {
		if v := recover(); v != nil {
			r.Close()
			err = fmt.Errorf("%s: not a readable Parquet file: %v", name, v)
		}
	}()
	ra, ok := r.(parquet.ReaderAtSeeker)
	if !ok {
		r.Close()
		return nil, fmt.Errorf("%s: a Parquet file needs random access", name)
	}
	props := parquet.NewReaderProperties(memory.DefaultAllocator)
	props.BufferedStreamEnabled = true
	props.BufferSize = 1 << 20
	pf, err := file.NewParquetReader(ra, file.WithReadProps(props))
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("%s: not a Parquet file: %w", name, err)
	}
	dropArrowSchema(pf)
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: BatchRows}, memory.DefaultAllocator)
	if err != nil {
		pf.Close()
		r.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	rr, err := fr.GetRecordReader(ctx, nil, nil)
	if err != nil {
		pf.Close()
		r.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	as := rr.Schema()
	out := make(tabular.Schema, as.NumFields())
	for i, f := range as.Fields() {
		out[i] = interimOf(f)
	}
	return &parquetReader{raw: r, pf: pf, rr: rr, schema: out, name: name}, nil
}

// dropArrowSchema removes the Arrow schema a writer may keep in the
// file's metadata: Arrow's decoder of it trusts its lengths, so a corrupt
// one can allocate without bound and end the process (not a panic to
// recover from). The Parquet schema alone gives every column and type
// ciel maps.
func dropArrowSchema(pf *file.Reader) {
	md := pf.MetaData()
	if md == nil || md.FileMetaData == nil {
		return
	}
	kept := md.FileMetaData.KeyValueMetadata[:0:0]
	for _, kv := range md.FileMetaData.KeyValueMetadata {
		if kv != nil && kv.Key != "ARROW:schema" {
			kept = append(kept, kv)
		}
	}
	md.FileMetaData.KeyValueMetadata = kept
}

// interimOf maps an Arrow field to a column.
func interimOf(f arrow.Field) tabular.Column {
	c := tabular.Column{Name: f.Name, Type: tabular.String, Nullable: f.Nullable}
	switch t := f.Type.(type) {
	case *arrow.Int8Type, *arrow.Int16Type, *arrow.Uint8Type:
		c.Type = tabular.Int16
	case *arrow.Int32Type, *arrow.Uint16Type:
		c.Type = tabular.Int32
	case *arrow.Int64Type, *arrow.Uint32Type, *arrow.Uint64Type:
		c.Type = tabular.Int64
	case *arrow.Float32Type:
		c.Type = tabular.Single
	case *arrow.Float64Type:
		c.Type = tabular.Double
	case *arrow.BooleanType:
		c.Type = tabular.Boolean
	case *arrow.TimestampType:
		c.Type = tabular.DateTime
		if t.TimeZone != "" {
			c.Type = tabular.DateTimeOffset
		}
	case *arrow.Date32Type, *arrow.Date64Type:
		c.Type = tabular.Date
	case *arrow.BinaryType, *arrow.LargeBinaryType, *arrow.FixedSizeBinaryType:
		c.Type = tabular.ByteArray
	case *arrow.Decimal128Type:
		c.Type, c.Precision, c.Scale = tabular.Decimal, int(t.Precision), int(t.Scale)
	}
	return c
}

type parquetReader struct {
	raw    io.ReadCloser
	pf     *file.Reader
	rr     pqarrow.RecordReader
	schema tabular.Schema
	name   string
	batch  [][]any
}

func (r *parquetReader) Schema() tabular.Schema { return r.schema }

func (r *parquetReader) Next(ctx context.Context) (_ [][]any, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("%s: corrupt Parquet data: %v", r.name, v)
		}
	}()
	if !r.rr.Next() {
		if err := r.rr.Err(); err != nil && err != io.EOF {
			return nil, fmt.Errorf("%s: %w", r.name, err)
		}
		return nil, io.EOF
	}
	rec := r.rr.RecordBatch()
	n := int(rec.NumRows())
	r.batch = r.batch[:0]
	for i := 0; i < n; i++ {
		r.batch = append(r.batch, make([]any, rec.NumCols()))
	}
	for j, col := range rec.Columns() {
		for i := 0; i < n; i++ {
			r.batch[i][j] = arrowValue(col, i)
		}
	}
	return r.batch, ctx.Err()
}

// arrowValue is the Go value of row i of a column.
func arrowValue(a arrow.Array, i int) any {
	if a.IsNull(i) {
		return nil
	}
	switch a := a.(type) {
	case *array.String:
		return a.Value(i)
	case *array.LargeString:
		return a.Value(i)
	case *array.Int64:
		return a.Value(i)
	case *array.Int32:
		return int64(a.Value(i))
	case *array.Int16:
		return int64(a.Value(i))
	case *array.Int8:
		return int64(a.Value(i))
	case *array.Uint8:
		return int64(a.Value(i))
	case *array.Uint16:
		return int64(a.Value(i))
	case *array.Uint32:
		return int64(a.Value(i))
	case *array.Uint64:
		return int64(a.Value(i))
	case *array.Float64:
		return a.Value(i)
	case *array.Float32:
		return float64(a.Value(i))
	case *array.Boolean:
		return a.Value(i)
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return a.Value(i).ToTime(unit).UTC()
	case *array.Date32:
		return a.Value(i).ToTime().UTC()
	case *array.Date64:
		return a.Value(i).ToTime().UTC()
	case *array.Binary:
		return append([]byte(nil), a.Value(i)...)
	case *array.LargeBinary:
		return append([]byte(nil), a.Value(i)...)
	case *array.Decimal128:
		return a.Value(i).ToString(a.DataType().(*arrow.Decimal128Type).Scale)
	}
	return a.ValueStr(i)
}

func (r *parquetReader) Close() error {
	r.rr.Release()
	return r.pf.Close() // closes raw too
}
