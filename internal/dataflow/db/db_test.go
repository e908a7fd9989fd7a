package db

import (
	"strings"
	"testing"
)

func TestParseConn(t *testing.T) {
	for _, tc := range []struct {
		name  string
		props map[string]any
		want  Conn
	}{
		{"PostgreSqlV2 properties", map[string]any{"server": "h", "port": int64(6543), "database": "d", "username": "u",
			"password": map[string]any{"type": "SecureString", "value": "p"}, "sslMode": int64(3)},
			Conn{Host: "h", Port: 6543, Database: "d", User: "u", Password: "p", SSLMode: "require"}},
		{"npgsql string", map[string]any{"connectionString": "host=h;port=5433;database=d;uid=u;pwd=p"},
			Conn{Host: "h", Port: 5433, Database: "d", User: "u", Password: "p"}},
		{"mysql string, default port", map[string]any{"connectionString": "Server=h;Database=d;Uid=u;Pwd=p;SslMode=Preferred"},
			Conn{Host: "h", Port: 9, Database: "d", User: "u", Password: "p", SSLMode: "prefer"}},
		{"url", map[string]any{"connectionString": "postgres://u:p%40ss@h:1/d?sslmode=disable"},
			Conn{Host: "h", Port: 1, Database: "d", User: "u", Password: "p@ss", SSLMode: "disable"}},
		{"properties win over the string", map[string]any{"connectionString": "Server=a;Database=x", "server": "b", "port": "7"},
			Conn{Host: "b", Port: 7, Database: "x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseConn(tc.props, 9)
			if err != nil || got != tc.want {
				t.Fatalf("ParseConn = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
	for _, bad := range []map[string]any{{}, {"server": "h", "port": "x"}, {"server": "h", "port": int64(70000)},
		{"server": "h", "sslMode": int64(9)}, {"connectionString": "host"}} {
		if _, err := ParseConn(bad, 1); err == nil {
			t.Errorf("ParseConn(%v): no error", bad)
		}
	}
}

func TestParseTable(t *testing.T) {
	for _, tc := range []struct {
		props map[string]any
		want  Table
	}{
		{map[string]any{"schema": "s", "table": "t"}, Table{"s", "t"}},
		{map[string]any{"tableName": "orders"}, Table{"", "orders"}},
		{map[string]any{"tableName": `"my.schema"."Orders"`}, Table{"my.schema", "Orders"}},
		{map[string]any{"tableName": "[dbo].[o]"}, Table{"dbo", "o"}},
		{map[string]any{"tableName": "`db`.`o`"}, Table{"db", "o"}},
	} {
		got, err := ParseTable(tc.props)
		if err != nil || got != tc.want {
			t.Errorf("ParseTable(%v) = %+v, %v; want %+v", tc.props, got, err, tc.want)
		}
	}
	for _, bad := range []map[string]any{{}, {"tableName": "a.b.c"}, {"table": "a\x00"}} {
		if _, err := ParseTable(bad); err == nil {
			t.Errorf("ParseTable(%v): no error", bad)
		}
	}
}

func FuzzParseConn(f *testing.F) {
	for _, s := range []string{"host=h;port=5433;database=d;uid=u;pwd=p", "Server=h:1;Database=d", "postgres://u:p@h:1/d", "a=b=c;;", "mysql://%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseConn(map[string]any{"connectionString": s}, 5432)
		if err == nil && (c.Host == "" || c.Port <= 0 || c.Port > 65535) {
			t.Fatalf("ParseConn(%q) = %+v without error", s, c)
		}
	})
}

func FuzzParseTable(f *testing.F) {
	for _, s := range []string{"a", "a.b", `"a"."b"`, "[a].[b", "`a`"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tb, err := ParseTable(map[string]any{"tableName": s})
		if err == nil && (strings.ContainsRune(tb.Name+tb.Schema, 0) || tb.Name == "" && s == "") {
			t.Fatalf("ParseTable(%q) = %+v without error", s, tb)
		}
	})
}
