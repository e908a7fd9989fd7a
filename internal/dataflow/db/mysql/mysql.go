// Package mysql reaches MySQL and MariaDB (linked services MySql,
// AzureMySql, MariaDB) through go-sql-driver/mysql: queries streamed row by
// row, tables written with batched multi-row INSERTs in one transaction.
package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	driver "github.com/go-sql-driver/mysql"

	"github.com/ciel-mlops/ciel/internal/dataflow/db"
	"github.com/ciel-mlops/ciel/internal/dataflow/tabular"
)

// Open connects to the database a linked service's evaluated
// typeProperties name (see db.ParseConn; port 3306 by default).
func Open(ctx context.Context, props map[string]any) (*db.SQL, error) {
	c, err := db.ParseConn(props, 3306)
	if err != nil {
		return nil, err
	}
	cfg := driver.NewConfig()
	cfg.User, cfg.Passwd = c.User, c.Password
	cfg.Net, cfg.Addr = "tcp", net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
	cfg.DBName = c.Database
	cfg.ParseTime, cfg.Loc = true, time.UTC
	// Statements are built here with placeholders; the driver fills them
	// in client-side instead of a prepare round trip per batch.
	cfg.InterpolateParams = true
	// preCopyScript and Script may hold several statements.
	cfg.MultiStatements = true
	cfg.Params = map[string]string{"time_zone": "'+00:00'"}
	switch c.SSLMode {
	case "disable":
		cfg.TLSConfig = "false"
	case "allow", "prefer":
		cfg.TLSConfig = "preferred"
	case "require":
		cfg.TLSConfig = "skip-verify"
	case "verify-ca", "verify-full":
		cfg.TLSConfig = "true"
	}
	if err := cfg.Apply(); err != nil {
		return nil, err
	}
	conn, err := driver.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	sdb := sql.OpenDB(conn)
	if err := sdb.PingContext(ctx); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("connect to mysql %s@%s/%s: %w", c.User, cfg.Addr, c.Database, err)
	}
	return &db.SQL{DB: sdb, Dialect: Dialect{}}, nil
}

// Dialect is MySQL's (and MariaDB's) SQL.
type Dialect struct{}

var _ db.Dialect = Dialect{}

// Quote quotes an identifier with backticks.
func (Dialect) Quote(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

// MaxParams is the protocol's bound on placeholders.
func (Dialect) MaxParams() int { return 65535 }

// Type maps MySQL's column types to interim types as Data Factory does.
func (Dialect) Type(ct *sql.ColumnType) tabular.Type {
	n := ct.DatabaseTypeName()
	if strings.HasPrefix(n, "UNSIGNED ") {
		switch strings.TrimPrefix(n, "UNSIGNED ") {
		case "TINYINT", "SMALLINT":
			return tabular.Int32
		case "MEDIUMINT", "INT":
			return tabular.Int64
		case "BIGINT":
			return tabular.Decimal
		}
	}
	switch n {
	case "TINYINT", "SMALLINT", "YEAR":
		return tabular.Int16
	case "MEDIUMINT", "INT":
		return tabular.Int32
	case "BIGINT":
		return tabular.Int64
	case "FLOAT":
		return tabular.Single
	case "DOUBLE":
		return tabular.Double
	case "DECIMAL":
		return tabular.Decimal
	case "DATE":
		return tabular.Date
	case "DATETIME", "TIMESTAMP":
		return tabular.DateTime
	case "TIME":
		return tabular.TimeSpan
	case "BINARY", "VARBINARY", "BLOB", "TINYBLOB", "MEDIUMBLOB", "LONGBLOB", "BIT", "GEOMETRY":
		return tabular.ByteArray
	case "BOOL", "BOOLEAN":
		return tabular.Boolean
	}
	return tabular.String
}

// DDL is the column type autoCreate gives an interim type.
func (Dialect) DDL(c tabular.Column) string {
	switch c.Type {
	case tabular.Int16:
		return "SMALLINT"
	case tabular.Int32:
		return "INT"
	case tabular.Int64:
		return "BIGINT"
	case tabular.Single:
		return "FLOAT"
	case tabular.Double:
		return "DOUBLE"
	case tabular.Decimal:
		if c.Precision > 0 {
			return fmt.Sprintf("DECIMAL(%d,%d)", min(c.Precision, 65), min(c.Scale, 30))
		}
		return "DECIMAL(38,18)"
	case tabular.Boolean:
		return "BOOLEAN"
	case tabular.DateTime, tabular.DateTimeOffset:
		return "DATETIME(6)"
	case tabular.Date:
		return "DATE"
	case tabular.TimeSpan:
		return "TIME(6)"
	case tabular.GUID:
		return "CHAR(36)"
	case tabular.ByteArray:
		return "LONGBLOB"
	}
	return "LONGTEXT"
}

// TempTable creates the upsert's temporary table (CREATE TEMPORARY TABLE
// commits nothing, unlike other DDL).
func (Dialect) TempTable(target, tmp string, cols []string) string {
	return "CREATE TEMPORARY TABLE " + tmp + " AS SELECT " + strings.Join(cols, ", ") + " FROM " + target + " WHERE 1=0"
}

// Upsert updates the target's rows whose keys match (NULL matching NULL,
// <=>) and inserts the others.
func (Dialect) Upsert(target, tmp string, cols, keys []string) []string {
	var on, set []string
	for _, k := range keys {
		on = append(on, "t."+k+" <=> s."+k)
	}
	for _, c := range cols {
		if !contains(keys, c) {
			set = append(set, "t."+c+" = s."+c)
		}
	}
	var out []string
	if len(set) > 0 {
		out = append(out, "UPDATE "+target+" t JOIN "+tmp+" s ON "+strings.Join(on, " AND ")+" SET "+strings.Join(set, ", "))
	}
	sel := make([]string, len(cols))
	for i, c := range cols {
		sel[i] = "s." + c
	}
	out = append(out, "INSERT INTO "+target+" ("+strings.Join(cols, ", ")+") SELECT "+strings.Join(sel, ", ")+" FROM "+tmp+
		" s WHERE NOT EXISTS (SELECT 1 FROM "+target+" t WHERE "+strings.Join(on, " AND ")+")")
	return out
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// NoTable is error 1146, ER_NO_SUCH_TABLE.
func (Dialect) NoTable(err error) bool {
	var me *driver.MySQLError
	return errors.As(err, &me) && me.Number == 1146
}

// columnRe finds the column in "Column 'x' cannot be null", "Data too long
// for column 'x'", "Incorrect integer value: 'a' for column `d`.`t`.`x`".
var columnRe = regexp.MustCompile("(?i)column ((?:[`'][^`']*[`']\\.?)+)")

// ErrColumn is the column a server error names.
func (Dialect) ErrColumn(err error) string {
	var me *driver.MySQLError
	if !errors.As(err, &me) {
		return ""
	}
	m := columnRe.FindStringSubmatch(me.Message)
	if m == nil {
		return ""
	}
	parts := strings.Split(m[1], ".")
	return strings.Trim(parts[len(parts)-1], "`'")
}
