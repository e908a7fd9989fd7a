package triggers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ciel-mlops/ciel/internal/dataflow/factory"
	"github.com/ciel-mlops/ciel/internal/store"
	"github.com/ciel-mlops/ciel/internal/trigger"
)

// Config configures a Service.
type Config struct {
	Store      Store
	Starter    Starter
	Datastores Datastores
	Logger     *slog.Logger
	// Now is the clock; nil is time.Now. Tests set their own.
	Now func() time.Time
	// Tick is how often the service looks for work; 0 is a second.
	Tick time.Duration
	// PollEvery is how often a storage event trigger lists its datastore;
	// 0 is 5 seconds. A new or changed file fires once it has been seen
	// unchanged by two listings, so that a file still being written does
	// not fire half-written.
	PollEvery time.Duration
}

// Service starts, stops and fires triggers. Its methods may be called
// concurrently.
type Service struct {
	cfg  Config
	log  *slog.Logger
	ctx  context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup

	// mu guards the storage event triggers' listing state, which only
	// Tick uses; Tick runs one at a time (tickMu).
	tickMu sync.Mutex
	mu     sync.Mutex
	polled map[string]time.Time       // trigger key -> last listing
	settle map[string]map[string]Blob // trigger key -> path -> new or changed, seen once
	revs   map[string]int64           // trigger key -> revision the settle map is for
}

// ErrStarted refuses to change or delete a started trigger: as in Data
// Factory, it is stopped first.
var ErrStarted = errors.New("trigger is started")

// New returns a service; Start starts firing.
func New(cfg Config) *Service {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.PollEvery <= 0 {
		cfg.PollEvery = 5 * time.Second
	}
	ctx, stop := context.WithCancel(context.Background())
	return &Service{cfg: cfg, log: log, ctx: ctx, stop: stop,
		polled: map[string]time.Time{}, settle: map[string]map[string]Blob{}, revs: map[string]int64{}}
}

func (s *Service) now() time.Time {
	if s.cfg.Now != nil {
		return s.cfg.Now().UTC()
	}
	return time.Now().UTC()
}

// Start fires triggers every tick until Stop; the first pass, at once,
// finishes what an earlier server left and fires what came due while no
// server ran. Call it once the Starter can answer for the runs an earlier
// server started.
func (s *Service) Start() {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		trigger.Loop(s.ctx, s.cfg.Tick, s.Tick, func(err error) { s.log.Warn("data factory triggers", "err", err) })
	}()
}

// Stop stops firing and waits for a pass in progress to end.
func (s *Service) Stop() {
	s.stop()
	s.wg.Wait()
}

// Tick makes one pass at the service's clock: it finishes firings an
// earlier pass or server left half done, fires due schedules, records and
// runs due windows and follows running ones, and lists the datastores of
// storage event triggers due a look. The loop calls it every tick; tests
// call it with their own clock.
func (s *Service) Tick(ctx context.Context) error {
	s.tickMu.Lock()
	defer s.tickMu.Unlock()
	var errs []error
	if err := s.resumeRuns(ctx); err != nil {
		errs = append(errs, err)
	}
	states, err := s.cfg.Store.ListTriggers(ctx, "")
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("list triggers: %w", err))...)
	}
	now := s.now()
	for _, st := range states {
		c, err := compile(st.Definition)
		if err != nil { // a definition this version cannot read: say so, skip it
			errs = append(errs, fmt.Errorf("trigger %q in workspace %s: %w", st.Name, st.Workspace, err))
			continue
		}
		switch {
		case c.schedule != nil && st.RuntimeState == Started:
			err = s.fireSchedule(ctx, st, c, now)
		case c.tumbling != nil:
			err = s.tickWindows(ctx, st, c, now)
		case c.blobs != nil && st.RuntimeState == Started:
			err = s.pollBlobs(ctx, st, c, now)
		}
		if err != nil && !errors.Is(err, store.ErrConflict) {
			errs = append(errs, fmt.Errorf("trigger %q in workspace %s: %w", st.Name, st.Workspace, err))
		}
	}
	return errors.Join(errs...)
}

