package expr

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// The "Expressions" section of ADF's reference: how a string value becomes
// a literal, an expression or an interpolation.
func TestStringValues(t *testing.T) {
	runEval(t, []evalCase{
		{`parameters`, `"parameters"`},
		{`parameters[1]`, `"parameters[1]"`},
		{`@@`, `"@"`},
		{` @`, `" @"`},
		{`@@pipeline()`, `"@pipeline()"`},
		{`user@example.com`, `"user@example.com"`},
		{`a @ b`, `"a @ b"`},
		{`@pipeline().parameters.myString`, `"foo"`},
		{`@{pipeline().parameters.myString}`, `"foo"`},
		{`@pipeline().parameters.myNumber`, `42`},
		{`@{pipeline().parameters.myNumber}`, `"42"`},
		{`Answer is: @{pipeline().parameters.myNumber}`, `"Answer is: 42"`},
		{`@concat('Answer is: ', string(pipeline().parameters.myNumber))`, `"Answer is: 42"`},
		{`Answer is: @@{pipeline().parameters.myNumber}`, `"Answer is: @{pipeline().parameters.myNumber}"`},
		{`First Name: @{pipeline().parameters.firstName} Last Name: @{pipeline().parameters.lastName}`, `"First Name: Sophia Last Name: Owen"`},
		{`@concat('Baba', '''s ', 'book store')`, `"Baba's book store"`},
		{"{ \n  \"type\": \"@{if(equals(1, 2), 'Blob', 'Table' )}\",\n  \"name\": \"@{toUpper('myData')}\"\n}", `"{ \n  \"type\": \"Table\",\n  \"name\": \"MYDATA\"\n}"`},
		{`@uriComponentToString(replace(uriComponent(variables('companyName')), '%0A', ''))`, `"Contoso-Corporation"`},
		{`value`, `"value"`},
		{` value `, `" value "`},
		{`11`, `"11"`},
		{``, `""`},
		{`@item() `, `{"n":5,"name":"orders","schema":"public"}`},
		{"@  concat(  'x1'  , \n 'x2','x3'  )  ", `"x1x2x3"`},
		{`/repos/@{pipeline().globalParameters.env}/`, `"/repos/dev/"`},
		{`/repos/@{pipeline().globalParameters.env}/@{pipeline().parameters.myString}`, `"/repos/dev/foo"`},
		{`@{pipeline().parameters.tables}`, `"[\"orders\",\"customers\"]"`},
		{`x@{pipeline().parameters.obj}`, `"x{\"field1\":{\"field2\":\"value1\"},\"nullField\":null}"`},
		{`@{pipeline().parameters.nothing}|`, `"|"`},
		{`@{variables('flag')}`, `"True"`},
		{`@{pipeline().parameters.myFloat}`, `"1.5"`},
		{`@{'a}b'}`, `"a}b"`},
		{`@{concat('{', '}')}-@{1}`, `"{}-1"`},
		{`@{1}@{2}`, `"12"`},
		{`@@{`, `"@{"`},
		{`a@@b`, `"a@@b"`},
		{`@'it''s'`, `"it's"`},
		{`@''`, `""`},
		{`@'@{not interpolated}'`, `"@{not interpolated}"`},
		{`@'\n'`, `"\\n"`},
	})
}

