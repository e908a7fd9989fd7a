package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// streamEvents reads url's event stream (readEvents) until "end",
// failing when it ends otherwise or within passes.
func streamEvents(t *testing.T, url string, within time.Duration) []sseEvent {
	t.Helper()
	c := &http.Client{Timeout: within}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	out := readEvents(t, resp.Body, func(ev sseEvent) bool { return ev.event == "end" })
	if len(out) == 0 || out[len(out)-1].event != "end" {
		t.Fatalf("%s ended without \"end\" after %d events", url, len(out))
	}
	return out
}

// firstEvent reads url's event stream up to its first event.
func firstEvent(t *testing.T, url string) sseEvent {
	t.Helper()
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	out := readEvents(t, resp.Body, func(sseEvent) bool { return true })
	if len(out) != 1 {
		t.Fatalf("%s: no event", url)
	}
	return out[0]
}

// twoJobs runs two jobs side by side, each printing its own marker slowly
// so their lines interleave in the run's log.
const twoJobs = `trigger:
  branches:
    include: [main]
jobs:
- job: left
  steps:
  - script: for i in 1 2 3 4; do echo "left-marker $i"; sleep 0.5; done
    displayName: Left
- job: right
  steps:
  - script: for i in 1 2 3 4; do echo "right-marker $i"; sleep 0.5; done
    displayName: Right
`

// TestStudioPipelineRunEventsAndJobLogs: a push's run streams its state
// from the events route as it changes (a job seen in progress before the
// run completes, then "end"), and each job's own log (?job=) holds its
// lines and none of the job running beside it; a job index the run has
// not is a 400, a run that is not there a 404.
func TestStudioPipelineRunEventsAndJobLogs(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	e := newEnv(t)
	base, _ := e.server()
	e.ok("repos", "create", "--name", "side")
	e.ok("pipelines", "create", "--name", "both", "--repository", "side")
	src := commitTree(t, map[string]string{"azure-pipelines.yml": twoJobs})
	gitOK(t, src, "push", "-q", base+"/git/ws/side.git", "main")
	runs := e.runs()
	if len(runs) != 1 {
		t.Fatalf("runs after the push: %+v", runs)
	}
	runURL := fmt.Sprintf("%s/api/v1/workspaces/ws/pipeline-runs/%d", base, runs[0].ID)

	events := streamEvents(t, runURL+"/events", 2*time.Minute)
	var states []pipelineRun
	for _, ev := range events {
		if ev.event != "run" {
			continue
		}
		var r pipelineRun
		if err := json.Unmarshal([]byte(ev.data), &r); err != nil {
			t.Fatalf("run event %q: %v", ev.data, err)
		}
		states = append(states, r)
	}
	if len(states) < 3 {
		t.Fatalf("only %d run events: %+v", len(states), states)
	}
	last := states[len(states)-1]
	if last.Status != "completed" || last.Result != "succeeded" || len(last.Jobs) != 2 {
		t.Fatalf("last state %+v", last)
	}
	sawRunning := false
	for _, s := range states[:len(states)-1] {
		for _, j := range s.Jobs {
			for _, st := range j.Steps {
				sawRunning = sawRunning || st.Status == "inProgress"
			}
		}
	}
	if !sawRunning {
		t.Errorf("no event showed a step in progress: %+v", states)
	}
	// A completed run's stream is its state, then "end".
	if again := streamEvents(t, runURL+"/events", 30*time.Second); len(again) != 2 || again[0].event != "run" || again[1].event != "end" {
		t.Errorf("events of a completed run: %+v", again)
	}

	for i, j := range last.Jobs {
		want, other := j.Name+"-marker", map[string]string{"left": "right-marker", "right": "left-marker"}[j.Name]
		code, body := send(t, "GET", fmt.Sprintf("%s/logs?job=%d&follow=true", runURL, i), nil, nil)
		if code != 200 || strings.Count(body, want) != 4 || strings.Contains(body, other) || !strings.Contains(body, "##[section]Job "+j.Name) {
			t.Errorf("log of job %d (%s): %d\n%s", i, j.Name, code, body)
		}
	}
	_, whole := send(t, "GET", runURL+"/logs", nil, nil)
	if strings.Count(whole, "-marker") != 8 {
		t.Errorf("the run's log lacks a job's lines:\n%s", whole)
	}
	for _, bad := range []string{"2", "-1", "x"} {
		if code, body := send(t, "GET", runURL+"/logs?job="+bad, nil, nil); code != 400 || !strings.Contains(body, `"error"`) {
			t.Errorf("logs?job=%s: %d %s", bad, code, body)
		}
	}
	// The list's stream starts with the latest runs, of one pipeline or all.
	for _, q := range []string{"", "?pipeline=both"} {
		ev := firstEvent(t, base+"/api/v1/workspaces/ws/pipeline-runs/events"+q)
		var list []pipelineRun
		if err := json.Unmarshal([]byte(ev.data), &list); err != nil || ev.event != "runs" || len(list) != 1 || list[0].ID != last.ID || list[0].Result != "succeeded" {
			t.Errorf("runs event%s: %s %s (%v)", q, ev.event, ev.data, err)
		}
	}
	if code, body := send(t, "GET", base+"/api/v1/workspaces/ws/pipeline-runs/events?pipeline=other", nil, nil); code != 404 || !strings.Contains(body, "other") {
		t.Errorf("runs of no pipeline: %d %s", code, body)
	}
	if code, body := send(t, "GET", base+"/api/v1/workspaces/ws/pipeline-runs/999/events", nil, nil); code != 404 {
		t.Errorf("events of no run: %d %s", code, body)
	}
}

