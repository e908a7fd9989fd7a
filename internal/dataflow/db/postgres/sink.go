package postgres

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ciel-mlops/ciel/internal/dataflow/db"
	"github.com/ciel-mlops/ciel/internal/dataflow/tabular"
)

// Sink opens a table for writing in one transaction: rows go in by COPY
// FROM STDIN (into a temporary table first for an upsert), each batch
// under a savepoint so a batch the server refuses is replayed row by row
// to skip or name the rows it refuses. Nothing is visible before Commit.
func (d *DB) Sink(ctx context.Context, o db.SinkOptions) (tabular.Writer, error) {
	if len(o.Columns) == 0 {
		return nil, errors.New("sink: no columns to write")
	}
	conn, err := d.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		conn.Release()
		return nil, err
	}
	w := &sink{conn: conn, tx: tx, o: o, target: d.table(o.Table)}
	if err := w.open(ctx, d); err != nil {
		w.Abort(ctx)
		return nil, err
	}
	return w, nil
}

type sink struct {
	conn   *pgxpool.Conn
	tx     pgx.Tx
	o      db.SinkOptions
	target string
	into   pgx.Identifier // the target, or the upsert's temporary table
	cols   []string       // names, unquoted, for COPY
	qcols  []string       // quoted
	insert string         // one row's INSERT, for replays
	done   bool           // committed or aborted: the connection is back
}

func (w *sink) open(ctx context.Context, d *DB) error {
	if _, err := columns(ctx, w.tx, w.o.Table, w.target); err != nil {
		if !errors.Is(err, db.ErrNoTable) || !w.o.AutoCreate {
			return err
		}
		// The failed SELECT aborted the transaction; nothing was written
		// yet, so begin another.
		if err := w.restart(ctx); err != nil {
			return err
		}
		if _, err := w.tx.Exec(ctx, db.CreateTable(d.Quote, DDL, w.o.Table, w.o.Columns)); err != nil {
			return fmt.Errorf("create table %s: %w", w.o.Table, err)
		}
	}
	if strings.TrimSpace(w.o.PreCopyScript) != "" {
		if _, err := w.tx.Exec(ctx, w.o.PreCopyScript); err != nil {
			return fmt.Errorf("preCopyScript: %w", err)
		}
	}
	for _, c := range w.o.Columns {
		w.cols = append(w.cols, c.Name)
		w.qcols = append(w.qcols, d.Quote(c.Name))
	}
	w.into = pgx.Identifier{w.o.Table.Name}
	if w.o.Table.Schema != "" {
		w.into = pgx.Identifier{w.o.Table.Schema, w.o.Table.Name}
	}
	if w.o.Upsert {
		if len(w.o.Keys) == 0 {
			return errors.New("upsert: no keys (upsertSettings.keys)")
		}
		w.into = pgx.Identifier{"ciel_upsert_tmp"}
		q := "CREATE TEMP TABLE ciel_upsert_tmp ON COMMIT DROP AS SELECT " + strings.Join(w.qcols, ", ") + " FROM " + w.target + " WHERE false"
		if _, err := w.tx.Exec(ctx, q); err != nil {
			return fmt.Errorf("upsert: temporary table: %w", err)
		}
	}
	ph := make([]string, len(w.cols))
	for i := range ph {
		ph[i] = "$" + strconv.Itoa(i+1)
	}
	w.insert = "INSERT INTO " + w.into.Sanitize() + " (" + strings.Join(w.qcols, ", ") + ") VALUES (" + strings.Join(ph, ", ") + ")"
	return nil
}

// restart rolls the transaction back and begins another.
func (w *sink) restart(ctx context.Context) error {
	if err := w.tx.Rollback(ctx); err != nil {
		return err
	}
	tx, err := w.conn.Begin(ctx)
	if err != nil {
		return err
	}
	w.tx = tx
	return nil
}

