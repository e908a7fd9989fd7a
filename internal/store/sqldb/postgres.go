package sqldb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// openPostgres opens the PostgreSQL database at url: one connection for
// the writer, a pool of read-only ones for readers.
func openPostgres(ctx context.Context, url string) (*Store, error) {
	// The URL may carry a password: errors name the host and database only.
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("open postgres store: bad URL: %w", redact(err))
	}
	where := fmt.Sprintf("postgres store %s:%d/%s", cfg.Host, cfg.Port, cfg.Database)
	wdb := sql.OpenDB(pgConnector{stdlib.GetConnector(*cfg)})
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	s := &Store{d: postgresDialect, wdb: wdb, runs: newRunCache()}
	fail := func(err error) (*Store, error) {
		s.closeHandles()
		return nil, fmt.Errorf("open %s: %w", where, err)
	}
	if err := wdb.PingContext(ctx); err != nil {
		return fail(redact(err))
	}
	if err := migrate(ctx, wdb, s.d); err != nil {
		return fail(err)
	}
	rcfg := cfg.Copy()
	if rcfg.RuntimeParams == nil {
		rcfg.RuntimeParams = map[string]string{}
	}
	rcfg.RuntimeParams["default_transaction_read_only"] = "on"
	s.rdb = sql.OpenDB(pgConnector{stdlib.GetConnector(*rcfg)})
	if err := s.start(ctx); err != nil {
		return fail(err)
	}
	return s, nil
}

// Passwords as pgx may quote them in its errors: in a URL, and as a
// key=value setting.
var (
	urlPassword = regexp.MustCompile(`(://[^:/@\s]*:)[^@\s]*@`)
	kvPassword  = regexp.MustCompile(`(password=)\S+`)
)

// redact keeps a password that pgx quotes in its errors out of ours.
func redact(err error) error {
	msg := urlPassword.ReplaceAllString(err.Error(), "${1}xxxxx@")
	return errors.New(kvPassword.ReplaceAllString(msg, "${1}xxxxx"))
}

// pgConnector makes pgx connections that take the store's queries as
// written (SQLite's parameters) and hand PostgreSQL its own (toPostgres).
type pgConnector struct{ base driver.Connector }

func (c pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	cn, err := c.base.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &pgConn{cn.(*stdlib.Conn)}, nil
}

func (c pgConnector) Driver() driver.Driver { return c.base.Driver() }

// pgConn is a pgx connection whose every query passes through toPostgres;
// the rest (transactions, named values, pings, resets) is pgx's own.
type pgConn struct{ *stdlib.Conn }

func (c *pgConn) Prepare(query string) (driver.Stmt, error) {
	return c.Conn.Prepare(toPostgres(query))
}

func (c *pgConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.PrepareContext(ctx, toPostgres(query))
}

func (c *pgConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.ExecContext(ctx, toPostgres(query), args)
}

func (c *pgConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.Conn.QueryContext(ctx, toPostgres(query), args)
}

// Most queries are constants, so their translations are kept; built
// queries (searches) vary, so the cache stops growing at a bound.
var (
	pgQueries     sync.Map // SQLite text -> PostgreSQL text
	pgQueriesSize atomic.Int64
)

const pgQueriesMax = 4096

// jsonEach is SQLite's table of a JSON array parameter's values.
var jsonEach = regexp.MustCompile(`json_each\((\?\d*)\)`)

// toPostgres turns a query written for both databases into PostgreSQL's:
// ? and ?N parameters become $N (a bare ? takes the number after the
// highest so far, as in SQLite), and json_each(?) of a JSON array
// parameter becomes json_array_elements_text. Quoted text is left alone.
func toPostgres(q string) string {
	if v, ok := pgQueries.Load(q); ok {
		return v.(string)
	}
	out := translate(q)
	if pgQueriesSize.Load() < pgQueriesMax {
		if _, loaded := pgQueries.LoadOrStore(q, out); !loaded {
			pgQueriesSize.Add(1)
		}
	}
	return out
}

func translate(q string) string {
	q = jsonEach.ReplaceAllString(q, "json_array_elements_text(CAST($1 AS json))")
	var b strings.Builder
	b.Grow(len(q) + 16)
	highest := 0
	for i := 0; i < len(q); {
		switch c := q[i]; {
		case c == '\'' || c == '"':
			j := closingQuote(q, i)
			b.WriteString(q[i:j])
			i = j
		case c == '-' && strings.HasPrefix(q[i:], "--"):
			j := strings.IndexByte(q[i:], '\n')
			if j < 0 {
				j = len(q) - i
			}
			b.WriteString(q[i : i+j])
			i += j
		case c == '?':
			j := i + 1
			for j < len(q) && q[j] >= '0' && q[j] <= '9' {
				j++
			}
			n := highest + 1
			if j > i+1 {
				n, _ = strconv.Atoi(q[i+1 : j])
			}
			highest = max(highest, n)
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

// closingQuote returns the index just past the quoted text starting at
// q[i] (a doubled quote is one quote character inside it).
func closingQuote(q string, i int) int {
	quote := q[i]
	for j := i + 1; j < len(q); j++ {
		if q[j] != quote {
			continue
		}
		if j+1 < len(q) && q[j+1] == quote {
			j++
			continue
		}
		return j + 1
	}
	return len(q)
}
