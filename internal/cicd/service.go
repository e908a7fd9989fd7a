package cicd

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/ciel-mlops/ciel/internal/blob"
	"github.com/ciel-mlops/ciel/internal/cicd/agent"
	"github.com/ciel-mlops/ciel/internal/cicd/githost"
)

// Repos is the git host runs read from; githost.Host is one.
type Repos interface {
	// Get returns the repository; an error wrapping githost.ErrNotFound
	// when there is none.
	Get(ctx context.Context, ws, name string) (githost.Repo, error)
	// Resolve returns the commit rev (a branch, ref or SHA) names; an
	// error wrapping githost.ErrNotFound when none.
	Resolve(ctx context.Context, ws, name, rev string) (string, error)
	// Checkout writes the commit's files, with a .git, into destDir.
	Checkout(ctx context.Context, ws, name, rev, destDir string) (string, error)
}

// Config configures a Service.
type Config struct {
	Store Store
	Repos Repos
	// Blobs keeps published artifacts as trees.
	Blobs blob.Store
	// Dir holds run logs (Dir/runs/<id>.log), job folders (Dir/agent) and
	// the agent pool's settings (Dir/pool.json).
	Dir    string
	Logger *slog.Logger
	// Agent tunes the job runner (tests shorten its minute); its Dir is
	// set from Dir.
	Agent agent.Config
	// PollInterval is how often external pipelines' repositories are
	// fetched; 0 means DefaultPollInterval.
	PollInterval time.Duration
	// Now is the clock schedules fire by; time.Now when nil. ScheduleTick
	// is how often due schedules are looked for; a second when zero.
	Now          func() time.Time
	ScheduleTick time.Duration
}

// ErrInvalid is what errors for a request the service refuses match.
var ErrInvalid = errors.New("invalid")

// Service keeps pipelines and runs them. Its methods may be called
// concurrently.
type Service struct {
	cfg   Config
	agent *agent.Agent
	log   *slog.Logger
	pool  *agentPool

	mu      sync.Mutex
	batchMu sync.Mutex // orders batched triggers' checks and queueing
	schedMu sync.Mutex // orders schedule state changes
	active  map[int64]context.CancelFunc
	wg      sync.WaitGroup
	ctx     context.Context
	stop    context.CancelFunc
}

// New returns a service; Start resumes what an earlier server left.
func New(cfg Config) (*Service, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	for _, d := range []string{filepath.Join(cfg.Dir, "runs"), filepath.Join(cfg.Dir, "agent")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("cicd: %w", err)
		}
	}
	ac := cfg.Agent
	ac.Dir, ac.Logger = filepath.Join(cfg.Dir, "agent"), cfg.Logger
	ac.GroupsDir = filepath.Join(cfg.Dir, "processes")
	a, err := agent.New(ac)
	if err != nil {
		return nil, fmt.Errorf("cicd: %w", err)
	}
	pool, err := loadPool(filepath.Join(cfg.Dir, "pool.json"))
	if err != nil {
		return nil, fmt.Errorf("cicd: %w", err)
	}
	ctx, stop := context.WithCancel(context.Background())
	return &Service{cfg: cfg, agent: a, log: cfg.Logger, pool: newAgentPool(pool.Parallel),
		active: map[int64]context.CancelFunc{}, ctx: ctx, stop: stop}, nil
}

// Start settles the runs an earlier server left: one it was running is
// failed (the steps it left running are killed first), one still queued
// is started.
func (s *Service) Start(ctx context.Context) error {
	if killed, err := s.agent.KillOrphans(); err != nil {
		s.log.Warn("kill the steps an earlier server left running", "err", err)
	} else if len(killed) > 0 {
		s.log.Info("killed the steps an earlier server left running", "process_groups", killed)
	}
	if err := s.Recover(ctx, true); err != nil {
		return err
	}
	s.startPendingBatches(ctx)
	s.startPolling()
	s.startScheduler()
	return nil
}

// Close cancels the runs in progress and waits for them to record it.
func (s *Service) Close() {
	s.stop()
	s.wg.Wait()
}

// Recover settles the runs no live server runs (with servers sharing one
// store, those of a server that stopped renewing, and with mine this
// server's own from before it started again; alone, all unfinished ones):
// a run that was running is failed, one still queued is started here.
// Start calls it with mine; a server sharing its store calls it again now
// and then without.
func (s *Service) Recover(ctx context.Context, mine bool) error {
	runs, err := s.cfg.Store.ClaimStrandedRuns(ctx, mine)
	if err != nil {
		return fmt.Errorf("resume pipeline runs: %w", err)
	}
	for _, r := range runs {
		if r.Status == StatusNotStarted {
			s.launch(r)
			continue
		}
		r.Result = ResultFailed
		if r.Status == StatusCancelling {
			r.Result = ResultCanceled
		}
		r.Status, r.FinishTime = StatusCompleted, time.Now().UTC()
		r.Error = "the server stopped during the run; run it again with ciel pipelines run"
		for i := range r.Jobs {
			if r.Jobs[i].Status != "completed" {
				r.Jobs[i].Status, r.Jobs[i].Result = "completed", ResultFailed
			}
		}
		if err := s.cfg.Store.UpdateRun(ctx, r); err != nil {
			return fmt.Errorf("resume pipeline run %d: %w", r.ID, err)
		}
	}
	return nil
}

