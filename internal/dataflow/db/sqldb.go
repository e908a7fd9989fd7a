package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ciel-mlops/ciel/internal/dataflow/tabular"
)

// Dialect is what differs between the databases SQL reaches through
// database/sql (MySQL, SQLite).
type Dialect interface {
	// Quote quotes an identifier.
	Quote(ident string) string
	// Type maps a result column to an interim type.
	Type(ct *sql.ColumnType) tabular.Type
	// DDL is the column type a table created for c gets (autoCreate).
	DDL(c tabular.Column) string
	// MaxParams bounds the placeholders of one statement.
	MaxParams() int
	// TempTable creates tmp, an empty temporary table of target's
	// columns cols.
	TempTable(target, tmp string, cols []string) string
	// Upsert merges tmp into target: rows whose keys match are updated,
	// the others inserted.
	Upsert(target, tmp string, cols, keys []string) []string
	// NoTable reports whether err says the table does not exist.
	NoTable(err error) bool
	// ErrColumn is the column err names, or "".
	ErrColumn(err error) string
}

// SQL is a database reached through database/sql, in a Dialect.
type SQL struct {
	DB      *sql.DB
	Dialect Dialect
}

// Placeholder is the n-th (from 1) parameter's placeholder: "?".
func (s *SQL) Placeholder(int) string { return "?" }

// Quote quotes an identifier in the dialect.
func (s *SQL) Quote(ident string) string { return s.Dialect.Quote(ident) }

// QuoteTable quotes a schema-qualified table.
func QuoteTable(quote func(string) string, t Table) string {
	if t.Schema == "" {
		return quote(t.Name)
	}
	return quote(t.Schema) + "." + quote(t.Name)
}

// Close closes the connections.
func (s *SQL) Close() error { return s.DB.Close() }

// Columns returns a table's columns; an error wrapping ErrNoTable when
// there is no such table.
func (s *SQL) Columns(ctx context.Context, t Table) (tabular.Schema, error) {
	rows, err := s.DB.QueryContext(ctx, "SELECT * FROM "+QuoteTable(s.Quote, t)+" WHERE 1=0")
	if err != nil {
		if s.Dialect.NoTable(err) {
			return nil, fmt.Errorf("table %s: %w", t, ErrNoTable)
		}
		return nil, fmt.Errorf("columns of %s: %w", t, err)
	}
	defer rows.Close()
	return s.schema(rows)
}

func (s *SQL) schema(rows *sql.Rows) (tabular.Schema, error) {
	cts, err := rows.ColumnTypes()
	if err != nil {
		return nil, err
	}
	schema := make(tabular.Schema, len(cts))
	for i, ct := range cts {
		c := tabular.Column{Name: ct.Name(), Type: s.Dialect.Type(ct)}
		c.Nullable, _ = ct.Nullable()
		if p, sc, ok := ct.DecimalSize(); ok {
			c.Precision, c.Scale = int(p), int(sc)
		}
		schema[i] = c
	}
	return schema, nil
}

// Query runs query and streams its rows in batches of BatchRows.
func (s *SQL) Query(ctx context.Context, query string, args ...any) (tabular.Reader, error) {
	rows, err := s.DB.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	schema, err := s.schema(rows)
	if err != nil {
		rows.Close()
		return nil, err
	}
	r := &sqlReader{rows: rows, schema: schema}
	if err := r.typeUntyped(ctx); err != nil {
		rows.Close()
		return nil, err
	}
	return r, nil
}

type sqlReader struct {
	rows    *sql.Rows
	schema  tabular.Schema
	row     int64
	pending [][]any // a first batch read to type untyped columns
}

// typeUntyped gives the columns the dialect could not type (SQLite
// expressions) the type of their first non-NULL value, reading the first
// batch ahead; String when all are NULL.
func (r *sqlReader) typeUntyped(ctx context.Context) error {
	var untyped []int
	for i, c := range r.schema {
		if c.Type == "" {
			untyped = append(untyped, i)
		}
	}
	if len(untyped) == 0 {
		return nil
	}
	b, err := r.Next(ctx)
	if err != nil && err != io.EOF {
		return err
	}
	for _, i := range untyped {
		r.schema[i].Type = tabular.String
		for _, row := range b {
			if row[i] != nil {
				r.schema[i].Type = typeOf(row[i])
				break
			}
		}
		for _, row := range b {
			if row[i], err = Normalize(row[i], r.schema[i].Type); err != nil {
				return err
			}
		}
	}
	r.pending = b
	return nil
}

