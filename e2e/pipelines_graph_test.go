package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// graphPipeline is a multi-stage pipeline: Train's job publishes an output
// variable that Deploy reads through stageDependencies and conditions on;
// a matrix, ${{ each }} over a parameter list, continueOnError, a variable
// group, and a variables template and a step template from the hosted
// repository "tools".
const graphPipeline = `trigger: none
parameters:
- name: regions
  type: object
  default: [eu, us]
resources:
  repositories:
  - repository: tools
    type: git
    name: tools
variables:
- group: shared
- template: vars.yml@tools
stages:
- stage: Train
  jobs:
  - job: Fit
    steps:
    - bash: echo "##vso[task.setvariable variable=acc;isOutput=true]0.97"
      name: score
    - template: greet.yml@tools
      parameters:
        who: $(tier)
  - job: Legs
    strategy:
      matrix:
        small: {size: s}
        large: {size: l}
    steps:
    - bash: echo "leg size $(size)"
  - job: Flaky
    continueOnError: true
    steps:
    - bash: exit 4
  - ${{ each r in parameters.regions }}:
    - job: region_${{ r }}
      steps:
      - bash: echo "region ${{ r }} with $(toolVar)"
- stage: Deploy
  dependsOn: Train
  condition: eq(dependencies.Train.outputs['Fit.score.acc'], '0.97')
  jobs:
  - job: Ship
    condition: gt(stageDependencies.Train.Fit.outputs['score.acc'], 0.9)
    variables:
      acc: $[ stageDependencies.Train.Fit.outputs['score.acc'] ]
    steps:
    - checkout: tools
      path: tools
    - bash: |
        test "$(acc)" = 0.97
        echo "shipping model with accuracy $(acc)"
        cat $(Pipeline.Workspace)/tools/README
`

const failurePipeline = `trigger: none
jobs:
- job: Broken
  steps:
  - bash: exit 3
- job: Rescue
  dependsOn: Broken
  condition: failed()
  steps:
  - bash: echo rescued
- job: Quiet
  dependsOn: Broken
  condition: failed()
  steps:
  - bash: echo never
- job: After
  dependsOn: Broken
  steps:
  - bash: echo never
`

// graphRun is a run as ciel pipelines runs show -o json prints it.
type graphRun struct {
	ID     int64
	Status string
	Result string
	Error  string
	Jobs   []struct{ Stage, Name, Result string }
}

func (r graphRun) results() map[string]string {
	out := map[string]string{}
	for _, j := range r.Jobs {
		out[j.Stage+"/"+j.Name] = j.Result
	}
	return out
}

