package arm

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/dataflow/factory"
)

func TestEvalExpressions(t *testing.T) {
	t.Parallel()
	ev := &evaluator{
		params: map[string]*binding{},
		vars:   map[string]*binding{},
		clock:  func() time.Time { return time.Date(2026, 11, 1, 2, 3, 4, 0, time.UTC) },
	}
	for name, v := range map[string]any{
		"factoryName": "adf1", "n": int64(3), "flag": true,
		"obj": map[string]any{"Key": "v", "list": []any{int64(1), int64(2)}}, "empty": "",
	} {
		ev.params[strings.ToLower(name)] = &binding{name: name, value: v, done: true}
	}
	ev.vars["factoryid"] = &binding{name: "factoryId", value: "Microsoft.DataFactory/factories/adf1", done: true}
	for _, c := range []struct {
		in   string
		want any
	}{
		{"[concat(parameters('factoryName'), '/Foo')]", "adf1/Foo"},
		{"[CONCAT(Parameters('FACTORYNAME'), '/x')]", "adf1/x"}, // names without regard to case
		{"[concat(variables('factoryId'), '/datasets/A')]", "Microsoft.DataFactory/factories/adf1/datasets/A"},
		{"[concat(createArray(1), createArray('a', 2))]", []any{int64(1), "a", int64(2)}},
		{"[concat('n=', parameters('n'), ' ', parameters('flag'))]", "n=3 True"},
		{"[format('{0}-{1}{{x}}', parameters('factoryName'), 7)]", "adf1-7{x}"},
		{"[replace('a.b.c', '.', '/')]", "a/b/c"},
		{"[toLower('AbC')]", "abc"},
		{"[toUpper('AbC')]", "ABC"},
		{"[string(parameters('obj'))]", `{"Key":"v","list":[1,2]}`},
		{"[string(false)]", "False"},
		{"[int('42')]", int64(42)},
		{"[bool('TRUE')]", true},
		{"[if(parameters('flag'), 'yes', fail())]", "yes"}, // if() leaves the other branch alone
		{"[if(equals(parameters('n'), 4), 'a', 'b')]", "b"},
		{"[equals(createArray(1, 'x'), createArray(1, 'x'))]", true},
		{"[not(empty(parameters('empty')))]", false},
		{"[and(true, parameters('flag'), not(false))]", true},
		{"[or(false, false)]", false},
		{"[empty(createObject())]", true},
		{"[coalesce(null(), json('null'), 'x')]", "x"},
		{"[json('{\"a\": [1, 2.5]}').a[1]]", 2.5},
		{"[length(parameters('obj').list)]", int64(2)},
		{"[parameters('obj').key]", "v"},
		{"[parameters('obj')['list'][0]]", int64(1)},
		{"[length('héllo')]", int64(5)},
		{"[createObject('a', 1, 'b', createArray())]", map[string]any{"a": int64(1), "b": []any{}}},
		{"[add(mul(2, 3), div(-7, 2))]", int64(3)},
		{"[mod(7, 3)]", int64(1)},
		{"[substring('abcdef', 2, 3)]", "cde"},
		{"[split('a,b;c', createArray(',', ';'))]", []any{"a", "b", "c"}},
		{"[join(createArray('a', 'b'), '-')]", "a-b"},
		{"[contains('Hello', 'ELL')]", true},
		{"[first(skip(createArray(1, 2, 3), 1))]", int64(2)},
		{"[last(take('abc', 2))]", "b"},
		{"[union(createArray(1, 2), createArray(2, 3))]", []any{int64(1), int64(2), int64(3)}},
		{"[max(1, 5, 3)]", int64(5)},
		{"[greaterOrEquals('b', 'a')]", true},
		{"[padLeft('7', 3, '0')]", "007"},
		{"[base64ToString(base64('ciel'))]", "ciel"},
		{"[range(2, 3)]", []any{int64(2), int64(3), int64(4)}},
		{"[resourceGroup().name]", "ciel"},
		{"[subscription().subscriptionId]", standInID},
		{"[resourceId('Microsoft.DataFactory/factories/linkedServices', parameters('factoryName'), 'LS')]",
			"/subscriptions/" + standInID + "/resourceGroups/ciel/providers/Microsoft.DataFactory/factories/adf1/linkedServices/LS"},
		{"[length(uniqueString(resourceGroup().id))]", int64(13)},
		{"[equals(uniqueString('a', 'b'), uniqueString('a', 'b'))]", true},
		{"[utcNow('yyyy-MM-dd')]", "2026-11-01"},
		{"[ 'it''s' ]", "it's"},
		{"[[not an expression]", "[not an expression]"},
		{"plain [text]", "plain [text]"},
	} {
		got, err := ev.evalString(c.in)
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %#v, want %#v", c.in, got, c.want)
		}
	}
}