// namePattern is what a pipeline name may be: it names log files and URL
// segments.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// CreatePipeline checks p (its repository must exist, its YAML path be a
// plain relative path) and stores it.
func (s *Service) CreatePipeline(ctx context.Context, p Pipeline) (Pipeline, error) {
	if !namePattern.MatchString(p.Name) {
		return p, fmt.Errorf("%w: pipeline name %q: expected 1-64 letters, digits, '_', '.', '-', starting with a letter or digit", ErrInvalid, p.Name)
	}
	if p.YAMLPath == "" {
		p.YAMLPath = "azure-pipelines.yml"
	}
	clean := path.Clean(strings.TrimPrefix(p.YAMLPath, "/"))
	if !filepath.IsLocal(clean) || strings.ContainsAny(clean, "\\\x00") {
		return p, fmt.Errorf("%w: yaml path %q: expected a path inside the repository", ErrInvalid, p.YAMLPath)
	}
	p.YAMLPath = clean
	if p.RepositoryURL != "" {
		return s.createExternal(ctx, p)
	}
	if _, err := s.cfg.Repos.Get(ctx, p.Workspace, p.Repository); err != nil {
		return p, fmt.Errorf("repository %q: %w", p.Repository, err)
	}
	p.CreatedAt = time.Now().UTC()
	p, err := s.cfg.Store.CreatePipeline(ctx, p)
	if err == nil {
		s.syncAllBranches(ctx, p)
	}
	return p, err
}

// Queue starts a run of pipeline ws/name at branch (its commit now) or at
// commit sha when given; it returns once the run is durable.
func (s *Service) Queue(ctx context.Context, ws, name, branch, sha, reason string, params map[string]string) (Run, error) {
	p, err := s.cfg.Store.GetPipeline(ctx, ws, name)
	if err != nil {
		return Run{}, err
	}
	if branch == "" {
		branch = cmp.Or(p.DefaultBranch, "main")
	}
	ref := "refs/heads/" + strings.TrimPrefix(branch, "refs/heads/")
	if strings.HasPrefix(branch, "refs/tags/") || strings.HasPrefix(branch, "refs/pull/") {
		ref = branch // a pull request's refs/pull/<n>/merge is kept as is
	}
	if sha == "" {
		if sha, err = s.cfg.Repos.Resolve(ctx, ws, p.Repository, ref); err != nil {
			return Run{}, fmt.Errorf("%w: branch %q of repository %q: %v", ErrInvalid, branch, p.Repository, err)
		}
	}
	return s.enqueue(ctx, Run{Workspace: ws, Pipeline: name, Reason: reason,
		SourceBranch: ref, SourceVersion: sha, Parameters: params})
}

// enqueue stores r, not started and queued now, and runs it in the
// background.
func (s *Service) enqueue(ctx context.Context, r Run) (Run, error) {
	r.Status, r.QueueTime = StatusNotStarted, time.Now().UTC()
	r, err := s.cfg.Store.CreateRun(ctx, r)
	if err != nil {
		return r, fmt.Errorf("queue run of %s: %w", r.Pipeline, err)
	}
	s.launch(r)
	return r, nil
}

// launch runs r in the background.
func (s *Service) launch(r Run) {
	ctx, cancel := context.WithCancel(s.ctx)
	s.mu.Lock()
	s.active[r.ID] = cancel
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() {
			s.mu.Lock()
			delete(s.active, r.ID)
			s.mu.Unlock()
			cancel()
		}()
		s.execute(ctx, r)
		s.runBatched(r)
	}()
}

// Cancel asks run id of ws to stop; a finished run is returned as it is.
func (s *Service) Cancel(ctx context.Context, ws string, id int64) (Run, error) {
	r, err := s.cfg.Store.GetRun(ctx, ws, id)
	if err != nil || r.Status == StatusCompleted {
		return r, err
	}
	s.mu.Lock()
	cancel := s.active[id]
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	r.Status = StatusCancelling
	return r, nil
}

// LogPath is where run id's log is kept.
func (s *Service) LogPath(id int64) string {
	return filepath.Join(s.cfg.Dir, "runs", fmt.Sprintf("%d.log", id))
}

// JobLogPath is where the log of the job at index job of run id's
// timeline is kept: the same lines as the run's log has for that job.
func (s *Service) JobLogPath(id int64, job int) string {
	return filepath.Join(s.cfg.Dir, "runs", fmt.Sprintf("%d.job%d.log", id, job))
}

// Store returns the service's store, for reads.
func (s *Service) Store() Store { return s.cfg.Store }

// variableNamePattern is what a variable group's variable may be named.
var variableNamePattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,256}$`)

// CreateVariableGroup checks g's name and variables and stores it.
func (s *Service) CreateVariableGroup(ctx context.Context, g VariableGroup) (VariableGroup, error) {
	if !namePattern.MatchString(g.Name) {
		return g, fmt.Errorf("%w: variable group name %q: expected 1-64 letters, digits, '_', '.', '-', starting with a letter or digit", ErrInvalid, g.Name)
	}
	for k := range g.Variables {
		if !variableNamePattern.MatchString(k) {
			return g, fmt.Errorf("%w: variable name %q: expected letters, digits, '_', '.', '-'", ErrInvalid, k)
		}
	}
	g.CreatedAt = time.Now().UTC()
	return s.cfg.Store.CreateVariableGroup(ctx, g)
}
