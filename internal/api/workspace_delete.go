package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/ciel-mlops/ciel/internal/engine"
	"github.com/ciel-mlops/ciel/internal/spec"
)

// Deleting a workspace stops everything that works for it before its
// records go: its running jobs are canceled (their processes killed), its
// endpoints stop answering (old keys included) and their workers stop, its
// CI pipeline runs are canceled. Then its records are deleted and its
// folders under CIEL_HOME removed.
//
// Each kind of work registers an "on workspace delete" cleanup with
// onWorkspaceDelete; a new kind (schedules, ...) adds its own the same way
// where the server is built (Serve), and it runs before the records go.

// workspaceCleanup stops one kind of work of a workspace being deleted.
type workspaceCleanup struct {
	what string // for errors: "jobs", "online endpoints", ...
	// stop stops the work of ws and removes what it keeps outside the
	// store. It is called before the workspace's records are deleted, so
	// it can still read them; an error keeps the workspace (the delete
	// can be retried).
	stop func(ctx context.Context, ws string) error
}

// workspaceDeleteTimeout bounds the cleanups of one delete: draining an
// endpoint waits for the requests it holds.
const workspaceDeleteTimeout = 90 * time.Second

// onWorkspaceDelete registers stop to run, in registration order, when a
// workspace is deleted.
func (s *server) onWorkspaceDelete(what string, stop func(ctx context.Context, ws string) error) {
	s.wsCleanups = append(s.wsCleanups, workspaceCleanup{what: what, stop: stop})
}

// registerWorkspaceCleanups registers the cleanups of the parts the server
// has: jobs, online endpoints, CI pipeline runs and git repositories.
func (s *server) registerWorkspaceCleanups() {
	// Schedules first, so that none fires a job while the rest stop.
	s.onWorkspaceDelete("schedules", s.disableWorkspaceSchedules)
	if s.eng != nil {
		s.onWorkspaceDelete("jobs", s.cancelWorkspaceJobs)
	}
	if s.serving != nil {
		s.onWorkspaceDelete("online endpoints", s.serving.DeleteWorkspace)
	}
	if s.cicd != nil {
		s.onWorkspaceDelete("pipeline runs", s.cicd.StopWorkspace)
	}
	if s.repos != nil {
		s.onWorkspaceDelete("git repositories", s.deleteWorkspaceRepos)
	}
}

// disableWorkspaceSchedules disables every schedule of ws; their records
// go with the workspace's.
func (s *server) disableWorkspaceSchedules(ctx context.Context, ws string) error {
	if s.schedules == nil {
		return nil
	}
	list, err := s.schedules.List(ctx, ws)
	if err != nil {
		return err
	}
	for _, sc := range list {
		if _, err := s.schedules.SetEnabled(ctx, ws, sc.Name, false); err != nil {
			return fmt.Errorf("disable schedule %s: %w", sc.Name, err)
		}
	}
	return nil
}

// cancelWorkspaceJobs cancels every unfinished job of ws and waits until
// its steps' processes are gone.
func (s *server) cancelWorkspaceJobs(ctx context.Context, ws string) error {
	jobs, err := s.st.ListJobs(ctx, ws, true)
	if err != nil {
		return err
	}
	var errs []error
	for _, j := range jobs {
		if engine.Terminal(j.Status) {
			continue
		}
		if _, err := s.eng.Cancel(ctx, ws, j.Name); err != nil {
			errs = append(errs, fmt.Errorf("cancel job %s: %w", j.Name, err))
		}
	}
	return errors.Join(errs...)
}

// deleteWorkspaceRepos deletes the git repositories ciel hosts for ws.
func (s *server) deleteWorkspaceRepos(ctx context.Context, ws string) error {
	repos, err := s.repos.List(ctx, ws)
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range repos {
		if err := s.repos.Delete(ctx, ws, r.Name); err != nil {
			errs = append(errs, fmt.Errorf("delete repository %s: %w", r.Name, err))
		}
	}
	return errors.Join(errs...)
}

// workspaceDirs are the folders under CIEL_HOME that hold only ws's files:
// its jobs' step folders, its MLflow artifacts and its default datastores
// (a local datastore the user created lies outside CIEL_HOME and stays).
// (Blobs are content-addressed and shared between workspaces; they stay.)
func (s *server) workspaceDirs(ws string) ([]string, error) {
	if s.cfg.Home == "" {
		return nil, nil
	}
	if err := spec.CheckName("workspace", ws); err != nil {
		return nil, err
	}
	var dirs []string
	for _, parent := range []string{"jobs", "mlartifacts", "datastores"} {
		root := filepath.Join(s.cfg.Home, parent)
		dir := filepath.Join(root, ws)
		if rel, err := filepath.Rel(root, dir); err != nil || rel != ws {
			return nil, fmt.Errorf("workspace folder %q escapes %s", ws, root)
		}
		dirs = append(dirs, dir)
	}
	return dirs, nil
}

// deleteWorkspace stops the workspace's work, deletes its records and
// removes its folders.
func (s *server) deleteWorkspace(_ http.ResponseWriter, r *http.Request) (any, error) {
	if _, err := s.workspace(r); err != nil {
		return nil, err
	}
	ws := r.PathValue("ws")
	dirs, err := s.workspaceDirs(ws)
	if err != nil {
		return nil, err
	}
	// The cleanups outlive a client that gives up waiting: half a stop
	// is worse than a late answer.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), workspaceDeleteTimeout)
	defer cancel()
	for _, c := range s.wsCleanups {
		if err := c.stop(ctx, ws); err != nil {
			return nil, fmt.Errorf("delete workspace %q: stop its %s: %w", ws, c.what, err)
		}
	}
	if err := s.st.DeleteWorkspace(ctx, ws); err != nil {
		return nil, err
	}
	for _, d := range dirs {
		if err := os.RemoveAll(d); err != nil {
			s.log.Warn("workspace deleted, but a folder of it stays", "workspace", ws, "dir", d, "err", err)
		}
	}
	return map[string]string{"status": "deleted"}, nil
}
