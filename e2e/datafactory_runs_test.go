package e2e

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// factoryRun is a pipeline run as `ciel data-factory` prints it: Data
// Factory's REST field names.
type factoryRun struct {
	RunID        string     `json:"runId"`
	RunGroupID   string     `json:"runGroupId"`
	PipelineName string     `json:"pipelineName"`
	Status       string     `json:"status"`
	Message      string     `json:"message"`
	RunStart     *time.Time `json:"runStart"`
	RunEnd       *time.Time `json:"runEnd"`
	DurationInMs *int64     `json:"durationInMs"`
	InvokedBy    struct {
		InvokedByType string `json:"invokedByType"`
	} `json:"invokedBy"`
	Parameters map[string]any `json:"parameters"`
	Reference  string         `json:"referencePipelineRunId"`
	RerunMode  string         `json:"rerunMode"`
}

// factoryActivityRun is an activity run as printed.
type factoryActivityRun struct {
	ActivityRunID string          `json:"activityRunId"`
	ActivityName  string          `json:"activityName"`
	ActivityType  string          `json:"activityType"`
	PipelineRunID string          `json:"pipelineRunId"`
	Status        string          `json:"status"`
	Input         json.RawMessage `json:"input"`
	Output        json.RawMessage `json:"output"`
	Error         *struct {
		ErrorCode   string `json:"errorCode"`
		Message     string `json:"message"`
		FailureType string `json:"failureType"`
		Target      string `json:"target"`
	} `json:"error"`
}

func (e *env) factoryRun(id string) factoryRun {
	e.t.Helper()
	var r factoryRun
	out := e.ok("data-factory", "pipeline-run", "show", "--run-id", id, "-o", "json").out
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		e.t.Fatalf("pipeline-run show: %v\n%s", err, out)
	}
	return r
}

func (e *env) activityRuns(id string) map[string]factoryActivityRun {
	e.t.Helper()
	var list struct {
		Value []factoryActivityRun `json:"value"`
	}
	out := e.ok("data-factory", "activity-run", "query", "--run-id", id, "-o", "json").out
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		e.t.Fatalf("activity-run query: %v\n%s", err, out)
	}
	m := map[string]factoryActivityRun{}
	for _, a := range list.Value {
		m[a.ActivityName] = a
	}
	return m
}

