package expr

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// testNow is the clock the tests' Scope gives utcNow() and friends: the
// "suppose today is April 15, 2018 at 1:00:00 PM" of ADF's reference.
var testNow = time.Date(2018, 4, 15, 13, 0, 0, 0, time.UTC)

// testScope is a Scope with something behind every scope function.
func testScope() *Scope {
	activities := map[string]any{
		"Lookup1": map[string]any{
			"output": map[string]any{
				"firstRow": map[string]any{"id": int64(7), "Name": "orders", "watermark": "2026-11-01T00:00:00Z"},
				"count":    int64(2),
				"value":    []any{map[string]any{"table": "a"}, map[string]any{"table": "b"}},
			},
			"status": "Succeeded",
		},
		"Get Metadata": map[string]any{
			"output": map[string]any{
				"childItems": []any{
					map[string]any{"name": "a.csv", "type": "File"},
					map[string]any{"name": "b.csv", "type": "File"},
				},
				"exists": true,
				"size":   json.Number("1024"),
			},
		},
		"Failed": map[string]any{
			"error":  map[string]any{"message": "Oh no", "errorCode": "2200"},
			"status": "Failed",
		},
		"Sample": map[string]any{
			"output": map[string]any{
				"float": 0.016666666666666666,
				"billingReference": map[string]any{
					"billableDuration": []any{map[string]any{"duration": 0.016666666666666666, "unit": "Hours"}},
				},
			},
		},
	}
	variables := map[string]any{
		"counter":     int64(3),
		"names":       []any{"x", "y"},
		"flag":        true,
		"empty":       "",
		"nothing":     nil,
		"companyName": "Contoso-\nCorporation",
		"xml":         `<?xml version="1.0"?><file xmlns="https://contoso.com"><location>Paris</location></file>`,
	}
	return &Scope{
		Pipeline: map[string]any{
			"DataFactory": "adf1",
			"Pipeline":    "copy_orders",
			"RunId":       "run-123",
			"TriggerType": "Manual",
			"TriggerTime": "2026-11-02T03:04:05.1234567Z",
			"GroupId":     "g-1",
			"parameters": map[string]any{
				"myNumber":  int64(42),
				"myString":  "foo",
				"myFloat":   1.5,
				"day":       "2026-11-01",
				"tables":    []any{"orders", "customers"},
				"obj":       map[string]any{"field1": map[string]any{"field2": "value1"}, "nullField": nil},
				"key":       "field1",
				"nothing":   nil,
				"firstName": "Sophia",
				"lastName":  "Owen",
			},
			"globalParameters": map[string]any{"env": "dev"},
		},
		Activity: func(name string) (any, bool) {
			v, ok := activities[name]
			return v, ok
		},
		Item:    map[string]any{"name": "orders", "schema": "public", "n": int64(5)},
		HasItem: true,
		Variable: func(name string) (any, bool) {
			v, ok := variables[name]
			return v, ok
		},
		Dataset:       map[string]any{"path": "in/2026", "fileName": "a.csv"},
		LinkedService: map[string]any{"host": "localhost", "port": int64(5432)},
		Trigger: map[string]any{
			"startTime": "2026-11-02T00:00:00Z",
			"outputs": map[string]any{
				"windowStartTime": "2026-11-01T00:00:00Z",
				"windowEndTime":   "2026-11-02T00:00:00Z",
				"body":            map[string]any{"fileName": "new.csv", "folderPath": "landing"},
			},
		},
		Now: func() time.Time { return testNow },
	}
}

// evalCase is one expression (a string value, with its "@") and its
// expected result as JSON: "3" is the integer 3, "3.0" the float 3.0,
// "\"3\"" the string "3".
type evalCase struct {
	in   string
	want string
}

// wantValue decodes a case's expected JSON the way Eval's values look.
func wantValue(t *testing.T, js string) any {
	t.Helper()
	v, err := parseJSON(js)
	if err != nil {
		t.Fatalf("bad expected JSON %s: %v", js, err)
	}
	return v
}

// runEval evaluates every case against the test Scope and compares value
// and type.
func runEval(t *testing.T, cases []evalCase) {
	t.Helper()
	s := testScope()
	for _, c := range cases {
		got, err := Eval(c.in, s)
		if err != nil {
			t.Errorf("Eval(%q): unexpected error: %v", c.in, err)
			continue
		}
		want := wantValue(t, c.want)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Eval(%q) = %#v (%s), want %#v (%s)", c.in, got, typeName(got), want, typeName(want))
		}
	}
}

// errCase is an expression that must fail with a message containing msg,
// at column col (0: any column).
type errCase struct {
	in  string
	msg string
	col int
}

// runErrors evaluates every case and checks the *Error it must give.
func runErrors(t *testing.T, s *Scope, cases []errCase) {
	t.Helper()
	for _, c := range cases {
		got, err := Eval(c.in, s)
		if err == nil {
			t.Errorf("Eval(%q) = %#v, want an error containing %q", c.in, got, c.msg)
			continue
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("Eval(%q): error %v is a %T, want *Error", c.in, err, err)
			continue
		}
		if !strings.Contains(e.Msg, c.msg) {
			t.Errorf("Eval(%q): message %q does not contain %q", c.in, e.Msg, c.msg)
		}
		if c.col != 0 && e.Col != c.col {
			t.Errorf("Eval(%q): column %d, want %d (%v)", c.in, e.Col, c.col, err)
		}
		if e.Expr != c.in {
			t.Errorf("Eval(%q): Expr is %q", c.in, e.Expr)
		}
	}
}
