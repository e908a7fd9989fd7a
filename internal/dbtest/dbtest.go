// Package dbtest gives tests a real PostgreSQL or MariaDB database of their
// own: one server of each per test process (or per test run, when
// scripts/test.sh started them and exported their URLs), a fresh database
// per test, dropped when the test ends.
//
// The servers come from the project's scripts (scripts/postgres.sh,
// scripts/mariadb.sh), which install Debian's packages when missing. When a
// server cannot be had, the test is skipped saying why; under CI=true it
// fails instead, so a CI run never passes by skipping.
//
// dbtest is for tests only.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql" // the "mysql" database/sql driver
	"github.com/jackc/pgx/v5"
)

// Environment variables naming a server already running (scripts/test.sh
// sets them): the URL of its administrative database.
const (
	EnvPostgres = "CIEL_TEST_PG_URL"    // postgres://postgres@127.0.0.1:PORT/postgres?sslmode=disable
	EnvMySQL    = "CIEL_TEST_MYSQL_URL" // mysql://root@127.0.0.1:PORT/
)

// DB is one test's database.
type DB struct {
	URL  string // postgres://user@host:port/name?sslmode=disable or mysql://user@host:port/name
	Host string
	Port int
	Name string // the database
	User string // a superuser without a password
}

// DSN is the database's go-sql-driver/mysql data source name
// (user@tcp(host:port)/name), for a MySQL database.
func (d DB) DSN() string {
	return fmt.Sprintf("%s@tcp(%s:%d)/%s", d.User, d.Host, d.Port, d.Name)
}

// Properties returns a linked service's typeProperties that reach the
// database: PostgreSqlV2's (server, port, database, username, sslMode) for
// PostgreSQL, MySql's (server, port, database, username) for MySQL.
func (d DB) Properties() map[string]any {
	p := map[string]any{"server": d.Host, "port": d.Port, "database": d.Name, "username": d.User}
	if strings.HasPrefix(d.URL, "postgres") {
		p["sslMode"] = 0 // PostgreSqlV2's "disable"
	}
	return p
}

// server is a running server: its admin URL, or why there is none.
type server struct {
	once  sync.Once
	admin string
	err   error
}

// One server per kind per process: package state, but only in a test
// helper, where the process is the run.
var (
	pg server
	my server
)

// Postgres returns a fresh PostgreSQL database for t, dropped at cleanup.
func Postgres(t testing.TB) DB {
	t.Helper()
	admin := pg.get(t, EnvPostgres, "postgres.sh")
	name := dbName(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		unavailable(t, fmt.Errorf("connect to %s: %w", admin, err))
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("dbtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Logf("dbtest: drop database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("dbtest: drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("dbtest: %s: %v", EnvPostgres, err)
	}
	u.Path = "/" + name
	return fromURL(t, u)
}

// MySQL returns a fresh MariaDB (MySQL) database for t, dropped at cleanup.
func MySQL(t testing.TB) DB {
	t.Helper()
	admin := my.get(t, EnvMySQL, "mariadb.sh")
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("dbtest: %s: %v", EnvMySQL, err)
	}
	u.Path = "/"
	d := fromURL(t, u)
	adminDB, err := sql.Open("mysql", d.DSN())
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	defer adminDB.Close()
	name := dbName(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := adminDB.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		unavailable(t, fmt.Errorf("create database %s at %s: %w", name, admin, err))
	}
	t.Cleanup(func() {
		db, err := sql.Open("mysql", d.DSN())
		if err != nil {
			return
		}
		defer db.Close()
		if _, err := db.Exec("DROP DATABASE IF EXISTS " + name); err != nil {
			t.Logf("dbtest: drop database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	d.URL = u.String()
	d.Name = name
	return d
}

func fromURL(t testing.TB, u *url.URL) DB {
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatalf("dbtest: port of %s: %v", u.Redacted(), err)
	}
	return DB{URL: u.String(), Host: u.Hostname(), Port: port, Name: strings.TrimPrefix(u.Path, "/"), User: u.User.Username()}
}

// get returns the server's admin URL: the environment's, or one the script
// starts under a temporary folder, watched so it stops when this process
// ends.
func (s *server) get(t testing.TB, env, script string) string {
	t.Helper()
	s.once.Do(func() {
		if u := os.Getenv(env); u != "" {
			s.admin = u
			return
		}
		s.admin, s.err = startServer(script)
	})
	if s.err != nil {
		unavailable(t, s.err)
	}
	return s.admin
}

func startServer(script string) (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "ciel-test-"+strings.TrimSuffix(script, ".sh")+"-")
	if err != nil {
		return "", err
	}
	cmd := exec.Command(filepath.Join(root, "scripts", script), "start", dir, "--owner", strconv.Itoa(os.Getpid()))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("scripts/%s start: %w: %s", script, err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

// repoRoot finds the module's root (where scripts/ is) above the working
// directory, which go test sets to the package's folder.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "scripts", "postgres.sh")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no scripts/postgres.sh above the working directory")
		}
		dir = parent
	}
}

// unavailable skips t, or fails it under CI=true.
func unavailable(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("dbtest: no database server (CI=true, so this fails rather than skips): %v", err)
	}
	t.Skipf("dbtest: no database server, skipping: %v", err)
}

// dbName is a fresh database name: t_ and random hex, valid unquoted in
// both servers.
func dbName(t testing.TB) string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "t_" + hex.EncodeToString(b[:])
}
