package cicd_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/cicd"
	"github.com/ciel-mlops/ciel/internal/cicd/agent"
	"github.com/ciel-mlops/ciel/internal/cicd/githost"
	"github.com/ciel-mlops/ciel/internal/store"
	"github.com/ciel-mlops/ciel/internal/store/sqldb"
)

// testBundle is what setup gives a test besides the Service.
type testBundle struct {
	host  *githost.Host
	store *sqldb.CICDStore
	dir   string
}

// setup starts a service over a fresh store and git host with workspace
// "ws"; its minute lasts 200ms.
func setup(t *testing.T) (*cicd.Service, testBundle) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	dir := t.TempDir()
	st, err := sqldb.Open(t.Context(), sqldb.Config{Path: filepath.Join(dir, "ciel.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.CreateWorkspace(t.Context(), store.Workspace{Name: "ws"}); err != nil {
		t.Fatal(err)
	}
	h, err := githost.New(githost.Config{Dir: filepath.Join(dir, "git"), Prefix: "/git/"})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := cicd.New(cicd.Config{Store: st.CICD(), Repos: h, Dir: filepath.Join(dir, "cicd"),
		Agent: agent.Config{Minute: 200 * time.Millisecond, KillGrace: 200 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	return svc, testBundle{host: h, store: st.CICD(), dir: dir}
}

// push creates hosted repository name (if needed) and pushes files to its
// main branch as one commit.
func (b testBundle) push(t *testing.T, name string, files map[string]string) {
	t.Helper()
	repo, err := b.host.Get(t.Context(), "ws", name)
	if err != nil {
		if repo, err = b.host.Create(t.Context(), "ws", name); err != nil {
			t.Fatal(err)
		}
	}
	work := t.TempDir()
	for p, body := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(work, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(work, p), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "."}, {"commit", "-qm", "c"}, {"push", "-qf", repo.Dir, "HEAD:main"}} {
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@x"}, args...)...)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL="+os.DevNull, "GIT_CONFIG_NOSYSTEM=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
}

// run pushes the pipeline file to repository "app", queues a run and waits
// for it to complete; it returns the run and its log.
func (b testBundle) run(t *testing.T, svc *cicd.Service, yml string) (cicd.Run, string) {
	t.Helper()
	b.push(t, "app", map[string]string{"azure-pipelines.yml": yml})
	ctx := t.Context()
	if _, err := svc.Store().GetPipeline(ctx, "ws", "p"); err != nil {
		if _, err := svc.CreatePipeline(ctx, cicd.Pipeline{Workspace: "ws", Name: "p", Repository: "app"}); err != nil {
			t.Fatal(err)
		}
	}
	r, err := svc.Queue(ctx, "ws", "p", "main", "", cicd.ReasonManual, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b.wait(t, svc, r.ID)
}

func (b testBundle) wait(t *testing.T, svc *cicd.Service, id int64) (cicd.Run, string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		r, err := svc.Store().GetRun(t.Context(), "ws", id)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status == cicd.StatusCompleted {
			log, _ := os.ReadFile(svc.LogPath(id))
			return r, string(log)
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %d did not complete: %+v", id, r)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// results maps "stage/job" to each job's result.
func results(r cicd.Run) map[string]string {
	out := map[string]string{}
	for _, j := range r.Jobs {
		out[j.Stage+"/"+j.Name] = j.Result
	}
	return out
}

func expectResults(t *testing.T, r cicd.Run, log string, want map[string]string) {
	t.Helper()
	got := results(r)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("job %s: result %q, want %q (all: %v)\nerror: %s\nlog:\n%s", k, got[k], v, got, r.Error, log)
		}
	}
}

func TestRunGraphOutputsAndConditions(t *testing.T) {
	t.Parallel()
	svc, b := setup(t)
	r, log := b.run(t, svc, `
stages:
- stage: Train
  jobs:
  - job: Fit
    steps:
    - bash: echo "##vso[task.setvariable variable=acc;isOutput=true]0.97"
      name: score
  - job: Check
    dependsOn: Fit
    variables:
      acc: $[ dependencies.Fit.outputs['score.acc'] ]
      fitResult: $[ dependencies.Fit.result ]
    condition: eq(dependencies.Fit.outputs['score.acc'], '0.97')
    steps:
    - bash: test "$(acc)" = 0.97 && test "$(fitResult)" = Succeeded
  - job: Broken
    steps:
    - bash: exit 3
  - job: Rescue
    dependsOn: Broken
    condition: failed()
    steps:
    - bash: echo rescued
  - job: AfterBroken
    dependsOn: Broken
    steps:
    - bash: echo never
  - job: Legs
    strategy:
      matrix:
        a: {leg: one}
        b: {leg: two}
      maxParallel: 1
    steps:
    - bash: echo "##vso[task.setvariable variable=leg;isOutput=true]$(leg)"
      name: out
  - job: ReadLegs
    dependsOn: Legs
    variables:
      both: $[ format('{0}-{1}', dependencies.Legs.outputs['a.out.leg'], dependencies.Legs.outputs['b.out.leg']) ]
    steps:
    - bash: test "$(both)" = one-two
- stage: Deploy
  dependsOn: Train
  condition: eq(dependencies.Train.outputs['Fit.score.acc'], '0.97')
  jobs:
  - job: Ship
    condition: gt(stageDependencies.Train.Fit.outputs['score.acc'], 0.9)
    variables:
      acc: $[ stageDependencies.Train.Fit.outputs['score.acc'] ]
    steps:
    - bash: test "$(acc)" = 0.97
- stage: Deploy2
  dependsOn: Train
  jobs:
  - job: Skipped
    steps:
    - bash: echo never
- stage: Cleanup
  dependsOn: []
  jobs:
  - job: Alone
    steps:
    - bash: echo alone
`)
	expectResults(t, r, log, map[string]string{
		"Train/Fit": "succeeded", "Train/Check": "succeeded", "Train/Broken": "failed", "Train/Rescue": "succeeded",
		"Train/AfterBroken": "skipped", "Train/Legs.a": "succeeded", "Train/Legs.b": "succeeded", "Train/ReadLegs": "succeeded",
		// Train failed (Broken), so Deploy's condition, which ignores that,
		// decides alone; Deploy2's default condition skips it.
		"Deploy/Ship": "succeeded", "Deploy2/Skipped": "skipped", "Cleanup/Alone": "succeeded",
	})
	if r.Result != cicd.ResultFailed {
		t.Errorf("run result %s, want failed", r.Result)
	}
}

func TestRunGraphParallel(t *testing.T) {
	t.Parallel()
	svc, b := setup(t)
	const yml = `
jobs:
- job: A
  steps:
  - bash: sleep 1
- job: B
  steps:
  - bash: sleep 1
`
	overlap := func(r cicd.Run) bool {
		a, bj := r.Jobs[0], r.Jobs[1]
		return a.StartTime.Before(bj.FinishTime) && bj.StartTime.Before(a.FinishTime)
	}
	if got := svc.Pool().Parallel; got != cicd.DefaultParallel {
		t.Fatalf("pool parallel %d, want %d", got, cicd.DefaultParallel)
	}
	r, log := b.run(t, svc, yml)
	expectResults(t, r, log, map[string]string{"__default/A": "succeeded", "__default/B": "succeeded"})
	if !overlap(r) {
		t.Errorf("with a pool of 2 the jobs did not overlap: %+v", r.Jobs)
	}
	if _, err := svc.SetPool(cicd.Pool{Parallel: 0}); err == nil {
		t.Error("SetPool(0) succeeded")
	}
	if _, err := svc.SetPool(cicd.Pool{Parallel: 1}); err != nil {
		t.Fatal(err)
	}
	r, log = b.run(t, svc, yml)
	expectResults(t, r, log, map[string]string{"__default/A": "succeeded", "__default/B": "succeeded"})
	if overlap(r) {
		t.Errorf("with a pool of 1 the jobs overlapped: %+v", r.Jobs)
	}
	// The setting outlives the service.
	again, err := cicd.New(cicd.Config{Store: b.store, Repos: b.host, Dir: filepath.Join(b.dir, "cicd")})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if got := again.Pool().Parallel; got != 1 {
		t.Errorf("after a restart pool parallel = %d, want 1", got)
	}
}

func TestRunGraphBadDependsOn(t *testing.T) {
	t.Parallel()
	svc, b := setup(t)
	r, _ := b.run(t, svc, `
jobs:
- job: A
  dependsOn: B
  steps:
  - bash: echo a
- job: B
  dependsOn: A
  steps:
  - bash: echo b
`)
	if r.Result != cicd.ResultFailed || !strings.Contains(r.Error, "azure-pipelines.yml:3:") || !strings.Contains(r.Error, "depends on itself") {
		t.Errorf("run %s, error %q; want failed at azure-pipelines.yml:3 saying the cycle", r.Result, r.Error)
	}
}

func TestRunVariableGroupsAndOtherRepository(t *testing.T) {
	t.Parallel()
	svc, b := setup(t)
	b.push(t, "tools", map[string]string{
		"steps.yml": "parameters:\n- name: msg\n  type: string\nsteps:\n- bash: echo \"${{ parameters.msg }}\" > $(Build.ArtifactStagingDirectory)/m && test \"$(fromVars)\" = tv\n",
		"vars.yml":  "variables:\n  fromVars: tv\n",
		"data.txt":  "tool data\n",
	})
	yml := `
resources:
  repositories:
  - repository: tools
    type: git
    name: tools
variables:
- group: shared
- template: vars.yml@tools
steps:
- checkout: self
- checkout: tools
  path: tools
- template: steps.yml@tools
  parameters:
    msg: hi
- bash: test "$(region)" = eu && test "$(cat $(Pipeline.Workspace)/tools/data.txt)" = "tool data"
`
	r, _ := b.run(t, svc, yml)
	if r.Result != cicd.ResultFailed || !strings.Contains(r.Error, `variable group "shared"`) {
		t.Fatalf("without the group: run %s, error %q", r.Result, r.Error)
	}
	if _, err := b.store.CreateVariableGroup(t.Context(), cicd.VariableGroup{Workspace: "ws", Name: "shared",
		Variables: map[string]string{"region": "eu"}}); err != nil {
		t.Fatal(err)
	}
	r, log := b.run(t, svc, yml)
	if r.Result != cicd.ResultSucceeded {
		t.Fatalf("run %s, error %q\n%s", r.Result, r.Error, log)
	}
}

func TestRunCancelAndTimeout(t *testing.T) {
	t.Parallel()
	svc, b := setup(t)
	r, log := b.run(t, svc, `
jobs:
- job: Slow
  timeoutInMinutes: 1
  steps:
  - bash: sleep 30
`)
	if r.Jobs[0].Result != agent.StatusCanceled || !strings.Contains(log, "maximum time of 1 minutes") {
		t.Errorf("timeout: job %s\n%s", r.Jobs[0].Result, log)
	}
	b.push(t, "app", map[string]string{"azure-pipelines.yml": "steps:\n- bash: sleep 60\n"})
	q, err := svc.Queue(t.Context(), "ws", "p", "main", "", cicd.ReasonManual, nil)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		cur, _ := svc.Store().GetRun(t.Context(), "ws", q.ID)
		if len(cur.Jobs) > 0 && len(cur.Jobs[0].Steps) > 1 && cur.Jobs[0].Steps[1].Status == agent.StatusInProgress {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sleep never started: %+v", cur)
		}
		time.Sleep(50 * time.Millisecond)
	}
	start := time.Now()
	if _, err := svc.Cancel(context.Background(), "ws", q.ID); err != nil {
		t.Fatal(err)
	}
	r, _ = b.wait(t, svc, q.ID)
	if r.Result != cicd.ResultCanceled || time.Since(start) > 10*time.Second {
		t.Errorf("cancel: run %s after %s", r.Result, time.Since(start))
	}
}