// TestStudioFactoryRunEvents: a Data Factory run's events route streams
// the run and its activity runs as they change (the Wait seen in
// progress), ending with the run Succeeded and "end"; a run that is not
// there is a 404.
func TestStudioFactoryRunEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	base, _ := e.server()
	example, err := filepath.Abs("../examples/dataflow/adf")
	if err != nil {
		t.Fatal(err)
	}
	e.ok("data-factory", "import", "--folder", example)
	out := e.ok("data-factory", "pipeline", "create-run", "--name", "hello", "--parameters", `{"day": "2026-11-02", "seconds": 2}`, "--query", "runId", "-o", "tsv").out
	id := strings.TrimSpace(out)
	events := streamEvents(t, base+"/api/v1/workspaces/ws/datafactory/pipelineruns/"+id+"/events", time.Minute)
	type state struct {
		Run          factoryRun           `json:"run"`
		ActivityRuns []factoryActivityRun `json:"activityRuns"`
	}
	var states []state
	for _, ev := range events {
		if ev.event == "run" {
			var s state
			if err := json.Unmarshal([]byte(ev.data), &s); err != nil {
				t.Fatalf("run event %q: %v", ev.data, err)
			}
			states = append(states, s)
		}
	}
	if len(states) < 2 {
		t.Fatalf("only %d run events: %+v", len(states), states)
	}
	last := states[len(states)-1]
	if last.Run.RunID != id || last.Run.Status != "Succeeded" {
		t.Fatalf("last state: %+v", last.Run)
	}
	done := map[string]string{}
	for _, a := range last.ActivityRuns {
		done[a.ActivityName] = a.Status
	}
	if done["greet"] != "Succeeded" || done["work"] != "Succeeded" {
		t.Errorf("activity runs at the end: %v", done)
	}
	sawWaiting := false
	for _, s := range states[:len(states)-1] {
		for _, a := range s.ActivityRuns {
			sawWaiting = sawWaiting || (a.ActivityName == "work" && a.Status == "InProgress")
		}
	}
	if !sawWaiting {
		t.Errorf("no event showed the Wait in progress")
	}
	ev := firstEvent(t, base+"/api/v1/workspaces/ws/datafactory/pipelineruns/events?pipeline=hello")
	var list struct{ Value []factoryRun }
	if err := json.Unmarshal([]byte(ev.data), &list); err != nil || ev.event != "runs" || len(list.Value) != 1 || list.Value[0].RunID != id || list.Value[0].Status != "Succeeded" {
		t.Errorf("runs event: %s %s (%v)", ev.event, ev.data, err)
	}
	if code, body := send(t, "GET", base+"/api/v1/workspaces/ws/datafactory/pipelineruns/nope/events", nil, nil); code != 404 || !strings.Contains(body, `"error"`) {
		t.Errorf("events of no run: %d %s", code, body)
	}
}
