package yamlsyntax

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestLocate feeds broken documents through yaml.v3 and Locate and checks
// the exact line, column and message.
func TestLocate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, doc string
		line, col int
		msg       string
	}{
		{"key deeper than a sibling with a value",
			"$schema: x\ntype: command\ncommand: python train.py\nenvironment:\n  image: python:3.11\n   conda_file: env.yml\ninputs:\n  lr: 0.1\n",
			6, 4, `key "conda_file" is indented 3 spaces, deeper than key "image" on line 5, which already has a value; expected 2 spaces`},
		{"key between two levels",
			"type: command\nenvironment:\n    image: x\n    conda_file: y\n  name: z\ncompute: c\n",
			5, 3, `key "name" is indented 2 spaces, which matches no enclosing block; expected 4 spaces (like key "conda_file" on line 4) or 0 (like key "environment" on line 2)`},
		{"key one space short deep in a mapping",
			"a:\n  b:\n    c: 1\n    d: 2\n   e: 3\n",
			5, 4, `key "e" is indented 3 spaces, which matches no enclosing block; expected 4 spaces (like key "d" on line 4) or 2 (like key "b" on line 2)`},
		{"one space", "a:\n  b:\n    c: 1\n    d: 2\n e: 3\n",
			5, 2, `key "e" is indented 1 space, which matches no enclosing block; expected 2 spaces (like key "b" on line 2) or 0 (like key "a" on line 1)`},
		{"top-level key indented", "command: echo\n display_name: x\n",
			2, 2, `key "display_name" is indented 1 space, deeper than key "command" on line 1, which already has a value; expected 0 spaces`},
		{"key after a comment on a value", "key: value # comment\n  x: 1\n",
			2, 3, `key "x" is indented 2 spaces, deeper than key "key" on line 1, which already has a value; expected 0 spaces`},
		{"key after a quoted value", "a: 'x'\n  b: 1\n",
			2, 3, `key "b" is indented 2 spaces, deeper than key "a" on line 1, which already has a value; expected 0 spaces`},
		{"key after a block scalar", "a: |\n  text\n b: 1\n",
			3, 2, `line is indented 1 space, less than the block scalar's first line (line 2, 2 spaces); expected 2 spaces or more to stay in the block scalar, or 0 spaces to end it`},
		{"key in an item's mapping", "- a: 1\n   b: 2\n",
			2, 4, `key "b" is indented 3 spaces, deeper than key "a" on line 1, which already has a value; expected 2 spaces`},
		{"list item at the wrong indent",
			"type: pipeline\njobs:\n  a:\n    type: command\n    command: echo\nsettings:\n  items:\n    - a\n   - b\n",
			9, 4, `list item is indented 3 spaces, which matches no enclosing block; expected 4 spaces (like the list item on line 8) or 2 (like key "items" on line 7)`},
		{"key among list items", "type: command\ncommand: echo hi\nenvironment_variables:\n  - A\n  B: 1\n",
			5, 3, `expected a list item ("- ") here, like the list item on line 4; found key "B"`},
		{"list item among keys", "a:\n  b: 1\n  - 2\n",
			3, 3, `expected a key here, like key "b" on line 2; found a list item`},
		{"list item in an item's mapping", "trigger: main\nsteps:\n- script: a\n  - bad\n",
			4, 3, `expected a key here, like key "script" on line 3; found a list item`},
		{"top-level list item after keys", "a: 1\n- b\n",
			2, 1, `expected a key here, like key "a" on line 1; found a list item`},
		{"top-level key after items", "- a\nb: 1\n",
			2, 1, `expected a list item ("- ") here, like the list item on line 1; found key "b"`},
		{"key without a colon", "a: 1\nb\nc: 2\n",
			2, 1, `expected a key followed by ':' here, like key "a" on line 1; found "b" without one`},
		{"key without a colon, nested", "type: command\ncommand: echo hi\ntags:\n  a: 1\n  b\n  c: 3\n",
			5, 3, `expected a key followed by ':' here, like key "a" on line 4; found "b" without one`},
		{"two keys on a line", "a: b: c\n",
			1, 5, `unexpected ':' inside a value: it reads as a second key on one line; expected the value in quotes, or the key on a line of its own`},
		{"list on its key's line", "a: - x\n",
			1, 4, `a list cannot start on the same line as its key; expected the "- " items on the lines below, indented`},
		{"tab indentation", "a:\n\tb: 1\n",
			2, 1, `tab character in the indentation; expected spaces (YAML does not indent with tabs)`},
		{"tab after spaces", "type: command\ncommand: echo hi\nenvironment_variables:\n  A: 1\n  \tB: 2\n",
			5, 3, `tab character in the indentation; expected spaces (YAML does not indent with tabs)`},
		{"tab on a blank line", "a:\n  b: 1\n  \t\n  c: 2\n",
			3, 3, `tab character in the indentation of a blank or comment line; expected spaces`},
		{"tab before a comment", "a:\n  b: 1\n  \t# note\n  c: 2\n",
			3, 3, `tab character in the indentation of a blank or comment line; expected spaces`},
		{"tab after a dash", "a:\n  -\tb\n",
			2, 4, `tab character after '-'; expected a space`},
		{"unclosed bracket", "type: command\ncommand: echo hi\ntags:\n  a: [1, 2\n  b: 3\ninputs:\n  x: 1\n",
			4, 6, `'[' is not closed before line 6, which starts a new key; expected a matching ']'`},
		{"unclosed bracket at the end", "steps:\n- script: echo\n  displayName: [unclosed\n",
			3, 16, `'[' is never closed; expected a matching ']'`},
		{"unclosed brace", "a: {x: 1\nb: 3\n",
			1, 4, `'{' is not closed before line 2, which starts a new key; expected a matching '}'`},
		{"unclosed inner bracket", "a: [1, [2, 3]\n",
			1, 4, `'[' is never closed; expected a matching ']'`},
		{"wrong closer", "a: [1, 2}\nb: 3\n",
			1, 9, `found '}' but the '[' at line 1, column 4 is still open; expected ']'`},
		{"wrong closer on a later line", "a: {b: [1,\n  2}\n",
			2, 4, `found '}' but the '[' at line 1, column 8 is still open; expected ']'`},
		{"extra closer", "a: [1, 2]]\n",
			1, 10, `found ']' with no '[' open; expected the end of the line`},
		{"closer with nothing open", "a: ]\n",
			1, 4, `found ']' with no '[' open; expected a value`},
		{"text after a flow", "a: [1, 2] x\n",
			1, 11, `unexpected "x" after the closing ']'; expected the end of the line or a comment`},
		{"missing comma in a flow mapping", "a: {x: 1 y: 2}\n",
			1, 11, `a second ':' in one entry of the '{' at line 1, column 4; expected ',' between entries`},
		{"missing comma in a multi-line flow", "a: {\n  x: 1\n  y: 2\n}\n",
			3, 4, `a second ':' in one entry of the '{' at line 1, column 4; expected ',' between entries`},
		{"unclosed double quote", "type: command\ncommand: \"echo hi\ntags:\n  a: 1\n  b: 3\n",
			2, 10, `double-quoted string is never closed; expected a closing "`},
		{"unclosed single quote", "a: 'x\nb: 3\n",
			1, 4, `single-quoted string is never closed; expected a closing '`},
		{"quote closed by a later one", "a: \"x\nb: 3\nc: \"y\"\n",
			1, 4, `double-quoted string is not closed on its line: it runs on to line 3; expected a closing "`},
		{"quote in a flow closed by a later one", "a:\n  b: {$ref: '#/x}\n  c:\n    d: [{$ref: '#/y'}]\n",
			2, 13, `single-quoted string is not closed on its line: it runs on to line 4; expected a closing '`},
		{"text after a quoted value", "a: \"ok\" trailing\n",
			1, 9, `unexpected "trailing" after the closing "; expected the end of the line or a comment`},
		{"reserved indicator", "a: @x\n",
			1, 4, `'@' cannot start a plain value; expected the value in quotes`},
		{"bad block scalar header", "a: |x\n  y\n",
			1, 5, `unexpected "x" after the block scalar indicator "|"; expected a line break (the text goes on the lines below)`},
		{"tab before a block scalar's body", "a: |\n\tx\n",
			2, 1, `tab character in the indentation; expected spaces (YAML does not indent with tabs)`},
		{"tab in a block scalar", "a: |\n    x\n  \ty\n",
			3, 3, `tab character in the indentation of a block scalar; expected spaces`},
		{"unknown alias", "a: &x 1\nb: *y\n",
			2, 4, `alias *y refers to no anchor; expected an anchor &y on a value before it`},
		{"crlf line ends", "a:\r\n  b: 1\r\n   c: 2\r\n",
			3, 4, `key "c" is indented 3 spaces, deeper than key "b" on line 2, which already has a value; expected 2 spaces`},
		{"columns count characters", "a:\n  é: [1, 2}\n",
			2, 11, `found '}' but the '[' at line 2, column 6 is still open; expected ']'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var n yaml.Node
			err := yaml.Unmarshal([]byte(tt.doc), &n)
			if err == nil {
				t.Fatalf("yaml.v3 accepts %q", tt.doc)
			}
			got := Locate([]byte(tt.doc), err)
			want := Problem{Line: tt.line, Col: tt.col, Msg: tt.msg}
			if got != want {
				t.Errorf("Locate(%q)\n got %d:%d: %s\nwant %d:%d: %s\n(yaml.v3: %v)", tt.doc, got.Line, got.Col, got.Msg, want.Line, want.Col, want.Msg, err)
			}
		})
	}
}

// TestLocateFallsBackToTheParser checks that what the scanner does not
// follow, or blames wrongly, gets the parser's own line and message.
func TestLocateFallsBackToTheParser(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, doc string
		want      Problem
	}{
		// Complex keys are beyond the scanner.
		{"complex key", "? a\n: b\nc: [\n", Problem{Line: 3, Msg: "did not find expected node content"}},
		// The scanner's answer (line 3) is refused: line 1 already fails.
		{"earlier fault the scanner misses", "a: !!binary\n  \t\n   x: 1\n  y: [\n", Problem{}},
		{"no line in the message", "%YAML 1.3\n---\na: 1\n", Problem{Msg: "found incompatible YAML document"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var n yaml.Node
			err := yaml.Unmarshal([]byte(tt.doc), &n)
			if err == nil {
				t.Fatalf("yaml.v3 accepts %q", tt.doc)
			}
			got := Locate([]byte(tt.doc), err)
			want := tt.want
			if want == (Problem{}) {
				want = parserProblem(err)
			}
			if got != want {
				t.Errorf("Locate(%q) = %+v, want %+v (yaml.v3: %v)", tt.doc, got, want, err)
			}
		})
	}
}

// TestScanAcceptsValidFiles scans every YAML file in the repository that
// yaml.v3 accepts: the scanner must find nothing wrong with any of them.
func TestScanAcceptsValidFiles(t *testing.T) {
	t.Parallel()
	for _, data := range repoYAML(t) {
		if s := scan(splitLines(data)); s.prob != nil {
			t.Errorf("a valid file, but the scanner says %d:%d: %s\n%s", s.prob.Line, s.prob.Col, s.prob.Msg, data)
		}
	}
}

// TestLocateDeepNesting checks that a line nesting lists thousands deep
// neither exhausts the scanner nor gets a made-up answer.
func TestLocateDeepNesting(t *testing.T) {
	t.Parallel()
	doc := []byte(strings.Repeat("- ", 100000) + "x\n" + "a: [\n")
	var n yaml.Node
	err := yaml.Unmarshal(doc, &n)
	if err == nil {
		t.Skip("yaml.v3 accepts the document")
	}
	if p := Locate(doc, err); p != parserProblem(err) {
		t.Errorf("Locate = %+v, want the parser's %+v", p, parserProblem(err))
	}
}
