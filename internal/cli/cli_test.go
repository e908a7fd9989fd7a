package cli

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
)

// testBundle is what setup gives a test: the environment the CLI sees.
type testBundle struct {
	home string
	env  map[string]string
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	home := t.TempDir()
	return &testBundle{home: home, env: map[string]string{"CIEL_HOME": home}}
}

// result is one run of the CLI.
type result struct {
	stdout, stderr string
	code           int
	err            error
}

// run executes the CLI in-process with args, as main would, feeding stdin.
func (tb *testBundle) run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	root := NewRoot(Config{
		Args:   args,
		Stdin:  strings.NewReader(stdin),
		Stdout: &out,
		Stderr: &errOut,
		Getenv: func(k string) string { return tb.env[k] },
	})
	err := root.ExecuteContext(t.Context())
	return result{stdout: out.String(), stderr: errOut.String(), code: ExitCode(err), err: err}
}

func TestExpandMultiValueFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{"nargs set", []string{"job", "create", "--set", "a=1", "b=2", "--stream"},
			[]string{"job", "create", "--set", "a=1", "--set", "b=2", "--stream"}},
		{"equals form", []string{"--set=a=1", "b=2"}, []string{"--set=a=1", "--set", "b=2"}},
		{"tags and defaults", []string{"--tags", "x=1", "y=2", "--defaults", "workspace=w", "group=g"},
			[]string{"--tags", "x=1", "--tags", "y=2", "--defaults", "workspace=w", "--defaults", "group=g"}},
		{"first value taken as is", []string{"--set", "novalue", "b=2"}, []string{"--set", "novalue", "--set", "b=2"}},
		{"stops at a word without =", []string{"--set", "a=1", "word", "c=3"}, []string{"--set", "a=1", "word", "c=3"}},
		{"other flags untouched", []string{"--name", "a=b", "c=d"}, []string{"--name", "a=b", "c=d"}},
		{"double dash ends it", []string{"--set", "a=1", "--", "b=2"}, []string{"--set", "a=1", "--", "b=2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := expandMultiValueFlags(tt.in); !slices.Equal(got, tt.want) {
				t.Errorf("expandMultiValueFlags(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestExitCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want int
	}{
		{nil, 0},
		{errors.New("boom"), ExitFailure},
		{usageErrorf("bad"), ExitUsage},
		{&ExitError{Code: ExitInterrupted}, ExitInterrupted},
		{errors.Join(errors.New("x"), &ExitError{Code: 7}), 7},
	}
	for _, tt := range tests {
		if got := ExitCode(tt.err); got != tt.want {
			t.Errorf("ExitCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	ws := scope{Workspace: "w"}
	js := output{Format: formatJSON}
	tests := []struct {
		name    string
		opts    validator
		wantErr string // "" for valid
	}{
		{"job create ok", &jobCreateOpts{scope: ws, File: "p.yml", output: js}, ""},
		{"job create no file", &jobCreateOpts{scope: ws, output: js}, "--file is required"},
		{"job create no workspace", &jobCreateOpts{File: "p.yml", output: js}, "configure --defaults workspace="},
		{"job create bad output", &jobCreateOpts{scope: ws, File: "p.yml", output: output{Format: "csv"}}, "invalid choice: \"csv\""},
		{"job list zero", &jobListOpts{scope: ws, MaxResults: 0, output: js}, "--max-results 0"},
		{"job list all", &jobListOpts{scope: ws, AllResults: true, output: js}, ""},
		{"job download both", &jobDownloadOpts{scope: ws, Name: "j", OutputName: "m", All: true, DownloadPath: "."}, "not both"},
		{"job download ok", &jobDownloadOpts{scope: ws, Name: "j", All: true, DownloadPath: "."}, ""},
		{"job show no name", &jobNameOpts{scope: ws, output: js}, "--name is required"},
		{"data flags ok", &dataCreateOpts{scope: ws, Name: "d", Path: "x", Type: "uri_file", output: js}, ""},
		{"data bad type", &dataCreateOpts{scope: ws, Name: "d", Path: "x", Type: "blob", output: js}, "--type \"blob\""},
		{"data set without file", &dataCreateOpts{scope: ws, Name: "d", Path: "x", Sets: []string{"a=b"}, output: js}, "--set needs --file"},
		{"data nothing", &dataCreateOpts{scope: ws, output: js}, "give --file"},
		{"compute flags ok", &computeCreateOpts{scope: ws, Name: "c", Type: "amlcompute", MaxInstances: 2, output: js}, ""},
		{"compute bad type", &computeCreateOpts{scope: ws, Name: "c", Type: "gpu", output: js}, "--type \"gpu\""},
		{"compute min>max", &computeCreateOpts{scope: ws, Name: "c", Type: "local", MinInstances: 3, MaxInstances: 2, output: js}, "more than"},
		{"env conda only", &environmentCreateOpts{scope: ws, Name: "e", CondaFile: "c.yml", output: js}, ""},
		{"env no image", &environmentCreateOpts{scope: ws, Name: "e", output: js}, "give --file"},
		{"component no file", &componentCreateOpts{scope: ws, output: js}, "--file is required"},
		{"show version and label", &assetShowOpts{scope: ws, Name: "d", Version: "1", Label: "latest", output: js}, "not both"},
		{"show bad label", &assetShowOpts{scope: ws, Name: "d", Label: "prod", output: js}, "the only label is latest"},
		{"workspace tags", &workspaceCreateOpts{Name: "w", Tags: []string{"novalue"}, output: js}, "not key=value"},
		{"configure neither", &configureOpts{output: js}, "either --defaults"},
		{"configure both", &configureOpts{Defaults: []string{"workspace=w"}, ListDefaults: true, output: js}, "either --defaults"},
		{"configure unknown key", &configureOpts{Defaults: []string{"subscription=s"}, output: js}, "unknown key"},
		{"server run addr without port", &serverRunOpts{Addr: "127.0.0.1"}, "want host:port"},
		{"server start addr without port", &serverStartOpts{Addr: "localhost", output: js}, "want host:port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.opts.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"unknown command", []string{"jobz"}, `unknown command "jobz"`},
		{"unknown subcommand", []string{"job", "frobnicate"}, `unknown command "frobnicate" for "ciel job"`},
		{"unknown flag", []string{"job", "list", "--frob"}, "unknown flag: --frob"},
		{"stray argument", []string{"job", "show", "--name", "x", "-w", "w", "extra"}, `unexpected argument "extra"`},
		{"no workspace", []string{"job", "list"}, "ciel configure --defaults workspace=<name>"},
		{"bad output", []string{"workspace", "list", "-o", "csv"}, "invalid choice: \"csv\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tb := setup(t)
			tb.env["CIEL_URL"] = "http://127.0.0.1:1" // never reached
			r := tb.run(t, "", tt.args...)
			if r.code != ExitUsage || !strings.Contains(r.err.Error(), tt.wantErr) {
				t.Fatalf("ciel %q: code %d, err %v; want code %d and %q", tt.args, r.code, r.err, ExitUsage, tt.wantErr)
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing (no usage dump)", r.stdout)
			}
		})
	}
}

func TestGroupWithoutSubcommandPrintsHelp(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	r := tb.run(t, "", "job")
	if r.code != 0 || !strings.Contains(r.stdout, "download") {
		t.Fatalf("ciel job: code %d, stdout %q", r.code, r.stdout)
	}
}
