package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A three-step pipeline passing data between steps, with literal, default
// and optional inputs, a registered component and a file component.
const dataPassing = `
$schema: https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json
type: pipeline
display_name: data passing
inputs:
  greeting: hello
  count: 3
  raw:
    type: uri_file
    path: ./raw.txt
outputs:
  final:
    type: uri_folder
jobs:
  make:
    type: command
    inputs:
      raw: ${{parent.inputs.raw}}
      greeting: ${{parent.inputs.greeting}}
    outputs:
      data:
        type: uri_folder
    command: >-
      cat ${{inputs.raw}} > ${{outputs.data}}/lines.txt &&
      echo "${{inputs.greeting}} from make" >> ${{outputs.data}}/lines.txt
  shout:
    component: ./shout.yml
    inputs:
      text: ${{parent.jobs.make.outputs.data}}
      times: ${{parent.inputs.count}}
  count:
    component: azureml:counter@latest
    inputs:
      text: ${{parent.jobs.shout.outputs.loud}}
    outputs:
      result: ${{parent.outputs.final}}
`

const shoutComponent = `
$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
name: shout
version: 1
type: command
inputs:
  text: {type: uri_folder}
  times: {type: integer, default: 1}
  suffix: {type: string, optional: true}
outputs:
  loud: {type: uri_folder}
command: >-
  for i in $(seq ${{inputs.times}}); do tr a-z A-Z < ${{inputs.text}}/lines.txt; done > ${{outputs.loud}}/loud.txt
  $[[&& echo ${{inputs.suffix}} >> ${{outputs.loud}}/loud.txt]]
`

const counterComponent = `
name: counter
version: 1
type: command
inputs:
  text: {type: uri_folder}
outputs:
  result: {type: uri_folder}
code: ./src
command: bash count.sh ${{inputs.text}}/loud.txt ${{outputs.result}}/count.txt
`

func setupDataPassing(t *testing.T) *env {
	e := newEnv(t)
	writeDataPassing(e)
	return e
}

// writeDataPassing writes the data-passing pipeline's files in e's work
// directory and registers its counter component.
func writeDataPassing(e *env) {
	e.write("raw.txt", "line one\nline two\n")
	e.write("shout.yml", shoutComponent)
	e.write("counter.yml", counterComponent)
	e.write("src/count.sh", "wc -l < \"$1\" | tr -d ' ' > \"$2\"\necho counted $(cat \"$2\") lines\n")
	e.write("pipeline.yml", dataPassing)
	e.ok("component", "create", "--file", "counter.yml")
}

func TestPipelineDataPassingStreamAndDownload(t *testing.T) {
	t.Parallel()
	e := setupDataPassing(t)
	r := e.ok("job", "create", "--file", "pipeline.yml", "--stream")
	for _, want := range []string{"[count] counted 9 lines", "[make]", "[shout]", "Completed"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("stream lacks %q:\n%s", want, r.out)
		}
	}
	jobs := e.ok("job", "list", "-o", "json")
	if !strings.Contains(jobs.out, "data passing") {
		t.Errorf("job list lacks the job:\n%s", jobs.out)
	}
	name := firstJobName(t, e)
	j := e.show(name)
	if j.Status != "Completed" || len(j.Jobs) != 3 {
		t.Fatalf("job = %+v", j)
	}
	// GET job has each step's MLflow run; ?runs=false (what --stream
	// waits on) leaves the runs out and keeps the steps.
	for _, c := range []struct {
		query   string
		status  int
		withRun bool
	}{{"", 200, true}, {"?runs=false", 200, false}, {"?runs=maybe", 400, false}} {
		code, v := e.httpJSON("GET", "/api/v1/workspaces/ws/jobs/"+name+c.query, "")
		steps, _ := v["jobs"].(map[string]any)
		if code != c.status || (code == 200 && len(steps) != 3) {
			t.Fatalf("GET job%s: %d with %d steps: %v", c.query, code, len(steps), v)
		}
		for step, sv := range steps {
			if _, has := sv.(map[string]any)["run_id"]; has != c.withRun {
				t.Errorf("GET job%s: step %s has a run_id: %v, want %v", c.query, step, has, c.withRun)
			}
		}
		if code == 400 && !strings.Contains(fmt.Sprint(v), "runs must be true or false") {
			t.Errorf("GET job%s: %v", c.query, v)
		}
	}
	e.ok("job", "download", "--name", name, "--output-name", "final", "--download-path", "out")
	got, err := os.ReadFile(filepath.Join(e.dir, "out", "named-outputs", "final", "count.txt"))
	if err != nil || strings.TrimSpace(string(got)) != "9" {
		t.Fatalf("downloaded count = %q, %v (3 x (2 raw lines + greeting))", got, err)
	}
	// A second run reuses every step: nothing changed.
	r = e.ok("job", "create", "--file", "pipeline.yml", "--stream")
	if strings.Count(r.out, "reused") < 3 {
		t.Errorf("second run did not reuse all three steps:\n%s", r.out)
	}
	// Changing a literal re-runs the steps that depend on it only.
	r = e.ok("job", "create", "--file", "pipeline.yml", "--set", "inputs.count=1", "--stream")
	if !strings.Contains(r.out, "[count] counted 3 lines") {
		t.Errorf("override did not reach the steps:\n%s", r.out)
	}
	if !strings.Contains(r.out, "[make] status: Completed (reused") {
		t.Errorf("make should have been reused:\n%s", r.out)
	}
	// force_rerun runs everything again.
	r = e.ok("job", "create", "--file", "pipeline.yml", "--set", "settings.force_rerun=true", "--stream")
	if strings.Contains(r.out, "reused") {
		t.Errorf("force_rerun still reused:\n%s", r.out)
	}
}

