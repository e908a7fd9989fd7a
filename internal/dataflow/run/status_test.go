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

// act writes one activity: deps are "Name:Cond[,Cond]".
func act(name, typ, props string, deps ...string) string {
	var ds []string
	for _, d := range deps {
		n, conds, _ := strings.Cut(d, ":")
		ds = append(ds, fmt.Sprintf(`{"activity": %q, "dependencyConditions": ["%s"]}`, n, strings.ReplaceAll(conds, ",", `","`)))
	}
	if props == "" {
		props = "{}"
	}
	return fmt.Sprintf(`{"name": %q, "type": %q, "dependsOn": [%s], "typeProperties": %s}`, name, typ, strings.Join(ds, ", "), props)
}

func acts(a ...string) string { return "[" + strings.Join(a, ", ") + "]" }

const (
	ok   = `{}`
	fail = `{"fail": true}`
)

// TestRunStatus checks the patterns of ADF's "Pipeline failure and error
// handling" page: a run succeeds iff every leaf activity (for a skipped
// one, its parents instead, up) succeeded.
func TestRunStatus(t *testing.T) {
	t.Parallel()
	S, F, K := run.StatusSucceeded, run.StatusFailed, run.StatusSkipped
	cases := []struct {
		name  string
		acts  string
		want  run.Status
		state map[string]run.Status
	}{
		{"one succeeds", acts(act("A", "Fake", ok)), S, map[string]run.Status{"A": S}},
		{"one fails", acts(act("A", "Fake", fail)), F, map[string]run.Status{"A": F}},
		{"try-catch, A succeeds", acts(act("A", "Fake", ok), act("Catch", "Fake", ok, "A:Failed")), S,
			map[string]run.Status{"A": S, "Catch": K}},
		{"try-catch, A fails", acts(act("A", "Fake", fail), act("Catch", "Fake", ok, "A:Failed")), S,
			map[string]run.Status{"A": F, "Catch": S}},
		{"try-catch, A and the handler fail", acts(act("A", "Fake", fail), act("Catch", "Fake", fail, "A:Failed")), F,
			map[string]run.Status{"A": F, "Catch": F}},
		{"do-if-else, A succeeds", acts(act("A", "Fake", ok), act("Then", "Fake", ok, "A:Succeeded"), act("Else", "Fake", ok, "A:Failed")), S,
			map[string]run.Status{"A": S, "Then": S, "Else": K}},
		{"do-if-else, A fails", acts(act("A", "Fake", fail), act("Then", "Fake", ok, "A:Succeeded"), act("Else", "Fake", ok, "A:Failed")), F,
			map[string]run.Status{"A": F, "Then": K, "Else": S}},
		{"do-if-skip-else, A succeeds", acts(act("A", "Fake", ok), act("Then", "Fake", ok, "A:Succeeded"),
			act("Dummy", "Fake", ok, "Then:Skipped"), act("Else", "Fake", ok, "A:Failed")), S,
			map[string]run.Status{"A": S, "Then": S, "Dummy": K, "Else": K}},
		{"do-if-skip-else, A fails", acts(act("A", "Fake", fail), act("Then", "Fake", ok, "A:Succeeded"),
			act("Dummy", "Fake", ok, "Then:Skipped"), act("Else", "Fake", ok, "A:Failed")), S,
			map[string]run.Status{"A": F, "Then": K, "Dummy": S, "Else": S}},
		{"try-catch-proceed, A fails", acts(act("A", "Fake", fail), act("Handle", "Fake", ok, "A:Failed"),
			act("Next", "Fake", ok, "Handle:Succeeded,Skipped")), S,
			map[string]run.Status{"A": F, "Handle": S, "Next": S}},
		{"try-catch-proceed, A succeeds", acts(act("A", "Fake", ok), act("Handle", "Fake", ok, "A:Failed"),
			act("Next", "Fake", ok, "Handle:Succeeded,Skipped")), S,
			map[string]run.Status{"A": S, "Handle": K, "Next": S}},
		// The page's wording (Upon Failure and Upon Skip from the handler):
		// a handler that succeeds meets neither, so Next is skipped, and the
		// run still succeeds through the handler.
		{"try-catch-proceed as worded, A fails", acts(act("A", "Fake", fail), act("Handle", "Fake", ok, "A:Failed"),
			act("Next", "Fake", ok, "Handle:Failed,Skipped")), S,
			map[string]run.Status{"A": F, "Handle": S, "Next": K}},
		{"generic error handling, B fails", acts(act("A", "Fake", ok), act("B", "Fake", fail, "A:Succeeded"),
			act("C", "Fake", ok, "B:Succeeded"), act("OnError", "Fake", ok, "C:Failed,Skipped")), S,
			map[string]run.Status{"A": S, "B": F, "C": K, "OnError": S}},
		{"generic error handling, all succeed", acts(act("A", "Fake", ok), act("B", "Fake", ok, "A:Succeeded"),
			act("C", "Fake", ok, "B:Succeeded"), act("OnError", "Fake", ok, "C:Failed,Skipped")), S,
			map[string]run.Status{"A": S, "B": S, "C": S, "OnError": K}},
		{"best effort on completion", acts(act("Log", "Fake", fail), act("Next", "Fake", ok, "Log:Completed")), S,
			map[string]run.Status{"Log": F, "Next": S}},
		{"skipped propagates to a failed root", acts(act("A", "Fake", fail), act("B", "Fake", ok, "A:Succeeded"),
			act("C", "Fake", ok, "B:Succeeded")), F,
			map[string]run.Status{"A": F, "B": K, "C": K}},
		{"completion does not fire on a skip", acts(act("A", "Fake", fail), act("B", "Fake", ok, "A:Succeeded"),
			act("C", "Fake", ok, "B:Completed")), F,
			map[string]run.Status{"A": F, "B": K, "C": K}},
		{"and: every dependency must be met", acts(act("A", "Fake", ok), act("B", "Fake", fail),
			act("C", "Fake", ok, "A:Succeeded", "B:Succeeded")), F,
			map[string]run.Status{"A": S, "B": F, "C": K}},
		{"and with one best effort", acts(act("A", "Fake", ok), act("B", "Fake", fail),
			act("C", "Fake", ok, "A:Succeeded", "B:Completed")), S,
			map[string]run.Status{"A": S, "B": F, "C": S}},
		{"a failure off the leaves' path is handled", acts(act("A", "Fake", fail), act("B", "Fake", ok),
			act("C", "Fake", ok, "A:Completed", "B:Succeeded")), S,
			map[string]run.Status{"A": F, "B": S, "C": S}},
		{"a failed leaf beside a succeeded one", acts(act("A", "Fake", ok), act("B", "Fake", fail)), F,
			map[string]run.Status{"A": S, "B": F}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, pipeline("p", tc.acts))
			pr, by := b.start(t, "p", nil)
			if pr.Status != tc.want {
				t.Errorf("run %s (%s), want %s", pr.Status, pr.Message, tc.want)
			}
			if got := statuses(by); !reflect.DeepEqual(got, tc.state) {
				t.Errorf("activities %v, want %v", got, tc.state)
			}
			// Only activities that were not skipped ran.
			for _, name := range b.fake.ran() {
				if tc.state[name] == run.StatusSkipped {
					t.Errorf("skipped %s ran", name)
				}
			}
			if pr.Status == run.StatusFailed && !strings.Contains(pr.Message, "Operation on target") {
				t.Errorf("failed run's message %q", pr.Message)
			}
			if pr.RunStart == nil || pr.RunEnd == nil || pr.DurationInMs == nil {
				t.Errorf("times not recorded: %+v", pr)
			}
		})
	}
}