// Literals, property access, indexes and safe navigation.
func TestAccess(t *testing.T) {
	runEval(t, []evalCase{
		{`@1`, `1`},
		{`@-5`, `-5`},
		{`@1.5`, `1.5`},
		{`@.5`, `0.5`},
		{`@1e3`, `1000.0`},
		{`@9223372036854775807`, `9223372036854775807`},
		{`@9223372036854775808`, `9223372036854775808.0`},
		{`@true`, `true`},
		{`@FALSE`, `false`},
		{`@null`, `null`},
		{`@Null`, `null`},
		{`@pipeline().RunId`, `"run-123"`},
		{`@pipeline().runid`, `"run-123"`},
		{`@pipeline().TriggerTime`, `"2026-11-02T03:04:05.1234567Z"`},
		{`@pipeline()['Pipeline']`, `"copy_orders"`},
		{`@pipeline().parameters.obj.field1.field2`, `"value1"`},
		{`@pipeline().parameters.obj['field1']['field2']`, `"value1"`},
		{`@pipeline().parameters.obj[pipeline().parameters.key].field2`, `"value1"`},
		{`@pipeline().parameters.obj.field1?.field2`, `"value1"`},
		{`@pipeline().parameters.obj?.nullField?.x`, `null`},
		{`@pipeline().parameters.obj?.missing`, `null`},
		{`@pipeline().parameters.obj?['missing']`, `null`},
		{`@pipeline()?.TriggeredByPipelineRunId`, `null`},
		{`@pipeline().parameters.tables[1]`, `"customers"`},
		{`@pipeline().parameters.tables?[5]`, `null`},
		{`@pipeline().parameters.tables[1.0]`, `"customers"`},
		{`@activity('Lookup1').output.firstRow.Name`, `"orders"`},
		{`@activity('Lookup1').output.firstRow.name`, `"orders"`},
		{`@activity('Lookup1').output.firstRow.id`, `7`},
		{`@activity('Lookup1').output.count`, `2`},
		{`@activity('Lookup1').output.value[1].table`, `"b"`},
		{`@activity('Get Metadata').output.childItems[0].name`, `"a.csv"`},
		{`@activity('Get Metadata').output.size`, `1024`},
		{`@activity('Get Metadata').output.exists`, `true`},
		{`@activity('Failed').Error.message`, `"Oh no"`},
		{`@activity('Failed').error.errorCode`, `"2200"`},
		{`@activity('Sample').output.billingReference.billableDuration[0].duration`, `0.016666666666666666`},
		{`@concat(activity('Sample').output.float, 'test')`, `"0.016666666666666666test"`},
		{`@item().name`, `"orders"`},
		{`@item().n`, `5`},
		{`@concat(item().schema, '.', item().name)`, `"public.orders"`},
		{`@variables('counter')`, `3`},
		{`@variables('names')[0]`, `"x"`},
		{`@variables('nothing')`, `null`},
		{`@dataset().path`, `"in/2026"`},
		{`@linkedService().port`, `5432`},
		{`@trigger().outputs.windowStartTime`, `"2026-11-01T00:00:00Z"`},
		{`@trigger().outputs.body.fileName`, `"new.csv"`},
		{`@trigger().startTime`, `"2026-11-02T00:00:00Z"`},
		{`@triggerBody().fileName`, `"new.csv"`},
		{`@triggerOutputs().windowStartTime`, `"2026-11-01T00:00:00Z"`},
		{`@TRIGGERBODY().folderPath`, `"landing"`},
		{`@createArray('a', 'b')[1]`, `"b"`},
		{`@createArray('a', createArray('b', 'c'))[1][0]`, `"b"`},
		{`@json('{"a": [10, {"b": 2.5}]}').a[1].b`, `2.5`},
		{`@json('[[{"f0": "v0"}, {"f1": "v1"}]]')[0][1].f1`, `"v1"`},
		{`@json('{"f0": {"f1": [["v0", "v1"]]}}').f0.f1[0][1]`, `"v1"`},
		{`@concat('https://example.com/jobs/', '123''', concat('&', 'abc,'))`, `"https://example.com/jobs/123'&abc,"`},
		{`@CONCAT('a', 'b')`, `"ab"`},
		{`@ToUpper('a')`, `"A"`},
		{`@Pipeline().Parameters.MYSTRING`, `"foo"`},
		{`@UTCNOW()`, `"2018-04-15T13:00:00.0000000Z"`},
		{`@json('{"Prénom": "Zoé"}').Prénom`, `"Zoé"`},
	})
}