func (w *sink) Write(ctx context.Context, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	if w.o.Upsert {
		rows = db.DedupeKeys(rows, w.o.Columns, w.o.Keys)
	}
	if _, err := w.tx.Exec(ctx, "SAVEPOINT ciel_batch"); err != nil {
		return err
	}
	_, err := w.tx.CopyFrom(ctx, w.into, w.cols, pgx.CopyFromRows(rows))
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if _, rerr := w.tx.Exec(ctx, "ROLLBACK TO SAVEPOINT ciel_batch"); rerr != nil {
			return errors.Join(err, rerr)
		}
		if err := w.replay(ctx, rows); err != nil {
			return err
		}
	}
	if _, err := w.tx.Exec(ctx, "RELEASE SAVEPOINT ciel_batch"); err != nil {
		return err
	}
	if w.o.Upsert {
		return w.merge(ctx)
	}
	return nil
}

// replay inserts rows one by one, each under its own savepoint, skipping
// (or failing on) the ones the server refuses.
func (w *sink) replay(ctx context.Context, rows [][]any) error {
	for i, r := range rows {
		if _, err := w.tx.Exec(ctx, "SAVEPOINT ciel_row"); err != nil {
			return err
		}
		_, err := w.tx.Exec(ctx, w.insert, r...)
		if err == nil {
			if _, err := w.tx.Exec(ctx, "RELEASE SAVEPOINT ciel_row"); err != nil {
				return err
			}
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		col := w.errColumn(err)
		if !w.o.SkipIncompatible {
			return &db.RowError{Index: i, Column: col, Err: err}
		}
		if _, rerr := w.tx.Exec(ctx, "ROLLBACK TO SAVEPOINT ciel_row"); rerr != nil {
			return errors.Join(err, rerr)
		}
		if w.o.OnSkip != nil {
			w.o.OnSkip(i, col, err)
		}
	}
	return nil
}

var argRe = regexp.MustCompile(`args\[(\d+)\]`)

// errColumn names the column of a refused row: the server's word, or the
// argument pgx could not encode.
func (w *sink) errColumn(err error) string {
	if c := errColumn(err); c != "" {
		return c
	}
	if m := argRe.FindStringSubmatch(err.Error()); m != nil {
		if i, _ := strconv.Atoi(m[1]); i < len(w.cols) {
			return w.cols[i]
		}
	}
	return ""
}

// merge moves the temporary table's rows into the target: rows whose
// keys match (NULL matching NULL) are updated, the others inserted.
func (w *sink) merge(ctx context.Context) error {
	var on, set, sel []string
	isKey := map[string]bool{}
	for _, k := range w.o.Keys {
		q := pgx.Identifier{k}.Sanitize()
		isKey[k] = true
		on = append(on, "t."+q+" IS NOT DISTINCT FROM s."+q)
	}
	for i, c := range w.cols {
		sel = append(sel, "s."+w.qcols[i])
		if !isKey[c] {
			set = append(set, w.qcols[i]+" = s."+w.qcols[i])
		}
	}
	tmp := w.into.Sanitize()
	var stmts []string
	if len(set) > 0 {
		stmts = append(stmts, "UPDATE "+w.target+" AS t SET "+strings.Join(set, ", ")+" FROM "+tmp+" AS s WHERE "+strings.Join(on, " AND "))
	}
	stmts = append(stmts,
		"INSERT INTO "+w.target+" ("+strings.Join(w.qcols, ", ")+") SELECT "+strings.Join(sel, ", ")+" FROM "+tmp+
			" AS s WHERE NOT EXISTS (SELECT 1 FROM "+w.target+" AS t WHERE "+strings.Join(on, " AND ")+")",
		"TRUNCATE "+tmp)
	for _, q := range stmts {
		if _, err := w.tx.Exec(ctx, q); err != nil {
			return fmt.Errorf("upsert: %w", err)
		}
	}
	return nil
}

func (w *sink) Commit(ctx context.Context) error {
	if w.done {
		return errors.New("sink: already committed or aborted")
	}
	w.done = true
	defer w.conn.Release()
	return w.tx.Commit(ctx)
}

// Abort rolls back; after Commit it does nothing.
func (w *sink) Abort(ctx context.Context) error {
	if w.done {
		return nil
	}
	w.done = true
	defer w.conn.Release()
	err := w.tx.Rollback(ctx)
	if errors.Is(err, pgx.ErrTxClosed) {
		return nil
	}
	return err
}