// runWith runs ciel with extra environment variables.
func (e *env) runWith(extra []string, args ...string) result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, cielBin, args...)
	cmd.Dir, cmd.Env = e.dir, append(e.environ(), extra...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{out: out.String(), err: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// startRun queues a manual run of pipeline name and returns its id.
func (e *env) startRun(name string) int64 {
	e.t.Helper()
	var r graphRun
	if err := json.Unmarshal([]byte(e.ok("pipelines", "run", "--name", name, "-o", "json").out), &r); err != nil {
		e.t.Fatal(err)
	}
	return r.ID
}

// waitRun waits for run id to complete and returns it with its log.
func (e *env) waitRun(id int64, within time.Duration) (graphRun, string) {
	e.t.Helper()
	var r graphRun
	waitFor(e.t, fmt.Sprintf("run %d to complete", id), within, func() bool {
		if err := json.Unmarshal([]byte(e.ok("pipelines", "runs", "show", "--id", fmt.Sprint(id), "-o", "json").out), &r); err != nil {
			e.t.Fatal(err)
		}
		return r.Status == "completed"
	})
	base, _ := e.server()
	_, log := send(e.t, "GET", fmt.Sprintf("%s/api/v1/workspaces/ws/pipeline-runs/%d/logs", base, id), nil, nil)
	return r, log
}

// TestPipelineGraph runs pipelines over a real server and the real git
// client: stages and jobs as a graph with output variables, conditions,
// matrix, each, continueOnError, templates and checkout from a second
// hosted repository, a variable group, cancel, a job timeout, and an
// unknown task and a bad YAML failing with their location.
func TestPipelineGraph(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	e := newEnv(t)
	// A minute of timeoutInMinutes lasts a second on this server.
	e.ok("server", "stop")
	if r := e.runWith([]string{"CIEL_CICD_MINUTE=1s"}, "server", "start", "--addr", "127.0.0.1:0"); r.code != 0 {
		t.Fatalf("server start: %s %s", r.out, r.err)
	}
	base, _ := e.server()

	e.ok("repos", "create", "--name", "tools")
	e.ok("repos", "create", "--name", "app")
	tools := commitTree(t, map[string]string{
		"vars.yml":  "variables:\n  toolVar: from-tools\n",
		"greet.yml": "parameters:\n- name: who\n  type: string\nsteps:\n- bash: echo \"hello ${{ parameters.who }}\"\n",
		"README":    "the tools repository\n",
	})
	gitOK(t, tools, "push", "-q", base+"/git/ws/tools.git", "main")
	app := commitTree(t, map[string]string{
		"graph.yml":   graphPipeline,
		"failure.yml": failurePipeline,
		"cancel.yml":  "trigger: none\nsteps:\n- bash: sleep 60\n",
		"timeout.yml": "trigger: none\njobs:\n- job: Slow\n  timeoutInMinutes: 2\n  steps:\n  - bash: sleep 30\n",
		"unknown.yml": "trigger: none\nsteps:\n- bash: echo first\n- task: NoSuchTask@1\n",
		"bad.yml":     "trigger: none\nsteps:\n- bash: echo\n  displayName: [oops\n",
	})
	gitOK(t, app, "push", "-q", base+"/git/ws/app.git", "main")
	for _, name := range []string{"graph", "failure", "cancel", "timeout", "unknown", "bad"} {
		e.ok("pipelines", "create", "--name", name, "--repository", "app", "--yaml-path", name+".yml")
	}

	if out := e.ok("pipelines", "pool", "update", "--parallel", "3", "-o", "json").out; !strings.Contains(out, `"parallel": 3`) {
		t.Errorf("pool update printed %s", out)
	}
	if out := e.ok("pipelines", "pool", "show", "-o", "table").out; !strings.Contains(out, "Default") || !strings.Contains(out, "3") {
		t.Errorf("pool show printed %s", out)
	}

	// Without the variable group the run fails saying which.
	r, _ := e.waitRun(e.startRun("graph"), time.Minute)
	if r.Result != "failed" || !strings.Contains(r.Error, `variable group "shared"`) {
		t.Fatalf("without the group: %+v", r)
	}
	e.ok("pipelines", "variable-group", "create", "--name", "shared", "--variables", "tier=gold", "region=eu")
	if out := e.ok("pipelines", "variable-group", "list").out; !strings.Contains(out, "shared") || !strings.Contains(out, "region,tier") {
		t.Errorf("variable-group list printed %s", out)
	}
	if out := e.ok("pipelines", "variable-group", "show", "--name", "shared").out; !strings.Contains(out, `"value": "gold"`) {
		t.Errorf("variable-group show printed %s", out)
	}

	r, log := e.waitRun(e.startRun("graph"), 3*time.Minute)
	want := map[string]string{
		"Train/Fit": "succeeded", "Train/Legs.small": "succeeded", "Train/Legs.large": "succeeded",
		"Train/Flaky": "succeededWithIssues", "Train/region_eu": "succeeded", "Train/region_us": "succeeded",
		"Deploy/Ship": "succeeded",
	}
	got := r.results()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("graph: job %s %q, want %q", k, got[k], v)
		}
	}
	if r.Result != "partiallySucceeded" || t.Failed() {
		t.Fatalf("graph run %+v\n%s", r, log)
	}
	for _, s := range []string{"hello gold", "leg size s", "leg size l", "region us with from-tools",
		"shipping model with accuracy 0.97", "the tools repository"} {
		if !strings.Contains(log, s) {
			t.Errorf("graph log lacks %q", s)
		}
	}

	r, log = e.waitRun(e.startRun("failure"), 2*time.Minute)
	got = r.results()
	if r.Result != "failed" || got["__default/Broken"] != "failed" || got["__default/Rescue"] != "succeeded" ||
		got["__default/Quiet"] != "succeeded" || got["__default/After"] != "skipped" {
		t.Errorf("failure run %+v\n%s", r, log)
	}

	// Cancel a running sleep 60.
	id := e.startRun("cancel")
	waitFor(t, "the sleep to start", time.Minute, func() bool {
		var cur struct {
			Jobs []struct{ Steps []struct{ Status string } }
		}
		_ = json.Unmarshal([]byte(e.ok("pipelines", "runs", "show", "--id", fmt.Sprint(id), "-o", "json").out), &cur)
		return len(cur.Jobs) == 1 && len(cur.Jobs[0].Steps) == 2 && cur.Jobs[0].Steps[1].Status == "inProgress"
	})
	start := time.Now()
	e.ok("pipelines", "runs", "cancel", "--id", fmt.Sprint(id))
	r, _ = e.waitRun(id, 30*time.Second)
	if r.Result != "canceled" || time.Since(start) > 15*time.Second {
		t.Errorf("cancel: run %+v after %s", r, time.Since(start))
	}

	start = time.Now()
	r, log = e.waitRun(e.startRun("timeout"), time.Minute)
	if r.Jobs[0].Result != "canceled" || !strings.Contains(log, "maximum time of 2 minutes") || time.Since(start) > 25*time.Second {
		t.Errorf("timeout: run %+v after %s\n%s", r, time.Since(start), log)
	}

	r, log = e.waitRun(e.startRun("unknown"), time.Minute)
	if r.Result != "failed" || !strings.Contains(log, "NoSuchTask") || !strings.Contains(log, "unknown.yml:4:3") {
		t.Errorf("unknown task: run %+v\n%s", r, log)
	}
	r, log = e.waitRun(e.startRun("bad"), time.Minute)
	if r.Result != "failed" || !strings.Contains(r.Error, "bad.yml:") || !strings.Contains(log, "bad.yml:") {
		t.Errorf("bad YAML: run %+v\n%s", r, log)
	}

	// expand runs without the server, on the file as the user has it.
	if err := os.WriteFile(e.dir+"/azure-pipelines.yml", []byte(failurePipeline), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := e.ok("pipelines", "expand", "--file", "azure-pipelines.yml").out; !strings.Contains(out, "job: Rescue") {
		t.Errorf("expand printed %s", out)
	}
}
