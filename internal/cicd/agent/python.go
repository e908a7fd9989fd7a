package agent

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// makeVenv (re)creates the job's virtualenv from python and returns its
// Python version. It uses "uv venv --seed" when uv is on PATH, else
// "python -m venv"; pip is in it either way.
func (r *jobRun) makeVenv(ctx context.Context, python string) (string, error) {
	if err := os.RemoveAll(r.venv); err != nil {
		return "", fmt.Errorf("remove old virtualenv: %w", err)
	}
	var cmd *exec.Cmd
	if uv, err := exec.LookPath("uv"); err == nil && !r.a.cfg.NoUV {
		cmd = exec.CommandContext(ctx, uv, "venv", "--seed", "--quiet", "--python", python, r.venv)
		cmd.Env = append(os.Environ(), "UV_PYTHON_DOWNLOADS=never", "VIRTUAL_ENV=")
	} else {
		cmd = exec.CommandContext(ctx, python, "-m", "venv", r.venv)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%s: %w: %s", strings.Join(cmd.Args, " "), err, strings.TrimSpace(string(out)))
	}
	return pythonVersion(ctx, filepath.Join(r.venv, "bin", "python"))
}

// pythonVersion runs python and returns its version ("3.11.7").
func pythonVersion(ctx context.Context, python string) (string, error) {
	out, err := exec.CommandContext(ctx, python, "-c",
		`import sys; print("%d.%d.%d" % sys.version_info[:3])`).Output()
	if err != nil {
		return "", fmt.Errorf("ask %s its version: %w", python, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// usePythonVersion carries out UsePythonVersion@0: it finds an interpreter
// on PATH matching versionSpec ("3.x", "3.11", "3.10.x", "3.11.4") and
// rebuilds the job's virtualenv from it. When none matches it says so and
// uses the closest one it has, so that the job can go on.
func (r *jobRun) usePythonVersion(ctx context.Context, in map[string]string) error {
	spec := strings.TrimSpace(firstNonEmpty(in["versionspec"], "3.x"))
	want := strings.Split(strings.TrimSuffix(strings.TrimSuffix(spec, ".x"), ".*"), ".")
	if want[0] == "" || want[0] == "x" {
		want = nil
	}
	var cands []string
	if len(want) >= 2 {
		cands = append(cands, "python"+want[0]+"."+want[1])
	}
	if len(want) >= 1 {
		cands = append(cands, "python"+want[0])
	}
	cands = append(cands, r.a.cfg.Python, "python3", "python")
	var fallback, fallbackVer string
	for _, c := range cands {
		path, err := exec.LookPath(c)
		if err != nil {
			continue
		}
		ver, err := pythonVersion(ctx, path)
		if err != nil {
			continue
		}
		if matchVersion(ver, want) {
			r.out.line(fmt.Sprintf("Found tool: Python %s (%s) for version spec %s", ver, path, spec))
			return r.switchPython(ctx, path, ver)
		}
		if fallback == "" {
			fallback, fallbackVer = path, ver
		}
	}
	if fallback == "" {
		return fmt.Errorf("UsePythonVersion: no Python interpreter found on PATH for version spec %s", spec)
	}
	r.out.line(fmt.Sprintf("##[warning]Version spec %s did not match any Python on this machine; using Python %s (%s) instead.",
		spec, fallbackVer, fallback))
	return r.switchPython(ctx, fallback, fallbackVer)
}

// switchPython rebuilds the virtualenv from python unless it already runs
// that version.
func (r *jobRun) switchPython(ctx context.Context, python, ver string) error {
	if ver != r.pyVer {
		got, err := r.makeVenv(ctx, python)
		if err != nil {
			return fmt.Errorf("UsePythonVersion: %w", err)
		}
		r.pyVer = got
	}
	r.vars.set("pythonLocation", r.venv, false)
	r.out.line(fmt.Sprintf("Prepending PATH environment variable with directory: %s", filepath.Join(r.venv, "bin")))
	return nil
}

// matchVersion reports whether ver ("3.11.7") matches the leading parts of
// want (["3","11"]).
func matchVersion(ver string, want []string) bool {
	got := strings.Split(ver, ".")
	for i, w := range want {
		if i >= len(got) || (w != "x" && w != "*" && w != got[i]) {
			return false
		}
	}
	return true
}