func TestEvalErrors(t *testing.T) {
	t.Parallel()
	ev := &evaluator{params: map[string]*binding{}, vars: map[string]*binding{}}
	for _, c := range []struct{ in, want string }{
		{"[parameters('nope')]", `[parameters('nope')]: the template declares no parameter "nope"`},
		{"[variables('v')]", `[variables('v')]: the template declares no variable "v"`},
		{"[frobnicate(1)]", `[frobnicate(1)]: unknown function "frobnicate"; ciel evaluates: add, and, array,`},
		{"[concat('a']", `[concat('a']: at character 11: expected ',' or ')' in the call of concat, got the end of the expression`},
		{"[concat('a)]", `[concat('a)]: at character 8: string not closed with '`},
		{"[concat('a') x]", `[concat('a') x]: at character 13: unexpected "x" after the expression`},
		{"[]", `[]: at character 1: expected a value, got the end of the expression`},
		{"[toLower(1)]", `[toLower(1)]: toLower: expected a string, got a number`},
		{"[div(1, 0)]", `[div(1, 0)]: div: division by zero`},
		{"[createArray(1)[5]]", `[createArray(1)[5]]: index 5 out of an array of 1`},
		{"[ns.fn(1)]", `[ns.fn(1)]: unknown function "ns.fn"`},
		{"[format('{2}', 1)]", `[format('{2}', 1)]: format: format string "{2}": no argument {2}`},
	} {
		_, err := ev.evalString(c.in)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %s", c.in, err, c.want)
		}
	}
}

const template = `{
  "parameters": {
    "factoryName": {"type": "string"},
    "prefix": {"type": "string", "defaultValue": "[concat('p_', parameters('env'))]"},
    "env": {"type": "string", "allowedValues": ["dev", "prod"]},
    "connectionString": {"type": "secureString"},
    "retries": {"type": "int", "defaultValue": 2}
  },
  "variables": {
    "factoryId": "[concat('Microsoft.DataFactory/factories/', parameters('factoryName'))]",
    "lsName": "[concat(parameters('prefix'), '_pg')]"
  },
  "resources": [
    {
      "name": "[concat(parameters('factoryName'), '/', variables('lsName'))]",
      "type": "Microsoft.DataFactory/factories/linkedServices",
      "apiVersion": "2018-06-01",
      "properties": {
        "type": "PostgreSqlV2",
        "typeProperties": {"connectionString": "[parameters('connectionString')]"}
      },
      "dependsOn": []
    },
    {
      "name": "[parameters('factoryName')]",
      "type": "Microsoft.DataFactory/factories",
      "apiVersion": "2018-06-01",
      "location": "[resourceGroup().location]",
      "resources": [
        {
          "name": "orders",
          "type": "datasets",
          "properties": {
            "type": "PostgreSqlV2Table",
            "linkedServiceName": {"referenceName": "[variables('lsName')]", "type": "LinkedServiceReference"},
            "typeProperties": {"table": "[[orders]"}
          }
        },
        {
          "name": "[concat(parameters('factoryName'), '/copy')]",
          "type": "Microsoft.DataFactory/factories/pipelines",
          "properties": {
            "activities": [{
              "name": "Lookup1", "type": "Lookup",
              "policy": {"retry": "[parameters('retries')]"},
              "typeProperties": {"source": {"type": "PostgreSqlV2Source", "query": "@concat('select 1')"},
                                 "dataset": {"referenceName": "orders", "type": "DatasetReference"}}
            }]
          }
        },
        {
          "name": "nightly",
          "type": "triggers",
          "condition": "[equals(parameters('env'), 'prod')]",
          "properties": {"type": "ScheduleTrigger", "pipelines": [{"pipelineReference": {"referenceName": "copy"}}],
                         "typeProperties": {"recurrence": {"frequency": "Day", "interval": 1}}}
        }
      ]
    },
    {
      "name": "[concat(parameters('factoryName'), '/shir')]",
      "type": "Microsoft.DataFactory/factories/integrationRuntimes",
      "properties": {"type": "SelfHosted"}
    }
  ]
}`

