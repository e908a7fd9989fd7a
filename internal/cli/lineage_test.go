package cli

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"

	"github.com/ciel-mlops/ciel/internal/spec"
)

func TestCITags(t *testing.T) {
	t.Parallel()
	env := map[string]string{"TF_BUILD": "True", "BUILD_SOURCEVERSION": "abc123", "BUILD_BUILDID": "7",
		"BUILD_REPOSITORY_NAME": "churn", "BUILD_DEFINITIONNAME": "retrain", "BUILD_SOURCEBRANCH": "refs/heads/main"}
	want := map[string]string{"ci.commit": "abc123", "ci.run": "7", "ci.repository": "churn", "ci.pipeline": "retrain",
		"ci.branch": "refs/heads/main"}
	if got := ciTags(func(k string) string { return env[k] }); !maps.Equal(got, want) {
		t.Errorf("ciTags = %v, want %v", got, want)
	}
	delete(env, "TF_BUILD")
	if got := ciTags(func(k string) string { return env[k] }); got != nil {
		t.Errorf("outside a pipeline ciTags = %v, want nil", got)
	}
	b := &base{ci: want}
	if got := b.withLineage(map[string]string{"ci.run": "mine", "team": "ml"}); got["ci.run"] != "mine" || got["team"] != "ml" || got["ci.commit"] != "abc123" {
		t.Errorf("withLineage = %v: a user's tag must win and the rest be added", got)
	}
}

// TestJobCreateInAPipelineRecordsLineage: `ciel job create` run by a
// pipeline step tags the job with the run and commit it came from.
func TestJobCreateInAPipelineRecordsLineage(t *testing.T) {
	t.Parallel()
	tb, f := setupServer(t)
	f.setJob(studioJob("Completed"), "")
	for k, v := range map[string]string{"TF_BUILD": "True", "BUILD_SOURCEVERSION": "abc123", "BUILD_BUILDID": "7",
		"BUILD_DEFINITIONNAME": "retrain"} {
		tb.env[k] = v
	}
	if r := tb.run(t, "", "job", "create", "-w", "ml", "--file", "testdata/pipeline/pipeline.yml"); r.code != 0 {
		t.Fatalf("job create: code %d: %v\n%s", r.code, r.err, r.stderr)
	}
	var posted spec.Job
	if err := json.Unmarshal(f.posted["/api/v1/workspaces/ml/jobs"], &posted); err != nil {
		t.Fatal(err)
	}
	if posted.Tags["ci.commit"] != "abc123" || posted.Tags["ci.run"] != "7" || posted.Tags["ci.pipeline"] != "retrain" {
		t.Errorf("posted tags %v lack the pipeline run's lineage", posted.Tags)
	}
}

// TestDefaultsFromTheEnvironment: AZURE_DEFAULTS_WORKSPACE (how az reads
// defaults.workspace from the environment, and how a pipeline job gets its
// workspace) wins over the config file.
func TestDefaultsFromTheEnvironment(t *testing.T) {
	t.Parallel()
	tb, f := setupServer(t)
	f.setJob(studioJob("Completed"), "")
	if r := tb.run(t, "", "configure", "--defaults", "workspace=fromfile"); r.code != 0 {
		t.Fatalf("configure: %v %s", r.err, r.stderr)
	}
	tb.env["AZURE_DEFAULTS_WORKSPACE"] = "ml"
	if r := tb.run(t, "", "job", "create", "--file", "testdata/pipeline/pipeline.yml"); r.code != 0 {
		t.Fatalf("job create: code %d: %v\n%s", r.code, r.err, r.stderr)
	}
	if _, ok := f.posted["/api/v1/workspaces/ml/jobs"]; !ok {
		t.Errorf("the job went elsewhere than AZURE_DEFAULTS_WORKSPACE's workspace: %v", slices.Collect(maps.Keys(f.posted)))
	}
}
