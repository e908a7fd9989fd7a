package cicd_test

import (
	"strings"
	"testing"

	"github.com/ciel-mlops/ciel/internal/cicd"
)

func TestRunGraphRuntimeMatrix(t *testing.T) {
	t.Parallel()
	svc, b := setup(t)
	r, log := b.run(t, svc, `
jobs:
- job: gen
  steps:
  - bash: |
      echo '##vso[task.setvariable variable=legs;isOutput=true]{"b":{"X":"2","N":3,"On":false},"a":{"X":"1","N":1.5,"On":true}}'
      echo '##vso[task.setvariable variable=empty;isOutput=true]{}'
      echo '##vso[task.setvariable variable=bad;isOutput=true]["a"]'
      echo '##vso[task.setvariable variable=garbage;isOutput=true]{oops'
    name: out
- job: train
  dependsOn: gen
  strategy:
    matrix: $[ dependencies.gen.outputs['out.legs'] ]
    maxParallel: 1
  steps:
  - bash: echo "##vso[task.setvariable variable=x;isOutput=true]$(X)-$(System.JobPositionInPhase)-$(N)-$(On)"
    name: out
- job: report
  dependsOn: train
  variables:
    both: $[ format('{0},{1}', dependencies.train.outputs['a.out.x'], dependencies.train.outputs['b.out.x']) ]
    trainResult: $[ dependencies.train.result ]
  steps:
  - bash: test "$(both)" = 1-1-1.5-true,2-2-3-false && test "$(trainResult)" = Succeeded
- job: none
  dependsOn: gen
  strategy:
    matrix: $[ dependencies.gen.outputs['out.empty'] ]
  steps:
  - bash: echo never
- job: bad
  dependsOn: gen
  strategy:
    matrix: $[ dependencies.gen.outputs['out.bad'] ]
  steps:
  - bash: echo never
- job: garbage
  dependsOn: gen
  strategy:
    matrix: $[ dependencies.gen.outputs['out.garbage'] ]
  steps:
  - bash: echo never
- job: afterBad
  dependsOn: bad
  condition: failed()
  steps:
  - bash: echo rescued
`)
	expectResults(t, r, log, map[string]string{
		"__default/gen": "succeeded", "__default/train.a": "succeeded", "__default/train.b": "succeeded",
		"__default/report": "succeeded", "__default/none": "skipped", "__default/bad": "failed",
		"__default/garbage":  "failed",
		"__default/afterBad": "succeeded",
	})
	if r.Result != cicd.ResultFailed {
		t.Errorf("run result %q, want failed (job bad)", r.Result)
	}
	for _, want := range []string{"job bad (", "matrix $[ dependencies.gen.outputs['out.bad'] ]", "want a JSON object of legs", `job garbage (`, `got "{oops"`, "matrix $[ dependencies.gen.outputs['out.empty'] ] has no legs"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	// The first leg takes the matrix job's place in the timeline; the
	// others come at its end.
	var names []string
	for _, j := range r.Jobs {
		names = append(names, j.Name)
	}
	if got, want := strings.Join(names, " "), "gen train.a report none bad garbage afterBad train.b"; got != want {
		t.Errorf("timeline %q, want %q", got, want)
	}
	// The report job ran after both legs: its leg outputs were there.
	if n := strings.Count(log, "##[section]Job train."); n != 2 {
		t.Errorf("train ran %d legs, want 2:\n%s", n, log)
	}
}
