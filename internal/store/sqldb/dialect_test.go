package sqldb

import (
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/ciel-mlops/ciel/internal/dbtest"
)

// With CIEL_TEST_STORE=postgres the package's tests run on PostgreSQL (a
// fresh database per test from dbtest) instead of SQLite files; tests of
// what only SQLite has (its file, its crash recovery) say so and skip.
var onPostgres = os.Getenv("CIEL_TEST_STORE") == "postgres"

// pgDatabases maps a test's SQLite path to the PostgreSQL database that
// stands for it, so that opening the same path again reopens the same data.
var pgDatabases sync.Map

// testConfig is the Config of the database a test means by path.
func testConfig(t testing.TB, path string) Config {
	t.Helper()
	if !onPostgres {
		return Config{Path: path}
	}
	if u, ok := pgDatabases.Load(path); ok {
		return Config{URL: u.(string)}
	}
	u := dbtest.Postgres(t).URL
	pgDatabases.Store(path, u)
	return Config{URL: u}
}

// sqliteOnly skips a test of what only the SQLite file has.
func sqliteOnly(t testing.TB) {
	t.Helper()
	if onPostgres {
		t.Skip("SQLite only: tests the database file")
	}
}

func TestToPostgres(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{`SELECT a FROM t WHERE x = ? AND y = ?`, `SELECT a FROM t WHERE x = $1 AND y = $2`},
		{`UPDATE t SET a = ?1 WHERE b = ?2 AND (?3 = '' OR c = ?3)`, `UPDATE t SET a = $1 WHERE b = $2 AND ($3 = '' OR c = $3)`},
		{`SELECT '?', "a?b", 'it''s ?' FROM t WHERE x = ?`, `SELECT '?', "a?b", 'it''s ?' FROM t WHERE x = $1`},
		{"SELECT 1 -- what?\nFROM t WHERE x = ?", "SELECT 1 -- what?\nFROM t WHERE x = $1"},
		{`SELECT v FROM t WHERE id IN (SELECT value FROM json_each(?)) AND k = ?`,
			`SELECT v FROM t WHERE id IN (SELECT value FROM json_array_elements_text(CAST($1 AS json))) AND k = $2`},
		{`SELECT a FROM t WHERE x = ?4 AND y = ?`, `SELECT a FROM t WHERE x = $4 AND y = $5`},
		{`SELECT 'unclosed ?`, `SELECT 'unclosed ?`},
	} {
		if got := toPostgres(tc.in); got != tc.want {
			t.Errorf("toPostgres(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

func FuzzToPostgres(f *testing.F) {
	f.Add(`SELECT a FROM t WHERE x = ?1 AND y = '?' -- ?`)
	f.Add(`json_each(?) "?" ?9 ?`)
	f.Fuzz(func(t *testing.T, q string) {
		out := translate(q)
		// No ? parameter is left outside quotes and comments: a second
		// pass finds nothing to change.
		if again := translate(out); again != out {
			t.Fatalf("translate(%q) = %q, then %q: a parameter was left", q, out, again)
		}
	})
}

// childConfig is the Config a crash test's child process opens: the parent
// passes a PostgreSQL URL or a SQLite path (testConfig's, as a string).
func childConfig(where string) Config {
	if strings.HasPrefix(where, "postgres://") {
		return Config{URL: where}
	}
	return Config{Path: where}
}

// where is how a crash test tells its child the database of cfg.
func where(cfg Config) string { return cfg.URL + cfg.Path }
