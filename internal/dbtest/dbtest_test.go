package dbtest

import (
	"context"
	"database/sql"
	"testing"

	"github.com/jackc/pgx/v5"
)

// Two tests get two databases of one server, each empty and usable.
func TestPostgresDatabasesAreSeparate(t *testing.T) {
	a, b := Postgres(t), Postgres(t)
	if a.Name == b.Name || a.Port != b.Port {
		t.Fatalf("want two databases of one server, got %+v and %+v", a, b)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, a.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var name string
	if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&name); err != nil || name != a.Name {
		t.Fatalf("current_database() = %q, %v; want %q", name, err, a.Name)
	}
}

func TestMySQLDatabasesAreSeparate(t *testing.T) {
	a, b := MySQL(t), MySQL(t)
	if a.Name == b.Name || a.Port != b.Port {
		t.Fatalf("want two databases of one server, got %+v and %+v", a, b)
	}
	db, err := sql.Open("mysql", b.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var name string
	if err := db.QueryRow("SELECT DATABASE()").Scan(&name); err != nil || name != b.Name {
		t.Fatalf("DATABASE() = %q, %v; want %q", name, err, b.Name)
	}
}
