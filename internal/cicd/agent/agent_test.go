package agent

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/cicd/azp"
)

// testBundle is what setup gives a test.
type testBundle struct {
	agent *Agent
	log   *syncBuffer
}

// syncBuffer is a bytes.Buffer safe for the agent's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func setup(t *testing.T, cfg Config) testBundle {
	t.Helper()
	t.Parallel()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash not on PATH")
	}
	cfg.Dir = t.TempDir()
	if cfg.KillGrace == 0 {
		cfg.KillGrace = time.Second
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return testBundle{agent: a, log: &syncBuffer{}}
}

// parseJob parses a steps-only pipeline and returns its job.
func parseJob(t *testing.T, src string) *azp.Job {
	t.Helper()
	p, err := azp.Parse("azure-pipelines.yml", []byte(src))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return p.Stages[0].Jobs[0]
}

// run runs src as a job and fails the test on the agent's own errors.
func (tb testBundle) run(t *testing.T, ctx context.Context, job Job, src string) JobResult {
	t.Helper()
	if job.Spec == nil {
		job.Spec = parseJob(t, src)
	}
	if job.Name == "" {
		job.Name = "Job"
	}
	res, err := tb.agent.Run(ctx, job, tb.log)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("job log:\n%s", tb.log.String())
		}
	})
	return res
}

func statuses(res JobResult) []string {
	var out []string
	for _, s := range res.Steps {
		out = append(out, s.Status)
	}
	return out
}

func wantStatuses(t *testing.T, res JobResult, want ...string) {
	t.Helper()
	if got := statuses(res); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("step statuses = %v, want %v", got, want)
	}
}