// TestDataFactoryRuns runs the example factory's hello pipeline
// (SetVariable, then an IfCondition around a Wait) through the real
// server: a run followed to its end and its activity runs with ADF's
// field names; a long Wait cancelled; a failed run rerun from its
// failure, in its run group, without running again what succeeded.
func TestDataFactoryRuns(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	example, err := filepath.Abs("../examples/dataflow/adf")
	if err != nil {
		t.Fatal(err)
	}
	e.ok("data-factory", "import", "--folder", example)

	// 2026-11-02 is a Monday: greet, then weekend takes its false branch.
	out := e.ok("data-factory", "pipeline", "create-run", "--name", "hello", "--parameters", `{"day": "2026-11-02"}`, "--wait", "-o", "json").out
	var done factoryRun
	if err := json.Unmarshal([]byte(out), &done); err != nil {
		t.Fatalf("create-run --wait: %v\n%s", err, out)
	}
	if done.Status != "Succeeded" || done.PipelineName != "hello" || done.RunStart == nil || done.RunEnd == nil ||
		done.DurationInMs == nil || *done.DurationInMs < 1000 || done.InvokedBy.InvokedByType != "Manual" || done.Parameters["day"] != "2026-11-02" {
		t.Errorf("the run: %+v", done)
	}
	acts := e.activityRuns(done.RunID)
	for name, typ := range map[string]string{"greet": "SetVariable", "weekend": "IfCondition", "work": "Wait"} {
		a, ok := acts[name]
		if !ok || a.ActivityType != typ || a.Status != "Succeeded" || a.ActivityRunID == "" || a.PipelineRunID != done.RunID {
			t.Errorf("activity run %s: %+v (all: %v)", name, a, acts)
		}
	}
	if _, ok := acts["rest"]; ok {
		t.Errorf("the weekend branch ran on a Monday")
	}
	if !strings.Contains(string(acts["greet"].Output)+string(acts["greet"].Input), "orders of 2026-11-02") {
		t.Errorf("greet's input and output: %s %s", acts["greet"].Input, acts["greet"].Output)
	}
	r := e.ok("data-factory", "pipeline-run", "query", "--pipeline-name", "hello", "--query", "value[].runId", "-o", "tsv")
	if strings.TrimSpace(r.out) != done.RunID {
		t.Errorf("pipeline-run query: %q", r.out)
	}

	// A long Wait is cancelled while it waits.
	out = e.ok("data-factory", "pipeline", "create-run", "--name", "hello", "--parameters", `{"day": "2026-11-03", "seconds": 600}`, "--query", "runId", "-o", "tsv").out
	long := strings.TrimSpace(out)
	deadline := time.Now().Add(30 * time.Second)
	for e.activityRuns(long)["work"].Status != "InProgress" {
		if time.Now().After(deadline) {
			t.Fatalf("the long Wait never started: %+v", e.activityRuns(long))
		}
		time.Sleep(200 * time.Millisecond)
	}
	start := time.Now()
	e.ok("data-factory", "pipeline-run", "cancel", "--run-id", long)
	for e.factoryRun(long).Status != "Cancelled" {
		if time.Since(start) > 30*time.Second {
			t.Fatalf("the cancelled run is %+v", e.factoryRun(long))
		}
		time.Sleep(200 * time.Millisecond)
	}
	if w := e.activityRuns(long)["work"]; w.Status != "Cancelled" && w.Status != "Failed" {
		t.Errorf("the cancelled Wait: %+v", w)
	}
	t.Logf("a 600 s Wait cancelled in %v", time.Since(start).Round(time.Millisecond))

	// A day that is no date fails weekend's dayOfWeek; rerun from the
	// failure reuses greet and runs weekend again.
	r = e.run("data-factory", "pipeline", "create-run", "--name", "hello", "--parameters", `{"day": "someday"}`, "--wait", "-o", "json")
	var failed factoryRun
	if err := json.Unmarshal([]byte(r.out), &failed); err != nil || r.code == 0 || failed.Status != "Failed" {
		t.Fatalf("a bad day: exit %d, %v, %s %s", r.code, err, r.out, r.err)
	}
	acts = e.activityRuns(failed.RunID)
	if w := acts["weekend"]; w.Status != "Failed" || w.Error == nil || w.Error.ErrorCode == "" || w.Error.Message == "" || w.Error.Target != "weekend" {
		t.Errorf("the failed activity: %+v", w)
	}
	out = e.ok("data-factory", "pipeline-run", "rerun", "--run-id", failed.RunID, "--from-failure", "--query", "runId", "-o", "tsv").out
	rerun := strings.TrimSpace(out)
	var re factoryRun
	for re = e.factoryRun(rerun); re.Status == "Queued" || re.Status == "InProgress"; re = e.factoryRun(rerun) {
		time.Sleep(200 * time.Millisecond)
	}
	if re.RunGroupID != failed.RunGroupID || re.Reference != failed.RunID || re.RerunMode != "FromFailure" || re.Status != "Failed" {
		t.Errorf("the rerun: %+v; the run it reran: %+v", re, failed)
	}
	acts = e.activityRuns(rerun)
	if _, ok := acts["greet"]; ok {
		t.Errorf("rerun from failure ran greet again: %v", acts)
	}
	if acts["weekend"].Status != "Failed" {
		t.Errorf("rerun from failure did not run weekend again: %v", acts)
	}

	// The trigger scheduler keeps the runtime state the API shows; a
	// started trigger is not replaced.
	e.ok("data-factory", "trigger", "start", "--name", "nightly")
	if r := e.ok("data-factory", "trigger", "list", "--query", "[].properties.runtimeState", "-o", "tsv"); strings.TrimSpace(r.out) != "Started" {
		t.Errorf("a started trigger lists as %q", r.out)
	}
	r = e.run("data-factory", "trigger", "create", "--file", filepath.Join(example, "trigger", "nightly.json"))
	if r.code == 0 || !strings.Contains(r.err, "stop it first") {
		t.Errorf("replace a started trigger: exit %d, stderr %q", r.code, r.err)
	}
	e.ok("data-factory", "trigger", "stop", "--name", "nightly")
	if r := e.ok("data-factory", "trigger", "show", "--name", "nightly", "--query", "properties.runtimeState", "-o", "tsv"); strings.TrimSpace(r.out) != "Stopped" {
		t.Errorf("a stopped trigger shows as %q", r.out)
	}
	e.ok("data-factory", "trigger", "delete", "--name", "nightly")
}

