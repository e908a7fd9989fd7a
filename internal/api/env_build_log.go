package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/ciel-mlops/ciel/internal/engine"
	"github.com/ciel-mlops/ciel/internal/envs"
	"github.com/ciel-mlops/ciel/internal/spec"
	"github.com/ciel-mlops/ciel/internal/store"
)

// maxBuildLog bounds the build log answered: its end, which says how the
// build went, is kept.
const maxBuildLog = 4 << 20

// recentJobsForEnv bounds the jobs searched for how an environment with
// a Docker build context was made concrete.
const recentJobsForEnv = 200

// buildLogs finds environment build logs; *envs.Builder implements it.
type buildLogs interface {
	// LogPath returns where the build of s logs, "" when s builds nothing.
	LogPath(s envs.Spec) string
}

// envBuildLogRoutes adds the build log of an environment version.
func (s *server) envBuildLogRoutes(h func(string, handlerFunc)) {
	if s.envs == nil {
		return
	}
	h("GET /api/v1/workspaces/{ws}/environments/{name}/versions/{version}/build-log", s.envBuildLog)
}

// envBuildLog answers the log of the build of an environment version (the
// virtualenv its conda file makes, shared by every environment with the
// same content) as text; 404 when it was never built here or builds
// nothing.
func (s *server) envBuildLog(w http.ResponseWriter, r *http.Request) (any, error) {
	ws, name, version := r.PathValue("ws"), r.PathValue("name"), r.PathValue("version")
	if _, err := s.workspace(r); err != nil {
		return nil, err
	}
	a, err := s.st.GetAsset(r.Context(), ws, store.KindEnvironment, name, version)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &httpError{status: http.StatusNotFound, code: "NotFound", target: "environment",
			msg: fmt.Sprintf("environment %s:%s not found in workspace %s", name, version, ws)}
	}
	if err != nil {
		return nil, err
	}
	var env spec.Environment
	if err := json.Unmarshal(a.Spec, &env); err != nil {
		return nil, fmt.Errorf("decode environment %s:%s: %w", name, version, err)
	}
	es := envs.Spec{Image: env.Image, CondaFile: env.CondaFile}
	if strings.TrimSpace(env.CondaFile) == "" && env.BuildPath != "" {
		// What a Docker context installs is worked out when a job is
		// planned: read it from the newest job that used this version.
		es = s.plannedEnv(r, ws, name, a.Version, es)
	}
	path := s.envs.LogPath(es)
	if path == "" {
		return nil, &httpError{status: http.StatusNotFound, code: "NotFound", target: "environment",
			msg: fmt.Sprintf("environment %s:%s has no conda file: local compute runs it on the host's Python, so nothing is built", name, a.Version)}
	}
	b, err := readTail(path, maxBuildLog)
	if errors.Is(err, os.ErrNotExist) {
		return nil, &httpError{status: http.StatusNotFound, code: "NotFound", target: "environment",
			msg: fmt.Sprintf("environment %s:%s has not been built on this server yet; it is built when a job or deployment first uses it", name, a.Version)}
	}
	if err != nil {
		return nil, readErr("build log", err)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(b)
	return streamed{}, nil
}

// plannedEnv returns the environment the newest of the workspace's recent
// jobs ran for environment name:version, or def when none did.
func (s *server) plannedEnv(r *http.Request, ws, name, version string, def envs.Spec) envs.Spec {
	jobs, err := s.st.ListJobs(r.Context(), ws, true)
	if err != nil {
		return def
	}
	for _, j := range jobs[:min(len(jobs), recentJobsForEnv)] {
		var p engine.Plan
		if json.Unmarshal(j.Plan, &p) != nil {
			continue
		}
		for _, st := range p.Steps {
			if st.Env.Name == name && st.Env.Version == version && st.Env.CondaFile != "" {
				return envs.Spec{Image: st.Env.Image, CondaFile: st.Env.CondaFile}
			}
		}
	}
	return def
}

// readTail reads the file at path, its last limit bytes when it is larger.
func readTail(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	off := max(0, fi.Size()-limit)
	b := make([]byte, fi.Size()-off)
	n, err := f.ReadAt(b, off)
	if n == len(b) {
		err = nil
	}
	return b[:n], err
}