func (r *sqlReader) Schema() tabular.Schema { return r.schema }
func (r *sqlReader) Close() error           { return r.rows.Close() }

// Next returns a fresh batch each call (a caller may keep it).
func (r *sqlReader) Next(ctx context.Context) ([][]any, error) {
	if r.pending != nil {
		b := r.pending
		r.pending = nil
		return b, nil
	}
	n := len(r.schema)
	vals := make([]any, n)
	ptrs := make([]any, n)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var batch [][]any
	for len(batch) < BatchRows && r.rows.Next() {
		if err := r.rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		r.row++
		row := make([]any, n)
		for i, v := range vals {
			x, err := Normalize(v, r.schema[i].Type)
			if err != nil {
				return nil, &RowError{Index: int(r.row - 1), Column: r.schema[i].Name, Err: err}
			}
			row[i] = x
		}
		batch = append(batch, row)
	}
	if err := r.rows.Err(); err != nil {
		return nil, err
	}
	if len(batch) == 0 {
		return nil, io.EOF
	}
	return batch, nil
}

// ResultSets runs a query that may return several result sets, keeping at
// most limit rows of each.
func (s *SQL) ResultSets(ctx context.Context, query string, args []any, limit int) ([]Result, error) {
	rows, err := s.DB.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Result
	for {
		schema, err := s.schema(rows)
		if err != nil {
			return nil, err
		}
		r := &sqlReader{rows: rows, schema: schema}
		if err := r.typeUntyped(ctx); err != nil {
			return nil, err
		}
		res := Result{Columns: schema}
		for {
			b, err := r.Next(ctx)
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, err
			}
			for _, row := range b {
				if len(res.Rows) < limit {
					res.Rows = append(res.Rows, row)
				} else {
					res.Truncated = true
				}
			}
		}
		if len(schema) > 0 {
			out = append(out, res)
		}
		if !rows.NextResultSet() {
			break
		}
	}
	return out, rows.Err()
}

// Exec runs a statement that returns no rows and says how many it changed.
func (s *SQL) Exec(ctx context.Context, query string, args []any) (int64, error) {
	res, err := s.DB.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// Sink opens a table for writing in one transaction.
func (s *SQL) Sink(ctx context.Context, o SinkOptions) (tabular.Writer, error) {
	if len(o.Columns) == 0 {
		return nil, errors.New("sink: no columns to write")
	}
	target := QuoteTable(s.Quote, o.Table)
	if _, err := s.Columns(ctx, o.Table); err != nil {
		if !errors.Is(err, ErrNoTable) || !o.AutoCreate {
			return nil, err
		}
		// Before the transaction: DDL commits implicitly on MySQL.
		if _, err := s.DB.ExecContext(ctx, CreateTable(s.Quote, s.Dialect.DDL, o.Table, o.Columns)); err != nil {
			return nil, fmt.Errorf("create table %s: %w", o.Table, err)
		}
	}
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	w := &sqlWriter{s: s, tx: tx, o: o, target: target, into: target}
	if strings.TrimSpace(o.PreCopyScript) != "" {
		if _, err := tx.ExecContext(ctx, o.PreCopyScript); err != nil {
			tx.Rollback()
			return nil, fmt.Errorf("preCopyScript: %w", err)
		}
	}
	if o.Upsert {
		if len(o.Keys) == 0 {
			tx.Rollback()
			return nil, errors.New("upsert: no keys (upsertSettings.keys)")
		}
		w.into = s.Quote("ciel_upsert_tmp")
		if _, err := tx.ExecContext(ctx, s.Dialect.TempTable(target, w.into, quoteAll(s.Quote, names(o.Columns)))); err != nil {
			tx.Rollback()
			return nil, fmt.Errorf("upsert: temporary table: %w", err)
		}
	}
	w.cols = quoteAll(s.Quote, names(o.Columns))
	return w, nil
}

// CreateTable is the CREATE TABLE statement for columns.
func CreateTable(quote func(string) string, ddl func(tabular.Column) string, t Table, cols tabular.Schema) string {
	var b strings.Builder
	b.WriteString("CREATE TABLE " + QuoteTable(quote, t) + " (")
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quote(c.Name) + " " + ddl(c))
	}
	b.WriteString(")")
	return b.String()
}

