package run_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/dataflow/run"
)

// TestForEachConcurrency checks isSequential and batchCount: how many
// iterations run at once, and that each iteration's activity run names
// its ForEach and its index.
func TestForEachConcurrency(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		props string
		peak  int
	}{
		{"sequential", `"isSequential": true`, 1},
		{"batchCount 3", `"isSequential": false, "batchCount": 3`, 3},
		{"default batch", `"isSequential": false`, 6},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			loop := act("Loop", "ForEach", `{"items": [1, 2, 3, 4, 5, 6], `+tc.props+`, "activities": [`+
				act("Inner", "Fake", `{"sleepMs": 300}`)+`]}`)
			b := setup(t, pipeline("p", acts(loop)))
			pr, by := b.start(t, "p", nil)
			if pr.Status != run.StatusSucceeded {
				t.Fatalf("run %s: %s", pr.Status, pr.Message)
			}
			if b.fake.peak != tc.peak {
				t.Errorf("at most %d iterations at once, want %d", b.fake.peak, tc.peak)
			}
			inner := by["Inner"]
			if len(inner) != 6 {
				t.Fatalf("%d inner activity runs, want 6", len(inner))
			}
			seen := map[int]bool{}
			for _, a := range inner {
				if a.ParentActivityRunID != by["Loop"][0].ActivityRunID || a.Iteration == nil {
					t.Errorf("inner run not tied to its ForEach: %+v", a)
					continue
				}
				seen[*a.Iteration] = true
			}
			if len(seen) != 6 {
				t.Errorf("iterations %v", seen)
			}
		})
	}
}

// TestForEachFailure: one failing iteration fails the ForEach (the others
// still run) and the run, naming the inner activity.
func TestForEachFailure(t *testing.T) {
	t.Parallel()
	loop := act("Loop", "ForEach", `{"items": {"value": "@pipeline().parameters.list", "type": "Expression"}, "activities": [`+
		act("Inner", "Fake", `{"fail": "@equals(item(), 2)"}`)+`]}`)
	b := setup(t, pipeline("p", acts(loop), `"parameters": {"list": {"type": "Array", "defaultValue": [1, 2, 3]}}`))
	pr, by := b.start(t, "p", nil)
	if pr.Status != run.StatusFailed || len(by["Inner"]) != 3 {
		t.Fatalf("run %s with %d inner runs", pr.Status, len(by["Inner"]))
	}
	if e := by["Loop"][0].Error; e == nil || !strings.Contains(e.Message, "Inner activity name: Inner") {
		t.Errorf("ForEach error %+v", e)
	}
}

// TestVariablesAndItems: item() in a ForEach, AppendVariable,
// SetVariable, activity outputs, and the run's pipelineReturnValue.
func TestVariablesAndItems(t *testing.T) {
	t.Parallel()
	p := pipeline("p", acts(
		act("Lookup", "Fake", `{"output": {"firstRow": {"n": 5}}}`),
		act("Loop", "ForEach", `{"items": {"value": "@pipeline().parameters.list", "type": "Expression"}, "isSequential": true, "activities": [`+
			act("Add", "AppendVariable", `{"variableName": "names", "value": "@concat('x', string(item()))"}`)+`]}`, "Lookup:Succeeded"),
		act("Join", "SetVariable", `{"variableName": "joined", "value": "@join(variables('names'), ',')"}`, "Loop:Succeeded"),
		act("Use", "Fake", `{"n": "@activity('Lookup').output.firstRow.n", "joined": "@variables('joined')"}`, "Join:Succeeded"),
		act("Return", "SetVariable", `{"variableName": "pipelineReturnValue", "setSystemVariable": true, "value": [
			{"key": "count", "value": {"type": "Expression", "content": "@length(variables('names'))"}},
			{"key": "label", "value": {"type": "String", "content": "done"}},
			{"key": "list", "value": {"type": "Array", "content": [{"type": "Int", "content": 1}, {"type": "String", "content": "b"}]}}]}`, "Use:Succeeded"),
	), `"parameters": {"list": {"type": "Array", "defaultValue": [1, 2, 3]}}`,
		`"variables": {"names": {"type": "Array"}, "joined": {"type": "String"}}`)
	b := setup(t, p)
	pr, by := b.start(t, "p", nil)
	if pr.Status != run.StatusSucceeded {
		t.Fatalf("run %s: %s", pr.Status, pr.Message)
	}
	var use map[string]any
	for _, c := range b.fake.calls {
		if c.Name == "Use" {
			use = c.TypeProperties
		}
	}
	if use["n"] != int64(5) || use["joined"] != "x1,x2,x3" {
		t.Errorf("Use saw %v", use)
	}
	if out := by["Join"][0].Output.(map[string]any); out["value"] != "x1,x2,x3" {
		t.Errorf("SetVariable output %v", out)
	}
	want := map[string]any{"count": float64(3), "label": "done", "list": []any{float64(1), "b"}}
	if !reflect.DeepEqual(pr.ReturnValue, want) {
		t.Errorf("pipelineReturnValue %#v, want %#v", pr.ReturnValue, want)
	}
}

