package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ciel-mlops/ciel/internal/cicd/azp"
)

// stepState collects what a running step reported through logging commands.
// Its fields are written from the step's stdout and stderr readers.
type stepState struct {
	mu       sync.Mutex
	idx      int
	name     string // the step's name, prefix of its output variables
	complete string // ##vso[task.complete result=...], lower-cased
	uploads  []upload
	issues   []Issue
	stderr   bool // anything was written to stderr
}

// upload is one ##vso[artifact.upload].
type upload struct{ artifact, path string }

// procSpec is a process a step runs.
type procSpec struct {
	tool         string // what failure messages call it: "Bash", "Python"
	args         []string
	dir          string
	env          []string
	failOnStderr bool
}

// runProcess runs p in its own process group, streams its output through
// the logging-command reader into the log and returns its exit code. When
// ctx ends the group gets SIGTERM, then SIGKILL after the kill grace.
func (r *jobRun) runProcess(ctx context.Context, st *stepState, p procSpec) (int, error) {
	cmd := exec.CommandContext(ctx, p.args[0], p.args[1:]...)
	cmd.Dir = p.dir
	cmd.Env = p.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	grace := r.a.cfg.KillGrace
	cmd.Cancel = func() error {
		pid := cmd.Process.Pid
		_ = syscall.Kill(-pid, syscall.SIGTERM)
		time.AfterFunc(grace, func() { _ = syscall.Kill(-pid, syscall.SIGKILL) })
		return nil
	}
	cmd.WaitDelay = grace + 2*time.Second
	stdout := &lineWriter{emit: func(l string) { r.handleLine(st, l) }}
	stderr := &lineWriter{emit: func(l string) {
		st.mu.Lock()
		st.stderr = true
		st.mu.Unlock()
		r.handleLine(st, l)
	}}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		return -1, fmt.Errorf("start %s: %w", p.tool, err)
	}
	r.mu.Lock()
	r.pgids = append(r.pgids, cmd.Process.Pid)
	r.mu.Unlock()
	r.a.recordGroup(cmd.Process.Pid)
	err := cmd.Wait()
	stdout.flush()
	stderr.flush()
	code := -1
	if cmd.ProcessState != nil {
		code = cmd.ProcessState.ExitCode()
	}
	switch {
	case ctx.Err() != nil:
		return code, ctx.Err()
	case code != 0:
		//lint:ignore ST1005 Azure Pipelines' own message, word for word, which logs and users grep for
		return code, fmt.Errorf("%s exited with code '%d'.", p.tool, code)
	case err != nil && !errors.Is(err, exec.ErrWaitDelay):
		return code, fmt.Errorf("%s: %w", p.tool, err)
	}
	st.mu.Lock()
	wroteStderr := st.stderr
	st.mu.Unlock()
	if p.failOnStderr && wroteStderr {
		//lint:ignore ST1005 Azure Pipelines' own message, word for word
		return code, fmt.Errorf("%s wrote one or more lines to the standard error stream.", p.tool)
	}
	return code, nil
}

// cleanupProcesses kills what is left of every step's process group, as
// Azure's agent does at the end of a job.
func (r *jobRun) cleanupProcesses() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, pgid := range r.pgids {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		r.a.forgetGroup(pgid)
	}
	r.pgids = nil
}

// stepEnv is the environment of a step's process: the host's, the agent's
// ToolsDir, then the prepended paths and the job's virtualenv first on PATH, the variables named by
// azp.EnvName, then the step's env: (macro-expanded).
func (r *jobRun) stepEnv(stepEnv map[string]string) []string {
	m := map[string]string{}
	var order []string
	put := func(k, v string) {
		if _, ok := m[k]; !ok {
			order = append(order, k)
		}
		m[k] = v
	}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "VIRTUAL_ENV", "PYTHONHOME", "CONDA_PREFIX", "PYENV_VERSION":
			continue
		}
		put(k, v)
	}
	for _, kv := range r.vars.env() {
		k, v, _ := strings.Cut(kv, "=")
		if k == "PATH" {
			continue
		}
		put(k, v)
	}
	r.mu.Lock()
	var path []string
	if r.a.cfg.ToolsDir != "" {
		path = append(path, r.a.cfg.ToolsDir)
	}
	path = append(append(path, r.pathPre...), filepath.Join(r.venv, "bin"))
	r.mu.Unlock()
	if host := m["PATH"]; host != "" {
		path = append(path, host)
	}
	put("PATH", strings.Join(path, string(os.PathListSeparator)))
	put("VIRTUAL_ENV", r.venv)
	for k, v := range stepEnv {
		put(k, azp.ExpandMacros(v, r.vars.lookup))
	}
	out := make([]string, 0, len(order))
	for _, k := range order {
		out = append(out, k+"="+m[k])
	}
	return out
}

// lineWriter cuts what a process writes into lines.
type lineWriter struct {
	mu   sync.Mutex
	buf  []byte
	emit func(string)
}

// Write emits every complete line in p and keeps the rest.
func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.emit(strings.TrimSuffix(string(w.buf[:i]), "\r"))
		w.buf = w.buf[i+1:]
	}
	// A very long line without a newline is emitted in pieces.
	if len(w.buf) > 64<<10 {
		w.emit(string(w.buf))
		w.buf = nil
	}
	return len(p), nil
}

// flush emits a last line that had no newline.
func (w *lineWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.emit(string(w.buf))
		w.buf = nil
	}
}
