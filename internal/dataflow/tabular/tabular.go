// Package tabular is the currency between a Copy activity's source and
// sink: a schema of typed columns and rows read and written in bounded
// batches, so no table or file is ever held whole in memory.
//
// Row values are Go values by column type: nil (NULL), string, int64,
// float64, bool, time.Time, []byte; Decimal is kept as its exact decimal
// string, GUID and TimeSpan as strings.
package tabular

import "context"

// Type is a column's interim type, named as Data Factory's interim data
// types are (the types a TabularTranslator mapping converts between).
type Type string

// Interim types.
const (
	String         Type = "String"
	Int16          Type = "Int16"
	Int32          Type = "Int32"
	Int64          Type = "Int64"
	Single         Type = "Single"
	Double         Type = "Double"
	Decimal        Type = "Decimal"
	Boolean        Type = "Boolean"
	DateTime       Type = "DateTime"
	DateTimeOffset Type = "DateTimeOffset"
	Date           Type = "Date"
	TimeSpan       Type = "TimeSpan"
	GUID           Type = "Guid"
	ByteArray      Type = "Byte[]"
)

// Column is one column of a schema.
type Column struct {
	Name      string `json:"name"`
	Type      Type   `json:"type"`
	Nullable  bool   `json:"nullable,omitempty"`
	Precision int    `json:"precision,omitempty"`
	Scale     int    `json:"scale,omitempty"`
}

// Schema is the columns of a source or sink, in order.
type Schema []Column

// Reader reads rows in batches. Next returns the next batch (valid until
// the following call) and io.EOF after the last. A Reader is used by one
// goroutine.
type Reader interface {
	Schema() Schema
	Next(ctx context.Context) ([][]any, error)
	Close() error
}

// Writer writes rows in batches. Nothing it wrote is visible until Commit
// returns nil: a file sink writes under a temporary name renamed on
// Commit, a table sink writes in one transaction. Abort (or a process
// killed before Commit) leaves the sink as it was. A Writer is used by one
// goroutine.
type Writer interface {
	Write(ctx context.Context, rows [][]any) error
	Commit(ctx context.Context) error
	Abort(ctx context.Context) error
}
