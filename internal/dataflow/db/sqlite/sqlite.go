// Package sqlite reaches SQLite database files (ciel's Sqlite linked
// service; Data Factory has none) through modernc.org/sqlite.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver

	"github.com/ciel-mlops/ciel/internal/dataflow/db"
	"github.com/ciel-mlops/ciel/internal/dataflow/tabular"
)

// Open opens the database file a linked service's evaluated
// typeProperties name: path, or a connectionString "Data Source=PATH".
func Open(ctx context.Context, props map[string]any) (*db.SQL, error) {
	path, _ := props["path"].(string)
	if cs, ok := props["connectionString"].(string); ok && path == "" {
		for _, part := range strings.Split(cs, ";") {
			k, v, _ := strings.Cut(part, "=")
			if k = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(k), " ", "")); k == "datasource" || k == "path" {
				path = strings.TrimSpace(v)
			}
		}
	}
	if path == "" {
		return nil, errors.New("sqlite: no path (typeProperties.path)")
	}
	if strings.ContainsRune(path, 0) {
		return nil, errors.New("sqlite: path holds a NUL")
	}
	escaped := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(filepath.Clean(path))
	sdb, err := sql.Open("sqlite", "file:"+escaped+"?_pragma=busy_timeout(10000)&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	if err := sdb.PingContext(ctx); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return &db.SQL{DB: sdb, Dialect: Dialect{}}, nil
}

// Dialect is SQLite's SQL.
type Dialect struct{}

var _ db.Dialect = Dialect{}

// Quote quotes an identifier with double quotes.
func (Dialect) Quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// MaxParams is SQLITE_MAX_VARIABLE_NUMBER's default since 3.32.
func (Dialect) MaxParams() int { return 32766 }

// Type maps a declared column type to an interim type by SQLite's affinity
// rules, with the usual names for dates and Booleans; "" (an expression,
// typed by its values) is left to the reader.
func (Dialect) Type(ct *sql.ColumnType) tabular.Type {
	n := strings.ToUpper(ct.DatabaseTypeName())
	switch {
	case n == "":
		return ""
	case strings.HasPrefix(n, "BOOL"):
		return tabular.Boolean
	case n == "DATE":
		return tabular.Date
	case strings.HasPrefix(n, "DATETIME") || strings.HasPrefix(n, "TIMESTAMP"):
		return tabular.DateTime
	case strings.Contains(n, "INT"):
		return tabular.Int64
	case strings.Contains(n, "CHAR") || strings.Contains(n, "CLOB") || strings.Contains(n, "TEXT"):
		return tabular.String
	case strings.Contains(n, "BLOB"):
		return tabular.ByteArray
	case strings.Contains(n, "REAL") || strings.Contains(n, "FLOA") || strings.Contains(n, "DOUB"):
		return tabular.Double
	case strings.HasPrefix(n, "DECIMAL") || strings.HasPrefix(n, "NUMERIC"):
		return tabular.Decimal
	}
	return tabular.String
}

// DDL is the declared type autoCreate gives an interim type.
func (Dialect) DDL(c tabular.Column) string {
	switch c.Type {
	case tabular.Int16, tabular.Int32, tabular.Int64:
		return "INTEGER"
	case tabular.Single, tabular.Double:
		return "REAL"
	case tabular.Decimal:
		return "DECIMAL"
	case tabular.Boolean:
		return "BOOLEAN"
	case tabular.DateTime, tabular.DateTimeOffset:
		return "DATETIME"
	case tabular.Date:
		return "DATE"
	case tabular.ByteArray:
		return "BLOB"
	}
	return "TEXT"
}

// TempTable creates the upsert's temporary table.
func (Dialect) TempTable(target, tmp string, cols []string) string {
	return "CREATE TEMP TABLE " + tmp + " AS SELECT " + strings.Join(cols, ", ") + " FROM " + target + " WHERE 0"
}

// Upsert updates the rows whose keys match (NULL matching NULL: IS) and
// inserts the others.
func (Dialect) Upsert(target, tmp string, cols, keys []string) []string {
	var on, set []string
	for _, k := range keys {
		on = append(on, "t."+k+" IS s."+k)
	}
	for _, c := range cols {
		isKey := false
		for _, k := range keys {
			isKey = isKey || k == c
		}
		if !isKey {
			set = append(set, c+" = s."+c)
		}
	}
	var out []string
	if len(set) > 0 {
		out = append(out, "UPDATE "+target+" AS t SET "+strings.Join(set, ", ")+" FROM "+tmp+" AS s WHERE "+strings.Join(on, " AND "))
	}
	sel := make([]string, len(cols))
	for i, c := range cols {
		sel[i] = "s." + c
	}
	out = append(out, "INSERT INTO "+target+" ("+strings.Join(cols, ", ")+") SELECT "+strings.Join(sel, ", ")+" FROM "+tmp+
		" AS s WHERE NOT EXISTS (SELECT 1 FROM "+target+" AS t WHERE "+strings.Join(on, " AND ")+")")
	return out
}

// NoTable reports SQLite's "no such table".
func (Dialect) NoTable(err error) bool { return strings.Contains(err.Error(), "no such table") }

var columnRe = regexp.MustCompile(`constraint failed: ([^\s,()]+)`)

// ErrColumn is the column of a NOT NULL or UNIQUE failure ("NOT NULL
// constraint failed: t.x").
func (Dialect) ErrColumn(err error) string {
	m := columnRe.FindStringSubmatch(err.Error())
	if m == nil {
		return ""
	}
	return m[1][strings.LastIndexByte(m[1], '.')+1:]
}
