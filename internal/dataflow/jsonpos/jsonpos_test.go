package jsonpos

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParsePositions(t *testing.T) {
	t.Parallel()
	doc := "{\n  \"a\": [1, \"x\",\n    {\"b\": null}],\n  \"é\": \"ü\", \"c\": true\n}"
	v, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path []any
		want Pos
		kind Kind
	}{
		{nil, Pos{1, 1}, Object},
		{[]any{"a"}, Pos{2, 8}, Array},
		{[]any{"a", 1}, Pos{2, 12}, String},
		{[]any{"a", 2, "b"}, Pos{3, 11}, Null},
		{[]any{"é"}, Pos{4, 8}, String}, // columns count characters
		{[]any{"C"}, Pos{4, 18}, Bool},  // keys match without regard to case
	} {
		got, ok := v.Lookup(c.path...)
		if !ok || got.Pos != c.want || got.Kind != c.kind {
			t.Errorf("%v: got %v %+v %v, want %+v %v", c.path, ok, got.Pos, got.Kind, c.want, c.kind)
		}
	}
	if got, ok := v.Lookup("a", 2, "zz"); ok || got.Pos != (Pos{3, 5}) {
		t.Errorf("missing key: got %v at %+v, want the object that lacks it", ok, got.Pos)
	}
}

func TestParseSyntaxErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ doc, want string }{
		{`{"a" 1}`, "1:6: invalid character '1' after object key"},
		{"[1,\n 2 3]", "2:4: invalid character '3' after array element"},
		{`{"a": tru}`, "1:10: invalid character '}' in literal true (expecting 'e')"},
		{`{"a": "\q"}`, `1:9: invalid character 'q' in string escape code`},
		{"  x", "1:3: invalid character 'x' looking for beginning of value"},
		{`{"a": 1`, "1:8: unexpected end of JSON input"},
		{"", "1:1: unexpected end of JSON input"},
		{`{"a": 1} {}`, "1:10: unexpected content after the JSON value"},
		{`{"a": 1, "a": 2}`, `1:10: key "a" is written twice in this object`},
		{strings.Repeat("[", MaxDepth+1), "1:257: nested more than 256 deep"},
	} {
		_, err := Parse([]byte(c.doc))
		var se *SyntaxError
		if !errors.As(err, &se) || err.Error() != c.want {
			t.Errorf("%q: got %v, want %s", c.doc, err, c.want)
		}
	}
}

func TestMarshalAndAny(t *testing.T) {
	t.Parallel()
	doc := `{"z": 1.50, "a": ["x\n", false, null, {"k": -3}]}`
	v, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	out, err := v.MarshalJSON()
	if err != nil || string(out) != `{"z":1.50,"a":["x\n",false,null,{"k":-3}]}` {
		t.Errorf("marshal: %s %v", out, err)
	}
	want := map[string]any{"z": json.Number("1.50"), "a": []any{"x\n", false, nil, map[string]any{"k": json.Number("-3")}}}
	if !reflect.DeepEqual(v.Any(), want) {
		t.Errorf("any: %#v", v.Any())
	}
	back, err := FromAny(v.Any(), Pos{7, 1})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := back.MarshalJSON(); string(b) != `{"a":["x\n",false,null,{"k":-3}],"z":1.50}` || back.Elems != nil || back.Members[0].Value.Elems[3].Pos != (Pos{7, 1}) {
		t.Errorf("from any: %s", b)
	}
	if _, err := FromAny(struct{}{}, Pos{}); err == nil {
		t.Error("FromAny took a struct")
	}
}

// FuzzParse: Parse never panics, accepts what encoding/json accepts
// (unless a key repeats or it nests too deep), and writes back what it
// read.
func FuzzParse(f *testing.F) {
	for _, s := range []string{`{"a": [1, 2.5, "x", true, null]}`, `[]`, `"\u00e9"`, `{"a": {"b": {}}}`, `{"a" 1}`, "[1,\n2", `{"a":1,"a":2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Parse(data)
		valid := json.Valid(data)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Pos.Line < 1 || se.Pos.Col < 1 {
				t.Fatalf("error %v is not a positioned *SyntaxError", err)
			}
			if valid && !strings.Contains(se.Msg, "twice") && !strings.Contains(se.Msg, "nested") {
				t.Fatalf("refused valid JSON %q: %v", data, err)
			}
			return
		}
		if !valid {
			t.Fatalf("accepted invalid JSON %q", data)
		}
		out, err := v.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		a, err := decodeNumbers(data)
		if err != nil {
			t.Fatal(err)
		}
		b, err := decodeNumbers(out)
		if err != nil {
			t.Fatalf("wrote invalid JSON %q: %v", out, err)
		}
		if !reflect.DeepEqual(a, b) && !bytes.Contains(data, []byte(`\u`)) {
			t.Fatalf("round trip changed %q into %q", data, out)
		}
	})
}

func decodeNumbers(data []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}
