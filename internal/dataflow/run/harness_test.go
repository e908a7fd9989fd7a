package run_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/dataflow/activity"
	"github.com/ciel-mlops/ciel/internal/dataflow/factory"
	"github.com/ciel-mlops/ciel/internal/dataflow/run"
	"github.com/ciel-mlops/ciel/internal/store"
	"github.com/ciel-mlops/ciel/internal/store/sqldb"
)

// resources is an in-memory run.Resources.
type resources struct {
	mu        sync.Mutex
	pipelines map[string]factory.Pipeline
	datasets  map[string]factory.Dataset
	linked    map[string]factory.LinkedService
}

func (r *resources) Pipeline(_ context.Context, _, name string) (factory.Pipeline, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.pipelines[name]
	if !ok {
		return p, fmt.Errorf("pipeline %q: %w", name, store.ErrNotFound)
	}
	return p, nil
}

func (r *resources) Dataset(_ context.Context, _, name string) (factory.Dataset, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, ok := r.datasets[name]
	if !ok {
		return d, fmt.Errorf("dataset %q: %w", name, store.ErrNotFound)
	}
	return d, nil
}

func (r *resources) LinkedService(_ context.Context, _, name string) (factory.LinkedService, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	l, ok := r.linked[name]
	if !ok {
		return l, fmt.Errorf("linked service %q: %w", name, store.ErrNotFound)
	}
	return l, nil
}

// add parses a pipeline, dataset or linked service in ADF's JSON
// ({"name", "properties"}) and keeps it.
func (r *resources) add(t testing.TB, kind factory.Kind, doc string) {
	t.Helper()
	var env struct {
		Name       string          `json:"name"`
		Properties json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal([]byte(doc), &env); err != nil {
		t.Fatalf("test resource: %v\n%s", err, doc)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var err error
	switch kind {
	case factory.KindPipeline:
		var p factory.Pipeline
		err = json.Unmarshal(env.Properties, &p)
		p.Name = env.Name
		r.pipelines[env.Name] = p
	case factory.KindDataset:
		var d factory.Dataset
		err = json.Unmarshal(env.Properties, &d)
		d.Name = env.Name
		r.datasets[env.Name] = d
	case factory.KindLinkedService:
		var l factory.LinkedService
		err = json.Unmarshal(env.Properties, &l)
		l.Name = env.Name
		r.linked[env.Name] = l
	}
	if err != nil {
		t.Fatalf("test resource %s: %v", env.Name, err)
	}
}

// fake is the data activity type "Fake" tests run instead of a database:
// typeProperties say what it does. "output" is returned; "sleepMs" waits
// (and honours cancellation); "fail" fails; "failAttempts": n fails the
// first n attempts of that activity. It records every call and the most
// calls running at once.
type fake struct {
	mu       sync.Mutex
	calls    []activity.Call
	attempts map[string]int
	running  int
	peak     int
}

func (f *fake) run(ctx context.Context, env *activity.Env, c activity.Call) (map[string]any, error) {
	f.mu.Lock()
	f.calls = append(f.calls, c)
	f.attempts[c.Name]++
	n := f.attempts[c.Name]
	f.running++
	if f.running > f.peak {
		f.peak = f.running
	}
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.running--
		f.mu.Unlock()
	}()
	if ms, ok := c.TypeProperties["sleepMs"].(int64); ok {
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if fail, _ := c.TypeProperties["fail"].(bool); fail {
		return nil, &activity.Error{Code: "FakeFailed", Msg: fmt.Sprintf("%s failed as told", c.Name)}
	}
	if k, ok := c.TypeProperties["failAttempts"].(int64); ok && int64(n) <= k {
		return nil, &activity.Error{Code: "FakeFailed", Msg: fmt.Sprintf("%s attempt %d failed as told", c.Name, n)}
	}
	out, _ := c.TypeProperties["output"].(map[string]any)
	if out == nil {
		out = map[string]any{}
	}
	return out, nil
}

// ran lists the names of the activities the fake ran, in call order.
func (f *fake) ran() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, len(f.calls))
	for i, c := range f.calls {
		out[i] = c.Name
	}
	return out
}

type bundle struct {
	r     *run.Runner
	store *sqldb.Store
	res   *resources
	fake  *fake
	jobs  *fakeJobs
	path  string
}

const ws = "ws"

