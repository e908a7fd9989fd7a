package spec

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseJob checks that no input makes ParseJob panic or return both a
// job and an error.
func FuzzParseJob(f *testing.F) {
	for _, name := range []string{"pipeline/pipeline.yml", "command/job.yml", "nested/pipeline.yml", "pipeline/components/train.yml"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("command: echo ${{inputs.x}}\ninputs: {x: [1]}\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("type: pipeline\njobs:\n  a: {command: 'echo', inputs: {x: '${{parent.jobs.a.outputs.x}}'}}\n"))
	f.Add([]byte("<<: {command: echo}\n<<: [{a: 1}]\n"))
	f.Add([]byte("type: pipeline\ncomponent: azureml:c@latest\ninputs: {a: 1}\noutputs: {o: {mode: upload}}\n"))
	f.Add([]byte("type: sweep\ntrial:\n  command: echo ${{search_space.x}}\nsampling_algorithm: {type: random, seed: 1}\n" +
		"search_space:\n  x: {type: quniform, min_value: 0, max_value: 1, q: 0.1}\n  y: {type: choice, values: [a, 1]}\n" +
		"objective: {goal: Maximize, primary_metric: m}\nlimits: {max_total_trials: 2}\n" +
		"early_termination: {type: truncation_selection, truncation_percentage: 20}\n"))
	f.Add([]byte("type: sweep\ntrial:\n  command: echo $[[${{search_space.m}}]]\nsampling_algorithm: grid\n" +
		"search_space:\n  o: {type: choice, values: [{m: {type: choice, values: [1, {k: 2}]}}, {m: 3, n: 4}, x]}\n" +
		"objective: {goal: maximize, primary_metric: m}\n"))
	f.Add([]byte("type: pipeline\njobs:\n  s:\n    type: sweep\n    trial: ./t.yml\n    sampling_algorithm: grid\n" +
		"    search_space: {x: {type: choice, values: [1]}}\n    objective: {goal: minimize, primary_metric: m}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file := filepath.Join("testdata", "fuzz.yml")
		j, err := ParseJob(file, data, Options{Sets: []string{"display_name=x"}})
		if (j == nil) == (err == nil) {
			t.Fatalf("ParseJob returned job %v and error %v", j != nil, err)
		}
		// A syntax error names a line of the file and shows it.
		var se *Error
		if errors.As(err, &se) && se.Pos.File == file && se.Source != "" {
			text := strings.ReplaceAll(strings.ReplaceAll(string(data), "\r\n", "\n"), "\r", "\n")
			if lines := strings.Count(text, "\n") + 1; se.Pos.Line < 1 || se.Pos.Line > lines {
				t.Fatalf("error at line %d of a %d-line file: %v", se.Pos.Line, lines, err)
			}
			if !strings.Contains(se.Snippet(), "^") && se.Pos.Col > 0 {
				t.Fatalf("snippet without a caret for %v:\n%s", err, se.Snippet())
			}
		}
	})
}

// FuzzParseCommand checks that parsing and rendering never panic and that a
// rendered script never contains a value.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{
		"python a.py --x ${{inputs.x}} $[[--y ${{inputs.y}}]] --o ${{outputs.o}}",
		`echo "$(printf '%s' ${{inputs.x}})" '${{inputs.x}}' $'${{inputs.x}}'`,
		"cat <<-'EOF'\n${{inputs.x}}\nEOF\n# it's ${{inputs.x}}",
		"[[ ${{inputs.x}} -eq 1 ]] && (( ${{inputs.x}} )) `${{inputs.x}}`",
		"$[[ $[[ ]] ${{inputs.x}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tmpl string) {
		c, err := ParseCommand(tmpl)
		if err != nil {
			return
		}
		const marker = "\x01value\x01"
		script, env, err := c.Render(func(kind, name string) (string, bool) {
			return marker + kind + name, len(name)%2 == 1
		})
		if err != nil {
			return
		}
		if strings.Contains(script, marker) && !strings.Contains(tmpl, marker) {
			t.Fatalf("a value was spliced into the script: %q", script)
		}
		for _, e := range env {
			if !strings.HasPrefix(e, EnvInputPrefix) && !strings.HasPrefix(e, EnvOutputPrefix) {
				t.Fatalf("env entry %q", e)
			}
		}
	})
}

// FuzzParseBinding checks that ParseBinding never panics, accepts only what
// IsBinding does, and that a parsed binding writes back to itself.
func FuzzParseBinding(f *testing.F) {
	for _, s := range []string{"${{parent.inputs.x}}", "${{ parent.jobs.a.outputs.b }}", "${{outputs.y}}", "${{}}", "${{a}}}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseBinding(s)
		if err != nil {
			return
		}
		if !IsBinding(s) {
			t.Fatalf("ParseBinding accepted %q, which IsBinding rejects", s)
		}
		back, err := ParseBinding(b.String())
		if err != nil || back != b {
			t.Fatalf("%q -> %+v -> %q -> %+v, %v", s, b, b.String(), back, err)
		}
	})
}