// TestInactive checks state Inactive with onInactiveMarkAs: the activity
// does not run and counts as marked.
func TestInactive(t *testing.T) {
	t.Parallel()
	cases := []struct {
		markAs string
		want   run.Status
		next   run.Status
	}{
		{"", run.StatusSucceeded, run.StatusSucceeded},
		{"Succeeded", run.StatusSucceeded, run.StatusSucceeded},
		{"Failed", run.StatusFailed, run.StatusSkipped},
		{"Skipped", run.StatusSucceeded, run.StatusSkipped},
	}
	for _, tc := range cases {
		t.Run("markAs="+tc.markAs, func(t *testing.T) {
			t.Parallel()
			a := `{"name": "A", "type": "Fake", "state": "Inactive", "onInactiveMarkAs": "` + tc.markAs + `", "typeProperties": {}}`
			b := setup(t, pipeline("p", acts(a, act("B", "Fake", ok, "A:Succeeded"))))
			pr, by := b.start(t, "p", nil)
			if pr.Status != tc.want {
				t.Errorf("run %s, want %s", pr.Status, tc.want)
			}
			if got := statuses(by)["B"]; got != tc.next {
				t.Errorf("B %s, want %s", got, tc.next)
			}
			for _, n := range b.fake.ran() {
				if n == "A" {
					t.Error("an inactive activity ran")
				}
			}
		})
	}
}