// TestSetVariableType: a variable keeps its declared type.
func TestSetVariableType(t *testing.T) {
	t.Parallel()
	b := setup(t, pipeline("p", acts(act("Set", "SetVariable", `{"variableName": "s", "value": 5}`)), `"variables": {"s": {"type": "String"}}`))
	pr, by := b.start(t, "p", nil)
	if pr.Status != run.StatusFailed || by["Set"][0].Error == nil || !strings.Contains(by["Set"][0].Error.Message, "of type 'String'") {
		t.Errorf("run %s, error %+v", pr.Status, by["Set"][0].Error)
	}
}

// TestBranches: IfCondition and Switch run the branch their expression
// picks; a failure inside fails the container.
func TestBranches(t *testing.T) {
	t.Parallel()
	ifAct := act("If", "IfCondition", `{"expression": {"value": "@equals(pipeline().parameters.mode, 'a')", "type": "Expression"},
		"ifTrueActivities": [`+act("T", "Fake", `{"fail": "@pipeline().parameters.failInside"}`)+`],
		"ifFalseActivities": [`+act("F", "Fake", ok)+`]}`)
	sw := act("Switch", "Switch", `{"on": "@pipeline().parameters.mode",
		"cases": [{"value": "a", "activities": [`+act("CaseA", "Fake", ok)+`]}, {"value": "b", "activities": [`+act("CaseB", "Fake", ok)+`]}],
		"defaultActivities": [`+act("Default", "Fake", ok)+`]}`)
	params := `"parameters": {"mode": {"type": "String"}, "failInside": {"type": "Bool", "defaultValue": false}}`
	cases := []struct {
		mode       string
		failInside bool
		want       run.Status
		ran        []string
	}{
		{"a", false, run.StatusSucceeded, []string{"CaseA", "T"}},
		{"b", false, run.StatusSucceeded, []string{"CaseB", "F"}},
		{"z", false, run.StatusSucceeded, []string{"Default", "F"}},
		{"a", true, run.StatusFailed, []string{"CaseA", "T"}},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s/%v", tc.mode, tc.failInside), func(t *testing.T) {
			t.Parallel()
			b := setup(t, pipeline("p", acts(ifAct, sw), params))
			pr, by := b.start(t, "p", map[string]any{"mode": tc.mode, "failInside": tc.failInside})
			if pr.Status != tc.want {
				t.Errorf("run %s (%s), want %s", pr.Status, pr.Message, tc.want)
			}
			ran := b.fake.ran()
			if sortStrings(ran); !reflect.DeepEqual(ran, tc.ran) {
				t.Errorf("ran %v, want %v", ran, tc.ran)
			}
			if tc.failInside && !strings.Contains(by["If"][0].Error.Message, "Inner activity name: T") {
				t.Errorf("If error %+v", by["If"][0].Error)
			}
		})
	}
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// TestUntil: the loop runs its activities, then its expression, until
// true; its timeout ends a loop that never is.
func TestUntil(t *testing.T) {
	t.Parallel()
	until := act("Until", "Until", `{"expression": {"value": "@greaterOrEquals(length(variables('acc')), 3)", "type": "Expression"},
		"timeout": "0.00:01:00", "activities": [`+act("Add", "AppendVariable", `{"variableName": "acc", "value": "@activity('Probe').output.n"}`, "Probe:Succeeded")+
		`, `+act("Probe", "Fake", `{"output": {"n": "@length(variables('acc'))"}}`)+`]}`)
	b := setup(t, pipeline("p", acts(until), `"variables": {"acc": {"type": "Array"}}`))
	pr, by := b.start(t, "p", nil)
	if pr.Status != run.StatusSucceeded {
		t.Fatalf("run %s: %s", pr.Status, pr.Message)
	}
	if n := len(by["Probe"]); n != 3 {
		t.Errorf("%d passes, want 3", n)
	}
	if out := by["Until"][0].Output.(map[string]any); out["iterations"] != float64(3) {
		t.Errorf("Until output %v", out)
	}
	for i, a := range by["Probe"] {
		if a.Iteration == nil || *a.Iteration != i {
			t.Errorf("pass %d recorded as iteration %v", i, a.Iteration)
		}
	}

	never := act("Never", "Until", `{"expression": {"value": "@equals(1, 2)", "type": "Expression"}, "timeout": "00:00:01",
		"activities": [`+act("Tick", "Fake", `{"sleepMs": 300}`)+`]}`)
	long := act("Long", "Until", `{"expression": {"value": "@equals(1, 1)", "type": "Expression"}, "timeout": "00:00:01",
		"activities": [`+act("Stuck", "Fake", `{"sleepMs": 30000}`)+`]}`)
	b = setup(t, pipeline("p", acts(never, long)))
	t0 := time.Now()
	pr, by = b.start(t, "p", nil)
	if pr.Status != run.StatusFailed || by["Never"][0].Error.ErrorCode != "ActivityTimeout" || by["Long"][0].Error.ErrorCode != "ActivityTimeout" {
		t.Errorf("run %s, errors %+v %+v", pr.Status, by["Never"][0].Error, by["Long"][0].Error)
	}
	if d := time.Since(t0); d > 10*time.Second || by["Stuck"][0].Status != run.StatusCancelled {
		t.Errorf("a pass outlived its loop's timeout: %s, Stuck %s", d, by["Stuck"][0].Status)
	}
}

