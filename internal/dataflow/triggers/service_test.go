package triggers_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/dataflow/expr"
	"github.com/ciel-mlops/ciel/internal/dataflow/factory"
	"github.com/ciel-mlops/ciel/internal/dataflow/files"
	"github.com/ciel-mlops/ciel/internal/dataflow/triggers"
	"github.com/ciel-mlops/ciel/internal/store"
	"github.com/ciel-mlops/ciel/internal/store/sqldb"
)

// clock is a fake clock tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeRun is a pipeline run the fake Starter started.
type fakeRun struct {
	ID       string
	Pipeline string
	Params   map[string]any
	By       triggers.InvokedBy
	Status   string
}

// starter is a fake pipeline runtime: idempotent on the trigger run id,
// as the real one must be. crashAfterStart, when set, cancels the caller's
// context once a run has started, as if the server died before recording
// its id.
type starter struct {
	mu              sync.Mutex
	runs            []*fakeRun
	byKey           map[string]*fakeRun
	failStart       bool
	crashAfterStart context.CancelFunc
}

func (s *starter) StartRun(ctx context.Context, ws, pipeline string, params map[string]any, by triggers.InvokedBy) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failStart {
		return "", errors.New("pipeline is broken")
	}
	key := ws + "/" + pipeline + "/" + by.ID
	if r, ok := s.byKey[key]; ok {
		return r.ID, nil
	}
	r := &fakeRun{ID: fmt.Sprintf("run-%d", len(s.runs)+1), Pipeline: pipeline, Params: params, By: by, Status: "InProgress"}
	s.runs = append(s.runs, r)
	s.byKey[key] = r
	if s.crashAfterStart != nil {
		s.crashAfterStart()
		s.crashAfterStart = nil
		return "", ctx.Err()
	}
	return r.ID, nil
}

func (s *starter) RunStatus(_ context.Context, _, runID string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.runs {
		if r.ID == runID {
			return r.Status, nil
		}
	}
	return "", store.ErrNotFound
}

// started returns a copy of the runs started so far.
func (s *starter) started() []fakeRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]fakeRun, len(s.runs))
	for i, r := range s.runs {
		out[i] = *r
	}
	return out
}

// finish ends every run still in progress with status.
func (s *starter) finish(status string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.runs {
		if r.Status == "InProgress" {
			r.Status = status
			n++
		}
	}
	return n
}

// folderFS is a files.FS over a local folder, enough for listing.
type folderFS struct{ root string }

func (f folderFS) List(_ context.Context, p string) ([]files.Info, error) {
	entries, err := os.ReadDir(filepath.Join(f.root, filepath.FromSlash(p)))
	if err != nil {
		return nil, err
	}
	var out []files.Info
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			return nil, err
		}
		out = append(out, files.Info{Name: e.Name(), Path: path.Join(p, e.Name()), Size: fi.Size(), ModTime: fi.ModTime(), Dir: e.IsDir()})
	}
	return out, nil
}

func (f folderFS) Open(context.Context, string) (io.ReadCloser, error) { return nil, fs.ErrInvalid }
func (f folderFS) Create(context.Context, string) (files.File, error)  { return nil, fs.ErrInvalid }
func (f folderFS) Stat(context.Context, string) (files.Info, error) {
	return files.Info{}, fs.ErrInvalid
}
func (f folderFS) Delete(context.Context, string, bool) error { return fs.ErrInvalid }

// datastores has one datastore, "lake", a local folder.
type datastores struct{ root string }

func (d datastores) FS(_ context.Context, ws, name string) (files.FS, error) {
	if name != "lake" {
		return nil, fmt.Errorf("datastore %s: %w", name, store.ErrNotFound)
	}
	return folderFS(d), nil
}

type testBundle struct {
	svc     *triggers.Service
	db      *sqldb.Store
	dbPath  string
	clock   *clock
	starter *starter
	lake    string
}

