package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/ciel-mlops/ciel/client"
	"github.com/ciel-mlops/ciel/internal/cicd"
	"github.com/ciel-mlops/ciel/internal/cicd/agent"
	"github.com/ciel-mlops/ciel/internal/cicd/githost"
	"github.com/ciel-mlops/ciel/internal/store/sqldb"
)

// gitPrefix is where hosted repositories are served over git's smart HTTP.
const gitPrefix = "/git"

// repoRoutes adds the repositories' resources and, under gitPrefix, git's
// own protocol. Both answer 501 when the machine has no git.
func (s *server) repoRoutes(mux *routeMux, h func(string, handlerFunc)) {
	const base = "/api/v1/workspaces/{ws}/repos"
	h("POST "+base, s.createRepo)
	h("GET "+base, s.listRepos)
	h("GET "+base+"/{name}", s.getRepo)
	h("DELETE "+base+"/{name}", s.deleteRepo)
	mux.Handle(gitPrefix+"/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.repos == nil {
			writeError(w, errNoGit)
			return
		}
		s.repos.ServeHTTP(w, r)
	}))
}

var errNoGit = &httpError{status: http.StatusNotImplemented, code: "NotImplemented",
	msg: "git is not installed on the server's machine; install git and restart ciel to host repositories"}

// reposHost returns the git host after checking the workspace exists.
func (s *server) reposHost(r *http.Request) (*githost.Host, error) {
	if s.repos == nil {
		return nil, errNoGit
	}
	if _, err := s.workspace(r); err != nil {
		return nil, err
	}
	return s.repos, nil
}

// repoError maps the git host's errors to statuses naming the repository.
func repoError(err error, ws, name string) error {
	switch {
	case errors.Is(err, githost.ErrNotFound):
		return &httpError{status: http.StatusNotFound, code: "NotFound", target: "name",
			msg: fmt.Sprintf("repository %q not found in workspace %s; create it with: ciel repos create --name %s", name, ws, name)}
	case errors.Is(err, githost.ErrExists):
		return &httpError{status: http.StatusConflict, code: "Conflict", target: "name",
			msg: fmt.Sprintf("a repository named %q already exists in workspace %s", name, ws)}
	case errors.Is(err, githost.ErrBadName):
		return badRequest("name", "repository name %q: expected 1-%d letters, digits, '_', '.', '-', starting with a letter or digit, not ending in '.' or '.git'",
			name, githost.MaxNameLen)
	}
	return err
}

// repoView shapes a repository as `az repos show` does.
func (s *server) repoView(repo githost.Repo, branches []githost.Branch) client.Repository {
	v := client.Repository{
		ID: repo.Workspace + "/" + repo.Name, Name: repo.Name, Project: client.RepoProject{Name: repo.Workspace},
		DefaultBranch: "refs/heads/" + strings.TrimPrefix(repo.DefaultBranch, "refs/heads/"),
		RemoteURL:     s.base + s.repos.URLPath(repo.Workspace, repo.Name),
		URL:           s.base + "/api/v1/workspaces/" + repo.Workspace + "/repos/" + repo.Name,
	}
	for _, b := range branches {
		v.Branches = append(v.Branches, client.RepoBranch{Name: b.Ref, ObjectID: b.SHA})
	}
	return v
}

func (s *server) createRepo(_ http.ResponseWriter, r *http.Request) (any, error) {
	host, err := s.reposHost(r)
	if err != nil {
		return nil, err
	}
	var in struct {
		Name string `json:"name"`
	}
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	ws := r.PathValue("ws")
	repo, err := host.Create(r.Context(), ws, in.Name)
	if err != nil {
		return nil, repoError(err, ws, in.Name)
	}
	return created{s.repoView(repo, nil)}, nil
}

func (s *server) getRepo(_ http.ResponseWriter, r *http.Request) (any, error) {
	host, err := s.reposHost(r)
	if err != nil {
		return nil, err
	}
	ws, name := r.PathValue("ws"), r.PathValue("name")
	repo, err := host.Get(r.Context(), ws, name)
	if err != nil {
		return nil, repoError(err, ws, name)
	}
	branches, err := host.Branches(r.Context(), ws, name)
	if err != nil {
		return nil, repoError(err, ws, name)
	}
	return s.repoView(repo, branches), nil
}

func (s *server) listRepos(_ http.ResponseWriter, r *http.Request) (any, error) {
	host, err := s.reposHost(r)
	if err != nil {
		return nil, err
	}
	ws := r.PathValue("ws")
	repos, err := host.List(r.Context(), ws)
	if err != nil {
		return nil, repoError(err, ws, "")
	}
	return views(repos, func(repo githost.Repo) client.Repository { return s.repoView(repo, nil) }), nil
}

func (s *server) deleteRepo(_ http.ResponseWriter, r *http.Request) (any, error) {
	host, err := s.reposHost(r)
	if err != nil {
		return nil, err
	}
	ws, name := r.PathValue("ws"), r.PathValue("name")
	if err := host.Delete(r.Context(), ws, name); err != nil {
		return nil, repoError(err, ws, name)
	}
	return map[string]string{"status": "deleted"}, nil
}

// openCICD opens the hosted repositories under Home/git and the pipelines
// run from them, or leaves them nil, saying why, when git is missing: the
// rest of ciel works without it. A push starts the runs it triggers before
// git push returns.
func (s *server) openCICD(localURL string) error {
	cfg := s.cfg
	h, err := githost.New(githost.Config{Dir: filepath.Join(cfg.Home, "git"), Prefix: gitPrefix, Logger: cfg.Logger,
		OnPush: func(ctx context.Context, ev githost.PushEvent) {
			cfg.Logger.Info("git push", "workspace", ev.Workspace, "repo", ev.Repo, "ref", ev.Ref, "old", ev.Old, "new", ev.New)
			if s.cicd != nil {
				s.cicd.OnPush(ctx, ev.Workspace, ev.Repo, ev.Ref, ev.Old, ev.New)
			}
		}})
	if err != nil {
		cfg.Logger.Warn("git repositories and pipelines are off", "err", err)
		return nil
	}
	s.repos = h
	cs, ok := s.st.(interface{ CICD() *sqldb.CICDStore })
	if !ok {
		return nil
	}
	var st cicd.Store = cs.CICD()
	if s.flows != nil {
		st = cicdFeedStore{Store: st, feed: s.flows}
	}
	ac := cicdAgentConfig()
	if ac.ToolsDir, err = writeShims(filepath.Join(cfg.Home, "cicd", "tools"), localURL, cfg.Token); err != nil {
		cfg.Logger.Warn("pipeline steps get no az of ciel's", "err", err)
	}
	if s.cicd, err = cicd.New(cicd.Config{Store: st, Repos: h, Blobs: s.blobs, Dir: filepath.Join(cfg.Home, "cicd"),
		Logger: cfg.Logger, Agent: ac, PollInterval: cicdPollInterval()}); err != nil {
		return err
	}
	return nil
}

// writeShims writes the az and ciel that pipeline steps run (ahead of any
// a step installs): this binary, aimed at this server with its token. It
// returns the folder, or "" and why when this binary cannot be found.
func writeShims(dir, localURL, token string) (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	env := map[string]string{"CIEL_URL": localURL}
	if token != "" {
		env["CIEL_TOKEN"] = token
	}
	if err := agent.WriteAzShim(dir, exe, env); err != nil {
		return "", err
	}
	return dir, nil
}
