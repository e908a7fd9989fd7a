package cicd_test

import (
	"strings"
	"testing"

	"github.com/ciel-mlops/ciel/internal/cicd"
)

// TestRunCountsTestResults: the JUnit results two jobs publish are summed
// on the run.
func TestRunCountsTestResults(t *testing.T) {
	svc, b := setup(t)
	r, log := b.run(t, svc, `jobs:
  - job: unit
    steps:
      - checkout: none
      - script: |
          echo '<testsuite><testcase name="a"/><testcase name="b"><failure message="no"/></testcase></testsuite>' > TEST-unit.xml
      - task: PublishTestResults@2
  - job: data
    steps:
      - checkout: none
      - script: |
          echo '<testsuites><testsuite><testcase name="c"/><testcase name="d"><skipped/></testcase></testsuite></testsuites>' > TEST-data.xml
      - task: PublishTestResults@2
        inputs:
          testResultsFiles: TEST-*.xml
`)
	if r.Result != cicd.ResultSucceeded {
		t.Fatalf("run %s: %s\n%s", r.Result, r.Error, log)
	}
	tr := r.TestResults
	if tr == nil || tr.Total != 4 || tr.Passed != 2 || tr.Failed != 1 || tr.Skipped != 1 || tr.Files != 2 {
		t.Fatalf("run test results %+v\n%s", tr, log)
	}
	if !strings.Contains(log, "Failed: b: no") {
		t.Errorf("log lacks the failed test:\n%s", log)
	}
}
