package azp

import (
	"errors"
	"strings"
	"testing"
)

// fakeStatus answers the status functions from fixed results.
type fakeStatus struct {
	results  map[string]string // dependency -> Succeeded, Failed, ...
	canceled bool
}

func (f fakeStatus) all(deps []string, ok func(string) bool) (bool, error) {
	if len(deps) == 0 {
		for d := range f.results {
			deps = append(deps, d)
		}
	}
	for _, d := range deps {
		r, found := f.results[d]
		if !found {
			return false, errors.New("unknown dependency " + d)
		}
		if !ok(r) {
			return false, nil
		}
	}
	return true, nil
}

func (f fakeStatus) Succeeded(deps ...string) (bool, error) {
	if f.canceled {
		return false, nil
	}
	return f.all(deps, func(r string) bool { return r == "Succeeded" || r == "SucceededWithIssues" })
}

func (f fakeStatus) Failed(deps ...string) (bool, error) {
	if f.canceled {
		return false, nil
	}
	ok, err := f.all(deps, func(r string) bool { return r != "Failed" })
	return !ok, err
}

func (f fakeStatus) SucceededOrFailed(...string) (bool, error) { return !f.canceled, nil }
func (f fakeStatus) Canceled() (bool, error)                   { return f.canceled, nil }

// testEnv is the named values the expression table reads.
func testEnv(status StatusContext) *Env {
	vars := NewMap()
	vars.Set("Build.SourceBranch", "refs/heads/main")
	vars.Set("Build.SourceBranchName", "main")
	vars.Set("Build.Reason", "IndividualCI")
	vars.Set("count", "3")
	vars.Set("empty", "")
	params := NewMap()
	params.Set("envs", []any{"dev", "prod"})
	obj := NewMap()
	obj.Set("a", "1")
	obj.Set("b", "two")
	params.Set("obj", obj)
	params.Set("flag", true)
	params.Set("n", float64(5))
	outputs := NewMap()
	outputs.Set("setvar.model", "churn:3")
	job := NewMap()
	job.Set("outputs", outputs)
	job.Set("result", "Succeeded")
	deps := NewMap()
	deps.Set("Train", job)
	stageJobs := NewMap()
	stageJobs.Set("Train", job)
	stageDeps := NewMap()
	stageDeps.Set("Build", stageJobs)
	named := NewMap()
	named.Set("variables", vars)
	named.Set("parameters", params)
	named.Set("dependencies", deps)
	named.Set("stageDependencies", stageDeps)
	return &Env{Named: named, Status: status, Counter: func(prefix string, seed int) (int, error) { return seed + len(prefix), nil }}
}

