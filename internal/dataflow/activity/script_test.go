package activity

import (
	"fmt"
	"strconv"
	"testing"
)

func TestBindParams(t *testing.T) {
	params := []scriptParam{{"id", int64(1)}, {"Name", "x"}}
	dollar := func(n int) string { return "$" + strconv.Itoa(n) }
	q := func(int) string { return "?" }
	for _, tc := range []struct {
		text string
		ph   func(int) string
		want string
		args string
	}{
		{"SELECT @id, @name, @id", dollar, "SELECT $1, $2, $1", "[1 x]"},
		{"SELECT @id, @name, @id", q, "SELECT ?, ?, ?", "[1 x 1]"},
		{"SELECT '@id', \"@id\", @other -- @id\n, @id /* @name */", q, "SELECT '@id', \"@id\", @other -- @id\n, ? /* @name */", "[1]"},
		{"SELECT @@version, @id2", q, "SELECT @@version, @id2", "[]"},
	} {
		got, args := bindParams(tc.text, params, tc.ph)
		if got != tc.want || fmt.Sprint(args) != tc.args {
			t.Errorf("bindParams(%q) = %q %v, want %q %s", tc.text, got, args, tc.want, tc.args)
		}
	}
}

func FuzzBindParams(f *testing.F) {
	for _, s := range []string{"SELECT @a", "'@a", "/* @a", "-- @a", "@", "@a@a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, args := bindParams(s, []scriptParam{{"a", int64(1)}}, func(int) string { return "?" })
		if len(got) < len(s)-2*len(args) {
			t.Fatalf("bindParams(%q) lost text: %q", s, got)
		}
	})
}
