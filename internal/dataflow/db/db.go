// Package db is what ciel's database backends share: a linked service's
// connection properties parsed, a table named by a dataset, the options of
// a table sink, the errors a sink reports about a row, and the
// database/sql machinery (reader, batched writer) the MySQL and SQLite
// backends are built on. Each backend lives in its own package
// (db/postgres, db/mysql, db/sqlite) with the same shape: Open(ctx,
// props) returning a *DB.
//
// db does not run activities (activity does) nor evaluate expressions: the
// properties it gets are already evaluated, secrets resolved.
package db

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/ciel-mlops/ciel/internal/dataflow/tabular"
)

// ErrNoTable is wrapped by errors about a table that does not exist.
var ErrNoTable = errors.New("no such table")

// Conn is where a database is and who connects: the union of the
// properties Data Factory's database linked services use, and of their
// older connectionString form.
type Conn struct {
	Host     string
	Port     int
	Database string
	User     string
	Password string
	// SSLMode is the server's word for it (disable, prefer, require,
	// verify-ca, verify-full); "" is the backend's default.
	SSLMode string
}

// ParseConn reads a database linked service's evaluated typeProperties:
// server (or host), port, database, username, password, sslMode, or a
// connectionString ("host=h;port=5432;database=d;uid=u;pwd=p",
// "Server=h;Database=d;Uid=u;Pwd=p", or a postgres:// / mysql:// URL);
// separate properties win over the string's. A password is a plain string
// or {"type": "SecureString", "value": ...}. defaultPort fills a missing
// port.
func ParseConn(props map[string]any, defaultPort int) (Conn, error) {
	var c Conn
	if cs := secret(props["connectionString"]); cs != "" {
		var err error
		if c, err = parseConnString(cs); err != nil {
			return Conn{}, fmt.Errorf("connectionString: %w", err)
		}
	}
	if s := str(props, "server", "host"); s != "" {
		c.Host = s
	}
	if s := str(props, "database", "databaseName"); s != "" {
		c.Database = s
	}
	if s := str(props, "username", "userName", "user", "uid"); s != "" {
		c.User = s
	}
	if p := secret(props["password"]); p != "" {
		c.Password = p
	}
	if v, ok := props["port"]; ok && v != nil {
		p, err := toInt(v)
		if err != nil {
			return Conn{}, fmt.Errorf("port: %w", err)
		}
		c.Port = p
	}
	if v, ok := props["sslMode"]; ok && v != nil {
		m, err := sslMode(v)
		if err != nil {
			return Conn{}, err
		}
		c.SSLMode = m
	}
	if c.Host == "" {
		return Conn{}, errors.New("no server: set typeProperties.server (or host in connectionString)")
	}
	if c.Port == 0 {
		c.Port = defaultPort
	}
	if c.Port <= 0 || c.Port > 65535 {
		return Conn{}, fmt.Errorf("port %d out of range", c.Port)
	}
	return c, nil
}

func parseConnString(cs string) (Conn, error) {
	if strings.Contains(cs, "://") {
		return parseConnURL(cs)
	}
	var c Conn
	for _, part := range strings.Split(cs, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return Conn{}, fmt.Errorf("%q is not key=value", k)
		}
		k = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(k), " ", ""))
		v = strings.Trim(strings.TrimSpace(v), `"'`)
		switch k {
		case "host", "server", "datasource", "address":
			h, p, found := strings.Cut(v, ":")
			c.Host = h
			if found {
				n, err := strconv.Atoi(p)
				if err != nil {
					return Conn{}, fmt.Errorf("port %q: %w", p, err)
				}
				c.Port = n
			}
		case "port":
			n, err := strconv.Atoi(v)
			if err != nil {
				return Conn{}, fmt.Errorf("port %q: %w", v, err)
			}
			c.Port = n
		case "database", "initialcatalog", "db", "dbname":
			c.Database = v
		case "uid", "userid", "user", "username":
			c.User = v
		case "pwd", "password":
			c.Password = v
		case "sslmode":
			m, err := sslMode(v)
			if err != nil {
				return Conn{}, err
			}
			c.SSLMode = m
		}
	}
	return c, nil
}