func setup(t *testing.T, now time.Time) *testBundle {
	t.Helper()
	dir := t.TempDir()
	b := &testBundle{dbPath: filepath.Join(dir, "ciel.db"), clock: &clock{t: now},
		starter: &starter{byKey: map[string]*fakeRun{}}, lake: filepath.Join(dir, "lake")}
	if err := os.MkdirAll(b.lake, 0o755); err != nil {
		t.Fatal(err)
	}
	b.open(t)
	if err := b.db.CreateWorkspace(t.Context(), store.Workspace{Name: "ws"}); err != nil {
		t.Fatal(err)
	}
	return b
}

// open opens the store and a service over it, as a starting server does.
func (b *testBundle) open(t *testing.T) {
	t.Helper()
	db, err := sqldb.Open(t.Context(), sqldb.Config{Path: b.dbPath})
	if err != nil {
		t.Fatal(err)
	}
	b.db = db
	t.Cleanup(func() { db.Close() })
	b.svc = triggers.New(triggers.Config{Store: db.DataflowTriggers(), Starter: b.starter,
		Datastores: datastores{b.lake}, Now: b.clock.Now, PollEvery: time.Second})
}

// restart closes the store and opens it again with a new service.
func (b *testBundle) restart(t *testing.T) {
	t.Helper()
	if err := b.db.Close(); err != nil {
		t.Fatal(err)
	}
	b.open(t)
}

