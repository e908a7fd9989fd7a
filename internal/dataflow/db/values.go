package db

import (
	"time"

	"github.com/ciel-mlops/ciel/internal/dataflow/tabular"
	"github.com/ciel-mlops/ciel/internal/dataflow/tabular/convert"
)

// Normalize turns a database/sql driver's value (int64, float64, bool,
// []byte, string, time.Time, nil) into tabular's value of column type t:
// text and decimals a driver hands over as bytes become strings, a
// TINYINT(1) read as Boolean becomes a bool.
func Normalize(v any, t tabular.Type) (any, error) {
	if t == "" {
		return v, nil // typed by the reader from its first values
	}
	var from tabular.Type
	switch x := v.(type) {
	case nil:
		return nil, nil
	case []byte:
		if t == tabular.ByteArray {
			return x, nil
		}
		v, from = string(x), tabular.String
	case string:
		from = tabular.String
	case int64:
		from = tabular.Int64
	case float64:
		from = tabular.Double
	case float32:
		v, from = float64(x), tabular.Single
	case bool:
		from = tabular.Boolean
	case time.Time:
		from = tabular.DateTime
	case uint64:
		v, from = int64(x), tabular.Int64
	case int32:
		v, from = int64(x), tabular.Int32
	}
	if from == t {
		return v, nil
	}
	return convert.Convert(v, from, t, &convert.Default)
}

// typeOf is the interim type of a driver's value, for columns whose
// declared type says nothing (SQLite expressions).
func typeOf(v any) tabular.Type {
	switch v.(type) {
	case int64:
		return tabular.Int64
	case float64:
		return tabular.Double
	case bool:
		return tabular.Boolean
	case []byte:
		return tabular.ByteArray
	case time.Time:
		return tabular.DateTime
	}
	return tabular.String
}
