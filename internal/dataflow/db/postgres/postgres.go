// Package postgres reaches PostgreSQL (linked services PostgreSqlV2,
// PostgreSql, AzurePostgreSql) through pgx: queries streamed row by row off
// the socket and decoded straight into tabular values, tables written with
// COPY FROM STDIN in one transaction.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ciel-mlops/ciel/internal/dataflow/db"
	"github.com/ciel-mlops/ciel/internal/dataflow/tabular"
)

// DB is a PostgreSQL database.
type DB struct {
	pool *pgxpool.Pool
}

// Open connects to the database a linked service's evaluated
// typeProperties name (see db.ParseConn; port 5432 by default).
func Open(ctx context.Context, props map[string]any) (*DB, error) {
	c, err := db.ParseConn(props, 5432)
	if err != nil {
		return nil, err
	}
	u := url.URL{Scheme: "postgres", Host: c.Host + ":" + strconv.Itoa(c.Port), Path: "/" + c.Database}
	if c.Password != "" {
		u.User = url.UserPassword(c.User, c.Password)
	} else if c.User != "" {
		u.User = url.User(c.User)
	}
	mode := c.SSLMode
	if mode == "" {
		mode = "prefer"
	}
	u.RawQuery = url.Values{"sslmode": {mode}}.Encode()
	cfg, err := pgxpool.ParseConfig(u.String())
	if err != nil {
		return nil, fmt.Errorf("postgres %s:%d/%s: %w", c.Host, c.Port, c.Database, errors.Unwrap(err))
	}
	// Timestamps with time zone come back in UTC, in text as in binary.
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to postgres %s:%d/%s: %w", c.Host, c.Port, c.Database, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to postgres %s@%s:%d/%s: %w", c.User, c.Host, c.Port, c.Database, err)
	}
	return &DB{pool: pool}, nil
}

// Close closes the connections.
func (d *DB) Close() error {
	d.pool.Close()
	return nil
}

// Quote quotes an identifier.
func (d *DB) Quote(s string) string { return pgx.Identifier{s}.Sanitize() }

// Placeholder is the n-th (from 1) parameter's placeholder: $n.
func (d *DB) Placeholder(n int) string { return "$" + strconv.Itoa(n) }

func (d *DB) table(t db.Table) string { return db.QuoteTable(d.Quote, t) }

// Columns returns a table's columns; an error wrapping db.ErrNoTable when
// there is no such table.
func (d *DB) Columns(ctx context.Context, t db.Table) (tabular.Schema, error) {
	return columns(ctx, d.pool, t, d.table(t))
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func columns(ctx context.Context, q querier, t db.Table, quoted string) (tabular.Schema, error) {
	rows, err := q.Query(ctx, "SELECT * FROM "+quoted+" WHERE false")
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && (pe.Code == "42P01" || pe.Code == "3F000") {
			return nil, fmt.Errorf("table %s: %w", t, db.ErrNoTable)
		}
		return nil, fmt.Errorf("columns of %s: %w", t, err)
	}
	defer rows.Close()
	return schemaOf(rows.FieldDescriptions()), nil
}

func schemaOf(fds []pgconn.FieldDescription) tabular.Schema {
	s := make(tabular.Schema, len(fds))
	for i, fd := range fds {
		c := tabular.Column{Name: fd.Name, Type: typeOf(fd.DataTypeOID), Nullable: true}
		if fd.DataTypeOID == oidNumeric && fd.TypeModifier >= 4 {
			c.Precision = int((fd.TypeModifier-4)>>16) & 0xffff
			c.Scale = int(fd.TypeModifier-4) & 0xffff
		}
		s[i] = c
	}
	return s
}

// Query runs query and streams its rows in batches of db.BatchRows, read
// off the socket as they come: the server sends, pgx reads a buffer at a
// time, nothing holds the whole result.
func (d *DB) Query(ctx context.Context, query string, args ...any) (tabular.Reader, error) {
	conn, err := d.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := conn.Query(ctx, query, append([]any{pgx.QueryResultFormatsByOID(binaryOIDs)}, args...)...)
	if err != nil {
		conn.Release()
		return nil, err
	}
	r := &reader{conn: conn, rows: rows}
	fds := rows.FieldDescriptions()
	if fds == nil {
		// A statement that returns no rows, or an error the first Next
		// reports.
		rows.Next()
		if err := rows.Err(); err != nil {
			r.Close()
			return nil, err
		}
		fds = rows.FieldDescriptions()
		r.done = true
	}
	r.schema = schemaOf(fds)
	r.fds = fds
	return r, nil
}

