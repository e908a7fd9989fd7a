package cicd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/ciel-mlops/ciel/internal/cicd/azp"
	"github.com/ciel-mlops/ciel/internal/cicd/githost"
	"github.com/ciel-mlops/ciel/internal/store"
)

// ReasonSchedule is the reason of a run a schedules: entry started.
const ReasonSchedule = "schedule"

// ScheduleState is where one cron of a pipeline's schedules: stands on one
// branch: when it fires next and the commit its last run was of. It is kept
// so that a restarted server neither misses nor repeats a firing.
type ScheduleState struct {
	Workspace string
	Pipeline  string
	Branch    string // refs/heads/main
	Cron      string // as written in the YAML
	NextFire  time.Time
	LastSHA   string // "" until the schedule has started a run
}

// ScheduleStore keeps schedule states. Its methods may be called
// concurrently.
type ScheduleStore interface {
	// ListSchedules returns the states of pipeline ws/pipeline, by branch
	// and cron.
	ListSchedules(ctx context.Context, ws, pipeline string) ([]ScheduleState, error)
	// DueSchedules returns the states of every workspace whose NextFire is
	// not after now, soonest first.
	DueSchedules(ctx context.Context, now time.Time) ([]ScheduleState, error)
	// AddSchedule stores st unless a state of its pipeline, branch and
	// cron exists, which is kept as it is.
	AddSchedule(ctx context.Context, st ScheduleState) error
	// DeleteSchedule deletes the state of st's pipeline, branch and cron;
	// none is no error.
	DeleteSchedule(ctx context.Context, st ScheduleState) error
	// FireSchedule sets the NextFire and LastSHA of st's state and, when r
	// is not nil, creates run *r, in one transaction: a server that stops
	// at any point has done both or neither. It returns the run created
	// (zero when r is nil); an error wrapping store.ErrNotFound when the
	// state is gone.
	FireSchedule(ctx context.Context, st ScheduleState, r *Run) (Run, error)
}

// cronParser reads the five fields Azure's schedules take (minute hour
// day-of-month month day-of-week); no seconds, no @descriptors.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)

// ParseCron parses a schedules: cron. Times are UTC, as in Azure.
func ParseCron(spec string) (cron.Schedule, error) {
	s, err := cronParser.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("%w: cron %q: %v", ErrInvalid, spec, err)
	}
	if ss, ok := s.(*cron.SpecSchedule); ok {
		ss.Location = time.UTC
	}
	return s, nil
}

// scheduleFire is what a due schedule does.
type scheduleFire struct {
	run  bool      // start a run of the branch's head
	next time.Time // the state's next fire time
}

// decideFire says what schedule sc, whose state is st, does at now with
// the branch at commit head. A schedule not due does nothing. A due one
// fires once however many of its times passed (a server that was down
// catches up with one run, not one per missed time), then waits for its
// first time after now; with always: false it starts no run when the
// branch has not changed since its last run.
func decideFire(st ScheduleState, sc cron.Schedule, always bool, head string, now time.Time) scheduleFire {
	if st.NextFire.After(now) {
		return scheduleFire{next: st.NextFire}
	}
	return scheduleFire{run: always || head != st.LastSHA, next: sc.Next(now.UTC())}
}

// scheduleMatches reports whether schedule sc applies to branch ref: its
// branches include it (none listed: no branch, as Azure requires an
// include) and do not exclude it.
func scheduleMatches(sc azp.Schedule, ref string) bool {
	if len(sc.Branches.Include) == 0 {
		return false
	}
	return TriggerMatches(&azp.Trigger{Branches: sc.Branches}, ref)
}

func (s *Service) now() time.Time {
	if s.cfg.Now != nil {
		return s.cfg.Now().UTC()
	}
	return time.Now().UTC()
}

// readSchedules returns the schedules: of p's YAML at commit sha of ref;
// none when the commit has no YAML.
func (s *Service) readSchedules(ctx context.Context, p Pipeline, ref, sha string) ([]azp.Schedule, error) {
	dir, err := os.MkdirTemp(filepath.Join(s.cfg.Dir, "agent"), "schedules-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if _, err := s.cfg.Repos.Checkout(ctx, p.Workspace, p.Repository, sha, filepath.Join(dir, "s")); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, "s", filepath.FromSlash(p.YAMLPath))); err != nil {
		return nil, nil
	}
	pl, err := azp.Config{Variables: map[string]string{"Build.SourceBranch": ref,
		"Build.SourceBranchName": path.Base(ref), "Build.Reason": "Schedule"}}.Expand(os.DirFS(filepath.Join(dir, "s")), p.YAMLPath, nil)
	if err != nil {
		return nil, err
	}
	return pl.Schedules, nil
}

// SyncSchedules makes p's schedule states on branch ref agree with the
// schedules: of its YAML at commit sha: a cron that now applies gets a
// state firing at its next time, one that no longer applies loses its
// state, and one that stays keeps its next fire time. It is called on
// every push, when a pipeline is created and when a schedule fires.
func (s *Service) SyncSchedules(ctx context.Context, p Pipeline, ref, sha string) error {
	scheds, err := s.readSchedules(ctx, p, ref, sha)
	if err != nil {
		return fmt.Errorf("read schedules of %s at %s: %w", p.Name, ref, err)
	}
	return s.syncSchedules(ctx, p, ref, scheds)
}