func firstJobName(t *testing.T, e *env) string {
	t.Helper()
	r := e.ok("job", "list", "-o", "json")
	i := strings.Index(r.out, `"name": "`)
	if i < 0 {
		t.Fatalf("no job in list:\n%s", r.out)
	}
	rest := r.out[i+len(`"name": "`):]
	return rest[:strings.Index(rest, `"`)]
}

func TestInjectionNeverRuns(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	canary := filepath.Join(e.dir, "pwned")
	nasty := `a b; touch ` + canary + `; $(touch ` + canary + `) ` + "`touch " + canary + "`" + ` ' " \ end`
	e.write("dir with space/data.txt", "payload\n")
	e.write("job.yml", `
type: command
inputs:
  msg: placeholder
  data:
    type: uri_folder
    path: "./dir with space"
command: >-
  printf '[%s]\n' ${{inputs.msg}} "${{inputs.msg}}" '${{inputs.msg}}' &&
  ls ${{inputs.data}}
`)
	r := e.ok("job", "create", "--file", "job.yml", "--set", "inputs.msg="+quoteYAML(nasty), "--stream")
	if _, err := os.Stat(canary); err == nil {
		t.Fatal("an input value ran a command")
	}
	if got := strings.Count(r.out, "["+nasty+"]"); got != 3 {
		t.Errorf("value should arrive as exactly one argument, byte for byte, three times; got %d:\n%s", got, r.out)
	}
	if !strings.Contains(r.out, "data.txt") {
		t.Errorf("path with a space was not passed whole:\n%s", r.out)
	}
}

// quoteYAML makes s a YAML double-quoted scalar.
func quoteYAML(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func TestFailingStepFailsPipeline(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.write("p.yml", `
type: pipeline
jobs:
  ok:
    type: command
    outputs: {o: {type: uri_folder}}
    command: echo fine > ${{outputs.o}}/x
  boom:
    type: command
    inputs: {i: "${{parent.jobs.ok.outputs.o}}"}
    outputs: {o: {type: uri_folder}}
    command: echo about to fail; echo the cause is here >&2; exit 3
  after:
    type: command
    inputs: {i: "${{parent.jobs.boom.outputs.o}}"}
    command: echo should never run
`)
	r := e.run("job", "create", "--file", "p.yml", "--stream")
	if r.code != 1 {
		t.Fatalf("exit code %d, want 1\n%s\n%s", r.code, r.out, r.err)
	}
	if !strings.Contains(r.err, "boom") || !strings.Contains(r.err, "the cause is here") || !strings.Contains(r.err, "exit") {
		t.Errorf("error should name the step and show its log tail:\n%s", r.err)
	}
	if strings.Contains(r.out, "should never run") {
		t.Error("a step downstream of the failure ran")
	}
	j := e.show(firstJobName(t, e))
	if j.Status != "Failed" || j.Jobs["ok"].Status != "Completed" || j.Jobs["boom"].Status != "Failed" || j.Jobs["after"].Status == "Completed" {
		t.Errorf("statuses: %+v", j)
	}
}

func TestContinueOnStepFailureAndRetries(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.write("p.yml", `
type: pipeline
settings: {continue_on_step_failure: true}
jobs:
  flaky:
    type: command
    retry_settings: {max_retries: 2}
    command: n=$(cat `+e.dir+`/tries 2>/dev/null || echo 0); echo $((n+1)) > `+e.dir+`/tries; test $n -ge 2
  broken:
    type: command
    command: exit 1
  independent:
    type: command
    command: echo still ran
`)
	r := e.run("job", "create", "--file", "p.yml", "--stream")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1 (a step failed)\n%s", r.code, r.out)
	}
	j := e.show(firstJobName(t, e))
	if j.Jobs["independent"].Status != "Completed" || j.Jobs["flaky"].Status != "Completed" || j.Jobs["flaky"].Attempt != 3 {
		t.Errorf("steps: %+v", j.Jobs)
	}
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.write("j.yml", "type: command\ncommand: sleep 30\nlimits: {timeout: 1}\n")
	start := time.Now()
	r := e.run("job", "create", "--file", "j.yml", "--stream")
	if r.code != 1 || !strings.Contains(r.err, "timed out") {
		t.Fatalf("exit %d, stderr %q", r.code, r.err)
	}
	if time.Since(start) > 20*time.Second {
		t.Errorf("timeout took %s", time.Since(start))
	}
}