// TestFilterWaitFail: Filter's output, Wait, and Fail's message and code.
func TestFilterWaitFail(t *testing.T) {
	t.Parallel()
	b := setup(t, pipeline("p", acts(
		act("Keep", "Filter", `{"items": {"value": "@pipeline().parameters.list", "type": "Expression"}, "condition": {"value": "@greater(item(), 2)", "type": "Expression"}}`),
		act("Pause", "Wait", `{"waitTimeInSeconds": 1}`, "Keep:Succeeded"),
		act("Stop", "Fail", `{"message": "@concat('kept ', string(activity('Keep').output.FilteredItemsCount))", "errorCode": "E42"}`, "Pause:Succeeded"),
	), `"parameters": {"list": {"type": "Array", "defaultValue": [1, 2, 3, 4]}}`))
	t0 := time.Now()
	pr, by := b.start(t, "p", nil)
	if time.Since(t0) < time.Second {
		t.Error("Wait did not wait")
	}
	out := by["Keep"][0].Output.(map[string]any)
	if !reflect.DeepEqual(out["Value"], []any{float64(3), float64(4)}) || out["FilteredItemsCount"] != float64(2) || out["ItemsCount"] != float64(4) {
		t.Errorf("Filter output %v", out)
	}
	e := by["Stop"][0].Error
	if pr.Status != run.StatusFailed || e == nil || e.ErrorCode != "E42" || e.Message != "kept 2" || e.FailureType != "UserError" {
		t.Errorf("run %s, Fail error %+v", pr.Status, e)
	}
	if pr.Message != "Operation on target Stop failed: kept 2" {
		t.Errorf("run message %q", pr.Message)
	}
}