// Errors carry the expression, the column and what is wrong.
func TestErrors(t *testing.T) {
	runErrors(t, testScope(), []errCase{
		{`@foo(1)`, "unknown function 'foo'", 2},
		{`@concat('a', nope())`, "unknown function 'nope'", 14},
		{`ab @{bar()}`, "unknown function 'bar'", 6},
		{`@add(1)`, "function 'add' expects 2 arguments, got 1", 2},
		{`@add(1, 2, 3)`, "function 'add' expects 2 arguments, got 3", 2},
		{`@utcNow('a', 'b')`, "function 'utcNow' expects 0 or 1 argument, got 2", 2},
		{`@concat()`, "function 'concat' expects at least 1 argument", 2},
		{`@substring('abc')`, "expects 2 or 3 arguments", 2},
		{`@concat('a'`, "expected ')' or ',' in the arguments of concat() but found the end of the expression", 12},
		{`@concat('a' 'b')`, "expected ')' or ','", 13},
		{`@concat('a)`, "string literal is not closed", 9},
		{`@`, "empty expression", 2},
		{`@   `, "empty expression", 5},
		{`x @{}`, "empty expression", 5},
		{`x @{concat('a')`, "expected '}' to close '@{'", 16},
		{`@concat('a'))`, "expected the end of the expression but found ')'", 13},
		{`@pipeline`, "expected '(' after the function name 'pipeline'", 10},
		{`@parameters`, "unknown name 'parameters'", 2},
		{`@pipeline().`, "expected a property name after '.'", 13},
		{`@pipeline()[1`, "expected ']' to close the index", 14},
		{`@pipeline() ? x`, "unexpected '?'", 13},
		{`@1abc`, "malformed number", 2},
		{`@#`, "unexpected character '#'", 2},
		{`@pipeline().parameters.missing`, "property 'missing' doesn't exist, available properties are 'day, firstName", 23},
		{`@pipeline().parameters.nothing.x`, "property 'x' cannot be selected: the value is null", 31},
		{`@pipeline().parameters.myString.x`, "property selection is not supported on values of type 'String'", 32},
		{`@pipeline().parameters.tables[2]`, "array index '2' is outside bounds (0, 1)", 30},
		{`@pipeline().parameters.tables['a']`, "cannot index a value of type 'Array' with the string 'a'", 30},
		{`@pipeline().parameters.tables[true]`, "an array index must be an integer", 30},
		{`@variables('nope')`, "variable 'nope' is not declared in the pipeline", 2},
		{`@activity('Nope').output`, "activity 'Nope' cannot be referenced", 2},
		{`@concat('a', add('b', 1))`, "function 'add': expects a number for argument 1, got a value of type 'String'", 14},
		{`@div(1, 0)`, "function 'div': attempted to divide by zero", 2},
		{`@if(1, 'a', 'b')`, "function 'if': expects a Boolean for argument 1, got a value of type 'Integer'", 2},
		{`@int('abc')`, "'abc' is not a valid integer", 2},
		{`@formatDateTime('nope')`, "'nope' is not a valid timestamp", 2},
	})
	empty := &Scope{}
	runErrors(t, empty, []errCase{
		{`@item()`, "item() is only available inside a ForEach", 2},
		{`@concat('x', item().name)`, "item() is only available inside a ForEach", 14},
		{`@pipeline().RunId`, "pipeline() is only available inside a pipeline", 2},
		{`@dataset().path`, "dataset() is only available inside a dataset's properties", 2},
		{`@linkedService().host`, "linkedService() is only available inside a linked service's properties", 2},
		{`@trigger().startTime`, "trigger() is only available", 2},
		{`@variables('x')`, "variable 'x' is not declared", 2},
		{`@activity('x').output`, "activity 'x' cannot be referenced", 2},
	})
	runErrors(t, nil, []errCase{{`@item()`, "item() is only available inside a ForEach", 2}})
}