func (b *testBundle) tick(t *testing.T) {
	t.Helper()
	if err := b.svc.Tick(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func (b *testBundle) windows(t *testing.T, name string) []triggers.Window {
	t.Helper()
	ws, err := b.svc.Windows(t.Context(), "ws", name)
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// trig builds a trigger starting pipeline "p" with no parameters.
func trig(name, typ, props string) factory.Trigger {
	return factory.Trigger{Name: name, Type: typ, TypeProperties: json.RawMessage(props),
		Pipelines: []factory.TriggerPipeline{{PipelineReference: factory.Reference{ReferenceName: "p", Type: "PipelineReference"}}}}
}

func TestScheduleFiresOncePerTimeAndAcrossRestart(t *testing.T) {
	t.Parallel()
	b := setup(t, mustTime(t, "2024-01-01T10:20:00Z"))
	ctx := t.Context()
	hourly := trig("hourly", triggers.TypeSchedule, `{"recurrence":{"frequency":"Hour","interval":1,"startTime":"2024-01-01T00:00:00Z"}}`)
	st, err := b.svc.StartTrigger(ctx, "ws", hourly)
	if err != nil || st.RuntimeState != triggers.Started || !st.Next.Equal(mustTime(t, "2024-01-01T11:00:00Z")) {
		t.Fatalf("start: %+v, %v", st, err)
	}
	b.tick(t)
	if n := len(b.starter.started()); n != 0 {
		t.Fatalf("fired %d before its time", n)
	}
	if again, err := b.svc.StartTrigger(ctx, "ws", hourly); err != nil || again.Revision != st.Revision {
		t.Fatalf("starting a started trigger again: %+v, %v", again, err)
	}
	changed := hourly
	changed.Description = "changed"
	if _, err := b.svc.StartTrigger(ctx, "ws", changed); !errors.Is(err, triggers.ErrStarted) {
		t.Fatalf("start with another definition: %v, want ErrStarted", err)
	}
	if err := b.svc.DeleteTrigger(ctx, "ws", "hourly"); !errors.Is(err, triggers.ErrStarted) {
		t.Fatalf("delete a started trigger: %v, want ErrStarted", err)
	}
	b.clock.Add(40 * time.Minute) // 11:00
	b.tick(t)
	b.tick(t)
	runs := b.starter.started()
	if len(runs) != 1 || runs[0].By.Type != triggers.TypeSchedule || runs[0].By.Name != "hourly" {
		t.Fatalf("runs after 11:00: %+v", runs)
	}
	tr, err := b.svc.Runs(ctx, triggers.RunQuery{Workspace: "ws", Trigger: "hourly"})
	if err != nil || len(tr) != 1 || tr[0].Status != triggers.RunSucceeded || tr[0].TriggeredPipelines["p"] != runs[0].ID ||
		tr[0].Properties["ScheduledTime"] != "2024-01-01T11:00:00Z" || tr[0].ID != runs[0].By.ID {
		t.Fatalf("trigger runs: %+v, %v", tr, err)
	}

	// The server is down from 11:30 to 14:10: the missed times fire once.
	b.clock.Add(30 * time.Minute)
	b.restart(t)
	b.clock.Add(160 * time.Minute)
	b.tick(t)
	b.tick(t)
	if runs := b.starter.started(); len(runs) != 2 {
		t.Fatalf("after the restart %d runs, want 2", len(runs))
	}
	tr, _ = b.svc.Runs(ctx, triggers.RunQuery{Trigger: "hourly"})
	if tr[0].Properties["ScheduledTime"] != "2024-01-01T12:00:00Z" {
		t.Fatalf("missed firing: %+v", tr[0])
	}

	// A crash between starting the pipeline and recording it: the next
	// server finishes the run without starting a second pipeline run.
	b.clock.Add(50 * time.Minute) // 15:00
	crash, cancel := context.WithCancel(ctx)
	b.starter.mu.Lock()
	b.starter.crashAfterStart = cancel
	b.starter.mu.Unlock()
	_ = b.svc.Tick(crash)
	b.restart(t)
	b.tick(t)
	runs = b.starter.started()
	tr, _ = b.svc.Runs(ctx, triggers.RunQuery{Trigger: "hourly"})
	if len(runs) != 3 || len(tr) != 3 || tr[0].Status != triggers.RunSucceeded || tr[0].TriggeredPipelines["p"] != runs[2].ID {
		t.Fatalf("after the crash: pipeline runs %+v, trigger runs %+v", runs, tr)
	}

	// Stopped, it fires nothing.
	if _, err := b.svc.StopTrigger(ctx, "ws", "hourly"); err != nil {
		t.Fatal(err)
	}
	if states, err := b.svc.RuntimeStates(ctx, "ws"); err != nil || states["hourly"] != triggers.Stopped {
		t.Fatalf("runtime states: %v, %v", states, err)
	}
	b.clock.Add(3 * time.Hour)
	b.tick(t)
	if n := len(b.starter.started()); n != 3 {
		t.Fatalf("a stopped trigger fired: %d runs", n)
	}
}

func tumbling(name, extra string) factory.Trigger {
	return trig(name, triggers.TypeTumblingWindow, `{"frequency":"Hour","interval":1,"startTime":"2024-01-01T00:00:00Z"`+extra+`}`)
}

func TestTumblingBackfill(t *testing.T) {
	t.Parallel()
	for _, conc := range []int{1, 2} {
		t.Run(fmt.Sprintf("maxConcurrency %d", conc), func(t *testing.T) {
			t.Parallel()
			b := setup(t, mustTime(t, "2024-01-01T03:30:00Z"))
			if _, err := b.svc.StartTrigger(t.Context(), "ws", tumbling("tw", fmt.Sprintf(`,"maxConcurrency":%d`, conc))); err != nil {
				t.Fatal(err)
			}
			b.tick(t)
			if ws := b.windows(t, "tw"); len(ws) != 3 {
				t.Fatalf("%d windows recorded, want 3: %+v", len(ws), ws)
			}
			for done := 0; done < 3; {
				b.tick(t) // a second pass starts nothing more while the runs go on
				runs := b.starter.started()
				if running := len(runs) - done; running != min(conc, 3-done) {
					t.Fatalf("%d windows running at once with %d done, want %d", running, done, min(conc, 3-done))
				}
				done += b.starter.finish("Succeeded")
				b.tick(t)
			}
			runs := b.starter.started()
			if len(runs) != 3 {
				t.Fatalf("%d pipeline runs, want 3", len(runs))
			}
			for i, w := range b.windows(t, "tw") {
				want := mustTime(t, "2024-01-01T00:00:00Z").Add(time.Duration(i) * time.Hour)
				if w.Status != triggers.WindowSucceeded || !w.Start.Equal(want) || w.Attempt != 1 || w.RunID != runs[i].ID {
					t.Fatalf("window %d: %+v (runs %+v)", i, w, runs)
				}
			}
		})
	}
}

func TestTumblingRetry(t *testing.T) {
	t.Parallel()
	b := setup(t, mustTime(t, "2024-01-01T01:00:00Z"))
	if _, err := b.svc.StartTrigger(t.Context(), "ws", tumbling("tw", `,"retryPolicy":{"count":1,"intervalInSeconds":60}`)); err != nil {
		t.Fatal(err)
	}
	b.tick(t)
	b.starter.finish("Failed")
	b.tick(t)
	w := b.windows(t, "tw")[0]
	if w.Status != triggers.WindowWaiting || w.Attempt != 1 || !w.NotBefore.Equal(b.clock.Now().Add(time.Minute)) {
		t.Fatalf("after a failed attempt: %+v", w)
	}
	b.clock.Add(30 * time.Second)
	b.tick(t)
	if n := len(b.starter.started()); n != 1 {
		t.Fatalf("retried before the interval: %d runs", n)
	}
	b.clock.Add(30 * time.Second)
	b.tick(t)
	b.starter.finish("Failed")
	b.tick(t)
	w = b.windows(t, "tw")[0]
	if n := len(b.starter.started()); n != 2 || w.Status != triggers.WindowFailed || w.Attempt != 2 {
		t.Fatalf("after the retry failed: %d runs, window %+v", n, w)
	}
	tr, _ := b.svc.Runs(t.Context(), triggers.RunQuery{Trigger: "tw"})
	if len(tr) != 2 || tr[0].Status != triggers.RunFailed || tr[1].Status != triggers.RunFailed || tr[0].Properties["Attempt"] != "2" {
		t.Fatalf("trigger runs: %+v", tr)
	}

	// Data Factory's rerun: the failed window runs again.
	if _, err := b.svc.RerunWindow(t.Context(), "ws", "tw", w.Start); err != nil {
		t.Fatal(err)
	}
	b.tick(t)
	b.starter.finish("Succeeded")
	b.tick(t)
	if w = b.windows(t, "tw")[0]; w.Status != triggers.WindowSucceeded || len(b.starter.started()) != 3 {
		t.Fatalf("after the rerun: %+v", w)
	}
}

func TestTumblingDependsOnAnotherTrigger(t *testing.T) {
	t.Parallel()
	b := setup(t, mustTime(t, "2024-01-01T02:00:00Z"))
	ctx := t.Context()
	down := tumbling("down", `,"maxConcurrency":2,"dependsOn":[{"type":"TumblingWindowTriggerDependencyReference",
		"referenceTrigger":{"referenceName":"up","type":"TriggerReference"},"offset":"-01:00:00","size":"02:00:00"}]`)
	if _, err := b.svc.StartTrigger(ctx, "ws", down); err != nil {
		t.Fatal(err)
	}
	b.tick(t)
	if n := len(b.starter.started()); n != 0 {
		t.Fatalf("ran %d windows before the trigger it depends on had any", n)
	}
	if _, err := b.svc.StartTrigger(ctx, "ws", tumbling("up", `,"maxConcurrency":1`)); err != nil {
		t.Fatal(err)
	}
	// down's window [00:00, 01:00) waits for up's windows in [-01:00, 01:00):
	// only [00:00, 01:00) exists. down's [01:00, 02:00) waits for both of up's.
	b.tick(t)
	b.starter.finish("Succeeded") // up [00:00, 01:00)
	b.tick(t)                     // records it (after down's turn in this pass), starts up's second
	b.tick(t)
	runs := b.starter.started()
	if len(runs) != 3 || runs[1].By.Name != "up" || runs[2].By.Name != "down" {
		t.Fatalf("after up's first window: %+v", runs)
	}
	if ws := b.windows(t, "down"); ws[0].Status != triggers.WindowRunning || ws[1].Status != triggers.WindowWaiting {
		t.Fatalf("down's windows while up's second runs: %+v", ws)
	}
	for range 3 {
		b.starter.finish("Succeeded")
		b.tick(t)
		b.tick(t)
	}
	for _, name := range []string{"up", "down"} {
		for _, w := range b.windows(t, name) {
			if w.Status != triggers.WindowSucceeded {
				t.Fatalf("%s: %+v", name, w)
			}
		}
	}
	if n := len(b.starter.started()); n != 4 {
		t.Fatalf("%d runs, want 4", n)
	}
}

func TestTumblingRestartNeitherLosesNorDoubles(t *testing.T) {
	t.Parallel()
	b := setup(t, mustTime(t, "2024-01-01T03:00:00Z"))
	if _, err := b.svc.StartTrigger(t.Context(), "ws", tumbling("tw", `,"maxConcurrency":2`)); err != nil {
		t.Fatal(err)
	}
	// The second window's pipeline starts, but the server dies before
	// recording its run id.
	crash, cancel := context.WithCancel(t.Context())
	b.tick(t) // records 3 windows, starts 2
	b.starter.finish("Succeeded")
	b.starter.mu.Lock()
	b.starter.crashAfterStart = cancel
	b.starter.mu.Unlock()
	_ = b.svc.Tick(crash) // the first two end; the third starts and is not recorded
	b.restart(t)
	b.tick(t)
	b.tick(t)
	runs := b.starter.started()
	if len(runs) != 3 {
		t.Fatalf("%d pipeline runs after the restart, want 3: %+v", len(runs), runs)
	}
	ws := b.windows(t, "tw")
	if ws[2].Status != triggers.WindowRunning || ws[2].RunID != runs[2].ID {
		t.Fatalf("third window after the restart: %+v", ws[2])
	}
	b.starter.finish("Succeeded")
	b.restart(t)
	b.clock.Add(time.Hour) // a fourth window comes due while restarting
	b.tick(t)
	b.starter.finish("Succeeded")
	b.tick(t)
	ws = b.windows(t, "tw")
	runs = b.starter.started()
	if len(ws) != 4 || len(runs) != 4 {
		t.Fatalf("windows %+v, runs %+v", ws, runs)
	}
	for _, w := range ws {
		if w.Status != triggers.WindowSucceeded || w.Attempt != 1 {
			t.Fatalf("window %+v", w)
		}
	}
}

func writeFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBlobEventsFireOncePerFile(t *testing.T) {
	t.Parallel()
	b := setup(t, mustTime(t, "2024-01-01T00:00:00Z"))
	ctx := t.Context()
	in := filepath.Join(b.lake, "sales", "in")
	writeFile(t, filepath.Join(in, "old.csv"), "a\n1\n")
	ev := trig("arrivals", triggers.TypeBlobEvents, `{"scope":"lake","blobPathBeginsWith":"/sales/blobs/in/","blobPathEndsWith":".csv",
		"ignoreEmptyBlobs":true,"events":["Microsoft.Storage.BlobCreated","Microsoft.Storage.BlobDeleted"]}`)
	if _, err := b.svc.StartTrigger(ctx, "ws", ev); err != nil {
		t.Fatal(err)
	}
	poll := func(n int) {
		for range n {
			b.clock.Add(time.Second)
			b.tick(t)
		}
	}
	poll(2)
	if n := len(b.starter.started()); n != 0 {
		t.Fatalf("fired %d times for a file there before the start", n)
	}
	writeFile(t, filepath.Join(in, "day1", "new.csv"), "a\n2\n")
	writeFile(t, filepath.Join(in, "empty.csv"), "")
	writeFile(t, filepath.Join(in, "notes.txt"), "x")
	writeFile(t, filepath.Join(b.lake, "sales", "out", "x.csv"), "x")
	poll(3)
	tr, _ := b.svc.Runs(ctx, triggers.RunQuery{Trigger: "arrivals"})
	if n := len(b.starter.started()); n != 1 || len(tr) != 1 || tr[0].Properties["FileName"] != "new.csv" ||
		tr[0].Properties["FolderPath"] != "sales/in/day1" || tr[0].Properties["EventType"] != triggers.EventBlobCreated {
		t.Fatalf("after one new file: %d pipeline runs, trigger runs %+v", n, tr)
	}

	b.restart(t)
	writeFile(t, filepath.Join(in, "late.csv"), "a\n3\n")
	if err := os.Remove(filepath.Join(in, "old.csv")); err != nil {
		t.Fatal(err)
	}
	poll(3)
	tr, _ = b.svc.Runs(ctx, triggers.RunQuery{Trigger: "arrivals"})
	var got []string
	for _, r := range tr {
		got = append(got, r.Properties["EventType"]+" "+r.Properties["FileName"])
	}
	sort.Strings(got)
	want := []string{"Microsoft.Storage.BlobCreated late.csv", "Microsoft.Storage.BlobCreated new.csv", "Microsoft.Storage.BlobDeleted old.csv"}
	if fmt.Sprint(got) != fmt.Sprint(want) || len(b.starter.started()) != 3 {
		t.Fatalf("events after the restart: %v, want %v", got, want)
	}
}

// withParams gives t's pipeline parameter values.
func withParams(t factory.Trigger, params map[string]string) factory.Trigger {
	t.Pipelines[0].Parameters = map[string]json.RawMessage{}
	for k, v := range params {
		raw, _ := json.Marshal(v)
		t.Pipelines[0].Parameters[k] = raw
	}
	return t
}

func TestPipelineParametersOverTrigger(t *testing.T) {
	t.Parallel()
	// Until expr's evaluator is merged, main holds a stub that evaluates
	// nothing; this test runs as soon as the evaluator is there.
	if _, err := expr.EvalRaw(json.RawMessage(`"@concat('a', 'b')"`), &expr.Scope{}); err != nil && strings.Contains(err.Error(), "not built yet") {
		t.Skip("the expression evaluator is not merged yet: ", err)
	}
	b := setup(t, mustTime(t, "2024-01-01T01:59:00Z"))
	ctx := t.Context()
	sched := withParams(trig("s", triggers.TypeSchedule, `{"recurrence":{"frequency":"Hour","interval":1,"startTime":"2024-01-01T00:00:00Z"}}`),
		map[string]string{"when": "@trigger().scheduledTime", "day": "@formatDateTime(trigger().scheduledTime, 'yyyy-MM-dd')", "by": "@{trigger().name}"})
	tw := withParams(tumbling("tw", ""), map[string]string{"from": "@trigger().outputs.windowStartTime", "to": "@trigger().outputs.windowEndTime"})
	ev := withParams(trig("ev", triggers.TypeBlobEvents, `{"scope":"lake","blobPathBeginsWith":"/in/blobs/","events":["Microsoft.Storage.BlobCreated"]}`),
		map[string]string{"file": "@trigger().outputs.body.fileName", "folder": "@{trigger().outputs.body.folderPath}"})
	for _, x := range []factory.Trigger{sched, tw, ev} {
		if _, err := b.svc.StartTrigger(ctx, "ws", x); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(b.lake, "in", "a", "x.csv"), "1")
	b.clock.Add(time.Minute)
	b.tick(t)
	b.clock.Add(time.Second)
	b.tick(t)
	got := map[string]map[string]any{}
	for _, r := range b.starter.started() {
		got[r.By.Name] = r.Params
	}
	want := map[string]map[string]any{
		"s":  {"when": "2024-01-01T02:00:00Z", "day": "2024-01-01", "by": "s"},
		"tw": {"from": "2024-01-01T00:00:00Z", "to": "2024-01-01T01:00:00Z"},
		"ev": {"file": "x.csv", "folder": "in/a"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("parameters:\n got %v\nwant %v", got, want)
	}
}