// TestExecutePipeline: a child run with its parameters, tied to its
// parent, whose failure fails the activity when waited on, whose return
// value is the activity's output, and which is not waited on otherwise.
func TestExecutePipeline(t *testing.T) {
	t.Parallel()
	child := pipeline("child", acts(
		act("Work", "Fake", `{"fail": "@pipeline().parameters.fail", "sleepMs": "@pipeline().parameters.sleepMs"}`),
		act("Return", "SetVariable", `{"variableName": "pipelineReturnValue", "setSystemVariable": true, "value": [
			{"key": "by", "value": {"type": "Expression", "content": "@pipeline().TriggeredByPipelineName"}}]}`, "Work:Succeeded"),
	), `"parameters": {"fail": {"type": "Bool"}, "sleepMs": {"type": "Int", "defaultValue": 0}}`)
	parent := func(name string, fail, wait bool, sleep int) string {
		return pipeline(name, acts(act("Call", "ExecutePipeline", fmt.Sprintf(`{"pipeline": {"referenceName": "child", "type": "PipelineReference"},
			"parameters": {"fail": %v, "sleepMs": %d}, "waitOnCompletion": %v}`, fail, sleep, wait))))
	}
	b := setup(t, child, parent("ok", false, true, 0), parent("bad", true, true, 0), parent("nowait", false, false, 1500))

	pr, by := b.start(t, "ok", nil)
	out, _ := by["Call"][0].Output.(map[string]any)
	if pr.Status != run.StatusSucceeded || out == nil {
		t.Fatalf("run %s (%s), output %v", pr.Status, pr.Message, out)
	}
	if rv, _ := out["pipelineReturnValue"].(map[string]any); rv["by"] != "ok" {
		t.Errorf("return value %v", out["pipelineReturnValue"])
	}
	kid, err := b.r.GetRun(context.Background(), ws, out["pipelineRunId"].(string))
	if err != nil || kid.ParentRunID != pr.RunID || kid.InvokedBy.InvokedByType != run.InvokedPipeline || kid.InvokedBy.ID != pr.RunID || kid.Status != run.StatusSucceeded {
		t.Errorf("child run %+v, %v", kid, err)
	}

	pr, by = b.start(t, "bad", nil)
	if pr.Status != run.StatusFailed || !strings.Contains(by["Call"][0].Error.Message, "Work failed as told") {
		t.Errorf("run %s, Call error %+v", pr.Status, by["Call"][0].Error)
	}

	t0 := time.Now()
	pr, by = b.start(t, "nowait", nil)
	if pr.Status != run.StatusSucceeded || time.Since(t0) > 1200*time.Millisecond {
		t.Errorf("run %s after %s: waited on its child", pr.Status, time.Since(t0))
	}
	id := by["Call"][0].Output.(map[string]any)["pipelineRunId"].(string)
	if kid, _ := b.wait(t, id); kid.Status != run.StatusSucceeded {
		t.Errorf("child %s", kid.Status)
	}
}

// TestCancel: a cancelled run stops its running activities (and the
// child run it waits on) and ends Cancelled; cancelling again is ErrDone.
func TestCancel(t *testing.T) {
	t.Parallel()
	b := setup(t,
		pipeline("slow", acts(act("Sleep", "Fake", `{"sleepMs": 30000}`), act("After", "Fake", ok, "Sleep:Completed"))),
		pipeline("parent", acts(act("Call", "ExecutePipeline", `{"pipeline": {"referenceName": "slow"}, "waitOnCompletion": true}`))),
	)
	ctx := context.Background()
	started, err := b.r.StartRun(ctx, run.RunRequest{Workspace: ws, Pipeline: "parent"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(b.fake.ran()) == 1 })
	t0 := time.Now()
	if err := b.r.Cancel(ctx, ws, started.RunID); err != nil {
		t.Fatal(err)
	}
	pr, by := b.wait(t, started.RunID)
	if pr.Status != run.StatusCancelled || time.Since(t0) > 5*time.Second {
		t.Errorf("run %s after %s", pr.Status, time.Since(t0))
	}
	if st := by["Call"][0].Status; st != run.StatusCancelled {
		t.Errorf("Call %s", st)
	}
	kids, _ := b.r.ListRuns(ctx, ws, run.RunQuery{PipelineName: "slow"})
	if len(kids) != 1 {
		t.Fatalf("child runs %v", kids)
	}
	kid, kby := b.wait(t, kids[0].RunID)
	if kid.Status != run.StatusCancelled || kby["Sleep"][0].Status != run.StatusCancelled || len(kby["After"]) != 0 {
		t.Errorf("child %s, activities %v", kid.Status, statuses(kby))
	}
	if err := b.r.Cancel(ctx, ws, started.RunID); !errors.Is(err, run.ErrDone) {
		t.Errorf("cancel of an ended run: %v", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 20s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