type sqlWriter struct {
	s      *SQL
	tx     *sql.Tx
	o      SinkOptions
	target string
	into   string // target, or the upsert's temporary table
	cols   []string
	full   *sql.Stmt // the statement for a full chunk
	fullN  int
}

func (w *sqlWriter) Write(ctx context.Context, rows [][]any) error {
	if w.o.Upsert {
		rows = DedupeKeys(rows, w.o.Columns, w.o.Keys)
	}
	per := max(1, min(1000, w.s.Dialect.MaxParams()/len(w.cols)))
	for start := 0; start < len(rows); start += per {
		end := min(start+per, len(rows))
		if err := w.insert(ctx, rows[start:end], start); err != nil {
			return err
		}
	}
	if w.o.Upsert && len(rows) > 0 {
		for _, q := range w.s.Dialect.Upsert(w.target, w.into, w.cols, quoteAll(w.s.Quote, w.o.Keys)) {
			if _, err := w.tx.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("upsert: %w", err)
			}
		}
		if _, err := w.tx.ExecContext(ctx, "DELETE FROM "+w.into); err != nil {
			return fmt.Errorf("upsert: %w", err)
		}
	}
	return nil
}

func names(cols tabular.Schema) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.Name
	}
	return out
}

func quoteAll(quote func(string) string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = quote(n)
	}
	return out
}

// insert writes rows as one multi-row INSERT; when the database refuses
// it, row by row, to skip or name the rows it refuses (a failed statement
// changes nothing on MySQL and SQLite).
func (w *sqlWriter) insert(ctx context.Context, rows [][]any, offset int) error {
	args := make([]any, 0, len(rows)*len(w.cols))
	for _, r := range rows {
		args = append(args, r...)
	}
	var err error
	if len(rows) == w.fullN && w.full != nil {
		_, err = w.full.ExecContext(ctx, args...)
	} else {
		q := w.insertSQL(len(rows))
		if w.full == nil && len(rows) > 1 {
			if st, perr := w.tx.PrepareContext(ctx, q); perr == nil {
				w.full, w.fullN = st, len(rows)
				_, err = st.ExecContext(ctx, args...)
			} else {
				_, err = w.tx.ExecContext(ctx, q, args...)
			}
		} else {
			_, err = w.tx.ExecContext(ctx, q, args...)
		}
	}
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	one := w.insertSQL(1)
	for i, r := range rows {
		if _, err := w.tx.ExecContext(ctx, one, r...); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			col := w.s.Dialect.ErrColumn(err)
			if !w.o.SkipIncompatible {
				return &RowError{Index: offset + i, Column: col, Err: err}
			}
			if w.o.OnSkip != nil {
				w.o.OnSkip(offset+i, col, err)
			}
		}
	}
	return nil
}

func (w *sqlWriter) insertSQL(n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO " + w.into + " (" + strings.Join(w.cols, ", ") + ") VALUES ")
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(w.cols)), ", ") + ")"
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(one)
	}
	return b.String()
}

func (w *sqlWriter) Commit(ctx context.Context) error {
	if w.full != nil {
		w.full.Close()
	}
	return w.tx.Commit()
}

func (w *sqlWriter) Abort(ctx context.Context) error {
	if w.full != nil {
		w.full.Close()
	}
	err := w.tx.Rollback()
	if errors.Is(err, sql.ErrTxDone) {
		return nil
	}
	return err
}

// DedupeKeys keeps the last of the rows sharing a key, in order: an
// upsert of one batch with two rows of a key leaves the later.
func DedupeKeys(rows [][]any, cols tabular.Schema, keys []string) [][]any {
	idx := make([]int, 0, len(keys))
	for _, k := range keys {
		for i, c := range cols {
			if c.Name == k {
				idx = append(idx, i)
			}
		}
	}
	last := make(map[string]int, len(rows))
	for i, r := range rows {
		var b strings.Builder
		for _, j := range idx {
			fmt.Fprintf(&b, "%T:%v\x00", r[j], r[j])
		}
		last[b.String()] = i
	}
	if len(last) == len(rows) {
		return rows
	}
	out := make([][]any, 0, len(last))
	for i, r := range rows {
		var b strings.Builder
		for _, j := range idx {
			fmt.Fprintf(&b, "%T:%v\x00", r[j], r[j])
		}
		if last[b.String()] == i {
			out = append(out, r)
		}
	}
	return out
}
