// Package format reads and writes the file formats of Data Factory's
// datasets — DelimitedText, Json, Parquet and Binary — as tabular rows,
// streamed in bounded batches: a reader holds one batch (and, for
// Parquet, one column chunk) of a file at a time, a writer writes through
// a files.File so nothing is visible until Commit.
//
// format knows nothing of linked services, locations or which files a
// Copy reads (activity decides that); it turns bytes into rows and back.
package format

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/ciel-mlops/ciel/internal/dataflow/files"
	"github.com/ciel-mlops/ciel/internal/dataflow/tabular"
)

// Batch bounds: a batch ends at BatchRows rows or once it holds about
// BatchBytes of text, whichever comes first.
const (
	BatchRows  = 1024
	BatchBytes = 4 << 20
)

// Format is a file format with its dataset's settings. Its methods may be
// called concurrently; each reader and writer is used by one goroutine.
type Format interface {
	// Type is the dataset type: DelimitedText, Json, Parquet or Binary.
	Type() string
	// Ext is the file extension a generated file name gets (".csv",
	// ".csv.gz", ".parquet", ...).
	Ext() string
	// NewReader reads the rows of one file as stored (compressed or not);
	// it closes r when closed. name is the file's path, for errors.
	// schema is the dataset's schema (nil when it has none).
	NewReader(ctx context.Context, r io.ReadCloser, name string, schema tabular.Schema) (tabular.Reader, error)
	// NewWriter writes rows of schema to f; its Commit commits f and its
	// Abort aborts it.
	NewWriter(ctx context.Context, f files.File, schema tabular.Schema) (tabular.Writer, error)
}

// New returns the format of a dataset of type typ with typeProperties
// props; settings are the Copy source's or sink's formatSettings (nil for
// none). Unknown formats and bad settings are errors naming them.
func New(typ string, props, settings map[string]any) (Format, error) {
	switch typ {
	case "DelimitedText":
		return newDelimited(props, settings)
	case "Json":
		return newJSON(props, settings)
	case "Parquet":
		return newParquet(props)
	case "Binary":
		return newBinary(props)
	}
	return nil, fmt.Errorf("dataset type %s is not a file format ciel reads: expected DelimitedText, Json, Parquet or Binary", typ)
}

// RowError is a row that broke: its file, its number (from 1, counting
// data rows) and the column, when known.
type RowError struct {
	File   string
	Row    int64
	Column string
	Err    error
}

func (e *RowError) Error() string {
	s := fmt.Sprintf("%s: row %d", e.File, e.Row)
	if e.Column != "" {
		s += fmt.Sprintf(", column %q", e.Column)
	}
	return s + ": " + e.Err.Error()
}

func (e *RowError) Unwrap() error { return e.Err }

// str reads a string property ("" when absent); a non-string is an error.
func str(props map[string]any, key string) (string, error) {
	v, ok := props[key]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s: expected a string, got %T", key, v)
	}
	return s, nil
}

// boolean reads a boolean property (def when absent); "true"/"false"
// strings are accepted, as ADF's expressions often produce them.
func boolean(props map[string]any, key string, def bool) (bool, error) {
	switch v := props[key].(type) {
	case nil:
		return def, nil
	case bool:
		return v, nil
	case string:
		b, err := strconv.ParseBool(strings.ToLower(v))
		if err != nil {
			return false, fmt.Errorf("%s: expected true or false, got %q", key, v)
		}
		return b, nil
	}
	return false, fmt.Errorf("%s: expected true or false, got %T", key, props[key])
}

// integer reads a non-negative integer property (def when absent).
func integer(props map[string]any, key string, def int64) (int64, error) {
	var n int64
	switch v := props[key].(type) {
	case nil:
		return def, nil
	case float64:
		n = int64(v)
		if float64(n) != v {
			return 0, fmt.Errorf("%s: expected a whole number, got %v", key, v)
		}
	case int64:
		n = v
	case int:
		n = int64(v)
	case string:
		var err error
		if n, err = strconv.ParseInt(v, 10, 64); err != nil {
			return 0, fmt.Errorf("%s: expected a whole number, got %q", key, v)
		}
	default:
		return 0, fmt.Errorf("%s: expected a whole number, got %T", key, v)
	}
	if n < 0 {
		return 0, fmt.Errorf("%s: expected a number >= 0, got %d", key, n)
	}
	return n, nil
}

// compressionOf reads a dataset's compressionCodec (and, for the old
// shape, compression.type).
func compressionOf(props map[string]any) (Codec, error) {
	s, err := str(props, "compressionCodec")
	if err != nil {
		return "", err
	}
	if s == "" {
		if c, ok := props["compression"].(map[string]any); ok {
			s, _ = c["type"].(string)
		}
	}
	return parseCodec(s)
}

// SchemaFromDataset reads a dataset's "schema" (or "structure") array of
// {name, type} into a tabular schema; types ADF writes in lower case or
// with a database's names map to the nearest interim type, the rest to
// String. It returns nil for none.
func SchemaFromDataset(schema []any) tabular.Schema {
	var out tabular.Schema
	for _, c := range schema {
		m, ok := c.(map[string]any)
		if !ok {
			continue
		}
		name, _ := m["name"].(string)
		typ, _ := m["type"].(string)
		col := tabular.Column{Name: name, Type: InterimType(typ), Nullable: true}
		if p, ok := m["precision"].(float64); ok {
			col.Precision = int(p)
		}
		if s, ok := m["scale"].(float64); ok {
			col.Scale = int(s)
		}
		out = append(out, col)
	}
	return out
}

// InterimType maps a type name of a dataset schema to an interim type.
func InterimType(s string) tabular.Type {
	switch strings.ToLower(s) {
	case "int16", "smallint", "short":
		return tabular.Int16
	case "int32", "int", "integer":
		return tabular.Int32
	case "int64", "bigint", "long":
		return tabular.Int64
	case "single", "float", "real":
		return tabular.Single
	case "double", "double precision":
		return tabular.Double
	case "decimal", "numeric":
		return tabular.Decimal
	case "boolean", "bool", "bit":
		return tabular.Boolean
	case "datetime", "timestamp", "datetime2":
		return tabular.DateTime
	case "datetimeoffset", "timestamptz":
		return tabular.DateTimeOffset
	case "date":
		return tabular.Date
	case "timespan", "time":
		return tabular.TimeSpan
	case "guid", "uuid", "uniqueidentifier":
		return tabular.GUID
	case "byte[]", "binary", "bytea", "varbinary":
		return tabular.ByteArray
	}
	return tabular.String
}