// An error says where in the JSON it was found, and formats as one line.
func TestErrorPathAndFormat(t *testing.T) {
	v := map[string]any{"typeProperties": map[string]any{"items": []any{"ok", "@nope()"}}}
	_, err := Eval(v, testScope())
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Eval: %v, want *Error", err)
	}
	if e.Path != "typeProperties.items[1]" || e.Col != 2 {
		t.Errorf("Path %q Col %d, want typeProperties.items[1] and 2", e.Path, e.Col)
	}
	want := `typeProperties.items[1]: expression "@nope()" column 2: unknown function 'nope'`
	if err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
	if err := CheckValue(v); err == nil || !strings.Contains(err.Error(), "typeProperties.items[1]") {
		t.Errorf("CheckValue = %v, want the path", err)
	}
}

// Laziness: and(), or() and if() evaluate only the arguments they need.
func TestShortCircuit(t *testing.T) {
	runEval(t, []evalCase{
		{`@or(equals(1, 1), variables('undeclared'))`, `true`},
		{`@and(equals(1, 2), variables('undeclared'))`, `false`},
		{`@if(equals(1, 1), 'LEFT', variables('undeclared'))`, `"LEFT"`},
		{`@if(equals(1, 2), variables('undeclared'), 'RIGHT')`, `"RIGHT"`},
		{`@coalesce('first', variables('undeclared'))`, `"first"`},
	})
	runErrors(t, testScope(), []errCase{
		{`@or(equals(1, 2), variables('undeclared'))`, "variable 'undeclared'", 19},
		{`@and(equals(1, 1), variables('undeclared'))`, "variable 'undeclared'", 20},
		{`@if(true, variables('undeclared'), 'b')`, "variable 'undeclared'", 11},
	})
}

// Eval walks arrays and objects, reads {"value", "type": "Expression"},
// keeps SecureStrings as written and normalises numbers.
func TestEvalWalk(t *testing.T) {
	raw := json.RawMessage(`{
		"a": "@pipeline().parameters.myNumber",
		"b": {"value": "@concat('x', item().name)", "type": "Expression"},
		"c": [1, 2.5, "@{add(1, 2)}", {"d": "@@literal"}],
		"e": {"type": "SecureString", "value": "@not-an-expression"},
		"f": {"value": "plain", "type": "Expression"},
		"g": null,
		"h": true,
		"i": 10.0
	}`)
	got, err := EvalRaw(raw, testScope())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"a": int64(42),
		"b": "xorders",
		"c": []any{int64(1), 2.5, "3", map[string]any{"d": "@literal"}},
		"e": map[string]any{"type": "SecureString", "value": "@not-an-expression"},
		"f": "plain",
		"g": nil,
		"h": true,
		"i": 10.0,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("EvalRaw = %#v\nwant %#v", got, want)
	}
	if v, err := EvalRaw(nil, nil); v != nil || err != nil {
		t.Errorf("EvalRaw(nil) = %v, %v", v, err)
	}
	if _, err := EvalRaw(json.RawMessage(`{"a":`), nil); err == nil {
		t.Error("EvalRaw of broken JSON: no error")
	}
}

// Check reports syntax errors and unknown functions without evaluating:
// scope functions are fine even with no Scope.
func TestCheck(t *testing.T) {
	for _, ok := range []string{
		"plain", "@@x", "@item().name", "@activity('x').output.firstRow.y",
		"a @{pipeline().RunId} b", "@variables('nope')", "@div(1, 0)",
	} {
		if err := Check(ok); err != nil {
			t.Errorf("Check(%q) = %v, want nil", ok, err)
		}
	}
	for _, c := range []errCase{
		{"@foo()", "unknown function 'foo'", 2},
		{"@add(1)", "function 'add' expects 2 arguments", 2},
		{"x @{concat('a'", "expected ')' or ','", 15},
		{"@'open", "string literal is not closed", 2},
	} {
		err := Check(c.in)
		var e *Error
		if !errors.As(err, &e) || !strings.Contains(e.Msg, c.msg) || e.Col != c.col {
			t.Errorf("Check(%q) = %v, want %q at column %d", c.in, err, c.msg, c.col)
		}
	}
	if err := CheckValue(map[string]any{"a": []any{"@item()", map[string]any{"value": "@bad(", "type": "Expression"}}}); err == nil {
		t.Error("CheckValue missed a bad expression inside an Expression object")
	}
}

