package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/blob"
	"github.com/ciel-mlops/ciel/internal/engine"
	"github.com/ciel-mlops/ciel/internal/engine/enginetest"
	"github.com/ciel-mlops/ciel/internal/spec"
	"github.com/ciel-mlops/ciel/internal/store"
)

// testBundle is what a test needs besides the engine.
type testBundle struct {
	home  string
	st    store.Store
	blobs blob.Store
}

func setup(t *testing.T) (*engine.Engine, *testBundle) { return setupB(t) }

func setupB(t testing.TB) (*engine.Engine, *testBundle) {
	t.Helper()
	x := enginetest.New(t)
	return x.Engine, &testBundle{home: x.Home, st: x.Store, blobs: x.Blobs}
}

func parse(t *testing.T, dir, yml string) *spec.Job {
	t.Helper()
	p := filepath.Join(dir, "job.yml")
	if err := os.WriteFile(p, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	j, err := spec.ParseJobFile(p, spec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func TestPlan(t *testing.T) {
	t.Parallel()
	e, tb := setup(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "inner.yml"), []byte(`
type: pipeline
inputs: {n: {type: integer}}
outputs: {out: {type: uri_folder}}
jobs:
  leaf:
    type: command
    inputs: {n: "${{parent.inputs.n}}"}
    command: echo ${{inputs.n}} > ${{outputs.o}}/n
    outputs:
      o: ${{parent.outputs.out}}
`), 0o644)
	cases := []struct {
		name    string
		yml     string
		steps   []string
		deps    map[string][]string
		outputs map[string]engine.PortRef
		err     string
	}{
		{
			name: "chain", steps: []string{"a", "b"}, deps: map[string][]string{"b": {"a"}},
			outputs: map[string]engine.PortRef{"final": {Step: "b", Port: "o"}},
			yml: `type: pipeline
outputs: {final: {type: uri_folder}}
jobs:
  b:
    type: command
    inputs: {i: "${{parent.jobs.a.outputs.o}}"}
    outputs: {o: "${{parent.outputs.final}}"}
    command: cp -r ${{inputs.i}} ${{outputs.o}}
  a:
    type: command
    outputs: {o: {type: uri_folder}}
    command: echo > ${{outputs.o}}/x
`,
		},
		{
			name: "nested pipeline component", steps: []string{"sub/leaf", "use"}, deps: map[string][]string{"use": {"sub/leaf"}},
			yml: `type: pipeline
jobs:
  sub:
    type: pipeline
    component: ./inner.yml
    inputs: {n: 3}
  use:
    type: command
    inputs: {i: "${{parent.jobs.sub.outputs.out}}"}
    command: cat ${{inputs.i}}/n
`,
		},
		{
			name: "missing compute", err: "ciel compute create",
			yml: "type: command\ncommand: echo\ncompute: azureml:gpu\n",
		},
		{
			name: "missing registered component", err: "ciel component create",
			yml: "type: pipeline\njobs:\n  a:\n    component: azureml:nothing@latest\n",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			j := parse(t, dir, tc.yml)
			plan, err := e.BuildPlan(context.Background(), "ws", j)
			if tc.err != "" {
				var se *spec.Error
				if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.As(err, &se) || se.Pos.Line == 0 {
					t.Fatalf("err = %v, want a located error containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, s := range plan.Steps {
				names = append(names, s.Name)
				if want := tc.deps[s.Name]; strings.Join(want, ",") != strings.Join(s.Deps, ",") {
					t.Errorf("step %s deps %v, want %v", s.Name, s.Deps, want)
				}
			}
			if strings.Join(names, ",") != strings.Join(tc.steps, ",") {
				t.Errorf("steps %v, want %v", names, tc.steps)
			}
			for k, v := range tc.outputs {
				if plan.Outputs[k] != v {
					t.Errorf("output %s = %v, want %v", k, plan.Outputs[k], v)
				}
			}
		})
	}
	_ = tb
}

func TestReuseKeyChangesWithInputs(t *testing.T) {
	t.Parallel()
	ps := &engine.PlanStep{Command: "echo ${{inputs.x}}", Outputs: map[string]engine.PlanOutput{"o": {Type: "uri_folder"}}}
	base := engine.ReuseKey(ps, map[string]string{"x": "value:1"})
	if base != engine.ReuseKey(ps, map[string]string{"x": "value:1"}) {
		t.Fatal("reuse key is not stable")
	}
	for name, mutate := range map[string]func(p engine.PlanStep) (engine.PlanStep, map[string]string){
		"input value": func(p engine.PlanStep) (engine.PlanStep, map[string]string) {
			return p, map[string]string{"x": "value:2"}
		},
		"command": func(p engine.PlanStep) (engine.PlanStep, map[string]string) {
			p.Command += " "
			return p, map[string]string{"x": "value:1"}
		},
		"code": func(p engine.PlanStep) (engine.PlanStep, map[string]string) {
			p.Code = "sha256:1"
			return p, map[string]string{"x": "value:1"}
		},
		"environment": func(p engine.PlanStep) (engine.PlanStep, map[string]string) {
			p.Env.CondaFile = "x"
			return p, map[string]string{"x": "value:1"}
		},
		"env vars": func(p engine.PlanStep) (engine.PlanStep, map[string]string) {
			p.EnvVars = map[string]string{"A": "1"}
			return p, map[string]string{"x": "value:1"}
		},
	} {
		p, in := mutate(*ps)
		if engine.ReuseKey(&p, in) == base {
			t.Errorf("changing the %s kept the reuse key", name)
		}
	}
}

// A pipeline runs end to end through the engine: data passes between steps,
// outputs land in the blob store, and an identical second run is reused.
func TestRunAndReuse(t *testing.T) {
	t.Parallel()
	e, tb := setup(t)
	ctx := context.Background()
	yml := `type: pipeline
inputs: {word: hello}
outputs: {final: {type: uri_folder}}
jobs:
  a:
    type: command
    inputs: {w: "${{parent.inputs.word}}"}
    outputs: {o: {type: uri_folder}}
    command: echo ${{inputs.w}} > ${{outputs.o}}/w.txt
  b:
    type: command
    inputs: {i: "${{parent.jobs.a.outputs.o}}"}
    outputs: {o: "${{parent.outputs.final}}"}
    command: tr a-z A-Z < ${{inputs.i}}/w.txt > ${{outputs.o}}/W.txt
`
	dir := t.TempDir()
	j1, err := e.Submit(ctx, "ws", parse(t, dir, yml))
	if err != nil {
		t.Fatal(err)
	}
	e.Wait("ws", j1.Name)
	got, err := tb.st.GetJob(ctx, "ws", j1.Name)
	if err != nil || got.Status != engine.StatusCompleted {
		t.Fatalf("job %+v, %v", got, err)
	}
	out := t.TempDir()
	if err := blob.Materialize(ctx, tb.blobs, got.Outputs["final"], out, false); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "W.txt")); string(b) != "HELLO\n" {
		t.Errorf("final output %q", b)
	}

	j2, err := e.Submit(ctx, "ws", parse(t, dir, yml))
	if err != nil {
		t.Fatal(err)
	}
	e.Wait("ws", j2.Name)
	steps, _ := tb.st.ListSteps(ctx, "ws", j2.Name)
	for _, s := range steps {
		if s.Status != engine.StatusCompleted || s.ReusedFrom != j1.Name+"/"+s.Name {
			t.Errorf("step %s: status %s reused from %q", s.Name, s.Status, s.ReusedFrom)
		}
	}
	var plan engine.Plan
	_ = json.Unmarshal(got.Plan, &plan)
	if len(plan.Steps) != 2 {
		t.Errorf("plan has %d steps", len(plan.Steps))
	}
}

func TestFollowPrefixesSteps(t *testing.T) {
	t.Parallel()
	e, _ := setup(t)
	ctx := context.Background()
	j, err := e.Submit(ctx, "ws", parse(t, t.TempDir(), "type: pipeline\njobs:\n  hi:\n    type: command\n    command: printf 'one\\ntwo'\n"))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := e.Follow(ctx, "ws", j.Name, &b, nil, nil); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"[hi] one\n", "[hi] two\n", "[hi] status: Completed\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("stream %q lacks %q", b.String(), want)
		}
	}
}

