// Package activity runs the activities of a Data Factory pipeline that
// touch data — Copy, Lookup, GetMetadata, Delete, Script — against the
// databases and files their datasets and linked services name.
//
// activity gets everything already resolved: expressions evaluated,
// parameters bound, secrets filled in (run does that). It answers with
// the activity's output object as Data Factory reports it (rowsRead,
// rowsCopied, firstRow, childItems, ...).
package activity

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/ciel-mlops/ciel/internal/dataflow/tabular"
	"github.com/ciel-mlops/ciel/internal/datastore"
)

// LinkedService is a linked service with its type properties evaluated and
// its secrets resolved.
type LinkedService struct {
	Name       string         `json:"name"`
	Type       string         `json:"type"`
	Properties map[string]any `json:"typeProperties"`
}

// Dataset is a dataset with its type properties evaluated (its parameters
// bound) and its linked service resolved.
type Dataset struct {
	Name          string         `json:"name"`
	Type          string         `json:"type"`
	Properties    map[string]any `json:"typeProperties"`
	Schema        []any          `json:"schema,omitempty"`
	LinkedService LinkedService  `json:"linkedService"`
}

// Call is one run of an activity: its evaluated type properties and its
// resolved datasets and linked service.
type Call struct {
	Name           string
	Type           string
	TypeProperties map[string]any
	Inputs         []Dataset
	Outputs        []Dataset
	LinkedService  *LinkedService
}

// Datastores finds a workspace's datastores, which file linked services
// map to.
type Datastores interface {
	// Get returns an error matching store.ErrNotFound when there is no
	// such datastore.
	Get(ctx context.Context, ws, name string) (datastore.Datastore, error)
}

// Env is what activities reach: the workspace's datastores, an HTTP client
// for HTTP linked services, a log for the activity's lines.
type Env struct {
	Workspace  string
	Datastores Datastores
	HTTP       *http.Client
	Log        *slog.Logger
	// LinkedServices resolves a linked service that typeProperties name
	// (a Copy's redirectIncompatibleRowSettings or logSettings) with its
	// parameters bound, as the activity's own are; nil when the caller
	// has none to offer.
	LinkedServices func(ctx context.Context, name string, params map[string]any) (LinkedService, error)
}

// Error is an activity failure as Data Factory reports it: an error code,
// a message, and where in the data it broke (Row counts from 1; 0 when
// not about a row).
type Error struct {
	Code   string
	Msg    string
	Row    int64
	Column string
}

func (e *Error) Error() string { return e.Msg }

// Func runs one data activity and returns its output object.
type Func func(ctx context.Context, env *Env, c Call) (map[string]any, error)

// For returns the function that runs activities of type typ; false when
// typ is not a data activity.
func For(typ string) (Func, bool) {
	f, ok := funcs[typ]
	return f, ok
}

// funcs is filled by each activity's file.
var funcs = map[string]Func{}

// OpenSource opens a dataset as a Copy source: a table (or a query, in
// source) of a database, or files in a format.
func (e *Env) OpenSource(ctx context.Context, ds Dataset, source map[string]any) (tabular.Reader, error) {
	if IsTable(ds.Type) {
		return e.openTableSource(ctx, ds, source)
	}
	return e.openFileSource(ctx, ds, source)
}

// OpenSink opens a dataset as a Copy sink for rows of schema.
func (e *Env) OpenSink(ctx context.Context, ds Dataset, sink map[string]any, schema tabular.Schema) (tabular.Writer, error) {
	if IsTable(ds.Type) {
		return e.openTableSink(ctx, ds, sink, schema)
	}
	return e.openFileSink(ctx, ds, sink, schema)
}

// IsTable reports whether a dataset type is a database table
// (PostgreSqlV2Table, MySqlTable, AzureSqlTable, ...) rather than files.
func IsTable(typ string) bool {
	switch typ {
	case "DelimitedText", "Json", "Parquet", "Binary", "Avro", "Orc", "Xml", "Excel":
		return false
	}
	return true
}
