package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/jackc/pgx/v5"
)

// ErrNoCSV is returned by CopyCSV when the query's columns hold a type
// whose COPY text differs from what ciel's DelimitedText writer writes
// for its value (bytea, time, interval, real) or has duplicate column names:
// the caller reads rows instead. Nothing has been written then.
var ErrNoCSV = errors.New("COPY cannot write this result as ciel's text")

// CSVOptions are the COPY options CopyCSV passes: one-byte delimiter,
// quote and escape, the null string, a header row.
type CSVOptions struct {
	Delim, Quote, Escape byte
	Null                 string
	Header               bool
}

// CopyCSV runs COPY (query) TO STDOUT WITH (FORMAT csv, ...) into w and
// says how many rows it wrote. The query is wrapped so that each value
// reads as ciel's row path writes it: booleans True/False, floats in
// .NET's form (exponent outside [1e-5, 1e15), upper-case E),
// timestamps with time zone with a " +00:00" offset (the session is UTC).
func (d *DB) CopyCSV(ctx context.Context, query string, o CSVOptions, w io.Writer) (int64, error) {
	conn, err := d.pool.Acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Release()
	query = strings.TrimRight(strings.TrimSpace(query), ";")
	desc, err := conn.Conn().PgConn().Prepare(ctx, "", query, nil)
	if err != nil {
		return 0, fmt.Errorf("query: %w", err)
	}
	if len(desc.Fields) == 0 {
		return 0, fmt.Errorf("%w: the query returns no columns", ErrNoCSV)
	}
	seen := map[string]bool{}
	exprs := make([]string, len(desc.Fields))
	for i, f := range desc.Fields {
		if seen[f.Name] {
			return 0, fmt.Errorf("%w: two columns named %q", ErrNoCSV, f.Name)
		}
		seen[f.Name] = true
		c := "q." + pgx.Identifier{f.Name}.Sanitize()
		switch f.DataTypeOID {
		case oidBytea, oidTime, oidInterval, oidFloat4: // float4: PostgreSQL's exponent starts at 1e6
			return 0, fmt.Errorf("%w: column %q", ErrNoCSV, f.Name)
		case oidBool:
			c = fmt.Sprintf("CASE WHEN %s THEN 'True' WHEN NOT %[1]s THEN 'False' END", c)
		case oidFloat8:
			// PostgreSQL writes 1e+15 and 1e-05 where .NET writes 1E+15 and 0.00001; the
			// common case is tested first and formats once.
			c = fmt.Sprintf("CASE WHEN abs(%s) >= 1e-4 AND abs(%[1]s) < 1e15 OR %[1]s = 0 OR %[1]s = 'NaN' OR abs(%[1]s) = 'Infinity' THEN %[1]s::text "+
				"WHEN abs(%[1]s) >= 1e-5 AND abs(%[1]s) < 1e-4 THEN %[1]s::numeric::text ELSE upper(%[1]s::text) END", c)
		case oidTimestamptz:
			c = fmt.Sprintf("CASE WHEN isfinite(%s) THEN left(%[1]s::text, -3) || ' +00:00' ELSE %[1]s::text END", c)
		}
		exprs[i] = c + " AS " + pgx.Identifier{f.Name}.Sanitize()
	}
	opts := fmt.Sprintf("FORMAT csv, DELIMITER %s, QUOTE %s, ESCAPE %s, NULL %s", lit(string(o.Delim)), lit(string(o.Quote)), lit(string(o.Escape)), lit(o.Null))
	if o.Header {
		opts += ", HEADER"
	}
	sql := fmt.Sprintf("COPY (SELECT %s FROM (%s) AS q) TO STDOUT WITH (%s)", strings.Join(exprs, ", "), query, opts)
	tag, err := conn.Conn().PgConn().CopyTo(ctx, w, sql)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

// lit is a string literal.
func lit(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