// TestFollowManySteps follows a pipeline of many short steps from its
// start: the follower keeps the states it is told, so each step's log and
// its one "Completed" line come out, and no step goes back to Running.
func TestFollowManySteps(t *testing.T) {
	t.Parallel()
	e, _ := setup(t)
	ctx := context.Background()
	var y strings.Builder
	y.WriteString("type: pipeline\njobs:\n")
	const n = 40
	for i := range n {
		fmt.Fprintf(&y, "  s%d:\n    type: command\n    command: echo out%d\n", i, i)
	}
	j, err := e.Submit(ctx, "ws", parse(t, t.TempDir(), y.String()))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := e.Follow(ctx, "ws", j.Name, &b, nil, nil); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for i := range n {
		p := fmt.Sprintf("[s%d] ", i)
		if c := strings.Count(out, p+"status: Completed\n"); c != 1 {
			t.Errorf("step s%d: %d Completed lines", i, c)
		}
		if !strings.Contains(out, fmt.Sprintf("%sout%d\n", p, i)) {
			t.Errorf("step s%d: log line missing", i)
		}
		if done := strings.Index(out, p+"status: Completed"); strings.LastIndex(out, p+"status: Running") > done {
			t.Errorf("step s%d: Running after Completed", i)
		}
	}
	if t.Failed() {
		t.Logf("stream:\n%s", out)
	}
}

