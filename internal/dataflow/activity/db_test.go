package activity

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"

	"github.com/ciel-mlops/ciel/internal/dbtest"
)

// server is a test's database of one kind: how to reach it as a linked
// service and as a dataset, and a plain connection for setup and checks.
type server struct {
	kind  string // postgres, mysql
	ls    LinkedService
	exec  func(t *testing.T, q string)
	query func(t *testing.T, q string) [][]any
}

func pgServer(t *testing.T) server {
	d := dbtest.Postgres(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, d.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	return server{
		kind: "postgres",
		ls:   LinkedService{Name: "pg", Type: "PostgreSqlV2", Properties: d.Properties()},
		exec: func(t *testing.T, q string) {
			t.Helper()
			if _, err := conn.Exec(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		},
		query: func(t *testing.T, q string) [][]any {
			t.Helper()
			rows, err := conn.Query(ctx, q)
			if err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			defer rows.Close()
			var out [][]any
			for rows.Next() {
				v, err := rows.Values()
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, v)
			}
			return out
		},
	}
}

func myServer(t *testing.T) server {
	d := dbtest.MySQL(t)
	sdb, err := sql.Open("mysql", d.DSN()+"?multiStatements=true&parseTime=true")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sdb.Close() })
	// The linked service's older form: a connection string.
	cs := fmt.Sprintf("Server=%s;Port=%d;Database=%s;Uid=%s;Pwd=", d.Host, d.Port, d.Name, d.User)
	return server{
		kind: "mysql",
		ls:   LinkedService{Name: "maria", Type: "MariaDB", Properties: map[string]any{"connectionString": cs}},
		exec: func(t *testing.T, q string) {
			t.Helper()
			if _, err := sdb.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		},
		query: func(t *testing.T, q string) [][]any {
			t.Helper()
			rows, err := sdb.Query(q)
			if err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			defer rows.Close()
			cols, _ := rows.Columns()
			var out [][]any
			for rows.Next() {
				v := make([]any, len(cols))
				p := make([]any, len(cols))
				for i := range v {
					p[i] = &v[i]
				}
				if err := rows.Scan(p...); err != nil {
					t.Fatal(err)
				}
				for i, x := range v {
					if b, ok := x.([]byte); ok {
						v[i] = string(b)
					}
				}
				out = append(out, v)
			}
			return out
		},
	}
}

func (s server) table(name string) Dataset {
	typ := "PostgreSqlV2Table"
	if s.kind == "mysql" {
		typ = "MySqlTable"
	}
	return Dataset{Name: name + "_ds", Type: typ, Properties: map[string]any{"table": name}, LinkedService: s.ls}
}

func (s server) count(t *testing.T, table string) int64 {
	t.Helper()
	v := s.query(t, "SELECT COUNT(*) FROM "+table)[0][0]
	switch n := v.(type) {
	case int64:
		return n
	case string:
		var x int64
		fmt.Sscan(n, &x)
		return x
	}
	t.Fatalf("count: %T", v)
	return 0
}

func run(t *testing.T, typ string, c Call) (map[string]any, error) {
	t.Helper()
	f, ok := For(typ)
	if !ok {
		t.Fatalf("no activity %s", typ)
	}
	c.Type = typ
	if c.Name == "" {
		c.Name = "act"
	}
	return f(context.Background(), &Env{}, c)
}

func mustRun(t *testing.T, typ string, c Call) map[string]any {
	t.Helper()
	out, err := run(t, typ, c)
	if err != nil {
		t.Fatalf("%s: %v", typ, err)
	}
	return out
}