func TestExpressions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		expr string
		want string // the result as ValueString prints it, or convertToJson for collections
	}{
		// literals
		{"'it''s'", "it's"},
		{"true", "True"}, {"TRUE", "True"}, {"False", "False"},
		{"null", ""},
		{"-1.5", "-1.5"}, {".5", "0.5"}, {"10", "10"},
		{"1.2.3", "1.2.3"},
		// property access
		{"variables['Build.SourceBranch']", "refs/heads/main"},
		{"variables['build.sourcebranch']", "refs/heads/main"},
		{"variables.count", "3"},
		{"variables['noSuch']", ""},
		{"parameters.envs[1]", "prod"},
		{"parameters.envs[5]", ""},
		{"parameters.obj.b", "two"},
		{"dependencies.Train.outputs['setvar.model']", "churn:3"},
		{"stageDependencies.Build.Train.outputs['setvar.model']", "churn:3"},
		{"dependencies.Missing.outputs['x']", ""},
		// logic
		{"and(true, 1, 'x')", "True"}, {"and(true, '')", "False"},
		{"or(false, 0, 'a')", "True"}, {"or(false, null)", "False"},
		{"not('')", "True"}, {"not('false')", "False"},
		{"xor(true, false)", "True"}, {"xor(true, 'yes')", "False"},
		{"and(false, counter('never', 1))", "False"}, // short-circuit
		// eq and coercion (right side cast to the left's type)
		{"eq('ABC', 'abc')", "True"},
		{"eq(variables['Build.SourceBranchName'], 'Main')", "True"},
		{"eq(1, '1')", "True"}, {"eq(1, '1.0')", "True"}, {"eq(1, 'one')", "False"},
		{"eq('1', 1)", "True"}, {"eq(true, 'x')", "True"}, {"eq(false, '')", "True"},
		{"eq('True', true)", "True"}, {"eq(0, '')", "True"}, {"eq(1, true)", "True"},
		{"eq(null, null)", "True"}, {"eq('', null)", "True"}, {"eq(null, '')", "False"},
		{"eq(1.2.3, '1.2.3')", "True"}, {"eq(1.2.3, 'x')", "False"},
		{"eq(parameters.envs, parameters.envs)", "True"},
		{"ne(1, 2)", "True"}, {"ne('a', 'A')", "False"}, {"ne(1, 'x')", "True"},
		{"gt(2, 1)", "True"}, {"gt('b', 'A')", "True"}, {"ge(1, '1')", "True"},
		{"lt(1.2.3, '1.10.0')", "True"}, {"le(1.2.3, 1.2.3)", "True"},
		{"gt(variables.count, 2)", "True"}, // string left: '3' vs '2' as strings
		{"gt(5, variables.count)", "True"},
		{"lt(false, true)", "True"},
		// in, notIn, contains, containsValue
		{"in('B', 'a', 'b')", "True"}, {"in('c', 'a', 'b')", "False"},
		{"notIn('c', 'a', 'b')", "True"},
		{"contains('ABCDE', 'bcd')", "True"}, {"contains(variables['Build.SourceBranch'], 'heads')", "True"},
		{"containsValue(parameters.envs, 'PROD')", "True"}, {"containsValue(parameters.obj, 'two')", "True"},
		{"containsValue(parameters.obj, 'b')", "False"},
		{"startsWith(variables['Build.SourceBranch'], 'REFS/heads/')", "True"},
		{"endsWith('file.YML', '.yml')", "True"},
		// strings and collections
		{"coalesce(variables.empty, null, 'x', 'y')", "x"},
		{"coalesce(variables.empty)", ""},
		{"format('{0}-{1}{{x}}', 'a', 2)", "a-2{x}"},
		{"join(';', parameters.envs)", "dev;prod"}, {"join(',', 'one')", "one"},
		{"join('|', split('a,b,c', ','))", "a|b|c"},
		{"replace('a-b-c', '-', '_')", "a_b_c"},
		{"lower('ABC')", "abc"}, {"upper('abc')", "ABC"}, {"trim('  a ')", "a"},
		{"length('héllo')", "5"}, {"length(parameters.envs)", "2"}, {"length(parameters.obj)", "2"},
		{"convertToJson(parameters.envs)", "[\n  \"dev\",\n  \"prod\"\n]"},
		{"convertToJson(parameters.obj)", "{\n  \"a\": \"1\",\n  \"b\": \"two\"\n}"},
		{"iif(eq(parameters.n, 5), 'five', 'other')", "five"},
		{"counter('ab', 100)", "102"},
		{"parameters.flag", "True"},
		{"format('{0}', parameters.n)", "5"},
		// status functions through the fake context
		{"succeeded()", "True"}, {"succeeded('Train')", "True"}, {"failed()", "False"},
		{"failed('Lint')", "True"}, {"succeeded('Lint')", "False"},
		{"always()", "True"}, {"canceled()", "False"}, {"succeededOrFailed()", "True"},
		{"and(succeeded(), eq(variables['Build.SourceBranch'], 'refs/heads/main'))", "True"},
		{"and(succeeded(), ne(variables['Build.Reason'], 'PullRequest'))", "True"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			status := fakeStatus{results: map[string]string{"Train": "Succeeded"}}
			if strings.Contains(tt.expr, "Lint") {
				status.results["Lint"] = "Failed"
			}
			env := testEnv(status)
			v, err := Eval(tt.expr, env)
			if err != nil {
				t.Fatalf("Eval(%q): %v", tt.expr, err)
			}
			got, err := ValueString(v)
			if err != nil {
				got = toJSON(v, "")
			}
			if got != tt.want {
				t.Errorf("Eval(%q) = %q, want %q", tt.expr, got, tt.want)
			}
		})
	}
}

func TestExpressionCanceled(t *testing.T) {
	t.Parallel()
	env := testEnv(fakeStatus{results: map[string]string{"Train": "Succeeded"}, canceled: true})
	for expr, want := range map[string]bool{"succeeded()": false, "canceled()": true, "always()": true, "succeededOrFailed()": false, "": false} {
		got, err := EvalCondition(expr, env)
		if err != nil || got != want {
			t.Errorf("EvalCondition(%q) = %v, %v; want %v", expr, got, err, want)
		}
	}
}

func TestExpressionErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		expr, want string
	}{
		{"", "empty expression"},
		{"'open", "unterminated string"},
		{"eq(1)", "eq() takes 2 arguments, got 1"},
		{"nope(1)", "unknown function nope()"},
		{"eq(1, 2", "expected ',' or ')'"},
		{"eq(1, 2) x", "after the end of the expression"},
		{"1.2.3.4.5", "invalid number or version"},
		{"variables[", "unexpected end of expression"},
		{"unknownName", `unrecognized value "unknownName"`},
		{"gt(1, 'x')", "cannot compare Number"},
		{"gt(parameters.envs, 1)", "cannot compare Array"},
		{"format('{0}')", "placeholder {0} has no argument"},
		{"format('{x}', 1)", "invalid placeholder {x}"},
		{"length(true)", "has no length"},
		{"contains(parameters.envs, 'a')", "cannot be cast to a string"},
		{strings.Repeat("not(", 200) + "true" + strings.Repeat(")", 200), "nested more than"},
	}
	env := testEnv(nil)
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			_, err := Eval(tt.expr, env)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Eval(%q) error = %v, want one containing %q", tt.expr, err, tt.want)
			}
		})
	}
}

func TestCompileTimeOnly(t *testing.T) {
	t.Parallel()
	env := testEnv(nil)
	env.Counter = nil
	for _, expr := range []string{"succeeded()", "failed('A')", "canceled()", "counter('x', 1)"} {
		_, err := Eval(expr, env)
		if !errors.Is(err, ErrCompileTime) {
			t.Errorf("Eval(%q) error = %v, want ErrCompileTime", expr, err)
		}
	}
}
