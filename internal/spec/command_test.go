package spec

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestParseCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		tmpl     string
		refs     []string // Refs, as bindings written back
		required []string // RequiredRefs
		err      string   // substring of the error; "" for none
	}{
		{tmpl: "echo hi"},
		{tmpl: "python a.py --x ${{inputs.x}} --y ${{outputs.y}} --x2 ${{ inputs.x }}",
			refs: []string{"${{inputs.x}}", "${{outputs.y}}"}, required: []string{"${{inputs.x}}", "${{outputs.y}}"}},
		{tmpl: "python a.py $[[--lr ${{inputs.lr}}]] --m ${{outputs.m}}",
			refs: []string{"${{inputs.lr}}", "${{outputs.m}}"}, required: []string{"${{outputs.m}}"}},
		{tmpl: "[[ -f x ]] && echo ]] $[[ a ]]"},
		{tmpl: "echo ${{inputs.x}", err: "command line 1, column 6: unterminated placeholder"},
		{tmpl: "echo\n  $[[ a ${{inputs.x}}", err: "command line 2, column 3: unterminated optional block"},
		{tmpl: "$[[ $[[ ]] ]]", err: "cannot nest"},
		{tmpl: "echo ${{parent.inputs.x}}", err: "cannot be used in a command"},
		{tmpl: "echo ${{inputs.x.y}}", err: "invalid binding"},
		{tmpl: "echo ${{search_space.lr}}", err: "invalid binding"},
	}
	for _, tt := range tests {
		t.Run(tt.tmpl, func(t *testing.T) {
			t.Parallel()
			c, err := ParseCommand(tt.tmpl)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseCommand(%q) error = %v, want it to contain %q", tt.tmpl, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseCommand(%q): %v", tt.tmpl, err)
			}
			if got := bindingStrings(c.Refs()); !reflect.DeepEqual(got, tt.refs) {
				t.Errorf("Refs() = %v, want %v", got, tt.refs)
			}
			if got := bindingStrings(c.RequiredRefs()); !reflect.DeepEqual(got, tt.required) {
				t.Errorf("RequiredRefs() = %v, want %v", got, tt.required)
			}
		})
	}
}

func bindingStrings(bs []Binding) []string {
	var out []string
	for _, b := range bs {
		out = append(out, b.String())
	}
	return out
}

// nasty is a value that would run a command, split into words, glob, or end
// a quote if it were ever spliced into shell text.
const nasty = "a b;  $(touch PWNED) `touch PWNED` ' \" \\ $HOME * \n\t-n ${X} '\"'\"' \\'"

// TestRender runs the rendered script with bash and checks each argument
// arrives byte for byte, and that nothing in a value ran.
func TestRender(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash not found")
	}
	p := "printf '[%s]\\n' "
	vals := map[string]string{"x": nasty, "y": "why", "lr": "0.1", "e": "", "u": "héllo wörld"}
	tests := []struct {
		name string
		tmpl string
		vals map[string]string // defaults to vals
		want string
	}{
		{"unquoted", p + "${{inputs.x}}", nil, "[" + nasty + "]\n"},
		{"double", p + `"pre ${{inputs.x}} post"`, nil, "[pre " + nasty + " post]\n"},
		{"single", p + `'pre ${{inputs.x}} post'`, nil, "[pre " + nasty + " post]\n"},
		{"ansi-c", p + `$'t\t${{inputs.y}}\''`, nil, "[t\twhy']\n"},
		{"adjacent", p + `a${{inputs.y}}b"${{inputs.y}}"'${{inputs.y}}'`, nil, "[awhybwhywhy]\n"},
		{"empty value", p + "${{inputs.e}} x", nil, "[]\n[x]\n"},
		{"unicode", p + "${{inputs.u}}", nil, "[héllo wörld]\n"},
		{"subst in double", p + `"$(printf '%s' ${{inputs.x}})"`, nil, "[" + strings.TrimRight(nasty, "\n") + "]\n"},
		{"backticks", p + "\"`printf '%s' ${{inputs.y}}`\"", nil, "[why]\n"},
		{"nested subst", p + `"$(echo "$(printf '<%s>' '${{inputs.y}}')")"`, nil, "[<why>]\n"},
		{"escaped quote outside", p + `\'${{inputs.y}}`, nil, "['why]\n"},
		{"escaped quote inside double", p + `"a\"b ${{inputs.y}}"`, nil, "[a\"b why]\n"},
		{"apostrophe in comment", p + "${{inputs.y}} # don't\n" + p + "${{inputs.y}}", nil, "[why]\n[why]\n"},
		{"hash inside word", p + "a#'${{inputs.y}}'", nil, "[a#why]\n"},
		{"param default", p + `${NOPE:-${{inputs.x}}}`, nil, "[" + nasty + "]\n"},
		{"heredoc", "cat <<EOF\nit's ${{inputs.x}}\nEOF\n" + p + "'${{inputs.y}}'", nil, "it's " + nasty + "\n[why]\n"},
		{"heredoc strip tabs", "cat <<-END\n\tv=${{inputs.y}}\n\tEND\n" + p + "${{inputs.y}}", nil, "v=why\n[why]\n"},
		{"here-string", "cat <<< ${{inputs.y}}", nil, "why\n"},
		{"optional kept", p + "a $[[--lr ${{inputs.lr}}]] b", nil, "[a]\n[--lr]\n[0.1]\n[b]\n"},
		{"optional dropped", p + "a $[[--lr ${{inputs.missing}}]] b", nil, "[a]\n[b]\n"},
		{"optional with quotes dropped", p + `a $[[--n "${{inputs.missing}}" 'it''s']] b`, nil, "[a]\n[b]\n"},
		{"optional with quotes kept", p + `a $[[--n "${{inputs.y}}" 'it'\''s']] b`, nil, "[a]\n[--n]\n[why]\n[it's]\n[b]\n"},
		{"optional any missing drops", p + "$[[${{inputs.lr}} ${{inputs.missing}}]] z", nil, "[z]\n"},
		{"output", p + "--out ${{outputs.model}}", map[string]string{"model": "/tmp/out dir"}, "[--out]\n[/tmp/out dir]\n"},
		{"test without arithmetic", `[[ ${{inputs.y}} == why ]] && echo ok`, nil, "ok\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := vals
			if tt.vals != nil {
				v = tt.vals
			}
			got, dir := renderAndRun(t, tt.tmpl, v)
			if got != tt.want {
				t.Errorf("output of %q:\n got %q\nwant %q", tt.tmpl, got, tt.want)
			}
			if _, err := os.Stat(filepath.Join(dir, "PWNED")); err == nil {
				t.Errorf("a value ran as a command")
			}
		})
	}
}

