package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ciel-mlops/ciel/internal/spec"
)

// TestJobCreateParsedPipeline submits testdata/pipeline/pipeline.yml: its
// --set reaches the parser, and every local path (pipeline input, step code,
// a file component's code, code and data of a step inside an inline
// pipeline component) is uploaded once and replaced by its blob reference.
func TestJobCreateParsedPipeline(t *testing.T) {
	t.Parallel()
	tb, f := setupServer(t)
	f.setJob(studioJob("Completed"), "[prep] ok\n")
	r := tb.run(t, "", "job", "create", "-w", "ml", "--file", "testdata/pipeline/pipeline.yml",
		"--set", "inputs.lr=0.5", "settings.force_rerun=true",
		"--name", "bright_fox_1", "--experiment-name", "exp", "--stream", "--web")
	if r.code != 0 {
		t.Fatalf("job create: code %d: %v\n%s", r.code, r.err, r.stderr)
	}
	var posted spec.Job
	if err := json.Unmarshal(f.posted["/api/v1/workspaces/ml/jobs"], &posted); err != nil {
		t.Fatal(err)
	}
	if v := posted.Inputs["lr"].Value; v == nil || *v != "0.5" {
		t.Errorf("inputs.lr = %v, want the --set value 0.5", v)
	}
	if fr := posted.Settings.ForceRerun; fr == nil || !*fr {
		t.Errorf("settings.force_rerun = %v, want true from the second --set", fr)
	}
	if posted.Name != "bright_fox_1" || posted.ExperimentName != "exp" {
		t.Errorf("name %q, experiment %q: flags not applied", posted.Name, posted.ExperimentName)
	}
	inner := posted.Jobs["score"].Component.Inline.Jobs["inner"]
	paths := map[string]string{
		"inputs.raw":             posted.Inputs["raw"].Path,
		"jobs.prep.code":         posted.Jobs["prep"].Code,
		"jobs.train.(file).code": posted.Jobs["train"].Component.Inline.Code,
		"jobs.score.inner.code":  inner.Component.Inline.Code,
		"jobs.score.inner.data":  inner.Inputs["data"].Path,
	}
	for where, p := range paths {
		if !strings.HasPrefix(p, "blob:sha256:") {
			t.Errorf("%s = %q, want a blob reference", where, p)
		}
	}
	if paths["inputs.raw"] != paths["jobs.score.inner.data"] {
		t.Errorf("the same directory got two references: %q, %q", paths["inputs.raw"], paths["jobs.score.inner.data"])
	}
	if got := posted.Inputs["remote"].Path; got != "azureml:iris:1" {
		t.Errorf("inputs.remote = %q, want it untouched", got)
	}
	if len(f.uploads) != 4 {
		t.Errorf("%d uploads, want 4 (data, prep, score, train): %q", len(f.uploads), f.uploads)
	}
	for _, names := range f.uploads {
		if slices.Contains(names, "notes.tmp") {
			t.Errorf("an upload holds notes.tmp, which src/train/.amlignore leaves out: %q", names)
		}
	}
	if !strings.Contains(r.stdout, "RunId: bright_fox_1") || !strings.Contains(r.stdout, "[prep] ok") {
		t.Errorf("stream output:\n%s", r.stdout)
	}
}

func TestJobCreateParseErrorIsUsage(t *testing.T) {
	t.Parallel()
	tb, f := setupServer(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "job.yml")
	if err := os.WriteFile(file, []byte("type: command\ncommand: echo hi\ncompute: [1, 2]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := tb.run(t, "", "job", "create", "-w", "ml", "--file", file)
	if r.code != ExitUsage || !strings.HasPrefix(r.err.Error(), file+":3:") {
		t.Fatalf("code %d, err %v; want exit 2 and a %s:3:col message", r.code, r.err, file)
	}
	if len(f.requests) != 0 {
		t.Errorf("a bad file reached the server: %q", f.requests)
	}
}

// TestJobCreatePrintsWarnings checks that the warnings the server returns
// with a created job reach stderr, and that the job is still printed.
func TestJobCreatePrintsWarnings(t *testing.T) {
	t.Parallel()
	tb, f := setupServer(t)
	j := studioJob("Queued")
	j.Warnings = []string{`job.yml:7:14: step t: input "extra" is not declared by component train (inputs: epochs); it is ignored`}
	f.setJob(j, "")
	dir := t.TempDir()
	file := filepath.Join(dir, "job.yml")
	if err := os.WriteFile(file, []byte("type: command\ncommand: echo hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := tb.run(t, "", "job", "create", "-w", "ml", "--file", file, "-o", "json")
	if r.code != 0 {
		t.Fatalf("job create: code %d: %v\n%s", r.code, r.err, r.stderr)
	}
	want := "WARNING: " + j.Warnings[0] + "\n"
	if r.stderr != want {
		t.Errorf("stderr %q, want %q", r.stderr, want)
	}
	if !strings.Contains(r.stdout, `"name": "bright_fox_1"`) {
		t.Errorf("stdout lacks the job:\n%s", r.stdout)
	}
}

// TestErrorTextShowsTheLine checks what the ciel command prints for a YAML
// syntax error: the message, then the line with a caret.
func TestErrorTextShowsTheLine(t *testing.T) {
	t.Parallel()
	_, err := spec.ParseJob("job.yml", []byte("type: command\ncommand: echo\nenvironment:\n  image: python\n   conda_file: env.yml\n"), spec.Options{})
	got := ErrorText(usageError(err))
	want := `job.yml:5:4: invalid YAML: key "conda_file" is indented 3 spaces, deeper than key "image" on line 4, which already has a value; expected 2 spaces
  5 |    conda_file: env.yml
    |    ^`
	if got != want {
		t.Errorf("ErrorText =\n%s\nwant\n%s", got, want)
	}
}