func TestImport(t *testing.T) {
	t.Parallel()
	params := `{"parameters": {"factoryName": {"value": "adf1"}, "env": {"value": "dev"}, "connectionString": {"value": "host=localhost"}}}`
	f, err := Import(Config{Template: []byte(template), Parameters: []byte(params)})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.LinkedServices) != 1 || len(f.Datasets) != 1 || len(f.Pipelines) != 1 || len(f.Triggers) != 0 {
		t.Fatalf("got %+v", f)
	}
	ls, ds, pl := f.LinkedServices[0], f.Datasets[0], f.Pipelines[0]
	if ls.Name != "p_dev_pg" || string(ls.TypeProperties) != `{"connectionString":"host=localhost"}` {
		t.Errorf("linked service %q %s", ls.Name, ls.TypeProperties)
	}
	if ds.Name != "orders" || ds.LinkedServiceName.ReferenceName != "p_dev_pg" || string(ds.TypeProperties) != `{"table":"[orders]"}` {
		t.Errorf("dataset %q %+v %s", ds.Name, ds.LinkedServiceName, ds.TypeProperties)
	}
	if pl.Name != "copy" || string(pl.Activities[0].Policy.Retry) != "2" {
		t.Errorf("pipeline %q %+v", pl.Name, pl.Activities[0].Policy)
	}
	wantNotes := []string{
		"resources[1].resources[2]: condition is false, skipped",
		`resources[2]: Microsoft.DataFactory/factories/integrationRuntimes "adf1/shir" is not a factory resource ciel keeps, skipped`,
	}
	if !reflect.DeepEqual(f.Notes, wantNotes) {
		t.Errorf("notes: got %q\nwant %q", f.Notes, wantNotes)
	}

	// With env=prod the trigger is deployed, and the factory name falls
	// back to the stand-in.
	f, err = Import(Config{Template: []byte(template), Parameters: []byte(`{"parameters": {"env": {"value": "prod"}, "connectionString": {"value": "x"}}}`)})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Triggers) != 1 || f.Triggers[0].Name != "nightly" || f.LinkedServices[0].Name != "p_prod_pg" {
		t.Errorf("prod: %+v", f)
	}
}