// Copy between every pair of real databases: each column's value arrives
// as the sink's type, rows counted as Data Factory reports them.
func TestCopyTableToTable(t *testing.T) {
	const create = `CREATE TABLE src (id INT PRIMARY KEY, name VARCHAR(40), price DECIMAL(10,2), qty BIGINT,
		ratio DOUBLE PRECISION, ok BOOLEAN, day DATE, at TIMESTAMP, note TEXT)`
	const fill = `INSERT INTO src VALUES (1, 'ann', 12.50, 3, 0.25, TRUE, '2026-11-01', '2026-11-01 10:20:30', NULL),
		(2, 'bob', 0.99, -4, 1e10, FALSE, '2025-01-31', '2025-01-31 23:59:59', 'héllo'),
		(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`
	for _, tc := range []struct{ from, to string }{{"postgres", "postgres"}, {"postgres", "mysql"}, {"mysql", "postgres"}, {"mysql", "mysql"}} {
		t.Run(tc.from+"_to_"+tc.to, func(t *testing.T) {
			servers := map[string]func(*testing.T) server{"postgres": pgServer, "mysql": myServer}
			src, dst := servers[tc.from](t), servers[tc.to](t)
			src.exec(t, create)
			src.exec(t, fill)
			dst.exec(t, strings.Replace(strings.Replace(create, "src", "dst", 1), "DOUBLE PRECISION", "DOUBLE PRECISION", 1))
			out := mustRun(t, "Copy", Call{
				Inputs: []Dataset{src.table("src")}, Outputs: []Dataset{dst.table("dst")},
				TypeProperties: map[string]any{"source": map[string]any{}, "sink": map[string]any{}},
			})
			if out["rowsRead"] != int64(3) || out["rowsCopied"] != int64(3) || out["rowsSkipped"] != int64(0) {
				t.Fatalf("output = %v", out)
			}
			got := dst.query(t, "SELECT id, name, CAST(price AS CHAR(20)), qty, ratio, ok, CAST(day AS CHAR(10)), CAST(at AS CHAR(19)), note FROM dst ORDER BY id")
			want := src.query(t, "SELECT id, name, CAST(price AS CHAR(20)), qty, ratio, ok, CAST(day AS CHAR(10)), CAST(at AS CHAR(19)), note FROM src ORDER BY id")
			if fmt.Sprint(norm(got)) != fmt.Sprint(norm(want)) {
				t.Errorf("sink rows:\n got %v\nwant %v", norm(got), norm(want))
			}
		})
	}
}

// norm prints values alike whichever driver read them.
func norm(rows [][]any) [][]string {
	var out [][]string
	for _, r := range rows {
		var s []string
		for _, v := range r {
			switch x := v.(type) {
			case bool:
				v = map[bool]int{true: 1, false: 0}[x]
			case int32:
				v = int64(x)
			case string:
				v = strings.TrimSpace(x)
			}
			s = append(s, fmt.Sprint(v))
		}
		out = append(out, s)
	}
	return out
}

// A translator maps columns by name and by ordinal, converting types, and
// additionalColumns add a copy of a column and a constant.
func TestCopyTranslatorAndAdditionalColumns(t *testing.T) {
	pg := pgServer(t)
	pg.exec(t, "CREATE TABLE src (a text, b text)")
	pg.exec(t, "INSERT INTO src VALUES ('42', '2026-11-01 10:00:00'), ('7', '2025-01-02 03:04:05')")
	pg.exec(t, "CREATE TABLE dst (n integer, at timestamp, a_copy text, origin text)")
	out := mustRun(t, "Copy", Call{
		Inputs: []Dataset{pg.table("src")}, Outputs: []Dataset{pg.table("dst")},
		TypeProperties: map[string]any{
			"source": map[string]any{"query": "SELECT a, b FROM src ORDER BY a DESC", "additionalColumns": []any{
				map[string]any{"name": "a2", "value": "$$COLUMN:a"},
				map[string]any{"name": "from", "value": "nightly"},
			}},
			"sink": map[string]any{},
			"translator": map[string]any{"type": "TabularTranslator", "mappings": []any{
				map[string]any{"source": map[string]any{"name": "a"}, "sink": map[string]any{"name": "n"}},
				map[string]any{"source": map[string]any{"ordinal": int64(2)}, "sink": map[string]any{"name": "at"}},
				map[string]any{"source": map[string]any{"name": "a2"}, "sink": map[string]any{"name": "a_copy"}},
				map[string]any{"source": map[string]any{"name": "from"}, "sink": map[string]any{"name": "origin"}},
			}},
		},
	})
	if out["rowsCopied"] != int64(2) {
		t.Fatalf("output = %v", out)
	}
	got := fmt.Sprint(pg.query(t, "SELECT n, at, a_copy, origin FROM dst ORDER BY n"))
	want := fmt.Sprint([][]any{{int32(7), time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), "7", "nightly"},
		{int32(42), time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC), "42", "nightly"}})
	if got != want {
		t.Errorf("dst = %s, want %s", got, want)
	}
}