// TestDataFactoryTumblingWindows starts a tumbling window trigger whose
// start is two hours back: the server's scheduler runs both windows at
// once through the pipeline runtime, each run invoked by its trigger run
// with the window's start as a parameter; a window is rerun by its trigger
// run's id, as `az datafactory trigger-run rerun` does.
func TestDataFactoryTumblingWindows(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	start := time.Now().UTC().Truncate(time.Hour).Add(-2 * time.Hour)
	e.write("nap.json", `{"name": "nap", "properties": {"parameters": {"start": {"type": "String"}},
		"activities": [{"name": "w", "type": "Wait", "typeProperties": {"waitTimeInSeconds": 0}}]}}`)
	e.write("hourly.json", `{"name": "hourly", "properties": {"type": "TumblingWindowTrigger",
		"typeProperties": {"frequency": "Hour", "interval": 1, "startTime": "`+start.Format(time.RFC3339)+`", "maxConcurrency": 2},
		"pipeline": {"pipelineReference": {"referenceName": "nap", "type": "PipelineReference"},
			"parameters": {"start": "@trigger().outputs.windowStartTime"}}}}`)
	e.ok("data-factory", "pipeline", "create", "--file", "nap.json")
	e.ok("data-factory", "trigger", "create", "--file", "hourly.json")
	e.ok("data-factory", "trigger", "start", "--name", "hourly")

	type window struct {
		Start        time.Time `json:"windowStartTime"`
		Status       string    `json:"status"`
		TriggerRunID string    `json:"triggerRunId"`
		RunID        string    `json:"runId"`
	}
	windows := func() []window {
		var ws []window
		mustJSON(t, e.ok("data-factory", "trigger", "windows", "--name", "hourly", "-o", "json").out, &ws)
		return ws
	}
	succeeded := func(ws []window) int {
		n := 0
		for _, w := range ws {
			if w.Status == "Succeeded" {
				n++
			}
		}
		return n
	}
	deadline := time.Now().Add(60 * time.Second)
	var ws []window
	for ws = windows(); succeeded(ws) < 2; ws = windows() {
		if time.Now().After(deadline) {
			t.Fatalf("windows: %+v", ws)
		}
		time.Sleep(300 * time.Millisecond)
	}
	if !ws[0].Start.Equal(start) || !ws[1].Start.Equal(start.Add(time.Hour)) {
		t.Errorf("windows: %+v; want them from %v", ws, start)
	}
	first := e.factoryRun(ws[0].RunID)
	if first.InvokedBy.InvokedByType != "TumblingWindowTrigger" || !strings.HasPrefix(first.Parameters["start"].(string), start.Format("2006-01-02T15:04:05")) {
		t.Errorf("the first window's run: %+v", first)
	}
	r := e.ok("data-factory", "trigger-run", "query", "--trigger-name", "hourly", "--query", "length(value)", "-o", "tsv")
	if strings.TrimSpace(r.out) != "2" {
		t.Errorf("trigger runs: %q", r.out)
	}

	e.ok("data-factory", "trigger-run", "rerun", "--trigger-name", "hourly", "--run-id", ws[0].TriggerRunID)
	for ws = windows(); ws[0].RunID == first.RunID || ws[0].Status != "Succeeded"; ws = windows() {
		if time.Now().After(deadline) {
			t.Fatalf("the rerun window: %+v", ws[0])
		}
		time.Sleep(300 * time.Millisecond)
	}
	e.ok("data-factory", "trigger", "stop", "--name", "hourly")
}