func TestImportErrors(t *testing.T) {
	t.Parallel()
	const good = `"env": {"value": "dev"}, "connectionString": {"value": "x"}`
	cases := []struct {
		name, tmpl, params, want string
	}{
		{"missing parameter", template, `{"parameters": {"env": {"value": "dev"}}}`,
			`template.json:6:25: parameters.connectionString: parameter "connectionString" has no value: give it in the parameters file ({"parameters": {"connectionString": {"value": ...}}}) or a defaultValue in the template`},
		{"value not allowed", template, `{"parameters": {"env": {"value": "test"}, "connectionString": {"value": "x"}}}`,
			`parameters.json:1:34: parameters.env: test is not one of the allowedValues`},
		{"wrong type", template, "{\"parameters\": {" + good + ",\n \"retries\": {\"value\": \"two\"}}}",
			`parameters.json:2:23: parameters.retries: expected an integer (the parameter is int), got a string`},
		{"undeclared parameter", template, "{\"parameters\": {" + good + ",\n \"extra\": {\"value\": 1}}}",
			`parameters.json:2:2: parameters.extra: the template declares no such parameter`},
		{"key vault reference", template, `{"parameters": {"env": {"reference": {"keyVault": {}}}}}`,
			`parameters.json:1:38: parameters.env: Key Vault references are not supported in a parameters file; give the value (or use an AzureKeyVault linked service and ` + "`ciel data-factory secret set`)"},
		{"not a parameters file", template, `[1]`,
			`parameters.json:1:1: expected a parameters file {"parameters": {"<name>": {"value": ...}}}`},
		{"bad JSON", "{\n  \"resources\": [,]}", ``,
			`template.json:2:17: invalid JSON: invalid character ',' looking for beginning of value`},
		{"bad expression", `{"resources": [{"type": "Microsoft.DataFactory/factories/pipelines", "name": "[concat('f/', parameters('x')]"}]}`, ``,
			`template.json:1:78: resources[0].name: [concat('f/', parameters('x')]: at character 29: expected ',' or ')' in the call of concat, got the end of the expression`},
		{"name with no factory", `{"resources": [{"type": "Microsoft.DataFactory/factories/pipelines", "name": "a/b/c", "properties": {}}]}`, ``,
			`template.json:1:78: resources[0].name: expected "<factory name>/<resource name>", got "a/b/c"`},
		{"unknown activity type from a parameter", `{"parameters": {"t": {"type": "string", "defaultValue": "CopyX"}},
 "resources": [{"type": "Microsoft.DataFactory/factories/pipelines", "name": "f/p",
   "properties": {"activities": [{"name": "a", "type": "[parameters('t')]"}]}}]}`, ``,
			`template.json:3:56: properties.activities[0].type: unknown activity type "CopyX"; known: `},
		{"unknown linked service type", `{"resources": [{"type": "Microsoft.DataFactory/factories/linkedServices", "name": "f/ora",
   "properties": {"type": "Oracle"}}]}`, ``,
			`template.json:2:27: properties.type: unknown linked service type "Oracle"; known: `},
		{"copy loop", `{"resources": [{"type": "Microsoft.DataFactory/factories/pipelines", "name": "f/p", "copy": {"name": "c", "count": 2}}]}`, ``,
			`template.json:1:93: resources[0].copy: resource copy loops are not supported; write each resource out`},
		{"parameter cycle", `{"parameters": {"a": {"type": "string", "defaultValue": "[parameters('b')]"}, "b": {"type": "string", "defaultValue": "[parameters('a')]"}}, "resources": []}`, ``,
			`template.json:1:119: parameters.b.defaultValue: [parameters('a')]: parameter "a" refers to itself`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg := Config{Template: []byte(c.tmpl)}
			if c.params != "" {
				cfg.Parameters = []byte(c.params)
			}
			_, err := Import(cfg)
			var fe *factory.Error
			if err == nil || !errors.As(err, &fe) {
				t.Fatalf("got %v, want a *factory.Error %s", err, c.want)
			}
			if !strings.HasPrefix(err.Error(), c.want) {
				t.Errorf("got  %s\nwant %s", err, c.want)
			}
		})
	}
}

// FuzzParseExpr: the expression parser never panics, and what parses
// evaluates (to a value or an error) without panicking either.
func FuzzParseExpr(f *testing.F) {
	for _, s := range []string{
		"concat(parameters('factoryName'), '/Foo')", "if(equals(1, 1), 'a', 'b')", "json('[1]')[0]",
		"createObject('a', createArray(1, -2)).a[1]", "'it''s'", "ns.fn()", "format('{0}', true)", "[", "concat(",
	} {
		f.Add(s)
	}
	ev := &evaluator{params: map[string]*binding{"p": {name: "p", value: map[string]any{"a": []any{int64(1)}}, done: true}}, vars: map[string]*binding{}}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseExpr(s)
		if err != nil {
			var ee *exprError
			if !errors.As(err, &ee) || ee.off < 0 || ee.off > len(s) {
				t.Fatalf("error %v is not an *exprError within the expression", err)
			}
			return
		}
		_, _ = ev.eval(n)
	})
}

// A chain of variables that doubles a value stops at the size bound
// instead of taking all memory.
func TestImportValueBound(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString(`{"variables": {"v0": "0123456789abcdef"`)
	for i := 1; i <= 40; i++ {
		b.WriteString(`, "v` + strconv.Itoa(i) + `": "[concat(variables('v` + strconv.Itoa(i-1) + `'), variables('v` + strconv.Itoa(i-1) + `'))]"`)
	}
	b.WriteString(`}, "resources": []}`)
	_, err := Import(Config{Template: []byte(b.String())})
	if err == nil || !strings.Contains(err.Error(), "concat: the value grows past 8388608 bytes") {
		t.Errorf("got %v", err)
	}
}