// Upsert updates rows whose keys match, inserts the others, and of two
// rows of one key in the source keeps the later.
func TestCopyUpsert(t *testing.T) {
	for _, mk := range []func(*testing.T) server{pgServer, myServer} {
		s := mk(t)
		t.Run(s.kind, func(t *testing.T) {
			s.exec(t, "CREATE TABLE src (id INT, name VARCHAR(20), seq INT)")
			s.exec(t, "INSERT INTO src VALUES (1, 'one-new', 1), (3, 'three', 2), (3, 'three-later', 3)")
			s.exec(t, "CREATE TABLE dst (id INT, name VARCHAR(20), seq INT)") // no unique key: ADF's upsert needs none
			s.exec(t, "INSERT INTO dst VALUES (1, 'one', 0), (2, 'two', 0)")
			mustRun(t, "Copy", Call{
				Inputs: []Dataset{s.table("src")}, Outputs: []Dataset{s.table("dst")},
				TypeProperties: map[string]any{
					"source": map[string]any{"query": "SELECT * FROM src ORDER BY seq"},
					"sink":   map[string]any{"writeBehavior": "upsert", "upsertSettings": map[string]any{"keys": []any{"id"}}},
				},
			})
			got := fmt.Sprint(norm(s.query(t, "SELECT id, name FROM dst ORDER BY id")))
			if want := "[[1 one-new] [2 two] [3 three-later]]"; got != want {
				t.Errorf("dst = %s, want %s", got, want)
			}
		})
	}
}

// preCopyScript runs in the sink's transaction before the rows go in.
func TestCopyPreCopyScript(t *testing.T) {
	pg := pgServer(t)
	pg.exec(t, "CREATE TABLE src (id int)")
	pg.exec(t, "INSERT INTO src SELECT generate_series(1, 5)")
	pg.exec(t, "CREATE TABLE dst (id int)")
	pg.exec(t, "INSERT INTO dst VALUES (100), (101)")
	mustRun(t, "Copy", Call{
		Inputs: []Dataset{pg.table("src")}, Outputs: []Dataset{pg.table("dst")},
		TypeProperties: map[string]any{"source": map[string]any{}, "sink": map[string]any{
			"preCopyScript": "DELETE FROM dst WHERE id >= 100; INSERT INTO dst VALUES (0)"}},
	})
	if got := fmt.Sprint(pg.query(t, "SELECT sum(id), count(*) FROM dst")); got != "[[15 6]]" {
		t.Errorf("dst sum, count = %s, want [[15 6]]", got)
	}
}

// enableSkipIncompatibleRow drops rows that cannot be converted and rows
// the database refuses, naming each; without it the first such row fails
// the copy with its row and column.
func TestCopySkipIncompatibleRows(t *testing.T) {
	for _, mk := range []func(*testing.T) server{pgServer, myServer} {
		s := mk(t)
		t.Run(s.kind, func(t *testing.T) {
			s.exec(t, "CREATE TABLE src (seq INT, n VARCHAR(10), label VARCHAR(10))")
			s.exec(t, "INSERT INTO src VALUES (1, '1', 'a'), (2, 'x', 'b'), (3, '3', NULL), (4, '4', 'd')")
			s.exec(t, "CREATE TABLE dst (n INT, label VARCHAR(10) NOT NULL)")
			call := Call{
				Inputs: []Dataset{s.table("src")}, Outputs: []Dataset{s.table("dst")},
				TypeProperties: map[string]any{
					"source": map[string]any{"query": "SELECT n, label FROM src ORDER BY seq"}, "sink": map[string]any{},
				},
			}
			_, err := run(t, "Copy", call)
			var ae *Error
			if !errors.As(err, &ae) || ae.Row != 2 || ae.Column != "n" {
				t.Fatalf("without skipping: err = %#v, want row 2 column n", err)
			}
			if n := s.count(t, "dst"); n != 0 {
				t.Fatalf("a failed copy left %d rows", n)
			}
			call.TypeProperties["enableSkipIncompatibleRow"] = true
			call.TypeProperties["redirectIncompatibleRowSettings"] = map[string]any{
				"linkedServiceName": map[string]any{"referenceName": "logs", "type": "LinkedServiceReference"}, "path": "skipped/rows"}
			env, fsys := localEnv(t)
			env.LinkedServices = func(_ context.Context, name string, _ map[string]any) (LinkedService, error) {
				return LinkedService{Name: name, Type: "AzureBlobStorage", Properties: map[string]any{}}, nil
			}
			copyFn, _ := For("Copy")
			call.Name, call.Type = "act", "Copy"
			out, err := copyFn(context.Background(), env, call)
			if err != nil {
				t.Fatal(err)
			}
			checkSkipLog(t, fsys, out["logFilePath"], "skipped/rows/copyactivity-logs/act", []string{"row 2, column n", "row 3, column label"})
			if out["rowsRead"] != int64(4) || out["rowsCopied"] != int64(2) || out["rowsSkipped"] != int64(2) {
				t.Fatalf("output = %v", out)
			}
			sk := out["skippedRows"].([]skipped)
			if len(sk) != 2 || sk[0].Row != 2 || sk[0].Column != "n" || sk[1].Row != 3 || sk[1].Column != "label" {
				t.Errorf("skippedRows = %+v, want row 2 column n and row 3 column label", sk)
			}
			if got := fmt.Sprint(norm(s.query(t, "SELECT n, label FROM dst ORDER BY n"))); got != "[[1 a] [4 d]]" {
				t.Errorf("dst = %s", got)
			}
		})
	}
}

