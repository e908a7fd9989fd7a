package activity

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"strconv"
	"time"

	"github.com/ciel-mlops/ciel/internal/dataflow/tabular"
)

func init() { funcs["Lookup"] = runLookup }

// Data Factory's bounds on a Lookup's output: the first 5000 rows are
// returned, and an output over 4 MB fails the activity.
const (
	lookupMaxRows  = 5000
	lookupMaxBytes = 4 << 20
)

// runLookup runs a Lookup: its dataset's rows (a table, a query, files)
// as output.firstRow (firstRowOnly, the default) or output.count and
// output.value.
func runLookup(ctx context.Context, env *Env, c Call) (map[string]any, error) {
	if len(c.Inputs) != 1 {
		return nil, &Error{Code: "2100", Msg: fmt.Sprintf("Lookup %q: want one dataset, got %d", c.Name, len(c.Inputs))}
	}
	source, _ := c.TypeProperties["source"].(map[string]any)
	firstOnly := true
	if b, ok := c.TypeProperties["firstRowOnly"].(bool); ok {
		firstOnly = b
	}
	r, err := env.OpenSource(ctx, c.Inputs[0], source)
	if err != nil {
		return nil, &Error{Code: "2100", Msg: fmt.Sprintf("Lookup %q: dataset %q: %v", c.Name, c.Inputs[0].Name, err)}
	}
	defer r.Close()
	limit := lookupMaxRows
	if firstOnly {
		limit = 1
	}
	schema := r.Schema()
	var rows []any
	size, more := 0, false
	for len(rows) < limit && !more {
		b, err := r.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, &Error{Code: "2100", Msg: fmt.Sprintf("Lookup %q: %v", c.Name, err)}
		}
		for _, row := range b {
			if len(rows) == limit {
				more = true
				break
			}
			obj := RowObject(schema, row)
			js, _ := json.Marshal(obj)
			if size += len(js); size > lookupMaxBytes {
				return nil, &Error{Code: "2100", Msg: fmt.Sprintf("Lookup %q: the output exceeds Data Factory's 4 MB limit for a Lookup; narrow the query", c.Name)}
			}
			rows = append(rows, obj)
		}
	}
	if more && !firstOnly && env.Log != nil {
		env.Log.Warn("Lookup returns the first 5000 rows only, as Data Factory does", slog.String("activity", c.Name))
	}
	if firstOnly {
		if len(rows) == 0 {
			return map[string]any{}, nil
		}
		return map[string]any{"firstRow": rows[0]}, nil
	}
	if rows == nil {
		rows = []any{}
	}
	return map[string]any{"count": int64(len(rows)), "value": rows}, nil
}

// RowObject turns a row into the JSON object a Lookup or Script reports:
// column name to value, as expressions see it (JSONValue).
func RowObject(schema tabular.Schema, row []any) map[string]any {
	obj := make(map[string]any, len(schema))
	for i, c := range schema {
		obj[c.Name] = JSONValue(row[i], c.Type)
	}
	return obj
}

// JSONValue is a row value as a JSON value expressions see: numbers as
// int64 or float64 (a Decimal too: an integral one as int64 when it fits),
// dates as ISO 8601 strings (2026-11-01T10:00:00Z for DateTimeOffset,
// without the zone for DateTime), bytes as base64.
func JSONValue(v any, t tabular.Type) any {
	switch x := v.(type) {
	case time.Time:
		switch t {
		case tabular.DateTimeOffset:
			return x.UTC().Format("2006-01-02T15:04:05.9999999Z07:00")
		case tabular.Date:
			return x.Format("2006-01-02T00:00:00")
		}
		return x.Format("2006-01-02T15:04:05.9999999")
	case []byte:
		return base64.StdEncoding.EncodeToString(x)
	case string:
		if t == tabular.Decimal {
			if n, err := strconv.ParseInt(x, 10, 64); err == nil {
				return n
			}
			if r, ok := new(big.Rat).SetString(x); ok {
				if r.IsInt() && r.Num().IsInt64() {
					return r.Num().Int64()
				}
				f, _ := r.Float64()
				return f
			}
		}
		return x
	}
	return v
}

var errNoLinkedService = errors.New("no linkedServiceName")
