package agent

import (
	"strings"
	"testing"
)

func TestParseJUnit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, doc string
		want      TestResults
		fails     []string
		err       string
	}{
		{"pytest shape", `<?xml version="1.0"?><testsuites><testsuite name="pytest">
			<testcase classname="t.m" name="ok"/>
			<testcase classname="t.m" name="bad"><failure message="assert 1 == 2">trace</failure></testcase>
			<testcase classname="t.m" name="boom"><error message="ZeroDivisionError"/></testcase>
			<testcase classname="t.m" name="later"><skipped message="todo"/></testcase>
			</testsuite></testsuites>`, TestResults{Total: 4, Passed: 1, Failed: 2, Skipped: 1, Files: 1}, []string{"t.m.bad", "t.m.boom"}, ""},
		{"single suite root, nested suites", `<testsuite><testcase name="a"/><testsuite><testcase name="b"/></testsuite></testsuite>`,
			TestResults{Total: 2, Passed: 2, Files: 1}, nil, ""},
		{"empty suites", `<testsuites/>`, TestResults{Files: 1}, nil, ""},
		{"not JUnit", `<html><body/></html>`, TestResults{}, nil, "root element is <html>"},
		{"not XML", `{"tests": 1}`, TestResults{}, nil, "read JUnit XML"},
	}
	for _, tt := range tests {
		got, fails, err := parseJUnit(strings.NewReader(tt.doc))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: err %v, want %q", tt.name, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: %+v %v, want %+v", tt.name, got, err, tt.want)
		}
		var names []string
		for _, f := range fails {
			names = append(names, f.name)
		}
		if strings.Join(names, ",") != strings.Join(tt.fails, ",") {
			t.Errorf("%s: failed %v, want %v", tt.name, names, tt.fails)
		}
	}
}

func FuzzParseJUnit(f *testing.F) {
	f.Add(`<testsuites><testsuite><testcase name="a"><failure/></testcase></testsuite></testsuites>`)
	f.Add(`<testsuite><testcase><skipped/></testcase></testsuite>`)
	f.Fuzz(func(t *testing.T, doc string) {
		res, fails, err := parseJUnit(strings.NewReader(doc))
		if err != nil {
			return
		}
		if res.Passed+res.Failed+res.Skipped != res.Total || len(fails) != res.Failed {
			t.Fatalf("counts do not add up: %+v, %d failures", res, len(fails))
		}
	})
}

// writeResults is a step writing two JUnit files under reports/, as a test
// runner would: 3 passed, 1 failed, 1 skipped.
const writeResults = `  - script: |
      mkdir -p reports/unit
      cat > reports/unit/TEST-unit.xml <<'XML'
      <testsuites><testsuite name="unit">
        <testcase classname="churn.test_model" name="test_fit"/>
        <testcase classname="churn.test_model" name="test_auc"><failure message="auc 0.61 &lt; 0.7"/></testcase>
        <testcase classname="churn.test_model" name="test_gpu"><skipped/></testcase>
      </testsuite></testsuites>
      XML
      cat > reports/TEST-data.xml <<'XML'
      <testsuite name="data"><testcase name="test_schema"/><testcase name="test_rows"/></testsuite>
      XML
    displayName: Run tests
`

func TestPublishTestResults(t *testing.T) {
	tests := []struct {
		name       string
		task       string
		wantStatus string
		want       *TestResults
		wantLog    []string
	}{
		{"counts, failures do not fail the task", `  - task: PublishTestResults@2
    inputs:
      testResultsFiles: '**/TEST-*.xml'
      searchFolder: $(System.DefaultWorkingDirectory)/reports
      mergeTestResults: true
      testRunTitle: Churn
`, StatusSucceeded, &TestResults{Total: 5, Passed: 3, Failed: 1, Skipped: 1, Files: 2},
			[]string{"##[section]Test run Churn (merged): total 5, passed 3, failed 1, skipped 1 (2 files)",
				"Failed: churn.test_model.test_auc: auc 0.61 < 0.7"}},
		{"failTaskOnFailedTests", `  - task: publishtestresults@2
    inputs:
      failTaskOnFailedTests: true
`, StatusFailed, &TestResults{Total: 5, Passed: 3, Failed: 1, Skipped: 1, Files: 2},
			[]string{"there are 1 test failures in the result files"}},
		{"no files: a warning", `  - task: PublishTestResults@2
    inputs:
      testResultsFiles: 'out/junit-*.xml'
`, StatusSucceeded, nil, []string{"##[warning]No test result files matching 'out/junit-*.xml' were found."}},
		{"another format", `  - task: PublishTestResults@2
    inputs:
      testResultsFormat: NUnit
`, StatusFailed, nil, []string{"testResultsFormat NUnit is not supported by this agent; only JUnit is"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := setup(t, Config{})
			res := tb.run(t, t.Context(), Job{}, "steps:\n"+writeResults+tt.task)
			log := tb.log.String()
			if got := res.Steps[len(res.Steps)-1].Status; got != tt.wantStatus {
				t.Errorf("task status %s, want %s\n%s", got, tt.wantStatus, log)
			}
			if (res.TestResults == nil) != (tt.want == nil) || (tt.want != nil && *res.TestResults != *tt.want) {
				t.Errorf("TestResults %+v, want %+v", res.TestResults, tt.want)
			}
			for _, w := range tt.wantLog {
				if !strings.Contains(log, w) {
					t.Errorf("log lacks %q:\n%s", w, log)
				}
			}
		})
	}
}