// renderAndRun renders tmpl with vals (for inputs and outputs alike), runs
// it with bash in a fresh directory and returns its output and the
// directory.
func renderAndRun(t *testing.T, tmpl string, vals map[string]string) (string, string) {
	t.Helper()
	c, err := ParseCommand(tmpl)
	if err != nil {
		t.Fatalf("ParseCommand: %v", err)
	}
	script, env, err := c.Render(func(kind, name string) (string, bool) {
		v, ok := vals[name]
		return v, ok
	})
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	for _, e := range env {
		if !strings.HasPrefix(e, EnvInputPrefix) && !strings.HasPrefix(e, EnvOutputPrefix) {
			t.Errorf("env entry %q has an unexpected name", e)
		}
	}
	dir := t.TempDir()
	cmd := exec.Command("bash", "-c", script)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}, env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bash -c %q: %v\n%s", script, err, out)
	}
	return string(out), dir
}

func TestRenderErrors(t *testing.T) {
	t.Parallel()
	vals := map[string]string{"x": "1", "y": "2"}
	tests := []struct {
		tmpl string
		err  string
	}{
		{"echo ${{inputs.missing}} ${{outputs.gone}}", "${{inputs.missing}}, ${{outputs.gone}} outside an optional block"},
		{"echo $(( ${{inputs.x}} + 1 ))", "arithmetic expression"},
		{"(( ${{inputs.x}} > 1 )) && echo", "arithmetic expression"},
		{`echo "$(( $(echo ${{inputs.x}}) ))"`, "arithmetic expression"},
		{"echo $[ ${{inputs.x}} ]", "arithmetic expression"},
		{`[[ "${{inputs.x}}" -eq 1 ]]`, "inside [[ ]] with an arithmetic comparison"},
		{`[[ 1 -lt ${{inputs.x}} ]]`, "inside [[ ]] with an arithmetic comparison"},
		// Conservative: any arithmetic comparison in the same [[ ]] refuses it.
		{`[[ -n ${{inputs.x}} && 1 -eq 1 ]]`, "inside [[ ]] with an arithmetic comparison"},
		{"echo \\${{inputs.x}}", "follows a backslash"},
		{"cat <<'EOF'\n${{inputs.x}}\nEOF", "quoted delimiter"},
		{"cat <<\\EOF\n${{inputs.x}}\nEOF", "quoted delimiter"},
	}
	for _, tt := range tests {
		t.Run(tt.tmpl, func(t *testing.T) {
			t.Parallel()
			c, err := ParseCommand(tt.tmpl)
			if err != nil {
				t.Fatalf("ParseCommand: %v", err)
			}
			_, _, err = c.Render(func(kind, name string) (string, bool) {
				v, ok := vals[name]
				return v, ok
			})
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("Render(%q) error = %v, want it to contain %q", tt.tmpl, err, tt.err)
			}
		})
	}
}

func TestRenderEnv(t *testing.T) {
	t.Parallel()
	c, err := ParseCommand("run ${{inputs.data-set}} ${{inputs.lr}} ${{outputs.lr}} ${{inputs.lr}}")
	if err != nil {
		t.Fatal(err)
	}
	script, env, err := c.Render(func(kind, name string) (string, bool) { return kind + ":" + name, true })
	if err != nil {
		t.Fatal(err)
	}
	dash := EnvName(Binding{Kind: BindInputs, Port: "data-set"})
	if !strings.HasPrefix(dash, "CIEL_INPUT_data_set_") {
		t.Errorf("EnvName(data-set) = %q", dash)
	}
	want := []string{
		"CIEL_INPUT_lr=inputs:lr",
		dash + "=inputs:data-set",
		"CIEL_OUTPUT_lr=outputs:lr",
	}
	if !reflect.DeepEqual(env, sortedCopy(want)) {
		t.Errorf("env = %q, want %q", env, sortedCopy(want))
	}
	wantScript := `run "${` + dash + `}" "${CIEL_INPUT_lr}" "${CIEL_OUTPUT_lr}" "${CIEL_INPUT_lr}"`
	if script != wantScript {
		t.Errorf("script = %q, want %q", script, wantScript)
	}
	if _, _, err := c.Render(func(string, string) (string, bool) { return "a\x00b", true }); err == nil {
		t.Error("a value with a NUL byte rendered without error")
	}
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}
