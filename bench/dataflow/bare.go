package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// runBare is the yardstick: the least work that moves the query's rows
// into the file, with none of the activity layer.
func runBare(ctx context.Context, url, query, path, sink string) (int64, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if sink == "csv" {
		bw := bufio.NewWriterSize(f, 1<<20)
		tag, err := conn.PgConn().CopyTo(ctx, bw, "COPY ("+query+") TO STDOUT WITH (FORMAT csv)")
		if err != nil {
			return 0, err
		}
		return tag.RowsAffected(), bw.Flush()
	}
	return bareParquet(ctx, conn, query, f)
}

// bareParquet decodes each binary wire value straight into its arrow
// builder (numeric comes as text) and writes 128Ki-row row groups of
// snappy Parquet, as ciel's sink does.
func bareParquet(ctx context.Context, conn *pgx.Conn, query string, f *os.File) (int64, error) {
	rows, err := conn.Query(ctx, query, pgx.QueryResultFormatsByOID{16: 1, 20: 1, 21: 1, 23: 1, 701: 1, 1082: 1, 1114: 1})
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	fds := rows.FieldDescriptions()
	fields := make([]arrow.Field, len(fds))
	for i, fd := range fds {
		fields[i] = arrow.Field{Name: fd.Name, Type: bareType(fd), Nullable: true}
	}
	as := arrow.NewSchema(fields, nil)
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy), parquet.WithDictionaryDefault(true), parquet.WithDictionaryPageSizeLimit(64<<10),
		parquet.WithMaxRowGroupLength(math.MaxInt64))
	fw, err := pqarrow.NewFileWriter(as, f, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return 0, err
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, as)
	var n, inGroup int64
	flush := func() error {
		rec := b.NewRecordBatch()
		defer rec.Release()
		if err := fw.WriteBuffered(rec); err != nil {
			return err
		}
		if inGroup += rec.NumRows(); inGroup >= 128<<10 {
			fw.NewBufferedRowGroup()
			inGroup = 0
		}
		return nil
	}
	for rows.Next() {
		for i, raw := range rows.RawValues() {
			if err := bareAppend(b.Field(i), raw); err != nil {
				return n, fmt.Errorf("column %s: %w", fds[i].Name, err)
			}
		}
		if n++; n%1024 == 0 {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	if err := flush(); err != nil {
		return n, err
	}
	return n, fw.Close()
}

func bareType(fd pgconn.FieldDescription) arrow.DataType {
	switch fd.DataTypeOID {
	case 16:
		return arrow.FixedWidthTypes.Boolean
	case 20:
		return arrow.PrimitiveTypes.Int64
	case 21:
		return arrow.PrimitiveTypes.Int16
	case 23:
		return arrow.PrimitiveTypes.Int32
	case 701:
		return arrow.PrimitiveTypes.Float64
	case 1082:
		return arrow.FixedWidthTypes.Date32
	case 1114:
		return &arrow.TimestampType{Unit: arrow.Microsecond}
	case 1700:
		return &arrow.Decimal128Type{Precision: int32((fd.TypeModifier - 4) >> 16), Scale: int32((fd.TypeModifier - 4) & 0xffff)}
	}
	return arrow.BinaryTypes.String
}

// pgEpoch is PostgreSQL's zero for dates and timestamps, in Unix terms.
var pgEpochMicros = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()

func bareAppend(b array.Builder, raw []byte) error {
	if raw == nil {
		b.AppendNull()
		return nil
	}
	switch b := b.(type) {
	case *array.BooleanBuilder:
		b.Append(raw[0] != 0)
	case *array.Int64Builder:
		b.Append(int64(binary.BigEndian.Uint64(raw)))
	case *array.Int32Builder:
		b.Append(int32(binary.BigEndian.Uint32(raw)))
	case *array.Int16Builder:
		b.Append(int16(binary.BigEndian.Uint16(raw)))
	case *array.Float64Builder:
		b.Append(math.Float64frombits(binary.BigEndian.Uint64(raw)))
	case *array.Date32Builder:
		b.Append(arrow.Date32(int32(binary.BigEndian.Uint32(raw)) + 10957))
	case *array.TimestampBuilder:
		b.Append(arrow.Timestamp(int64(binary.BigEndian.Uint64(raw)) + pgEpochMicros))
	case *array.Decimal128Builder:
		dt := b.Type().(*arrow.Decimal128Type)
		n, err := decimal128.FromString(string(raw), dt.Precision, dt.Scale)
		if err != nil {
			return err
		}
		b.Append(n)
	case *array.StringBuilder:
		b.BinaryBuilder.Append(raw)
	default:
		return fmt.Errorf("no builder for %T", b)
	}
	return nil
}