// A copy that fails after many batches were written leaves the sink as it
// was, preCopyScript included: one transaction.
func TestCopyFailureLeavesSinkUntouched(t *testing.T) {
	for _, mk := range []func(*testing.T) server{pgServer, myServer} {
		s := mk(t)
		t.Run(s.kind, func(t *testing.T) {
			s.exec(t, "CREATE TABLE src (seq INT, v VARCHAR(10))")
			if s.kind == "postgres" {
				s.exec(t, "INSERT INTO src SELECT i, i::text FROM generate_series(1, 20000) i")
			} else {
				s.exec(t, "INSERT INTO src SELECT seq, seq FROM seq_1_to_20000")
			}
			s.exec(t, "UPDATE src SET v = 'bad' WHERE seq = 19000")
			s.exec(t, "CREATE TABLE dst (v INT)")
			s.exec(t, "INSERT INTO dst VALUES (-1)")
			_, err := run(t, "Copy", Call{
				Inputs: []Dataset{s.table("src")}, Outputs: []Dataset{s.table("dst")},
				TypeProperties: map[string]any{
					"source": map[string]any{"query": "SELECT v FROM src ORDER BY seq"},
					"sink":   map[string]any{"preCopyScript": "DELETE FROM dst"},
				},
			})
			var ae *Error
			if !errors.As(err, &ae) || ae.Row != 19000 || ae.Column != "v" {
				t.Fatalf("err = %v, want row 19000 column v", err)
			}
			if got := fmt.Sprint(norm(s.query(t, "SELECT v FROM dst"))); got != "[[-1]]" {
				t.Errorf("dst = %s after a failed copy, want [[-1]]", got)
			}
		})
	}
}