// Deep nesting is refused, not a stack overflow.
func TestDepthLimit(t *testing.T) {
	deep := "@" + strings.Repeat("concat(", 150) + "'x'" + strings.Repeat(")", 150)
	if err := Check(deep); err == nil || !strings.Contains(err.Error(), "nests deeper") {
		t.Errorf("Check(deep) = %v", err)
	}
	ok := "@" + strings.Repeat("concat(", 50) + "'x'" + strings.Repeat(")", 50)
	if v, err := Eval(ok, nil); err != nil || v != "x" {
		t.Errorf("Eval(50 levels) = %v, %v", v, err)
	}
}

// Functions lists every function of the reference.
func TestFunctionsListed(t *testing.T) {
	names := Functions()
	if len(names) < 90 {
		t.Errorf("only %d functions", len(names))
	}
	for _, want := range []string{"addToTime", "xml", "uriComponentToBinary", "linkedService", "if", "xpath"} {
		found := false
		for _, n := range names {
			found = found || n == want
		}
		if !found {
			t.Errorf("Functions() lacks %s", want)
		}
	}
}

// A whole-expression result is normalised (json.Number, int, []string
// inside become the package's types) without changing the Scope's values.
func TestResultsNormalisedScopeUntouched(t *testing.T) {
	inner := map[string]any{"n": json.Number("7"), "f": json.Number("2.5"), "list": []string{"a"}, "i": 3}
	s := &Scope{Pipeline: map[string]any{"parameters": map[string]any{"obj": inner, "plain": []any{int64(1)}}}}
	got, err := Eval("@pipeline().parameters.obj", s)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"n": int64(7), "f": 2.5, "list": []any{"a"}, "i": int64(3)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Eval = %#v, want %#v", got, want)
	}
	if _, still := inner["n"].(json.Number); !still {
		t.Errorf("Eval changed the Scope's value: %#v", inner)
	}
	plain := s.Pipeline["parameters"].(map[string]any)["plain"].([]any)
	got, _ = Eval("@pipeline().parameters.plain", s)
	if g := got.([]any); &g[0] != &plain[0] {
		t.Error("an already normal array was copied")
	}
}

// HasExpression tells literal string values from dynamic ones.
func TestHasExpression(t *testing.T) {
	for s, want := range map[string]bool{
		"plain": false, "@@literal": false, "a @@{b}": false, "user@example.com": false,
		"@item()": true, "x @{item()} y": true, "@{1}": true, "@bad(": true,
	} {
		if got := HasExpression(s); got != want {
			t.Errorf("HasExpression(%q) = %v, want %v", s, got, want)
		}
	}
}

// ForEach iterations evaluate in parallel against one Scope (each with its
// own item): Eval shares nothing between calls.
func TestConcurrentEval(t *testing.T) {
	base := testScope()
	done := make(chan error, 8)
	for g := 0; g < 8; g++ {
		s := *base
		s.Item = map[string]any{"n": int64(g)}
		go func() {
			for i := 0; i < 200; i++ {
				v, err := Eval(map[string]any{"q": "@add(item().n, 1)", "w": "@{concat(pipeline().parameters.myString, string(item().n))}"}, &s)
				if err != nil {
					done <- err
					return
				}
				m := v.(map[string]any)
				if m["q"] != int64(s.Item.(map[string]any)["n"].(int64)+1) {
					done <- errors.New("wrong result under concurrency")
					return
				}
			}
			done <- nil
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
