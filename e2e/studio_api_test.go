package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// The studio draws a pipeline's graph and step panel from `job show`: each
// step carries its command, environment and inputs, an upstream output as
// Azure ML's binding expression. Its Re-run button resubmits the job.
func TestStudioJobShowStepDetailsAndRerun(t *testing.T) {
	t.Parallel()
	e := setupDataPassing(t)
	name := e.submit("pipeline.yml")
	e.wait(name, 2*time.Minute)
	var j struct {
		Jobs map[string]struct {
			Command string         `json:"command"`
			Inputs  map[string]any `json:"inputs"`
		} `json:"jobs"`
	}
	out := e.ok("job", "show", "--name", name, "-o", "json").out
	if err := json.Unmarshal([]byte(out), &j); err != nil {
		t.Fatal(err)
	}
	shout, count := j.Jobs["shout"], j.Jobs["count"]
	if got := shout.Inputs["text"]; got != "${{parent.jobs.make.outputs.data}}" {
		t.Errorf("shout.inputs.text = %v, want make's output binding", got)
	}
	if got := shout.Inputs["times"]; got != "3" {
		t.Errorf("shout.inputs.times = %v, want the literal 3", got)
	}
	if got := count.Inputs["text"]; got != "${{parent.jobs.shout.outputs.loud}}" {
		t.Errorf("count.inputs.text = %v", got)
	}
	if raw, ok := j.Jobs["make"].Inputs["raw"].(map[string]any); !ok || raw["type"] != "uri_file" || raw["path"] == "" {
		t.Errorf("make.inputs.raw = %v, want {type: uri_file, path}", j.Jobs["make"].Inputs["raw"])
	}
	if !strings.Contains(count.Command, "count.sh") {
		t.Errorf("count.command = %q", count.Command)
	}

	code, body := e.httpJSON("POST", "/api/v1/workspaces/ws/jobs/"+name+"/rerun", "")
	again, _ := body["name"].(string)
	if code != 201 || again == "" || again == name {
		t.Fatalf("rerun: %d %v", code, body)
	}
	if got := e.wait(again, 2*time.Minute); got.Status != "Completed" || got.Jobs["count"].ReusedFrom == "" {
		t.Errorf("rerun job = %+v, want Completed with its steps reused", got)
	}
	if code, body := e.httpJSON("POST", "/api/v1/workspaces/ws/jobs/no_such_job/rerun", ""); code != 404 {
		t.Errorf("rerun of a missing job: %d %v", code, body)
	}
}