// A table source is read in bounded batches: reading 100 MB of rows keeps
// the heap far below it.
func TestTableSourceStreams(t *testing.T) {
	pg := pgServer(t)
	r, err := (&Env{}).OpenSource(context.Background(), pg.table("x"), map[string]any{
		"query": "SELECT i, repeat('x', 1000) AS pad FROM generate_series(1, 100000) i"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var peak uint64
	var rows int
	var ms runtime.MemStats
	for {
		b, err := r.Next(context.Background())
		if err != nil {
			break
		}
		rows += len(b)
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapInuse)
	}
	if rows != 100000 {
		t.Fatalf("read %d rows, want 100000", rows)
	}
	if peak > 48<<20 {
		t.Errorf("heap in use peaked at %d MB reading 100 MB: not streamed", peak>>20)
	}
}

// Lookup: the first row, or count and value; as Data Factory's JSON.
func TestLookup(t *testing.T) {
	for _, mk := range []func(*testing.T) server{pgServer, myServer} {
		s := mk(t)
		t.Run(s.kind, func(t *testing.T) {
			s.exec(t, "CREATE TABLE wm (name VARCHAR(10), v BIGINT, at TIMESTAMP, amount DECIMAL(10,2))")
			s.exec(t, "INSERT INTO wm VALUES ('orders', 42, '2026-11-01 10:00:00', 12.50), ('items', 7, NULL, NULL)")
			ds := s.table("wm")
			out := mustRun(t, "Lookup", Call{Inputs: []Dataset{ds}, TypeProperties: map[string]any{
				"source": map[string]any{"query": "SELECT * FROM wm ORDER BY v DESC"}}})
			want := map[string]any{"firstRow": map[string]any{"name": "orders", "v": int64(42), "at": "2026-11-01T10:00:00", "amount": 12.5}}
			if !reflect.DeepEqual(out, want) {
				t.Errorf("firstRowOnly: %#v, want %#v", out, want)
			}
			out = mustRun(t, "Lookup", Call{Inputs: []Dataset{ds}, TypeProperties: map[string]any{
				"firstRowOnly": false, "source": map[string]any{"query": "SELECT name, v FROM wm ORDER BY v"}}})
			want = map[string]any{"count": int64(2), "value": []any{
				map[string]any{"name": "items", "v": int64(7)}, map[string]any{"name": "orders", "v": int64(42)}}}
			if !reflect.DeepEqual(out, want) {
				t.Errorf("all rows: %#v, want %#v", out, want)
			}
		})
	}
}

// Lookup returns Data Factory's first 5000 rows of a bigger result.
func TestLookupFirst5000Rows(t *testing.T) {
	pg := pgServer(t)
	out := mustRun(t, "Lookup", Call{Inputs: []Dataset{pg.table("x")}, TypeProperties: map[string]any{
		"firstRowOnly": false, "source": map[string]any{"query": "SELECT generate_series(1, 6000) AS i"}}})
	if out["count"] != int64(5000) || len(out["value"].([]any)) != 5000 {
		t.Fatalf("count = %v", out["count"])
	}
}

// Script: NonQuery with parameters, then Query result sets.
func TestScript(t *testing.T) {
	for _, mk := range []func(*testing.T) server{pgServer, myServer} {
		s := mk(t)
		t.Run(s.kind, func(t *testing.T) {
			ls := s.ls
			out := mustRun(t, "Script", Call{LinkedService: &ls, TypeProperties: map[string]any{"scripts": []any{
				map[string]any{"type": "NonQuery", "text": "CREATE TABLE t (id INT, name VARCHAR(20))"},
				map[string]any{"type": "NonQuery", "text": "INSERT INTO t VALUES (@id, @name), (@id + 1, '@name stays')",
					"parameters": []any{
						map[string]any{"name": "id", "type": "Int32", "value": "10", "direction": "Input"},
						map[string]any{"name": "name", "type": "String", "value": "ten"},
					}},
				map[string]any{"type": "Query", "text": "SELECT id, name FROM t ORDER BY id; SELECT COUNT(*) AS n FROM t"},
			}}})
			if out["recordsAffected"] != int64(2) || out["resultSetCount"] != int64(2) || out["outputTruncated"] != false {
				t.Fatalf("output = %v", out)
			}
			sets := out["resultSets"].([]any)
			first := sets[0].(map[string]any)
			want := []any{map[string]any{"id": int64(10), "name": "ten"}, map[string]any{"id": int64(11), "name": "@name stays"}}
			if first["rowCount"] != int64(2) || !reflect.DeepEqual(first["rows"], want) {
				t.Errorf("first result set = %v", first)
			}
			if n := sets[1].(map[string]any)["rows"].([]any)[0].(map[string]any)["n"]; n != int64(2) {
				t.Errorf("count = %#v", n)
			}
		})
	}
}

// A linked service of a type ciel cannot reach names itself and the types
// it can.
func TestOpenDatabaseRefusesUnknownType(t *testing.T) {
	_, err := OpenDatabase(context.Background(), LinkedService{Name: "ora", Type: "Oracle"})
	if err == nil || !strings.Contains(err.Error(), `"Oracle"`) || !strings.Contains(err.Error(), "PostgreSqlV2") {
		t.Fatalf("err = %v", err)
	}
}

// SQLite as a sink (autoCreate) and as a Lookup source, typed by its
// declared types and, for expressions, by their values.
func TestCopyToSQLiteAndLookup(t *testing.T) {
	pg := pgServer(t)
	pg.exec(t, "CREATE TABLE src (id int, name text, at timestamp)")
	pg.exec(t, "INSERT INTO src VALUES (1, 'a', '2026-11-01 10:00:00'), (2, 'b', NULL)")
	lite := LinkedService{Name: "lite", Type: "Sqlite", Properties: map[string]any{"path": t.TempDir() + "/x.db"}}
	dst := Dataset{Name: "dst", Type: "SqliteTable", Properties: map[string]any{"table": "dst"}, LinkedService: lite}
	mustRun(t, "Copy", Call{Inputs: []Dataset{pg.table("src")}, Outputs: []Dataset{dst},
		TypeProperties: map[string]any{"source": map[string]any{}, "sink": map[string]any{"tableOption": "autoCreate"}}})
	out := mustRun(t, "Lookup", Call{Inputs: []Dataset{dst}, TypeProperties: map[string]any{"firstRowOnly": false,
		"source": map[string]any{"query": "SELECT id, name, at, id * 2 AS twice FROM dst ORDER BY id"}}})
	want := map[string]any{"count": int64(2), "value": []any{
		map[string]any{"id": int64(1), "name": "a", "at": "2026-11-01T10:00:00", "twice": int64(2)},
		map[string]any{"id": int64(2), "name": "b", "at": nil, "twice": int64(4)}}}
	if !reflect.DeepEqual(out, want) {
		t.Errorf("lookup = %#v\nwant %#v", out, want)
	}
}
