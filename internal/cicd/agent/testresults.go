package agent

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// TestResults counts the test cases PublishTestResults@2 read from the
// result files of a job.
type TestResults struct {
	Total   int `json:"total"`
	Passed  int `json:"passed"`
	Failed  int `json:"failed"`
	Skipped int `json:"skipped"`
	// Files is how many result files were read.
	Files int `json:"files"`
}

// Add adds o's counts to t.
func (t *TestResults) Add(o TestResults) {
	t.Total += o.Total
	t.Passed += o.Passed
	t.Failed += o.Failed
	t.Skipped += o.Skipped
	t.Files += o.Files
}

// maxJUnitFile bounds the size of one result file read.
const maxJUnitFile = 64 << 20

// junitNode is a <testsuites> or <testsuite> element: suites nest, test
// cases sit in any of them.
type junitNode struct {
	Suites  []junitNode `xml:"testsuite"`
	Cases   []junitCase `xml:"testcase"`
	Name    string      `xml:"name,attr"`
	XMLName xml.Name
}

// junitCase is a <testcase>.
type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	Failures  []junitReason `xml:"failure"`
	Errors    []junitReason `xml:"error"`
	Skipped   *junitReason  `xml:"skipped"`
}

type junitReason struct {
	Message string `xml:"message,attr"`
}

// junitFailure is a failed test case: its full name and why.
type junitFailure struct{ name, message string }

// parseJUnit counts the test cases of a JUnit XML document (root
// <testsuites> or <testsuite>) and lists the failed ones. A case with a
// <failure> or <error> failed, one with <skipped> was skipped.
func parseJUnit(r io.Reader) (TestResults, []junitFailure, error) {
	var root junitNode
	lr := &io.LimitedReader{R: r, N: maxJUnitFile + 1}
	if err := xml.NewDecoder(lr).Decode(&root); err != nil {
		return TestResults{}, nil, fmt.Errorf("read JUnit XML: %w", err)
	}
	if lr.N <= 0 {
		return TestResults{}, nil, fmt.Errorf("read JUnit XML: larger than %d MiB", maxJUnitFile>>20)
	}
	if n := root.XMLName.Local; n != "testsuites" && n != "testsuite" {
		return TestResults{}, nil, fmt.Errorf("read JUnit XML: the root element is <%s>, not <testsuites> or <testsuite>", n)
	}
	var (
		res   TestResults
		fails []junitFailure
		walk  func(n *junitNode, depth int) error
	)
	walk = func(n *junitNode, depth int) error {
		if depth > 64 {
			return errors.New("read JUnit XML: test suites nested too deep")
		}
		for _, c := range n.Cases {
			res.Total++
			switch {
			case len(c.Failures) > 0 || len(c.Errors) > 0:
				res.Failed++
				msg := ""
				if len(c.Failures) > 0 {
					msg = c.Failures[0].Message
				} else {
					msg = c.Errors[0].Message
				}
				name := c.Name
				if c.ClassName != "" {
					name = c.ClassName + "." + c.Name
				}
				fails = append(fails, junitFailure{name: name, message: msg})
			case c.Skipped != nil:
				res.Skipped++
			default:
				res.Passed++
			}
		}
		for i := range n.Suites {
			if err := walk(&n.Suites[i], depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(&root, 0); err != nil {
		return TestResults{}, nil, err
	}
	res.Files = 1
	return res, fails, nil
}

// maxFailuresLogged bounds the failed test names a job's log lists.
const maxFailuresLogged = 50

// publishTestResults carries out PublishTestResults@2: it reads the JUnit
// files testResultsFiles matches under searchFolder, logs the counts and
// the failed tests, adds them to the job's results and, with
// failTaskOnFailedTests, fails the step when a test failed. No file
// matching is a warning, as in Azure.
func (r *jobRun) publishTestResults(st *stepState, in map[string]string) error {
	format := firstNonEmpty(in["testresultsformat"], in["testrunner"], "JUnit")
	if !strings.EqualFold(format, "JUnit") {
		return fmt.Errorf("PublishTestResults: testResultsFormat %s is not supported by this agent; only JUnit is", format)
	}
	patterns := firstNonEmpty(in["testresultsfiles"], "**/TEST-*.xml")
	dwd, _ := r.vars.lookup("System.DefaultWorkingDirectory")
	folder := dwd
	if in["searchfolder"] != "" {
		folder = r.resolve(in["searchfolder"])
	}
	files, err := walkMatches(folder, newMatcher(patterns), false)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("PublishTestResults: search %s: %w", folder, err)
	}
	if len(files) == 0 {
		msg := fmt.Sprintf("No test result files matching '%s' were found.", strings.ReplaceAll(strings.TrimSpace(patterns), "\n", ", "))
		st.mu.Lock()
		st.issues = append(st.issues, Issue{Type: "warning", Message: msg})
		st.mu.Unlock()
		r.out.line("##[warning]" + msg)
		return nil
	}
	var (
		total TestResults
		fails []junitFailure
	)
	for _, rel := range files {
		f, err := os.Open(filepath.Join(folder, rel))
		if err != nil {
			return fmt.Errorf("PublishTestResults: %w", err)
		}
		res, fl, err := parseJUnit(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("PublishTestResults: %s: %w", rel, err)
		}
		r.out.line("Reading test results from " + rel)
		total.Add(res)
		fails = append(fails, fl...)
	}
	title := in["testruntitle"]
	if title == "" {
		title = "JUnit"
	}
	if len(files) > 1 && isTrue(in["mergetestresults"]) {
		title += " (merged)"
	}
	r.out.line(fmt.Sprintf("##[section]Test run %s: total %d, passed %d, failed %d, skipped %d (%d files)",
		title, total.Total, total.Passed, total.Failed, total.Skipped, total.Files))
	for i, f := range fails {
		if i == maxFailuresLogged {
			r.out.line(fmt.Sprintf("... and %d more failed tests", len(fails)-i))
			break
		}
		line := "Failed: " + f.name
		if f.message != "" {
			line += ": " + strings.SplitN(f.message, "\n", 2)[0]
		}
		r.out.line(line)
	}
	r.mu.Lock()
	if r.tests == nil {
		r.tests = &TestResults{}
	}
	r.tests.Add(total)
	r.mu.Unlock()
	if total.Failed > 0 && isTrue(in["failtaskonfailedtests"]) {
		return fmt.Errorf("there are %d test failures in the result files", total.Failed)
	}
	return nil
}