func TestPrefixWriterSplitsLines(t *testing.T) {
	var b strings.Builder
	w := engine.PrefixWriter(&b, "> ")
	for _, s := range []string{"ab", "c\nd", "\n", "e\n"} {
		w.Write([]byte(s))
	}
	if b.String() != "> abc\n> d\n> e\n" {
		t.Errorf("got %q", b.String())
	}
}

// TestFollowReadsLogsSparingly: a follower woken by every change of a wide
// pipeline reads no log of a step still waiting for its turn, and a running
// step's log at most once an interval (plus its last read), yet prints
// every line.
func TestFollowReadsLogsSparingly(t *testing.T) {
	t.Parallel()
	e, tb := setup(t)
	ctx := context.Background()
	tb.localCompute(t, "two", 2)
	var y strings.Builder
	y.WriteString("type: pipeline\nsettings: {default_compute: two}\njobs:\n")
	y.WriteString("  long: {type: command, command: 'for i in 1 2 3; do echo l$i; sleep 0.4; done'}\n")
	const n = 60
	for i := range n {
		fmt.Fprintf(&y, "  s%d: {type: command, command: 'echo out%d'}\n", i, i)
	}
	j, err := e.Submit(ctx, "ws", parse(t, t.TempDir(), y.String()))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var b strings.Builder
	reads, err := e.FollowCountingReads(ctx, "ws", j.Name, &b)
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	out := b.String()
	for _, want := range []string{"[long] l1\n", "[long] l3\n", "[long] status: Completed\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("stream lacks %q", want)
		}
	}
	for i := range n {
		if !strings.Contains(out, fmt.Sprintf("[s%d] out%d\n", i, i)) {
			t.Errorf("stream lacks step s%d's line", i)
		}
		// Not read while queued; read while running (at most once an
		// interval: an echo takes a few) and at its end.
		if r := reads[fmt.Sprintf("s%d", i)]; r > 8 {
			t.Errorf("step s%d's log read %d times", i, r)
		}
	}
	if max := int(elapsed/engine.FollowInterval) + 3; reads["long"] > max {
		t.Errorf("the long step's log was read %d times in %v (at most %d)", reads["long"], elapsed, max)
	}
	if t.Failed() {
		t.Logf("reads %v\nstream:\n%s", reads, out)
	}
}
