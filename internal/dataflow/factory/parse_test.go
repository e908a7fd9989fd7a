package factory

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

// pipelineWith wraps activities (JSON, written from line 2) in a
// pipeline file.
func pipelineWith(acts string) string {
	return "{\"name\": \"p\", \"properties\": {\"variables\": {\"v\": {\"type\": \"String\"}}, \"activities\": [\n" + acts + "]}}"
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		kind Kind
		doc  string
		want string
	}{
		// JSON syntax.
		{"trailing comma", KindPipeline, "{\"name\": \"p\",\n  \"properties\": {\"activities\": [],}}",
			`f.json:2:35: invalid JSON: invalid character '}' looking for beginning of object key string`},
		{"missing colon", KindPipeline, "{\"name\" \"p\"}",
			`f.json:1:9: invalid JSON: invalid character '"' after object key`},
		{"bad literal", KindDataset, "{\"name\": \"d\",\n \"properties\": {\"type\": tru}}",
			`f.json:2:28: invalid JSON: invalid character '}' in literal true (expecting 'e')`},
		{"cut short", KindPipeline, "{\"name\": \"p\",\n  \"properties\": {",
			`f.json:2:18: invalid JSON: unexpected end of JSON input`},
		{"two documents", KindPipeline, "{\"name\": \"p\", \"properties\": {}}\n{}",
			`f.json:2:1: invalid JSON: unexpected content after the JSON value`},
		{"key twice", KindPipeline, "{\"name\": \"p\",\n \"name\": \"q\", \"properties\": {}}",
			`f.json:2:2: invalid JSON: key "name" is written twice in this object`},
		{"not an object", KindPipeline, "  [1]",
			`f.json:1:3: expected an object {"name": ..., "properties": {...}}, got an array`},

		// Shape and JSON types, at the offending value.
		{"no name", KindPipeline, `{"properties": {}}`,
			`f.json:1:1: missing "name"; expected {"name": ..., "properties": {...}}`},
		{"name not a string", KindPipeline, `{"name": 7, "properties": {}}`,
			`f.json:1:10: name: expected a string, got a number`},
		{"activities not an array", KindPipeline, `{"name": "p", "properties": {"activities": {"a": 1}}}`,
			`f.json:1:44: properties.activities: expected an array, got an object`},
		{"dependsOn a string", KindPipeline, pipelineWith(`{"name": "a", "type": "Wait", "typeProperties": {"waitTimeInSeconds": 1}},
 {"name": "b", "type": "Wait", "dependsOn": "a"}`),
			`f.json:3:45: properties.activities[1].dependsOn: expected an array, got a string`},
		{"retry interval not an integer", KindPipeline, pipelineWith(`{"name": "a", "type": "Wait", "policy": {"retryIntervalInSeconds": 1.5}}`),
			`f.json:2:68: properties.activities[0].policy.retryIntervalInSeconds: expected an integer, got 1.5`},
		{"nested activity of the wrong type", KindPipeline, pipelineWith(`{"name": "loop", "type": "ForEach", "typeProperties": {"items": "@x",
   "activities": [{"name": "w", "type": "Wait", "dependsOn": [{"activity": 3}]}]}}`),
			`f.json:3:76: properties.activities[0].typeProperties.activities[0].dependsOn[0].activity: expected a string, got a number`},
		{"linked service parameters not an object", KindLinkedService, `{"name": "l", "properties": {"type": "MySql", "parameters": []}}`,
			`f.json:1:61: properties.parameters: expected an object, got an array`},
		{"typeProperties not an object", KindDataset, `{"name": "d", "properties": {"type": "Json", "linkedServiceName": {"referenceName": "l"}, "typeProperties": "x"}}`,
			`f.json:1:109: properties.typeProperties: expected an object`},

		// Types ciel knows.
		{"unknown activity type", KindPipeline, pipelineWith(`{"name": "a", "type": "CopyX"}`),
			`f.json:2:23: properties.activities[0].type: unknown activity type "CopyX"; known: ` + strings.Join(activityTypes, ", ")},
		{"activity type in the wrong case", KindPipeline, pipelineWith(`{"name": "a", "type": "foreach"}`),
			`f.json:2:23: properties.activities[0].type: unknown activity type "foreach"; did you mean "ForEach"?`},
		{"activity without a type", KindPipeline, pipelineWith(` {"name": "a"}`),
			`f.json:2:2: properties.activities[0]: missing "type"; expected an activity type: ` + strings.Join(activityTypes, ", ")},
		{"linked service type ciel cannot reach", KindLinkedService, `{"name": "l", "properties": {"type": "Oracle"}}`,
			`f.json:1:38: properties.type: unknown linked service type "Oracle"; known: ` + strings.Join(linkedServiceTypes, ", ")},
		{"dataset type", KindDataset, `{"name": "d", "properties": {"type": "OracleTable", "linkedServiceName": {"referenceName": "l"}}}`,
			`f.json:1:38: properties.type: unknown dataset type "OracleTable"; known: ` + strings.Join(datasetTypes, ", ")},
		{"dataset without linked service", KindDataset, `{"name": "d", "properties": {"type": "Json"}}`,
			`f.json:1:29: properties.linkedServiceName: missing "referenceName" (the linked service's name)`},
		{"trigger type", KindTrigger, `{"name": "t", "properties": {"type": "CustomEventsTrigger"}}`,
			"f.json:1:38: properties.type: unknown trigger type \"CustomEventsTrigger\"; known: ScheduleTrigger, TumblingWindowTrigger, BlobEventsTrigger\n" +
				`f.json:1:29: properties: missing "typeProperties"`},
		{"schedule frequency", KindTrigger, `{"name": "t", "properties": {"type": "ScheduleTrigger", "typeProperties": {"recurrence": {"frequency": "Fortnight", "interval": 1}}}}`,
			`f.json:1:104: properties.typeProperties.recurrence.frequency: expected a frequency: Minute, Hour, Day, Week, Month`},
		{"tumbling window with two pipelines", KindTrigger, `{"name": "t", "properties": {"type": "TumblingWindowTrigger",
  "pipelines": [{"pipelineReference": {"referenceName": "a"}}, {"pipelineReference": {"referenceName": "b"}}],
  "typeProperties": {"frequency": "Hour", "interval": 1, "startTime": "2026-01-01T00:00:00Z"}}}`,
			`f.json:1:29: properties: a tumbling window trigger starts exactly one pipeline ("pipeline": {"pipelineReference": ...}); it names 2`},
		{"wrong reference type", KindDataset, `{"name": "d", "properties": {"type": "Json", "linkedServiceName": {"referenceName": "l", "type": "DatasetReference"}}}`,
			`f.json:1:98: properties.linkedServiceName.type: expected "LinkedServiceReference", got "DatasetReference"`},
		{"parameter type", KindPipeline, `{"name": "p", "properties": {"parameters": {"day": {"type": "Date"}}}}`,
			`f.json:1:61: properties.parameters.day.type: expected one of String, Int, Float, Bool, Array, Object, SecureString, got "Date"`},

		// Names.
		{"slash in a name", KindPipeline, `{"name": "a/b", "properties": {}}`,
			`f.json:1:10: name: invalid name "a/b": none of . + ? / < > * % & : \ # allowed`},
		{"dot dot", KindDataset, `{"name": "..", "properties": {"type": "Json", "linkedServiceName": {"referenceName": "l"}}}`,
			`f.json:1:10: name: invalid name "..": none of . + ? / < > * % & : \ # allowed`},
		{"leading space", KindTrigger, `{"name": " t", "properties": {"type": "BlobEventsTrigger", "typeProperties": {"events": ["Microsoft.Storage.BlobCreated"]}}}`,
			`f.json:1:10: name: invalid name " t": spaces at the start or end`},
		{"control character", KindPipeline, `{"name": "a\u0000b", "properties": {}}`,
			`f.json:1:10: name: invalid name "a\x00b": holds a control character`},
		{"dash in a linked service name", KindLinkedService, `{"name": "my-db", "properties": {"type": "MySql"}}`,
			`f.json:1:10: name: invalid name "my-db": Data Factory allows no '-' in linked service names`},
		{"backslash in a referenced name", KindDataset, `{"name": "d", "properties": {"type": "Json", "linkedServiceName": {"referenceName": "..\\x"}}}`,
			`f.json:1:85: properties.linkedServiceName.referenceName: invalid name "..\\x": none of . + ? / < > * % & : \ # allowed`},
		{"activity name too long", KindPipeline, pipelineWith(`{"name": "` + strings.Repeat("a", 56) + `", "type": "Wait", "typeProperties": {"waitTimeInSeconds": 1}}`),
			`f.json:2:10: properties.activities[0].name: invalid name "` + strings.Repeat("a", 56) + `": longer than 55 characters`},

		// Activities and their dependencies.
		{"activity name used twice, nested", KindPipeline, pipelineWith(`{"name": "w", "type": "Wait", "typeProperties": {"waitTimeInSeconds": 1}},
 {"name": "if", "type": "IfCondition", "typeProperties": {"expression": "@true",
   "ifTrueActivities": [{"name": "W", "type": "Wait", "typeProperties": {"waitTimeInSeconds": 1}}]}}`),
			`f.json:4:34: properties.activities[1].typeProperties.ifTrueActivities[0].name: activity name "W" is used twice (also at properties.activities[0]); Data Factory wants activity names unique across the whole pipeline, nested ones included`},
		{"depends on a missing activity", KindPipeline, pipelineWith(`{"name": "a", "type": "Wait", "typeProperties": {"waitTimeInSeconds": 1},
  "dependsOn": [{"activity": "b", "dependencyConditions": ["Succeeded"]}]}`),
			`f.json:3:30: properties.activities[0].dependsOn[0].activity: no activity "b" here to depend on; dependsOn names an activity of the same container (a)`},
		{"nested depends on an outer activity", KindPipeline, pipelineWith(`{"name": "a", "type": "Wait", "typeProperties": {"waitTimeInSeconds": 1}},
 {"name": "u", "type": "Until", "typeProperties": {"expression": "@true", "activities": [
   {"name": "in", "type": "Wait", "typeProperties": {"waitTimeInSeconds": 1}, "dependsOn": [{"activity": "a", "dependencyConditions": ["Succeeded"]}]}]}}`),
			`f.json:4:106: properties.activities[1].typeProperties.activities[0].dependsOn[0].activity: no activity "a" here to depend on; dependsOn names an activity of the same container (in)`},
		{"depends on itself", KindPipeline, pipelineWith(`{"name": "a", "type": "Wait", "typeProperties": {"waitTimeInSeconds": 1}, "dependsOn": [{"activity": "a", "dependencyConditions": ["Failed"]}]}`),
			`f.json:2:102: properties.activities[0].dependsOn[0].activity: activity "a" depends on itself`},
		{"unknown condition", KindPipeline, pipelineWith(`{"name": "a", "type": "Wait", "typeProperties": {"waitTimeInSeconds": 1}},
 {"name": "b", "type": "Wait", "typeProperties": {"waitTimeInSeconds": 1}, "dependsOn": [{"activity": "a", "dependencyConditions": ["Succeded"]}]}`),
			`f.json:3:133: properties.activities[1].dependsOn[0].dependencyConditions[0]: unknown dependency condition type "Succeded"; known: Succeeded, Failed, Completed, Skipped`},
		{"no conditions", KindPipeline, pipelineWith(`{"name": "a", "type": "Wait", "typeProperties": {"waitTimeInSeconds": 1}},
 {"name": "b", "type": "Wait", "typeProperties": {"waitTimeInSeconds": 1}, "dependsOn": [{"activity": "a"}]}`),
			`f.json:3:90: properties.activities[1].dependsOn[0]: missing "dependencyConditions"; expected some of Succeeded, Failed, Completed, Skipped`},
		{"cycle", KindPipeline, pipelineWith(`{"name": "a", "type": "Wait", "typeProperties": {"waitTimeInSeconds": 1}, "dependsOn": [{"activity": "c", "dependencyConditions": ["Succeeded"]}]},
 {"name": "b", "type": "Wait", "typeProperties": {"waitTimeInSeconds": 1}, "dependsOn": [{"activity": "a", "dependencyConditions": ["Succeeded"]}]},
 {"name": "c", "type": "Wait", "typeProperties": {"waitTimeInSeconds": 1}, "dependsOn": [{"activity": "b", "dependencyConditions": ["Succeeded"]}]}`),
			`f.json:2:88: properties.activities[0].dependsOn: dependency cycle: a -> c -> b -> a`},
		{"undeclared variable", KindPipeline, pipelineWith(`{"name": "set", "type": "SetVariable", "typeProperties": {"variableName": "x", "value": "1"}}`),
			`f.json:2:75: properties.activities[0].typeProperties.variableName: no variable "x" in the pipeline's "variables" (v)`},
		{"copy without a sink", KindPipeline, pipelineWith(`{"name": "c", "type": "Copy", "inputs": [{"referenceName": "i"}], "outputs": [{"referenceName": "o"}], "typeProperties": {"source": {}}}`),
			`f.json:2:122: properties.activities[0].typeProperties: Copy needs "sink"`},
		{"lookup dataset not a reference", KindPipeline, pipelineWith(`{"name": "l", "type": "Lookup", "typeProperties": {"source": {}, "dataset": {"type": "DatasetReference"}}}`),
			`f.json:2:77: properties.activities[0].typeProperties.dataset: missing "referenceName" (the dataset's name)`},
		{"inactive state", KindPipeline, pipelineWith(`{"name": "w", "type": "Wait", "state": "Off", "typeProperties": {"waitTimeInSeconds": 1}}`),
			`f.json:2:40: properties.activities[0].state: expected Active or Inactive, got "Off"`},
		{"key vault secret without a store", KindLinkedService, `{"name": "l", "properties": {"type": "MySql", "typeProperties": {"password": {"type": "AzureKeyVaultSecret", "secretName": "s"}}}}`,
			`f.json:1:78: properties.typeProperties.password: a key vault secret needs "store": {"referenceName": <an AzureKeyVault linked service>, "type": "LinkedServiceReference"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parser{}.Parse(c.kind, "f.json", []byte(c.doc))
			if err == nil {
				t.Fatalf("parsed; want %s", c.want)
			}
			var fe *Error
			if !errors.As(err, &fe) || fe.File != "f.json" {
				t.Errorf("error %T %v is not an *Error about f.json", err, err)
			}
			if err.Error() != c.want {
				t.Errorf("got  %s\nwant %s", err, c.want)
			}
		})
	}
}

func TestParseRESTShape(t *testing.T) {
	t.Parallel()
	doc := `{
  "id": "/subscriptions/x/resourceGroups/rg/providers/Microsoft.DataFactory/factories/f/pipelines/p",
  "name": "p",
  "type": "Microsoft.DataFactory/factories/pipelines",
  "etag": "0a00",
  "properties": {"activities": [{"name": "w", "type": "Wait", "typeProperties": {"waitTimeInSeconds": 2}}], "concurrency": 3}
}`
	p, err := ParsePipeline("p.json", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "p" || p.Concurrency != 3 || len(p.Activities) != 1 || p.Activities[0].Type != "Wait" ||
		string(p.Activities[0].TypeProperties) != `{"waitTimeInSeconds":2}` {
		t.Errorf("parsed %+v", p)
	}
}

func TestParseProperties(t *testing.T) {
	t.Parallel()
	res, err := Parser{}.ParseProperties(KindLinkedService, "pg", "props.json", []byte(`{"type": "PostgreSqlV2", "typeProperties": {"server": "localhost"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if ls := res.(*LinkedService); ls.Name != "pg" || ls.Type != "PostgreSqlV2" {
		t.Errorf("parsed %+v", ls)
	}
	_, err = Parser{}.ParseProperties(KindLinkedService, "pg", "props.json", []byte("{\n  \"type\": \"Db2\"}"))
	if err == nil || !strings.HasPrefix(err.Error(), `props.json:2:11: properties.type: unknown linked service type "Db2"`) {
		t.Errorf("error: %v", err)
	}
	_, err = Parser{}.ParseProperties(KindLinkedService, "a/b", "props.json", []byte(`{"type": "MySql"}`))
	if err == nil || !strings.Contains(err.Error(), `name: invalid name "a/b"`) {
		t.Errorf("error: %v", err)
	}
}

// TestCheckExprHook: the expression check sees every expression (not
// plain strings, not "@@" escapes) and its error lands on the value.
func TestCheckExprHook(t *testing.T) {
	t.Parallel()
	var seen []string
	p := Parser{CheckExpr: func(s string) error {
		seen = append(seen, s)
		if strings.Contains(s, "((") {
			return fmt.Errorf("unbalanced parentheses")
		}
		return nil
	}}
	doc := pipelineWith(`{"name": "w", "type": "Wait", "description": "@@literal", "typeProperties": {"waitTimeInSeconds": "@add(1, 2)"}},
 {"name": "f", "type": "Fail", "typeProperties": {"message": "day @{pipeline().parameters.day}", "errorCode": {"value": "@string((1)", "type": "Expression"}}}`)
	_, err := p.Parse(KindPipeline, "f.json", []byte(doc))
	want := `f.json:3:121: properties.activities[1].typeProperties.errorCode.value: invalid expression: unbalanced parentheses`
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
	wantSeen := []string{"@add(1, 2)", "day @{pipeline().parameters.day}", "@string((1)"}
	if fmt.Sprint(seen) != fmt.Sprint(wantSeen) {
		t.Errorf("checked %q, want %q", seen, wantSeen)
	}
}

// The zero Parser checks expressions with the expr package.
func TestParseChecksExpressions(t *testing.T) {
	t.Parallel()
	doc := pipelineWith(`{"name": "w", "type": "Wait", "typeProperties": {"waitTimeInSeconds": "@add(1, 2)"}},
 {"name": "f", "type": "Fail", "typeProperties": {"message": "@{frobnicate(1)}", "errorCode": "@concat('a', 'b')"}}`)
	_, err := ParsePipeline("f.json", []byte(doc))
	want := `f.json:3:62: properties.activities[1].typeProperties.message: invalid expression: expression "@{frobnicate(1)}" column `
	if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "frobnicate") {
		t.Errorf("got  %v\nwant %s...", err, want)
	}
}

func TestValidateInCode(t *testing.T) {
	t.Parallel()
	p := &Pipeline{Name: "p", Activities: []Activity{
		{Name: "a", Type: "Wait", TypeProperties: []byte(`{"waitTimeInSeconds": 1}`)},
		{Name: "b", Type: "Wait", TypeProperties: []byte(`{"waitTimeInSeconds": 1}`), DependsOn: []Dependency{{Activity: "zz", DependencyConditions: []string{"Succeeded"}}}},
	}}
	err := Validate(p)
	want := `properties.activities[1].dependsOn[0].activity: no activity "zz" here to depend on; dependsOn names an activity of the same container (a, b)`
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
}

// FuzzParse: no input panics; every refusal is a positioned *Error about
// the file; whatever parses validates again in code.
func FuzzParse(f *testing.F) {
	for _, path := range []string{
		"testdata/valid/pipeline/copy_tables.json", "testdata/valid/pipeline/nightly.json",
		"testdata/valid/dataset/pg_table.json", "testdata/valid/linkedService/pg.json",
		"testdata/valid/trigger/hourly_window.json", "testdata/valid/trigger/daily.json",
	} {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(pipelineWith(`{"name": "a", "type": "Wait", "dependsOn": [{"activity": "a"}]}`)))
	kinds := []Kind{KindLinkedService, KindDataset, KindPipeline, KindTrigger}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, kind := range kinds {
			res, err := Parse(kind, "f.json", data)
			if err != nil {
				var fe *Error
				if !errors.As(err, &fe) || fe.File != "f.json" {
					t.Fatalf("%s: error %T %v is not an *Error about f.json", kind, err, err)
				}
				continue
			}
			if err := Validate(res); err != nil {
				t.Fatalf("%s: parsed, then failed validation: %v", kind, err)
			}
			if p, ok := res.(*Pipeline); ok {
				if err := Walk(p.Activities, func(string, *Activity) error { return nil }); err != nil {
					t.Fatalf("parsed, then failed walk: %v", err)
				}
			}
		}
	})
}
