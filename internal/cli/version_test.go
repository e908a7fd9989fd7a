package cli

import (
	"encoding/json"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestBuildVersion(t *testing.T) {
	t.Parallel()
	stamped := &debug.BuildInfo{GoVersion: "go1.99", Main: debug.Module{Version: "v0.3.0"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.modified", Value: "true"}, {Key: "vcs.time", Value: "2026-01-02T03:04:05Z"},
	}}
	tests := []struct {
		name            string
		version, commit string
		info            *debug.BuildInfo
		ok              bool
		want            versionInfo
	}{
		{"ldflags win", "v1.2.3", "feed", stamped, true,
			versionInfo{Version: "v1.2.3", Commit: "feed", GoVersion: "go1.99", BuildTime: "2026-01-02T03:04:05Z"}},
		{"vcs stamp", "", "", stamped, true,
			versionInfo{Version: "v0.3.0", Commit: "abc123", Modified: true, GoVersion: "go1.99", BuildTime: "2026-01-02T03:04:05Z"}},
		{"devel build", "", "", &debug.BuildInfo{}, true, versionInfo{Version: "(devel)", Commit: "unknown", GoVersion: runtime.Version()}},
		{"no build info", "", "", nil, false, versionInfo{Version: "(devel)", Commit: "unknown", GoVersion: runtime.Version()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := buildVersion(tt.version, tt.commit, tt.info, tt.ok)
			tt.want.Platform = runtime.GOOS + "/" + runtime.GOARCH
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestVersionCommand(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	tb.env["CIEL_URL"] = "http://127.0.0.1:1" // version must not need a server
	var out strings.Builder
	root := NewRoot(Config{Args: []string{"version", "-o", "json"}, Stdout: &out, Version: "v9.8.7", Commit: "c0ffee",
		Getenv: func(k string) string { return tb.env[k] }})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	var v versionInfo
	if err := json.Unmarshal([]byte(out.String()), &v); err != nil || v.Version != "v9.8.7" || v.Commit != "c0ffee" || !strings.HasPrefix(v.GoVersion, "go") {
		t.Errorf("version -o json printed %s (%v)", out.String(), err)
	}
	r := tb.run(t, "", "version", "--query", "go_version", "-o", "tsv")
	if r.code != 0 || strings.TrimSpace(r.stdout) != runtime.Version() {
		t.Errorf("version --query go_version -o tsv: %q (%v)", r.stdout, r.err)
	}
}

func TestCompletion(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	for shell, want := range map[string]string{"bash": "# bash completion V2 for ciel", "zsh": "#compdef ciel", "fish": "# fish completion for ciel"} {
		r := tb.run(t, "", "completion", shell)
		if r.code != 0 || !strings.HasPrefix(r.stdout, want) {
			t.Errorf("completion %s: exit %d (%v), starts %.40q", shell, r.code, r.err, r.stdout)
		}
	}
	// Completing a subcommand works through cobra's __complete.
	r := tb.run(t, "", "__complete", "experi")
	if r.code != 0 || !strings.Contains(r.stdout, "experiment") {
		t.Errorf("__complete experi: %q (%v)", r.stdout, r.err)
	}
}

func TestExperimentList(t *testing.T) {
	t.Parallel()
	tb, f := setupServer(t)
	r := tb.run(t, "", "experiment", "list", "-w", "ml")
	want := "Name     ID  Created               Last update           State\n" +
		"-------  --  --------------------  --------------------  ------\n" +
		"iris     2   2025-03-01T12:00:00Z  2025-03-01T12:01:00Z  active\n" +
		"Default  0   2025-03-01T11:58:20Z                        active\n"
	if r.code != 0 || r.stdout != want {
		t.Errorf("experiment list (%v):\n%s\nwant\n%s", r.err, r.stdout, want)
	}
	if !f.sawRequest("POST /ws/ml/api/2.0/mlflow/experiments/search") {
		t.Errorf("requests %q", f.requests)
	}
	r = tb.run(t, "", "experiment", "list", "-w", "ml", "--include-archived", "--query", "[].name", "-o", "tsv")
	if r.code != 0 || r.stdout != "iris\nDefault\nold\n" {
		t.Errorf("--include-archived --query: %q (%v)", r.stdout, r.err)
	}
	r = tb.run(t, "", "experiment", "list", "-w", "ml", "-r", "1", "--query", "[0].{id: experiment_id, created: creation_time}", "-o", "tsv")
	if r.code != 0 || r.stdout != "2\t2025-03-01T12:00:00Z\n" {
		t.Errorf("-r 1 -o tsv: %q (%v)", r.stdout, r.err)
	}
}
