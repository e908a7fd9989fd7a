package cli

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

func TestModelCreateValidate(t *testing.T) {
	t.Parallel()
	ok := modelCreateOpts{scope: scope{Workspace: "ws"}, Name: "m", Path: "./model", output: output{Format: formatJSON}}
	tests := []struct {
		name string
		edit func(o *modelCreateOpts)
		want string // "" means valid
	}{
		{"valid", func(*modelCreateOpts) {}, ""},
		{"no name", func(o *modelCreateOpts) { o.Name = "" }, "--name and --path"},
		{"file without name", func(o *modelCreateOpts) { o.Name, o.Path, o.File = "", "", "m.yml" }, ""},
		{"set without file", func(o *modelCreateOpts) { o.Sets = []string{"version=2"} }, "--set needs --file"},
		{"no path", func(o *modelCreateOpts) { o.Path = "" }, "--name and --path"},
		{"bad type", func(o *modelCreateOpts) { o.Type = "onnx" }, "--type"},
		{"mlflow type", func(o *modelCreateOpts) { o.Type = modelTypeMLflow }, ""},
		{"bad version", func(o *modelCreateOpts) { o.Version = "v1" }, "--version"},
		{"zero version", func(o *modelCreateOpts) { o.Version = "0" }, "--version"},
		{"bad tag", func(o *modelCreateOpts) { o.Tags = []string{"novalue"} }, "--tags"},
		{"no workspace", func(o *modelCreateOpts) { o.Workspace = "" }, "workspace"},
	}
	for _, tt := range tests {
		o := ok
		tt.edit(&o)
		err := o.Validate()
		if (err == nil) != (tt.want == "") || err != nil && !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Validate() = %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestIsModelURI(t *testing.T) {
	t.Parallel()
	for p, want := range map[string]bool{
		"azureml://jobs/j/outputs/model": true,
		"runs:/abc/model":                true,
		"models:/m/1":                    true,
		"mlflow-artifacts:/x":            true,
		"blob:sha256:00":                 true,
		"https://example.com/m":          true,
		"./model":                        false,
		"/abs/model dir":                 false,
		"model":                          false,
	} {
		if got := isModelURI(p); got != want {
			t.Errorf("isModelURI(%q) = %v, want %v", p, got, want)
		}
	}
}

func TestModelUpdateFlags(t *testing.T) {
	t.Parallel()
	base := modelUpdateOpts{scope: scope{Workspace: "ws"}, modelRef: modelRef{Name: "m", Version: "1"}, output: output{Format: formatJSON}}
	o := base
	o.Sets = []string{"description=a b=c", "stage=Production", "tags.team=ml"}
	o.AddTags = []string{"x=1"}
	o.RemoveTags = []string{"old"}
	o.SetAliases = []string{"champion"}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	u, err := o.update()
	if err != nil {
		t.Fatal(err)
	}
	if *u.Description != "a b=c" || *u.Stage != "Production" || !maps.Equal(u.SetTags, map[string]string{"team": "ml", "x": "1"}) ||
		!slices.Equal(u.RemoveTags, []string{"old"}) || !slices.Equal(u.SetAliases, []string{"champion"}) {
		t.Errorf("update = %+v", u)
	}
	bad := []struct {
		name string
		edit func(o *modelUpdateOpts)
		want string
	}{
		{"nothing to change", func(*modelUpdateOpts) {}, "nothing to change"},
		{"no version", func(o *modelUpdateOpts) { o.Version = ""; o.SetAliases = []string{"a"} }, "--version"},
		{"unknown set", func(o *modelUpdateOpts) { o.Sets = []string{"colour=red"} }, "--set colour"},
		{"bad add-tag", func(o *modelUpdateOpts) { o.AddTags = []string{"x"} }, "--add-tag"},
		{"version and label", func(o *modelUpdateOpts) { o.Label = "champion"; o.SetAliases = []string{"a"} }, "not both"},
	}
	for _, tt := range bad {
		o := base
		tt.edit(&o)
		if err := o.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Validate() = %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestModelCommandsAreUsageErrors(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	for _, args := range [][]string{
		{"model", "create", "-w", "ws", "--name", "m"},
		{"model", "show", "-w", "ws"},
		{"model", "update", "-w", "ws", "--name", "m", "--version", "1"},
		{"model", "download", "-w", "ws", "--name", "m", "--download-path", ""},
		{"model", "archive", "-w", "ws"},
	} {
		if r := tb.run(t, "", args...); r.code != ExitUsage {
			t.Errorf("ciel %v: exit %d (%v), want %d", args, r.code, r.err, ExitUsage)
		}
	}
}
