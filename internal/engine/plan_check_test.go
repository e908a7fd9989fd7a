package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/spec"
	"github.com/ciel-mlops/ciel/internal/store"
)

// checkedComponent declares literal inputs with a type, enum, min and max.
const checkedComponent = `type: command
name: train
version: "1"
inputs:
  epochs: {type: integer, min: 1, max: 10}
  lr: {type: number, default: 0.1}
  mode: {type: string, enum: [fast, slow], default: fast}
  shuffle: {type: boolean, optional: true}
command: echo ${{inputs.epochs}} ${{inputs.lr}} ${{inputs.mode}} $[[${{inputs.shuffle}}]]
`

// TestPlanChecksLiteralInputs checks that literals that do not fit their
// declared type are refused when the job is planned (at submit), at the
// position where each was written, whether the step gives it or binds a
// pipeline input, and whether the component is a file or registered.
func TestPlanChecksLiteralInputs(t *testing.T) {
	t.Parallel()
	e, tb := setup(t)
	register(t, tb.st, checkedComponent)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "train.yml"), []byte(checkedComponent), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, yml string
		sets      []string
		want      []string // exact messages, path-free; none means the plan builds
		// registered is set where only a registered component reaches the
		// planner: spec refuses a step literal against a component file.
		registered bool
	}{
		{name: "values that fit", yml: "type: pipeline\ninputs:\n  e: 3\njobs:\n  t:\n    component: COMP\n    inputs:\n      epochs: ${{parent.inputs.e}}\n      lr: 1\n      mode: slow\n      shuffle: true\n"},
		{name: "step literals", registered: true, yml: "type: pipeline\njobs:\n  t:\n    component: COMP\n    inputs:\n      epochs: 11\n      lr: fast\n      shuffle: maybe\n",
			want: []string{
				`job.yml:6:15: step t, input "epochs": 11 is above the maximum 10`,
				`job.yml:7:11: step t, input "lr": expected a number, got "fast"`,
				`job.yml:8:16: step t, input "shuffle": expected true or false, got "maybe"`,
			}},
		{name: "pipeline inputs bound to the step", yml: "type: pipeline\ninputs:\n  e: abc\n  m: medium\njobs:\n  t:\n    component: COMP\n    inputs:\n      epochs: ${{parent.inputs.e}}\n      mode: ${{parent.inputs.m}}\n",
			want: []string{
				`job.yml:3:6: step t, input "epochs" (given by ${{parent.inputs.e}}): expected an integer, got "abc"`,
				`job.yml:4:6: step t, input "mode" (given by ${{parent.inputs.m}}): "medium" is not one of fast, slow`,
			}},
		{name: "set on a pipeline input", yml: "type: pipeline\ninputs:\n  e: 3\njobs:\n  t:\n    component: COMP\n    inputs:\n      epochs: ${{parent.inputs.e}}\n",
			sets: []string{"inputs.e=0"},
			want: []string{`--set inputs.e=0: step t, input "epochs" (given by ${{parent.inputs.e}}): 0 is below the minimum 1`}},
	}
	for _, comp := range []string{"./train.yml", "azureml:train:1"} {
		for _, tc := range cases {
			if tc.registered && !strings.HasPrefix(comp, "azureml:") {
				continue
			}
			t.Run(comp+" "+tc.name, func(t *testing.T) {
				yml := strings.ReplaceAll(tc.yml, "COMP", comp)
				j := parseWith(t, dir, yml, tc.sets)
				_, err := e.BuildPlan(context.Background(), "ws", j)
				if len(tc.want) == 0 {
					if err != nil {
						t.Fatal(err)
					}
					return
				}
				var list spec.ErrorList
				if !errors.As(err, &list) {
					t.Fatalf("err = %v (%T), want a spec.ErrorList", err, err)
				}
				got := strings.Split(strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), ""), "\n")
				if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
					t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
				}
			})
		}
	}
}

// TestPlanWarnsOfUndeclaredInputs checks that an input a step binds but its
// component does not declare is a warning kept with the plan, as Azure ML
// accepts it, and that the step does not get it.
func TestPlanWarnsOfUndeclaredInputs(t *testing.T) {
	t.Parallel()
	e, tb := setup(t)
	register(t, tb.st, checkedComponent)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "train.yml"), []byte(checkedComponent), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, comp := range []string{"./train.yml", "azureml:train:1"} {
		t.Run(comp, func(t *testing.T) {
			j := parseWith(t, dir, "type: pipeline\njobs:\n  t:\n    component: "+comp+"\n    inputs:\n      epochs: 2\n      extra: 5\n", nil)
			plan, err := e.BuildPlan(context.Background(), "ws", j)
			if err != nil {
				t.Fatal(err)
			}
			want := `job.yml:7:14: step t: input "extra" is not declared by component train (inputs: epochs, lr, mode, shuffle); it is ignored`
			if len(plan.Warnings) != 1 || strings.ReplaceAll(plan.Warnings[0].Error(), dir+string(filepath.Separator), "") != want {
				t.Fatalf("warnings %v, want [%s]", plan.Warnings, want)
			}
			if _, ok := plan.Steps[0].Inputs["extra"]; ok {
				t.Errorf("the step gets the undeclared input: %v", plan.Steps[0].Inputs)
			}
		})
	}
}

// register stores a component in workspace ws as the server would.
func register(t *testing.T, st store.Store, yml string) {
	t.Helper()
	c, err := spec.ParseComponent("train.yml", []byte(yml), spec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	a := store.Asset{Workspace: "ws", Kind: store.KindComponent, Name: c.Name, Version: c.Version, Spec: data, CreatedAt: time.Now()}
	if err := st.PutAsset(context.Background(), a, false); err != nil {
		t.Fatal(err)
	}
}

// parseWith parses yml as dir/job.yml with --set overrides.
func parseWith(t *testing.T, dir, yml string, sets []string) *spec.Job {
	t.Helper()
	p := filepath.Join(dir, "job.yml")
	if err := os.WriteFile(p, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	j, err := spec.ParseJobFile(p, spec.Options{Sets: sets})
	if err != nil {
		t.Fatal(err)
	}
	return j
}
