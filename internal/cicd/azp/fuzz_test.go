package azp

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary files to Parse: it must return a pipeline or an
// error, never panic or hang, and every error must carry a position.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"seed", "multistage", "inserts", "matrix", "vartemplate"} {
		data, err := os.ReadFile("testdata/" + name + ".yml")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("steps:\n- ${{ each x in parameters.y }}:\n  - script: ${{ x }}\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("f.yml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.yml") {
				t.Errorf("error without the file's position: %v", err)
			}
			return
		}
		if _, err := Render(p); err != nil {
			t.Errorf("render a parsed pipeline: %v", err)
		}
	})
}

// FuzzExpression parses and evaluates arbitrary expressions: no panics,
// and failures are errors of the documented types.
func FuzzExpression(f *testing.F) {
	for _, s := range []string{
		"and(succeeded(), eq(variables['Build.SourceBranch'], 'refs/heads/main'))",
		"format('{0}{{', join(',', split('a,b', ',')))", "dependencies.A.outputs['s.v']",
		"gt(1.2.3, '1.2')", "'it''s'", "-1.5", "parameters.envs.*", "counter('a', 1)",
		"coalesce(null, '', convertToJson(parameters.obj))", "containsValue(parameters.obj, 1)",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		v, err := Eval(src, testEnv(fakeStatus{results: map[string]string{"Train": "Succeeded"}}))
		if err != nil {
			var se *ExprSyntaxError
			var ee *EvalError
			if !errors.As(err, &se) && !errors.As(err, &ee) {
				t.Errorf("Eval(%q): error of type %T: %v", src, err, err)
			}
			return
		}
		_ = toJSON(v, "")
	})
}

// FuzzExpandMacros checks that macro expansion never panics and leaves
// text without "$(" unchanged.
func FuzzExpandMacros(f *testing.F) {
	for _, s := range []string{"$(a)", "$($(a))", "x$(", "$(a b)", "$(Build.SourcesDirectory)/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := ExpandMacros(s, func(name string) (string, bool) { return strings.ToUpper(name), name != "undefined" })
		if !strings.Contains(s, "$(") && got != s {
			t.Errorf("ExpandMacros(%q) = %q: text without macros changed", s, got)
		}
		if strings.Contains(s, "$(undefined)") && !strings.Contains(got, "$(undefined)") {
			t.Errorf("ExpandMacros(%q) = %q: an undefined macro was not kept", s, got)
		}
	})
}