// TestRefused checks what StartRun refuses before a run exists.
func TestRefused(t *testing.T) {
	t.Parallel()
	b := setup(t,
		pipeline("params", acts(act("A", "Fake", ok)), `"parameters": {"n": {"type": "Int"}, "s": {"type": "String", "defaultValue": "x"}, "list": {"type": "Array", "defaultValue": []}}`),
		pipeline("unknown", acts(act("A", "Teleport", ok))),
		pipeline("dangling", acts(act("A", "Fake", ok, "Nope:Succeeded"))),
		pipeline("cycle", acts(act("A", "Fake", ok, "B:Succeeded"), act("B", "Fake", ok, "A:Succeeded"))),
		pipeline("dup", acts(act("A", "Fake", ok), act("A", "Fake", ok))),
		pipeline("badcond", acts(act("A", "Fake", ok), act("B", "Fake", ok, "A:Maybe"))),
	)
	cases := []struct {
		pipeline string
		params   map[string]any
		want     string
	}{
		{"params", nil, `parameter "n" (Int) is required`},
		{"params", map[string]any{"n": "ten"}, `parameter "n" is of type Int, got String`},
		{"params", map[string]any{"n": 1, "s": 2}, `parameter "s" is of type String`},
		{"params", map[string]any{"n": 1, "typo": 2}, `has no parameter "typo"`},
		{"unknown", nil, `unknown type "Teleport"`},
		{"dangling", nil, `depends on "Nope"`},
		{"cycle", nil, "depends on itself"},
		{"dup", nil, `two activities are named "A"`},
		{"badcond", nil, `unknown dependency condition "Maybe"`},
	}
	for _, tc := range cases {
		_, err := b.r.StartRun(context.Background(), run.RunRequest{Workspace: ws, Pipeline: tc.pipeline, Parameters: tc.params})
		var inv *run.InvalidError
		if !errors.As(err, &inv) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %v: got %v, want an InvalidError with %q", tc.pipeline, tc.params, err, tc.want)
		}
	}
	runs, err := b.r.ListRuns(context.Background(), ws, run.RunQuery{})
	if err != nil || len(runs) != 0 {
		t.Errorf("refused requests left runs: %v %v", runs, err)
	}
	// Bound parameters: defaults, and numbers typed as declared.
	pr, _ := b.start(t, "params", map[string]any{"n": 7.0})
	if pr.Status != run.StatusSucceeded || fmt.Sprint(pr.Parameters["n"]) != "7" || pr.Parameters["s"] != "x" {
		t.Errorf("bound parameters %#v (%s)", pr.Parameters, pr.Status)
	}
}

