package agent

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// alive reports whether pid is a running (not zombie) process.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return syscall.Kill(pid, 0) == nil
	}
	f := strings.Fields(string(b))
	return len(f) > 2 && f[2] != "Z"
}

// waitPID waits for a step to write its background child's pid to file.
func waitPID(t *testing.T, file string) int {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if b, err := os.ReadFile(file); err == nil && strings.HasSuffix(string(b), "\n") {
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err == nil {
				return pid
			}
		}
	}
	t.Fatalf("no pid in %s", file)
	return 0
}

// sleeper starts a sleep 100 in the step's group and waits on it.
const sleeper = `
steps:
  - script: |
      sleep 100 &
      echo $! > "$AGENT_TEMPDIRECTORY/pid"
      wait
    displayName: sleeper
  - script: echo skipped-step
  - script: echo always-step
    condition: always()
  - script: echo canceled-step
    condition: canceled()
`

// TestCancelKillsProcessGroup cancels a job while a step waits on a child.
func TestCancelKillsProcessGroup(t *testing.T) {
	tb := setup(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	job := Job{}
	var res JobResult
	done := make(chan struct{})
	go func() {
		defer close(done)
		res = tb.run(t, ctx, job, sleeper)
	}()
	// The job folder is the only entry of the agent's folder.
	var pid int
	for deadline := time.Now().Add(20 * time.Second); pid == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		ents, _ := os.ReadDir(tb.agent.cfg.Dir)
		if len(ents) == 1 {
			if _, err := os.Stat(filepath.Join(tb.agent.cfg.Dir, ents[0].Name(), "tmp", "pid")); err == nil {
				pid = waitPID(t, filepath.Join(tb.agent.cfg.Dir, ents[0].Name(), "tmp", "pid"))
			}
		}
	}
	if pid == 0 {
		t.Fatal("the step never started its child")
	}
	start := time.Now()
	cancel()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("cancel took %v", d)
	}
	if alive(pid) {
		t.Errorf("sleep %d still running after cancel", pid)
	}
	wantStatuses(t, res, StatusCanceled, StatusSkipped, StatusSucceeded, StatusSucceeded)
	if res.Status != StatusCanceled {
		t.Errorf("job status = %s, want canceled", res.Status)
	}
}

// TestTimeouts checks a step's and a job's timeoutInMinutes, with a minute
// shortened to make the test quick.
func TestTimeouts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml string
		steps      []string
		job        string
	}{{
		name: "step",
		yaml: `
steps:
  - script: sleep 100
    timeoutInMinutes: 1
  - script: echo next
  - script: echo always
    condition: always()`,
		steps: []string{StatusFailed, StatusSkipped, StatusSucceeded},
		job:   StatusFailed,
	}, {
		name: "job",
		yaml: `
jobs:
  - job: J
    timeoutInMinutes: 1
    steps:
      - script: sleep 100
      - script: echo next
      - script: echo always
        condition: always()`,
		steps: []string{StatusCanceled, StatusSkipped, StatusSucceeded},
		job:   StatusCanceled,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := setup(t, Config{Minute: 700 * time.Millisecond})
			start := time.Now()
			res := tb.run(t, context.Background(), Job{}, tt.yaml)
			if d := time.Since(start); d > 8*time.Second {
				t.Errorf("took %v", d)
			}
			wantStatuses(t, res, tt.steps...)
			if res.Status != tt.job {
				t.Errorf("job status = %s, want %s", res.Status, tt.job)
			}
		})
	}
}

// TestFilesRoundTrip copies, archives (zip and tar.gz), extracts and deletes.
func TestFilesRoundTrip(t *testing.T) {
	tb := setup(t, Config{})
	res := tb.run(t, context.Background(), Job{Variables: map[string]string{"Build.BuildId": "9"}}, `
steps:
  - script: |
      mkdir -p src/sub
      echo a > src/a.txt; echo b > src/sub/b.txt; echo c > src/c.log
  - task: copyfiles@2
    inputs:
      SourceFolder: src
      Contents: |
        **/*.txt
      TargetFolder: $(Build.BinariesDirectory)/copy
  - task: ArchiveFiles@2
    inputs:
      rootFolderOrFile: $(Build.BinariesDirectory)/copy
      includeRootFolder: false
      archiveType: zip
      archiveFile: $(Build.ArtifactStagingDirectory)/out.zip
  - task: ArchiveFiles@2
    inputs:
      rootFolderOrFile: $(Build.BinariesDirectory)/copy
      archiveType: tar
  - task: ExtractFiles@1
    inputs:
      archiveFilePatterns: $(Build.ArtifactStagingDirectory)/out.zip
      destinationFolder: unzipped
  - task: ExtractFiles@1
    inputs:
      archiveFilePatterns: $(Build.ArtifactStagingDirectory)/9.tar.gz
      destinationFolder: untarred
  - task: DeleteFiles@1
    inputs:
      SourceFolder: src
      Contents: '**/*.log'
  - script: |
      set -e
      test "$(cat unzipped/a.txt)" = a
      test "$(cat unzipped/sub/b.txt)" = b
      test ! -e unzipped/c.log
      test "$(cat untarred/copy/sub/b.txt)" = b
      test ! -e src/c.log
      test -e src/a.txt
      echo round-trip-ok
`)
	if res.Status != StatusSucceeded {
		t.Fatalf("status = %s, steps %v", res.Status, statuses(res))
	}
	if !strings.Contains(tb.log.String(), "round-trip-ok") {
		t.Error("the check step did not finish")
	}
}

// TestGlob is a table of CopyFiles-style patterns.
func TestGlob(t *testing.T) {
	t.Parallel()
	tests := []struct {
		patterns, path string
		want           bool
	}{
		{"**", "a/b/c.txt", true},
		{"*", "a.txt", true},
		{"*", "a/b.txt", false},
		{"**/*.txt", "a.txt", true},
		{"**/*.txt", "x/y/a.txt", true},
		{"**/*.txt", "a.log", false},
		{"**\n!**/skip/**", "x/skip/a.txt", false},
		{"outputs/**", "outputs/m/model.pkl", true},
		{"a?.txt", "ab.txt", true},
	}
	for _, tt := range tests {
		if got := newMatcher(tt.patterns).match(tt.path); got != tt.want {
			t.Errorf("match(%q, %q) = %v, want %v", tt.patterns, tt.path, got, tt.want)
		}
	}
}

// FuzzParseCommand checks that the logging-command reader never panics.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"##vso[task.setvariable variable=x;isOutput=true]v", "##vso[]", "x ##vso[a.b k=%3B]m%0A", "##vso[task"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		c, ok := parseCommand(line)
		if ok && !strings.Contains(c.name, ".") {
			t.Errorf("command %q without area", c.name)
		}
	})
}
