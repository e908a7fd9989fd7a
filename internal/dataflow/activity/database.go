package activity

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ciel-mlops/ciel/internal/dataflow/db"
	"github.com/ciel-mlops/ciel/internal/dataflow/db/mysql"
	"github.com/ciel-mlops/ciel/internal/dataflow/db/postgres"
	"github.com/ciel-mlops/ciel/internal/dataflow/db/sqlite"
	"github.com/ciel-mlops/ciel/internal/dataflow/tabular"
)

// Database is a database a linked service reaches: db/postgres's DB or
// db's SQL (MySQL, MariaDB, SQLite). Methods may be called concurrently;
// each reader and writer holds a connection of its own until closed,
// committed or aborted.
type Database interface {
	// Query runs a query and streams its rows in bounded batches.
	Query(ctx context.Context, query string, args ...any) (tabular.Reader, error)
	// Columns returns a table's columns; an error wrapping db.ErrNoTable
	// when there is none.
	Columns(ctx context.Context, t db.Table) (tabular.Schema, error)
	// Sink opens a table for writing in one transaction, committed by
	// the writer's Commit.
	Sink(ctx context.Context, o db.SinkOptions) (tabular.Writer, error)
	// ResultSets runs a script and returns its result sets, at most
	// limit rows of each.
	ResultSets(ctx context.Context, query string, args []any, limit int) ([]db.Result, error)
	// Exec runs statements returning no rows and says how many rows
	// they changed.
	Exec(ctx context.Context, query string, args []any) (int64, error)
	// Quote quotes an identifier; Placeholder is the n-th (from 1)
	// parameter's placeholder ($n or ?).
	Quote(ident string) string
	Placeholder(n int) string
	Close() error
}

var (
	_ Database = (*postgres.DB)(nil)
	_ Database = (*db.SQL)(nil)
)

// DatabaseTypes are the linked service types OpenDatabase reaches.
var DatabaseTypes = []string{"PostgreSqlV2", "PostgreSql", "AzurePostgreSql", "MySql", "AzureMySql", "MariaDB", "Sqlite"}

// OpenDatabase connects to the database a linked service names. The
// caller closes it.
func OpenDatabase(ctx context.Context, ls LinkedService) (Database, error) {
	var d Database
	var err error
	switch strings.ToLower(ls.Type) {
	case "postgresqlv2", "postgresql", "azurepostgresql":
		d, err = postgres.Open(ctx, ls.Properties)
	case "mysql", "azuremysql", "mariadb":
		d, err = mysql.Open(ctx, ls.Properties)
	case "sqlite":
		d, err = sqlite.Open(ctx, ls.Properties)
	default:
		return nil, &Error{Code: "2103", Msg: fmt.Sprintf("linked service %q: type %q is not a database ciel reaches (%s)",
			ls.Name, ls.Type, strings.Join(DatabaseTypes, ", "))}
	}
	if err != nil {
		return nil, &Error{Code: "2103", Msg: fmt.Sprintf("linked service %q (%s): %v", ls.Name, ls.Type, err)}
	}
	return d, nil
}

// sourceQuery is the query a table source runs: the source's query
// (sqlReaderQuery, query), else all of the dataset's table.
func sourceQuery(d Database, ds Dataset, source map[string]any) (string, error) {
	for _, k := range []string{"query", "sqlReaderQuery"} {
		if q, ok := source[k].(string); ok && strings.TrimSpace(q) != "" {
			return q, nil
		}
	}
	t, err := db.ParseTable(ds.Properties)
	if err != nil {
		return "", fmt.Errorf("dataset %q: %w", ds.Name, err)
	}
	return "SELECT * FROM " + db.QuoteTable(d.Quote, t), nil
}

func (e *Env) openTableSource(ctx context.Context, ds Dataset, source map[string]any) (tabular.Reader, error) {
	d, err := OpenDatabase(ctx, ds.LinkedService)
	if err != nil {
		return nil, err
	}
	q, err := sourceQuery(d, ds, source)
	if err != nil {
		d.Close()
		return nil, err
	}
	r, err := d.Query(ctx, q)
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("dataset %q: query: %w", ds.Name, err)
	}
	return &closingReader{Reader: r, db: d}, nil
}

// closingReader closes its database with itself.
type closingReader struct {
	tabular.Reader
	db Database
}

func (r *closingReader) Close() error {
	return errors.Join(r.Reader.Close(), r.db.Close())
}

// sinkOptions reads a table sink's properties: writeBehavior,
// upsertSettings.keys, preCopyScript, tableOption.
func sinkOptions(ds Dataset, sink map[string]any, schema tabular.Schema) (db.SinkOptions, error) {
	t, err := db.ParseTable(ds.Properties)
	if err != nil {
		return db.SinkOptions{}, fmt.Errorf("dataset %q: %w", ds.Name, err)
	}
	o := db.SinkOptions{Table: t, Columns: schema}
	switch wb, _ := sink["writeBehavior"].(string); strings.ToLower(wb) {
	case "", "insert":
	case "upsert":
		o.Upsert = true
		us, _ := sink["upsertSettings"].(map[string]any)
		keys, _ := us["keys"].([]any)
		for _, k := range keys {
			s, ok := k.(string)
			if !ok {
				return o, fmt.Errorf("upsertSettings.keys: %v is not a column name", k)
			}
			o.Keys = append(o.Keys, s)
		}
		if len(o.Keys) == 0 {
			return o, errors.New(`writeBehavior "upsert" needs upsertSettings.keys`)
		}
	default:
		return o, fmt.Errorf("writeBehavior %q: want insert or upsert", wb)
	}
	o.PreCopyScript, _ = sink["preCopyScript"].(string)
	to, _ := sink["tableOption"].(string)
	o.AutoCreate = strings.EqualFold(to, "autoCreate")
	return o, nil
}

func (e *Env) openTableSink(ctx context.Context, ds Dataset, sink map[string]any, schema tabular.Schema) (tabular.Writer, error) {
	o, err := sinkOptions(ds, sink, schema)
	if err != nil {
		return nil, err
	}
	d, err := OpenDatabase(ctx, ds.LinkedService)
	if err != nil {
		return nil, err
	}
	w, err := d.Sink(ctx, o)
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("dataset %q: %w", ds.Name, err)
	}
	return &closingWriter{Writer: w, db: d}, nil
}

// closingWriter closes its database once committed or aborted.
type closingWriter struct {
	tabular.Writer
	db Database
}

func (w *closingWriter) Commit(ctx context.Context) error {
	err := w.Writer.Commit(ctx)
	if err != nil {
		w.Writer.Abort(ctx)
	}
	return errors.Join(err, w.db.Close())
}

func (w *closingWriter) Abort(ctx context.Context) error {
	return errors.Join(w.Writer.Abort(ctx), w.db.Close())
}