func TestCancelKillsProcessGroup(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pidFile := filepath.Join(e.dir, "child.pid")
	e.write("j.yml", "type: command\ncommand: sleep 300 & echo $! > "+pidFile+"; wait\n")
	name := e.submit("j.yml")
	waitFor(t, "child pid", 30*time.Second, func() bool { b, _ := os.ReadFile(pidFile); return len(strings.TrimSpace(string(b))) > 0 })
	b, _ := os.ReadFile(pidFile)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	e.ok("job", "cancel", "--name", name)
	j := e.wait(name, 30*time.Second)
	if j.Status != "Canceled" {
		t.Errorf("status %s, want Canceled", j.Status)
	}
	waitFor(t, "grandchild to die", 10*time.Second, func() bool { return !alive(pid) })
	e.ok("job", "archive", "--name", name)
	if r := e.ok("job", "list", "-o", "json"); strings.Contains(r.out, name) {
		t.Errorf("archived job still listed")
	}
}

// A compute's --max-concurrency bounds how many steps run at once.
func TestMaxConcurrencyHonoured(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.ok("compute", "create", "--name", "two", "--type", "local", "--max-concurrency", "2")
	log := filepath.Join(e.dir, "spans.txt")
	var y strings.Builder
	y.WriteString("type: pipeline\nsettings: {default_compute: azureml:two}\njobs:\n")
	for i := 0; i < 6; i++ {
		y.WriteString("  s" + strconv.Itoa(i) + ":\n    type: command\n    command: echo start >> " + log + "; sleep 0.4; echo end >> " + log + "\n")
	}
	e.write("p.yml", y.String())
	e.ok("job", "create", "--file", "p.yml", "--stream")
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	running, most := 0, 0
	for _, l := range strings.Fields(string(b)) {
		if l == "start" {
			running++
		} else {
			running--
		}
		most = max(most, running)
	}
	if most != 2 {
		t.Errorf("at most %d steps ran at once, want exactly 2 (the compute's concurrency):\n%s", most, b)
	}
}

// A pipeline job file used as a component inside another pipeline.
func TestPipelineJobAsComponent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.write("inner.yml", `$schema: https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json
type: pipeline
inputs:
  msg: hello
outputs:
  out: {type: uri_folder}
jobs:
  say:
    type: command
    inputs: {m: "${{parent.inputs.msg}}"}
    outputs: {o: "${{parent.outputs.out}}"}
    command: echo ${{inputs.m}} > ${{outputs.o}}/m.txt
`)
	e.write("outer.yml", `type: pipeline
jobs:
  sub:
    type: pipeline
    component: ./inner.yml
    inputs: {msg: nested value}
  show:
    type: command
    inputs: {i: "${{parent.jobs.sub.outputs.out}}"}
    command: cat ${{inputs.i}}/m.txt
`)
	r := e.ok("job", "create", "--file", "outer.yml", "--stream")
	if !strings.Contains(r.out, "[show] nested value") || !strings.Contains(r.out, "sub/say") {
		t.Errorf("nested pipeline did not pass its output:\n%s", r.out)
	}
}