// TestPolicy checks retry (one record per attempt) and timeout.
func TestPolicy(t *testing.T) {
	t.Parallel()
	policy := func(p string) string {
		return `{"name": "A", "type": "Fake", "policy": ` + p + `, "typeProperties": {"failAttempts": 2}}`
	}
	t.Run("retried to success", func(t *testing.T) {
		t.Parallel()
		b := setup(t, pipeline("p", acts(policy(`{"retry": 2, "retryIntervalInSeconds": 0}`))))
		pr, by := b.start(t, "p", nil)
		if pr.Status != run.StatusSucceeded || len(by["A"]) != 3 {
			t.Fatalf("run %s with %d attempts, want Succeeded with 3", pr.Status, len(by["A"]))
		}
		for i, a := range by["A"] {
			want := run.StatusFailed
			if i == 2 {
				want = run.StatusSucceeded
			}
			if a.RetryAttempt != i || a.Status != want {
				t.Errorf("attempt %d: retryAttempt %d status %s", i, a.RetryAttempt, a.Status)
			}
		}
	})
	t.Run("retries run out", func(t *testing.T) {
		t.Parallel()
		b := setup(t, pipeline("p", acts(policy(`{"retry": 1, "retryIntervalInSeconds": 1}`))))
		t0 := time.Now()
		pr, by := b.start(t, "p", nil)
		if pr.Status != run.StatusFailed || len(by["A"]) != 2 {
			t.Fatalf("run %s with %d attempts, want Failed with 2", pr.Status, len(by["A"]))
		}
		if d := time.Since(t0); d < time.Second {
			t.Errorf("retried after %s, before retryIntervalInSeconds", d)
		}
		if e := by["A"][1].Error; e == nil || e.ErrorCode != "FakeFailed" || e.Target != "A" {
			t.Errorf("error %+v", e)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		a := `{"name": "A", "type": "Fake", "policy": {"timeout": "0.00:00:01"}, "typeProperties": {"sleepMs": 20000}}`
		b := setup(t, pipeline("p", acts(a)))
		t0 := time.Now()
		pr, by := b.start(t, "p", nil)
		if d := time.Since(t0); d > 10*time.Second {
			t.Errorf("took %s with a 1s timeout", d)
		}
		if pr.Status != run.StatusFailed || by["A"][0].Error == nil || by["A"][0].Error.ErrorCode != "ActivityTimeout" {
			t.Errorf("run %s, activity %+v", pr.Status, by["A"][0].Error)
		}
	})
}

func TestParseTimeSpan(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want time.Duration
		bad  bool
	}{
		{"0.12:00:00", 12 * time.Hour, false},
		{"01:30:00", 90 * time.Minute, false},
		{"7.00:00:00", 7 * 24 * time.Hour, false},
		{"00:00:01.5", 1500 * time.Millisecond, false},
		{"1:2", 0, true},
		{"00:60:00", 0, true},
		{"x.00:00:00", 0, true},
		{"", 0, true},
	}
	for _, tc := range cases {
		got, err := run.ParseTimeSpan(tc.in)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("ParseTimeSpan(%q) = %v, %v", tc.in, got, err)
		}
	}
}

// TestPipelineConcurrency: a pipeline's concurrency keeps further runs
// Queued until a place frees; a queued run can be cancelled.
func TestPipelineConcurrency(t *testing.T) {
	t.Parallel()
	b := setup(t, pipeline("p", acts(act("A", "Fake", `{"sleepMs": 400}`)), `"concurrency": 1`))
	ctx := context.Background()
	var ids []string
	for range 3 {
		r, err := b.r.StartRun(ctx, run.RunRequest{Workspace: ws, Pipeline: "p"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.RunID)
	}
	waitFor(t, func() bool { return len(b.fake.ran()) == 1 })
	queued := 0
	for _, id := range ids {
		if r, _ := b.r.GetRun(ctx, ws, id); r.Status == run.StatusQueued {
			queued++
			if queued == 2 {
				if err := b.r.Cancel(ctx, ws, id); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if queued != 2 {
		t.Errorf("%d runs queued behind the first, want 2", queued)
	}
	got := map[run.Status]int{}
	for _, id := range ids {
		pr, _ := b.wait(t, id)
		got[pr.Status]++
	}
	if got[run.StatusSucceeded] != 2 || got[run.StatusCancelled] != 1 || b.fake.peak != 1 {
		t.Errorf("ended %v with %d at once", got, b.fake.peak)
	}
}

// TestSecureParameters: a SecureString parameter reaches expressions but
// not the run's record.
func TestSecureParameters(t *testing.T) {
	t.Parallel()
	b := setup(t, pipeline("p", acts(act("A", "Fake", `{"token": "@pipeline().parameters.token"}`)),
		`"parameters": {"token": {"type": "SecureString"}}`))
	pr, _ := b.start(t, "p", map[string]any{"token": "hunter2"})
	if pr.Status != run.StatusSucceeded || b.fake.calls[0].TypeProperties["token"] != "hunter2" {
		t.Fatalf("run %s, A saw %v", pr.Status, b.fake.calls[0].TypeProperties)
	}
	if pr.Parameters["token"] == "hunter2" {
		t.Error("the secure parameter was recorded")
	}
}

// FuzzParseTimeSpan: any input parses or is refused, never panics, and
// what parses is a duration of at least zero.
func FuzzParseTimeSpan(f *testing.F) {
	for _, s := range []string{"0.12:00:00", "01:30:00", "7.00:00:00", "00:00:01.5", "1:2", "-1.00:00:00", "99999999.00:00:00", "10675199.00:00:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := run.ParseTimeSpan(s)
		if err == nil && d < 0 {
			t.Errorf("ParseTimeSpan(%q) = %v", s, d)
		}
	})
}