func (s *Service) syncSchedules(ctx context.Context, p Pipeline, ref string, scheds []azp.Schedule) error {
	s.schedMu.Lock()
	defer s.schedMu.Unlock()
	want := map[string]bool{}
	now := s.now()
	var errs []error
	for _, sc := range scheds {
		if !scheduleMatches(sc, ref) || want[sc.Cron] {
			continue
		}
		c, err := ParseCron(sc.Cron)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		want[sc.Cron] = true
		st := ScheduleState{Workspace: p.Workspace, Pipeline: p.Name, Branch: ref, Cron: sc.Cron, NextFire: c.Next(now)}
		if err := s.cfg.Store.AddSchedule(ctx, st); err != nil {
			errs = append(errs, err)
		}
	}
	have, err := s.cfg.Store.ListSchedules(ctx, p.Workspace, p.Name)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, st := range have {
		if st.Branch == ref && !want[st.Cron] {
			errs = append(errs, s.cfg.Store.DeleteSchedule(ctx, st))
		}
	}
	return errors.Join(errs...)
}

// syncAllBranches reads p's schedules on every branch of its repository.
func (s *Service) syncAllBranches(ctx context.Context, p Pipeline) {
	bl, ok := s.cfg.Repos.(interface {
		Branches(ctx context.Context, ws, name string) ([]githost.Branch, error)
	})
	if !ok {
		return
	}
	branches, err := bl.Branches(ctx, p.Workspace, p.Repository)
	if err != nil {
		s.log.Warn("schedules: list branches", "pipeline", p.Name, "err", err)
		return
	}
	for _, b := range branches {
		if err := s.SyncSchedules(ctx, p, b.Ref, b.SHA); err != nil {
			s.log.Warn("schedules", "pipeline", p.Name, "branch", b.Ref, "err", err)
		}
	}
}

// FireSchedules starts the scheduled runs due at the service's clock: each
// due state fires once, reading the schedule from the YAML of its branch's
// head. The service's scheduler calls it every second; tests call it with
// their own clock.
func (s *Service) FireSchedules(ctx context.Context) error {
	due, err := s.cfg.Store.DueSchedules(ctx, s.now())
	if err != nil {
		return fmt.Errorf("schedules: %w", err)
	}
	var errs []error
	for _, st := range due {
		if err := s.fire(ctx, st); err != nil {
			errs = append(errs, fmt.Errorf("schedule %q of %s on %s: %w", st.Cron, st.Pipeline, st.Branch, err))
		}
	}
	return errors.Join(errs...)
}

// fire handles one due state.
func (s *Service) fire(ctx context.Context, st ScheduleState) error {
	p, err := s.cfg.Store.GetPipeline(ctx, st.Workspace, st.Pipeline)
	if errors.Is(err, store.ErrNotFound) {
		return s.cfg.Store.DeleteSchedule(ctx, st)
	} else if err != nil {
		return err
	}
	head, err := s.cfg.Repos.Resolve(ctx, p.Workspace, p.Repository, st.Branch)
	if err != nil { // the branch is gone: so is its schedule
		s.log.Info("schedule's branch is gone", "pipeline", p.Name, "branch", st.Branch, "err", err)
		return s.cfg.Store.DeleteSchedule(ctx, st)
	}
	scheds, err := s.readSchedules(ctx, p, st.Branch, head)
	var sc *azp.Schedule
	for i := range scheds {
		if scheds[i].Cron == st.Cron && scheduleMatches(scheds[i], st.Branch) {
			sc = &scheds[i]
			break
		}
	}
	c, cerr := ParseCron(st.Cron)
	if err != nil || cerr != nil {
		// A YAML that no longer parses keeps the schedule it had, waiting
		// for a commit that fixes it.
		if cerr != nil {
			return s.cfg.Store.DeleteSchedule(ctx, st)
		}
		st.NextFire = c.Next(s.now())
		_, ferr := s.cfg.Store.FireSchedule(ctx, st, nil)
		return errors.Join(err, ferr)
	}
	if sc == nil {
		return s.syncSchedules(ctx, p, st.Branch, scheds)
	}
	s.schedMu.Lock()
	d := decideFire(st, c, sc.Always, head, s.now())
	st.NextFire = d.next
	var r *Run
	if d.run {
		st.LastSHA = head
		r = &Run{Workspace: p.Workspace, Pipeline: p.Name, Status: StatusNotStarted, Reason: ReasonSchedule,
			SourceBranch: st.Branch, SourceVersion: head, QueueTime: s.now()}
	}
	run, err := s.cfg.Store.FireSchedule(ctx, st, r)
	s.schedMu.Unlock()
	if err != nil {
		return err
	}
	if r != nil {
		s.log.Info("schedule started a run", "pipeline", p.Name, "schedule", sc.DisplayName, "cron", sc.Cron,
			"branch", st.Branch, "run", run.ID)
		s.launch(run)
	}
	return s.syncSchedules(ctx, p, st.Branch, scheds)
}

// scheduleLoop fires due schedules every tick until the service closes.
func (s *Service) scheduleLoop() {
	defer s.wg.Done()
	tick := s.cfg.ScheduleTick
	if tick <= 0 {
		tick = time.Second
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		if err := s.FireSchedules(s.ctx); err != nil && s.ctx.Err() == nil {
			s.log.Warn("scheduled runs", "err", err)
		}
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// startScheduler starts scheduleLoop; the first pass fires, once each,
// the schedules whose time passed while no server ran.
func (s *Service) startScheduler() {
	s.wg.Add(1)
	go s.scheduleLoop()
}

// onPushSchedules re-reads, in the background so that git push does not
// wait for it, the schedules of repo's pipelines on the pushed branch.
func (s *Service) onPushSchedules(pipelines []Pipeline, repo, ref, sha string) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for _, p := range pipelines {
			if p.Repository != repo {
				continue
			}
			if err := s.SyncSchedules(s.ctx, p, ref, sha); err != nil && s.ctx.Err() == nil {
				s.log.Warn("push: schedules", "pipeline", p.Name, "ref", ref, "err", err)
			}
		}
	}()
}