// TestSeedJob runs the issue's seed job: UsePythonVersion, a training
// script in the job's own virtualenv, the outputs published as Model.
func TestSeedJob(t *testing.T) {
	tb := setup(t, Config{})
	hostPrefix, err := exec.Command("python3", "-c", "import sys; print(sys.prefix)").Output()
	if err != nil {
		t.Skip("python3 not available")
	}
	var published []string
	job := Job{
		Variables: map[string]string{"Build.BuildId": "7"},
		Checkout: func(ctx context.Context, dir string) error {
			return os.WriteFile(filepath.Join(dir, "train.py"), []byte(
				"import os\nos.makedirs('outputs', exist_ok=True)\nopen('outputs/model.txt','w').write('weights')\nprint('trained')\n"), 0o644)
		},
		Publish: func(ctx context.Context, artifact, dir string) error {
			b, err := os.ReadFile(filepath.Join(dir, "model.txt"))
			published = append(published, artifact+":"+string(b))
			return err
		},
	}
	res := tb.run(t, context.Background(), job, `
trigger:
  branches:
    include: [main]
pool:
  vmImage: "ubuntu-latest"
steps:
  - task: UsePythonVersion@0
    inputs:
      versionSpec: "3.x"
  - script: |
      pip --version
      python -c "import sys; print('prefix=' + sys.prefix)"
      python train.py
    displayName: "Run Training Script"
  - task: PublishBuildArtifacts@1
    inputs:
      PathtoPublish: "outputs"
      ArtifactName: "Model"
`)
	if res.Status != StatusSucceeded {
		t.Fatalf("status = %s, want succeeded", res.Status)
	}
	wantStatuses(t, res, StatusSucceeded, StatusSucceeded, StatusSucceeded, StatusSucceeded)
	if !res.Steps[0].Implicit || res.Steps[2].DisplayName != "Run Training Script" {
		t.Errorf("steps = %+v", res.Steps)
	}
	log := tb.log.String()
	venv := filepath.Join(res.Dir, "venv")
	for _, want := range []string{
		"##[section]Starting: Run Training Script", "##[section]Finishing: Run Training Script",
		"prefix=" + venv, "trained", venv + "/lib/python",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	if strings.Contains(log, "prefix="+strings.TrimSpace(string(hostPrefix))+"\n") {
		t.Errorf("the step ran the host's python")
	}
	if len(published) != 1 || published[0] != "Model:weights" {
		t.Errorf("published = %v, want [Model:weights]", published)
	}
}

// TestVariables checks env vars, macros (defined and undefined), step env:,
// output variables and the folder variables.
func TestVariables(t *testing.T) {
	tb := setup(t, Config{})
	job := Job{Variables: map[string]string{"Build.BuildId": "42", "my.var": "hello"}}
	job.Spec = parseJob(t, `
steps:
  - script: |
      echo 'undefined=$(no.such)'
      echo "macro=$(my.var) env=$MY_VAR id=$BUILD_BUILDID jv=$JOBVAR foo=$FOO"
      echo "src=$BUILD_SOURCESDIRECTORY pwd=$(pwd) stage=$(Build.ArtifactStagingDirectory) os=$AGENT_OS"
      echo "##vso[task.setvariable variable=x;isOutput=true]v1"
      echo "##vso[task.setvariable variable=y]v2"
    name: setter
    env:
      FOO: $(my.var)!
  - script: echo "x=$(setter.x) y=$(y) Y=$Y SX=$SETTER_X"
`)
	// A job's own variables apply over Job.Variables, macros expanded.
	job.Spec.Variables = []azp.Variable{{Name: "jobVar", Value: "$(my.var)-job"}}
	res := tb.run(t, context.Background(), job, "")
	if res.Status != StatusSucceeded {
		t.Fatalf("status = %s", res.Status)
	}
	log := tb.log.String()
	src := filepath.Join(res.Dir, "s")
	for _, want := range []string{
		"undefined=$(no.such)\nmacro=hello env=hello id=42 jv=hello-job foo=hello!",
		"src=" + src + " pwd=" + src + " stage=" + filepath.Join(res.Dir, "a") + " os=Linux",
		"x=v1 y=v2 Y=v2 SX=v1",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	if strings.Contains(log, "##vso[") {
		t.Errorf("logging commands were echoed raw")
	}
	if res.Outputs["setter.x"] != "v1" || len(res.Outputs) != 1 {
		t.Errorf("outputs = %v, want setter.x=v1", res.Outputs)
	}
}

// TestStepResults is a table of jobs and the step and job statuses they end with.
func TestStepResults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml string
		vars       map[string]string
		steps      []string
		job        string
		check      func(t *testing.T, res JobResult, log string)
	}{{
		name: "failure skips later steps but not always()",
		yaml: `
steps:
  - script: exit 3
  - script: echo should-not-run
  - script: echo always-ran
    condition: always()
  - script: echo failed-ran
    condition: failed()
  - script: echo succeeded-or-failed
    condition: succeededOrFailed()`,
		steps: []string{StatusFailed, StatusSkipped, StatusSucceeded, StatusSucceeded, StatusSucceeded},
		job:   StatusFailed,
		check: func(t *testing.T, res JobResult, log string) {
			if res.Steps[0].ExitCode != 3 || !strings.Contains(log, "##[error]bash exited with code '3'.") {
				t.Errorf("exit code %d, log lacks the error line", res.Steps[0].ExitCode)
			}
			if strings.Contains(log, "should-not-run") || !strings.Contains(log, "always-ran") {
				t.Errorf("wrong steps ran")
			}
		},
	}, {
		name: "no -e: only the script's exit code counts",
		yaml: `
steps:
  - script: |
      false
      echo after-false`,
		steps: []string{StatusSucceeded},
		job:   StatusSucceeded,
	}, {
		name: "continueOnError",
		yaml: `
steps:
  - script: exit 1
    continueOnError: true
  - script: echo next`,
		steps: []string{StatusSucceededWithIssues, StatusSucceeded},
		job:   StatusSucceededWithIssues,
	}, {
		name: "logissue and task.complete",
		yaml: `
steps:
  - script: |
      echo "##vso[task.logissue type=warning]careful"
      echo "##vso[task.complete result=SucceededWithIssues;]done"
  - bash: echo "##vso[task.complete result=Failed;]broken"
  - script: echo skipped`,
		steps: []string{StatusSucceededWithIssues, StatusFailed, StatusSkipped},
		job:   StatusFailed,
		check: func(t *testing.T, res JobResult, log string) {
			if len(res.Steps[0].Issues) != 1 || res.Steps[0].Issues[0] != (Issue{Type: "warning", Message: "careful"}) {
				t.Errorf("issues = %+v", res.Steps[0].Issues)
			}
			if !strings.Contains(log, "##[warning]careful") {
				t.Errorf("log lacks the warning")
			}
		},
	}, {
		name: "failOnStderr",
		yaml: `
steps:
  - script: echo oops >&2
    failOnStderr: true
  - script: echo fine >&2`,
		steps: []string{StatusFailed, StatusSkipped},
		job:   StatusFailed,
	}, {
		name: "disabled step and variables condition",
		vars: map[string]string{"flag": "yes"},
		yaml: `
steps:
  - script: echo off
    enabled: false
  - script: echo on
    condition: eq(variables['flag'], 'yes')
  - script: echo never
    condition: eq(variables.flag, 'no')`,
		steps: []string{StatusSkipped, StatusSucceeded, StatusSkipped},
		job:   StatusSucceeded,
	}, {
		name: "unknown task names itself and its position",
		yaml: `
steps:
  - script: echo first
  - task: NoSuchTask@1
    inputs:
      x: y`,
		steps: []string{StatusSucceeded, StatusFailed},
		job:   StatusFailed,
		check: func(t *testing.T, res JobResult, log string) {
			e := res.Steps[1].Error
			if !strings.Contains(e, "NoSuchTask@1") || !strings.Contains(e, "azure-pipelines.yml:4:5") {
				t.Errorf("error = %q, want the task and azure-pipelines.yml:4:5", e)
			}
		},
	}, {
		name: "UsePythonVersion substitutes a missing version and says so; PythonScript inline",
		yaml: `
steps:
  - task: UsePythonVersion@0
    inputs:
      versionSpec: "3.99.x"
  - task: PythonScript@0
    inputs:
      scriptSource: inline
      script: |
        import sys
        print("args=" + ",".join(sys.argv[1:]))
      arguments: one "two three"`,
		steps: []string{StatusSucceeded, StatusSucceeded},
		job:   StatusSucceeded,
		check: func(t *testing.T, res JobResult, log string) {
			if !strings.Contains(log, "##[warning]Version spec 3.99.x did not match") || !strings.Contains(log, "args=one,two three") {
				t.Errorf("log lacks the substitution warning or the script's output")
			}
		},
	}, {
		name: "checkout without a source fails clearly",
		yaml: `
steps:
  - checkout: self`,
		steps: []string{StatusFailed},
		job:   StatusFailed,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := setup(t, Config{})
			var changes []string
			job := Job{Variables: tt.vars, OnStep: func(s StepResult) { changes = append(changes, strconv.Itoa(s.Index)+s.Status) }}
			res := tb.run(t, context.Background(), job, tt.yaml)
			wantStatuses(t, res, tt.steps...)
			if res.Status != tt.job {
				t.Errorf("job status = %s, want %s", res.Status, tt.job)
			}
			if len(changes) < len(tt.steps) || changes[0] != "0pending" {
				t.Errorf("OnStep calls = %v", changes)
			}
			if tt.check != nil {
				tt.check(t, res, tb.log.String())
			}
		})
	}
}

// TestSecretsMasked checks that secret variables never reach the log.
func TestSecretsMasked(t *testing.T) {
	tb := setup(t, Config{})
	job := Job{Variables: map[string]string{"token": "s3cr3t-value"}, Secrets: []string{"token"}}
	res := tb.run(t, context.Background(), job, `
steps:
  - script: |
      echo "macro=$(token) env=[$TOKEN]"
      echo "##vso[task.setvariable variable=pw;issecret=true]hunter2-pw"
  - script: echo "pw=$(pw) mapped=$MAPPED"
    env:
      MAPPED: $(token)
`)
	if res.Status != StatusSucceeded {
		t.Fatalf("status = %s", res.Status)
	}
	log := tb.log.String()
	if strings.Contains(log, "s3cr3t-value") || strings.Contains(log, "hunter2-pw") {
		t.Errorf("a secret reached the log:\n%s", log)
	}
	for _, want := range []string{"macro=*** env=[]", "pw=*** mapped=***"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q", want)
		}
	}
}