type reader struct {
	conn   *pgxpool.Conn
	rows   pgx.Rows
	fds    []pgconn.FieldDescription
	schema tabular.Schema
	row    int64
	done   bool
}

func (r *reader) Schema() tabular.Schema { return r.schema }

// Next returns a fresh batch each call (a caller may keep it).
func (r *reader) Next(ctx context.Context) ([][]any, error) {
	if r.done {
		return nil, io.EOF
	}
	n := len(r.fds)
	vals := make([]any, n*db.BatchRows)
	batch := make([][]any, 0, db.BatchRows)
	for len(batch) < db.BatchRows && r.rows.Next() {
		raw := r.rows.RawValues()
		row := vals[len(batch)*n : (len(batch)+1)*n : (len(batch)+1)*n]
		for i, fd := range r.fds {
			v, err := decode(fd.DataTypeOID, fd.Format, raw[i])
			if err != nil {
				return nil, &db.RowError{Index: int(r.row), Column: fd.Name, Err: err}
			}
			row[i] = v
		}
		r.row++
		batch = append(batch, row)
	}
	if err := r.rows.Err(); err != nil {
		return nil, err
	}
	if len(batch) == 0 {
		r.done = true
		return nil, io.EOF
	}
	return batch, nil
}

func (r *reader) Close() error {
	r.rows.Close()
	err := r.rows.Err()
	r.conn.Release()
	return err
}

// ResultSets runs a script that may return several result sets, keeping
// at most limit rows of each. Without args it goes by the simple protocol,
// so the script may hold several statements.
func (d *DB) ResultSets(ctx context.Context, query string, args []any, limit int) ([]db.Result, error) {
	conn, err := d.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Release()
	if len(args) > 0 {
		rows, err := conn.Query(ctx, query, args...)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		res, err := collect(rows.FieldDescriptions(), rows.Next, rows.RawValues, limit)
		if err != nil {
			return nil, err
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		res.RowsAffected = rows.CommandTag().RowsAffected()
		return []db.Result{res}, nil
	}
	mrr := conn.Conn().PgConn().Exec(ctx, query)
	var out []db.Result
	for mrr.NextResult() {
		rr := mrr.ResultReader()
		res, err := collect(rr.FieldDescriptions(), rr.NextRow, rr.Values, limit)
		if err != nil {
			mrr.Close()
			return nil, err
		}
		tag, err := rr.Close()
		if err != nil {
			mrr.Close()
			return nil, err
		}
		res.RowsAffected = tag.RowsAffected()
		out = append(out, res)
	}
	return out, mrr.Close()
}

func collect(fds []pgconn.FieldDescription, next func() bool, values func() [][]byte, limit int) (db.Result, error) {
	res := db.Result{Columns: schemaOf(fds)}
	for next() {
		if len(res.Rows) >= limit {
			res.Truncated = true
			continue
		}
		raw := values()
		row := make([]any, len(fds))
		for i, fd := range fds {
			v, err := decode(fd.DataTypeOID, fd.Format, raw[i])
			if err != nil {
				return res, fmt.Errorf("row %d, column %q: %w", len(res.Rows)+1, fd.Name, err)
			}
			row[i] = v
		}
		res.Rows = append(res.Rows, row)
	}
	return res, nil
}

// Exec runs statements that return no rows and says how many rows they
// changed.
func (d *DB) Exec(ctx context.Context, query string, args []any) (int64, error) {
	tag, err := d.pool.Exec(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

// DDL is the column type autoCreate gives an interim type.
func DDL(c tabular.Column) string {
	switch c.Type {
	case tabular.Int16:
		return "smallint"
	case tabular.Int32:
		return "integer"
	case tabular.Int64:
		return "bigint"
	case tabular.Single:
		return "real"
	case tabular.Double:
		return "double precision"
	case tabular.Decimal:
		if c.Precision > 0 {
			return fmt.Sprintf("numeric(%d,%d)", c.Precision, c.Scale)
		}
		return "numeric"
	case tabular.Boolean:
		return "boolean"
	case tabular.DateTime:
		return "timestamp"
	case tabular.DateTimeOffset:
		return "timestamptz"
	case tabular.Date:
		return "date"
	case tabular.TimeSpan:
		return "interval"
	case tabular.GUID:
		return "uuid"
	case tabular.ByteArray:
		return "bytea"
	}
	return "text"
}

// errColumn is the column a server error names: a NOT NULL violation's
// column, or COPY's "column x" context.
func errColumn(err error) string {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return ""
	}
	if pe.ColumnName != "" {
		return pe.ColumnName
	}
	if _, after, ok := strings.Cut(pe.Where, ", column "); ok {
		name, _, _ := strings.Cut(after, ":")
		return name
	}
	return ""
}