func parseConnURL(s string) (Conn, error) {
	u, err := url.Parse(s)
	if err != nil {
		return Conn{}, errors.New("not a URL") // the error would echo the password
	}
	c := Conn{Host: u.Hostname(), Database: strings.TrimPrefix(u.Path, "/")}
	if p := u.Port(); p != "" {
		if c.Port, err = strconv.Atoi(p); err != nil {
			return Conn{}, fmt.Errorf("port %q: %w", p, err)
		}
	}
	if u.User != nil {
		c.User = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	if m := u.Query().Get("sslmode"); m != "" {
		if c.SSLMode, err = sslMode(m); err != nil {
			return Conn{}, err
		}
	}
	return c, nil
}

// sslMode maps PostgreSqlV2's numeric sslMode (0 disable ... 5
// verify-full; MySQL's 0 disable ... 4 verify-identity) and the words to
// one word.
func sslMode(v any) (string, error) {
	modes := []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}
	if n, err := toInt(v); err == nil {
		if n < 0 || n >= len(modes) {
			return "", fmt.Errorf("sslMode %d: want 0 (disable) to 5 (verify-full)", n)
		}
		return modes[n], nil
	}
	s, _ := v.(string)
	words := map[string]string{
		"disable": "disable", "disabled": "disable", "none": "disable",
		"allow": "allow", "prefer": "prefer", "preferred": "prefer",
		"require": "require", "required": "require",
		"verify-ca": "verify-ca", "verify-full": "verify-full", "verify-identity": "verify-full",
	}
	if w, ok := words[strings.ToLower(strings.ReplaceAll(s, "_", "-"))]; ok {
		return w, nil
	}
	return "", fmt.Errorf("sslMode %q: want disable, prefer, require, verify-ca or verify-full", s)
}

// secret is a string property that may be a SecureString object.
func secret(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		if s, ok := x["value"].(string); ok {
			return s
		}
	}
	return ""
}

// str is the first non-empty string property of the names.
func str(props map[string]any, names ...string) string {
	for _, n := range names {
		if s, ok := props[n].(string); ok && s != "" {
			return s
		}
	}
	return ""
}

func toInt(v any) (int, error) {
	switch x := v.(type) {
	case int:
		return x, nil
	case int64:
		return int(x), nil
	case float64:
		if x == float64(int(x)) {
			return int(x), nil
		}
	case string:
		return strconv.Atoi(strings.TrimSpace(x))
	}
	return 0, fmt.Errorf("%v is not an integer", v)
}

// Table names a table: a schema (empty for the connection's default) and
// a name, unquoted.
type Table struct {
	Schema string
	Name   string
}

func (t Table) String() string {
	if t.Schema == "" {
		return t.Name
	}
	return t.Schema + "." + t.Name
}

// ParseTable reads the table a dataset's evaluated typeProperties name:
// schema and table, or the older tableName ("orders", "public.orders",
// `"public"."orders"`, "[dbo].[orders]", "`db`.`orders`").
func ParseTable(props map[string]any) (Table, error) {
	t := Table{Schema: str(props, "schema"), Name: str(props, "table")}
	if t.Name == "" {
		tn := str(props, "tableName")
		if tn == "" {
			return Table{}, errors.New("no table: set typeProperties.table (and schema), or a query in the source")
		}
		parts := splitQualified(tn)
		switch len(parts) {
		case 1:
			t.Name = parts[0]
		case 2:
			t.Schema, t.Name = parts[0], parts[1]
		default:
			return Table{}, fmt.Errorf("tableName %q: want table or schema.table", tn)
		}
	}
	for _, s := range []string{t.Schema, t.Name} {
		if strings.ContainsRune(s, 0) {
			return Table{}, fmt.Errorf("table %q holds a NUL", t.String())
		}
	}
	return t, nil
}

// splitQualified splits a.b at dots outside quotes, unquoting each part.
func splitQualified(s string) []string {
	var parts []string
	var cur strings.Builder
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '"' || r == '`':
			quote = r
		case r == '[':
			quote = ']'
		case r == '.':
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteRune(r)
		}
	}
	return append(parts, cur.String())
}

// SinkOptions says how a Copy writes a table.
type SinkOptions struct {
	Table Table
	// Columns are the columns written, by the table's names, in the
	// order of the rows' values; their types are the values' types.
	Columns tabular.Schema
	// Upsert updates the rows whose Keys match and inserts the others
	// (writeBehavior "upsert"); else rows are inserted.
	Upsert bool
	Keys   []string
	// PreCopyScript runs first, in the sink's transaction (on MySQL a
	// DDL statement commits implicitly: the server's rule).
	PreCopyScript string
	// AutoCreate creates the table from Columns when it does not exist
	// (tableOption "autoCreate").
	AutoCreate bool
	// SkipIncompatible drops the rows the database refuses, calling
	// OnSkip for each with its index in the batch given to Write; else a
	// refused row fails Write with a *RowError.
	SkipIncompatible bool
	OnSkip           func(index int, column string, err error)
}

// RowError is a row a sink refused: its index in the batch given to Write
// and, where the database says, the column.
type RowError struct {
	Index  int
	Column string
	Err    error
}

func (e *RowError) Error() string {
	if e.Column != "" {
		return fmt.Sprintf("row %d, column %q: %v", e.Index+1, e.Column, e.Err)
	}
	return fmt.Sprintf("row %d: %v", e.Index+1, e.Err)
}

func (e *RowError) Unwrap() error { return e.Err }

// Result is one result of a script: the rows it returned (at most the
// limit asked for; Truncated when there were more) and the rows it changed.
type Result struct {
	Columns      tabular.Schema
	Rows         [][]any
	Truncated    bool
	RowsAffected int64
}

// BatchRows is how many rows a reader returns at most per batch.
const BatchRows = 4096
