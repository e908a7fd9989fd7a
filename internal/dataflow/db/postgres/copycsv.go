package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ErrNoCSV is returned by DescribeCSV when the query's columns hold a
// type whose COPY text cannot be made what ciel's DelimitedText writer
// writes for its value (bytea: base64 there; time, interval, real): the
// caller reads rows instead.
var ErrNoCSV = errors.New("COPY cannot write this result as ciel's text")

// CSVKind is how a column's COPY text differs from ciel's row path.
type CSVKind byte

// The kinds: the same text; a boolean (t/f for True/False); a float
// (1e+15 and 1e-05 for .NET's 1E+15 and 0.00001); a timestamp with time
// zone ("+00" for " +00:00", the session being UTC).
const (
	CSVSame CSVKind = iota
	CSVBool
	CSVFloat
	CSVTimestampTZ
)

// CSVOptions are the COPY options CopyCSV passes: one-byte delimiter,
// quote and escape, the null string, a header row.
type CSVOptions struct {
	Delim, Quote, Escape byte
	Null                 string
	Header               bool
}

// DescribeCSV prepares query (without running it) and says how each
// column's COPY text differs from ciel's; ErrNoCSV when one cannot be
// mended.
func (d *DB) DescribeCSV(ctx context.Context, query string) ([]CSVKind, error) {
	conn, err := d.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Release()
	desc, err := conn.Conn().PgConn().Prepare(ctx, "", trimQuery(query), nil)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	if len(desc.Fields) == 0 {
		return nil, fmt.Errorf("%w: the query returns no columns", ErrNoCSV)
	}
	kinds := make([]CSVKind, len(desc.Fields))
	for i, f := range desc.Fields {
		switch f.DataTypeOID {
		case oidBytea, oidTime, oidInterval, oidFloat4: // float4: PostgreSQL's exponent starts at 1e6
			return nil, fmt.Errorf("%w: column %q", ErrNoCSV, f.Name)
		case oidBool:
			kinds[i] = CSVBool
		case oidFloat8:
			kinds[i] = CSVFloat
		case oidTimestamptz:
			kinds[i] = CSVTimestampTZ
		}
	}
	return kinds, nil
}

func trimQuery(q string) string { return strings.TrimRight(strings.TrimSpace(q), "; \t\r\n") }

// CopyCSV runs COPY (query) TO STDOUT WITH (FORMAT csv, ...) into w and
// says how many rows it wrote.
func (d *DB) CopyCSV(ctx context.Context, query string, o CSVOptions, w io.Writer) (int64, error) {
	conn, err := d.pool.Acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Release()
	opts := fmt.Sprintf("FORMAT csv, DELIMITER %s, QUOTE %s, ESCAPE %s, NULL %s", lit(string(o.Delim)), lit(string(o.Quote)), lit(string(o.Escape)), lit(o.Null))
	if o.Header {
		opts += ", HEADER"
	}
	tag, err := conn.Conn().PgConn().CopyTo(ctx, w, fmt.Sprintf("COPY (%s) TO STDOUT WITH (%s)", trimQuery(query), opts))
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

// lit is a string literal.
func lit(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