// StartTrigger starts trigger t of workspace ws, recording the definition
// it runs with. A schedule fires from its first time at or after now; a
// storage event trigger fires for changes after now, not for the files
// already there; a tumbling window trigger runs every window from its
// start time, resuming where it was if it ran before with the same
// windows. Starting a started trigger with the same definition changes
// nothing; with another definition it is ErrStarted. Problems with t are
// *InvalidError.
func (s *Service) StartTrigger(ctx context.Context, ws string, t factory.Trigger) (State, error) {
	c, err := compile(t)
	if err != nil {
		return State{}, err
	}
	if len(t.Pipelines) == 0 {
		return State{}, &InvalidError{Trigger: t.Name, Field: "pipelines", Msg: "a trigger starts at least one pipeline; it names none"}
	}
	old, err := s.cfg.Store.GetTrigger(ctx, ws, t.Name)
	switch {
	case err == nil && old.RuntimeState == Started:
		if definitionJSON(old.Definition) == definitionJSON(t) {
			return old, nil
		}
		return old, fmt.Errorf("start trigger %q: %w with another definition; stop it first", t.Name, ErrStarted)
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return State{}, err
	}
	now := s.now()
	st := State{Workspace: ws, Name: t.Name, Definition: t, RuntimeState: Started, StartedAt: now}
	switch {
	case c.schedule != nil:
		st.Next, _ = c.schedule.Next(now.Add(-time.Nanosecond))
	case c.tumbling != nil:
		st.Next = c.tumbling.start
		if err == nil && sameGrid(old.Definition, c) {
			st.Next = old.Next // resume: the windows recorded stay
		} else if err == nil {
			if err := s.cfg.Store.DeleteTrigger(ctx, ws, t.Name); err != nil {
				return State{}, err
			}
		}
	case c.blobs != nil:
		// What is there now is the baseline: it fires nothing. The state
		// is recorded stopped first, for the blobs to belong to.
		blobs, lerr := s.listBlobs(ctx, ws, c.blobs)
		if lerr != nil {
			return State{}, fmt.Errorf("start trigger %q: %w", t.Name, lerr)
		}
		if err != nil {
			stopped := st
			stopped.RuntimeState = Stopped
			if _, err := s.cfg.Store.PutTrigger(ctx, stopped); err != nil {
				return State{}, err
			}
		}
		if err := s.cfg.Store.ResetBlobs(ctx, ws, t.Name, blobs); err != nil {
			return State{}, err
		}
	}
	return s.cfg.Store.PutTrigger(ctx, st)
}

// sameGrid reports whether an earlier definition had the windows c has,
// so that windows recorded under it still hold.
func sameGrid(old factory.Trigger, c *compiled) bool {
	oc, err := compile(old)
	if err != nil || oc.tumbling == nil {
		return false
	}
	a, b := oc.tumbling, c.tumbling
	return a.freq == b.freq && a.interval == b.interval && a.start.Equal(b.start)
}

// StopTrigger stops a trigger: it fires nothing more, and a tumbling
// window trigger's running windows finish. Errors match store.ErrNotFound
// when the trigger was never started.
func (s *Service) StopTrigger(ctx context.Context, ws, name string) (State, error) {
	st, err := s.cfg.Store.GetTrigger(ctx, ws, name)
	if err != nil || st.RuntimeState == Stopped {
		return st, err
	}
	st.RuntimeState = Stopped
	return s.cfg.Store.PutTrigger(ctx, st)
}

// DeleteTrigger forgets a stopped trigger's state, windows and the blobs
// it has seen; its runs stay. ErrStarted when it is started; nil when it
// was never started.
func (s *Service) DeleteTrigger(ctx context.Context, ws, name string) error {
	st, err := s.cfg.Store.GetTrigger(ctx, ws, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if st.RuntimeState == Started {
		return fmt.Errorf("delete trigger %q: %w; stop it first", name, ErrStarted)
	}
	err = s.cfg.Store.DeleteTrigger(ctx, ws, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// RuntimeState returns Started or Stopped for a trigger; a trigger never
// started is Stopped.
func (s *Service) RuntimeState(ctx context.Context, ws, name string) (string, error) {
	st, err := s.cfg.Store.GetTrigger(ctx, ws, name)
	if errors.Is(err, store.ErrNotFound) {
		return Stopped, nil
	}
	if err != nil {
		return "", err
	}
	return st.RuntimeState, nil
}

// RuntimeStates returns the runtime state of every trigger of workspace ws
// ever started, by name; a trigger not in it is Stopped.
func (s *Service) RuntimeStates(ctx context.Context, ws string) (map[string]string, error) {
	all, err := s.cfg.Store.ListTriggers(ctx, ws)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(all))
	for _, st := range all {
		out[st.Name] = st.RuntimeState
	}
	return out, nil
}

// Runs returns the trigger runs q selects, newest first.
func (s *Service) Runs(ctx context.Context, q RunQuery) ([]Run, error) {
	return s.cfg.Store.ListRuns(ctx, q)
}

// Windows returns a tumbling window trigger's windows, earliest first.
func (s *Service) Windows(ctx context.Context, ws, name string) ([]Window, error) {
	return s.cfg.Store.ListWindows(ctx, ws, name, nil, 0)
}

// RerunWindow runs a finished window of a tumbling window trigger again
// (Data Factory's rerun): it waits again, with its attempts counted anew.
// Errors match store.ErrNotFound when there is no window starting at
// start, and store.ErrConflict when it is waiting or running.
func (s *Service) RerunWindow(ctx context.Context, ws, name string, start time.Time) (Window, error) {
	all, err := s.cfg.Store.ListWindows(ctx, ws, name, []string{WindowSucceeded, WindowFailed}, 0)
	if err != nil {
		return Window{}, err
	}
	for _, w := range all {
		if w.Start.Equal(start) {
			next := w
			next.Status, next.Attempt, next.NotBefore, next.Message = WindowWaiting, 0, time.Time{}, ""
			return next, s.cfg.Store.UpdateWindow(ctx, w, next, nil)
		}
	}
	return Window{}, fmt.Errorf("rerun window %s of trigger %q: no finished window starts then: %w", start.UTC().Format(time.RFC3339), name, store.ErrNotFound)
}
