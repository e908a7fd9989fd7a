package expr

import (
	"errors"
	"testing"
	"time"
)

// fuzzSeeds are string values that exercise every part of the grammar.
var fuzzSeeds = []string{
	"plain", "@@", "@@{x}", " @", "@", "@{", "@{}", "a @{b", "x@{'}'}y",
	"@pipeline().parameters.myString",
	"@{pipeline().parameters.myNumber}",
	"@concat('a', '''', string(add(1, 2.5)))",
	"@activity('Lookup1').output.firstRow?.Name",
	"@item()?['name'][0]",
	"@createArray(1, createArray(2))[1][0]",
	"@if(equals(1, 1), json('{\"a\": [1]}').a, null)",
	"@formatDateTime(utcNow(), 'yyyy-MM-ddTHH:mm:ss.fffffffK')",
	"@addToTime('2018-01-31', 1, 'Month', 'D')",
	"@convertTimeZone('2018-01-01T08:00:00Z', 'UTC', 'Pacific Standard Time')",
	"@xpath(xml('<a><b>1</b></a>'), 'sum(//b)')",
	"@string(xml(json('{\"r\": {\"@id\": 1}}')))",
	"@range(0, 10)[3]",
	"@substring('hello', 1, 3)",
	"@uriComponentToString(uriComponent('a b'))",
	"@div(-9223372036854775807, -1)",
	"@.5", "@-", "@1e999", "@'unclosed", "@foo(", "@a.b", "@x?y", "@(", "@)",
}

// FuzzParse: Check never panics, and whatever it accepts compiles the same
// way again.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := Check(s)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Check(%q) error %T is not *Error: %v", s, err, err)
			}
			if e.Col < 1 {
				t.Fatalf("Check(%q): column %d", s, e.Col)
			}
			return
		}
		if _, err := compile(s); err != nil {
			t.Fatalf("Check accepted %q but compile failed: %v", s, err)
		}
	})
}

// FuzzEval: evaluating any string value against a full Scope never panics
// and either gives a value or an *Error.
func FuzzEval(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	scope := testScope()
	scope.Now = func() time.Time { return testNow }
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 4096 {
			return
		}
		v, err := Eval(s, scope)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Eval(%q) error %T is not *Error: %v", s, err, err)
			}
			return
		}
		_ = render(v)
	})
}
