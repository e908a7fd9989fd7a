package yamlsyntax

import (
	"testing"

	"gopkg.in/yaml.v3"
)

// FuzzScan checks the scanner on any text: it never panics, blames a line
// that exists, finds nothing wrong with a document yaml.v3 accepts, and
// Locate always answers with a line in the document (or none).
func FuzzScan(f *testing.F) {
	for _, seed := range []string{
		"type: command\ncommand: echo\nenvironment:\n  image: python\n   conda_file: env.yml\n",
		"a:\n  b:\n    - 1\n    - 2\n   - 3\n",
		"a: [1, {b: \"x]\", c: 'y''z'}]\nd: |\n  text: [\n e: 1\n",
		"- a: 1\n  b: [1,\n    2]\n- c: \"multi\n  line\"\n",
		"a: &x {b: 1}\nc: *x\n<<: *x\n? complex\n: key\n",
		"a:\n\tb: 1\n",
		"key: value # c: d\n  x: 1\n",
		"--- \na: 1\n...\n---\n- b\n",
		"a: >-\n  x\n\n  y\nb: !!str 1\n",
		"a: {x: 1 y: 2}\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		lines := splitLines([]byte(doc))
		s := scan(lines)
		if p := s.prob; p != nil {
			if p.Line < 1 || p.Line > len(lines) || p.Col < 1 || s.probFrom < 1 || s.probFrom > p.Line {
				t.Fatalf("scan(%q) blames %d:%d (from line %d) in %d lines", doc, p.Line, p.Col, s.probFrom, len(lines))
			}
		}
		var n yaml.Node
		err := unmarshal([]byte(doc), &n)
		if err == nil {
			if s.prob != nil {
				t.Fatalf("yaml.v3 accepts %q but the scanner says %d:%d: %s", doc, s.prob.Line, s.prob.Col, s.prob.Msg)
			}
			return
		}
		if p := Locate([]byte(doc), err); p.Line < 0 || p.Line > len(lines)+1 || p.Col < 0 {
			t.Fatalf("Locate(%q) = %+v in %d lines", doc, p, len(lines))
		}
	})
}