func setup(t *testing.T, pipelines ...string) *bundle {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ciel.db")
	st, err := sqldb.Open(context.Background(), sqldb.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateWorkspace(context.Background(), store.Workspace{Name: ws}); err != nil {
		t.Fatal(err)
	}
	b := &bundle{
		store: st, path: path,
		res:  &resources{pipelines: map[string]factory.Pipeline{}, datasets: map[string]factory.Dataset{}, linked: map[string]factory.LinkedService{}},
		fake: &fake{attempts: map[string]int{}},
		jobs: &fakeJobs{},
	}
	for _, p := range pipelines {
		b.res.add(t, factory.KindPipeline, p)
	}
	b.r = b.newRunner(t)
	t.Cleanup(func() {
		b.r.Close()
		if err := st.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return b
}

func (b *bundle) newRunner(t *testing.T) *run.Runner {
	t.Helper()
	r, err := run.New(run.Config{
		Store: b.store, Resources: b.res, Jobs: b.jobs, Secrets: secrets{},
		Activities: func(typ string) (activity.Func, bool) {
			switch typ {
			case "Fake", "Copy", "Lookup":
				return b.fake.run, true
			}
			return nil, false
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// start runs a pipeline and waits for it to end.
func (b *bundle) start(t *testing.T, name string, params map[string]any) (run.PipelineRun, map[string][]run.ActivityRun) {
	t.Helper()
	started, err := b.r.StartRun(context.Background(), run.RunRequest{Workspace: ws, Pipeline: name, Parameters: params})
	if err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	return b.wait(t, started.RunID)
}

// wait waits for a run to end and returns it with its activity runs by
// name.
func (b *bundle) wait(t *testing.T, runID string) (run.PipelineRun, map[string][]run.ActivityRun) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pr, err := b.r.Wait(ctx, ws, runID)
	if err != nil {
		t.Fatalf("wait %s: %v", runID, err)
	}
	acts, err := b.r.QueryActivityRuns(ctx, ws, runID)
	if err != nil {
		t.Fatal(err)
	}
	by := map[string][]run.ActivityRun{}
	for _, a := range acts {
		by[a.ActivityName] = append(by[a.ActivityName], a)
	}
	return pr, by
}

// statuses maps each activity to the status of its last record.
func statuses(by map[string][]run.ActivityRun) map[string]run.Status {
	out := map[string]run.Status{}
	for k, v := range by {
		out[k] = v[len(v)-1].Status
	}
	return out
}

type secrets struct{}

func (secrets) Secret(_ context.Context, _, vault, name, _ string) (string, error) {
	if vault == "kv" && name == "pg-password" {
		return "s3cret", nil
	}
	return "", fmt.Errorf("secret %s/%s: %w", vault, name, store.ErrNotFound)
}

// fakeJobs is a run.Jobs whose jobs complete at once, or fail when the
// request's parameters say fail=true.
type fakeJobs struct {
	mu   sync.Mutex
	reqs []run.JobRequest
	data []run.DataRequest
}

func (j *fakeJobs) Submit(_ context.Context, _ string, req run.JobRequest) (string, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.reqs = append(j.reqs, req)
	return fmt.Sprintf("job-%d", len(j.reqs)), nil
}

func (j *fakeJobs) Wait(_ context.Context, _ string, job string) (run.JobResult, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for i, r := range j.reqs {
		if fmt.Sprintf("job-%d", i+1) == job {
			if f, _ := r.Parameters["fail"].(bool); f {
				return run.JobResult{Status: "Failed", Error: "train.py exited 1"}, nil
			}
			return run.JobResult{Status: "Completed", Outputs: map[string]any{"model": "azureml://jobs/" + job + "/outputs/model"}}, nil
		}
	}
	return run.JobResult{}, errors.New("no such job")
}

func (j *fakeJobs) Cancel(context.Context, string, string) error { return nil }

func (j *fakeJobs) RegisterData(_ context.Context, _ string, req run.DataRequest) (map[string]any, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.data = append(j.data, req)
	return map[string]any{"name": req.Name, "version": "1", "path": req.Path}, nil
}

// pipeline builds a pipeline document from its activities (JSON) and
// optional extra properties.
func pipeline(name, activities string, extra ...string) string {
	props := `"activities": ` + activities
	for _, e := range extra {
		props += ", " + e
	}
	return `{"name": "` + name + `", "properties": {` + props + `}}`
}
