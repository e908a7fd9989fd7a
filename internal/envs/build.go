package envs

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// markerName is the file, inside an environment, whose presence says the
// build finished. It is written last, synced, and renamed into place.
const markerName = "ciel-env.json"

// marker is the content of markerName: what was built, for Ensure and for
// whoever looks at the directory.
type marker struct {
	Version       string    `json:"version"`
	Key           string    `json:"key"`
	Interpreter   string    `json:"interpreter"`
	PythonVersion string    `json:"python_version"`
	Installer     string    `json:"installer"`
	Requirements  []string  `json:"requirements"`
	Notes         []string  `json:"notes,omitempty"`
	BuiltAt       time.Time `json:"built_at"`
	BuildSeconds  float64   `json:"build_seconds"`
}

// BuildError is a failed environment build. Its message carries the tail of
// the installer's output; Log is the full build log.
type BuildError struct {
	Key  string   // the environment's key
	Log  string   // path of the full build log
	Tail []string // last lines of the build output
	Err  error    // what failed
}

func (e *BuildError) Error() string {
	return fmt.Sprintf("build environment %s: %v (full log: %s); last output:\n%s",
		e.Key[:12], e.Err, e.Log, strings.Join(e.Tail, "\n"))
}

func (e *BuildError) Unwrap() error { return e.Err }

// ensureOnDisk returns the environment for key from Dir, building it under
// the cross-process lock when it is missing or was left half-built.
func (b *Builder) ensureOnDisk(ctx context.Context, key string, conda condaEnv, progress io.Writer) (Env, error) {
	if env, ok := b.loadMarker(key); ok {
		return env, nil
	}
	if err := os.MkdirAll(b.dir, 0o700); err != nil {
		return Env{}, fmt.Errorf("create environments dir: %w", err)
	}
	unlock, err := lockFile(ctx, filepath.Join(b.dir, key+".lock"), func() {
		fmt.Fprintf(progress, "waiting for environment %s, being built by another process\n", key[:12])
	})
	if err != nil {
		return Env{}, fmt.Errorf("lock environment %s: %w", key[:12], err)
	}
	defer unlock()
	if env, ok := b.loadMarker(key); ok {
		return env, nil
	}
	return b.build(ctx, key, conda, progress)
}

// loadMarker reads the marker of a finished environment.
func (b *Builder) loadMarker(key string) (Env, bool) {
	venv := filepath.Join(b.dir, key)
	data, err := os.ReadFile(filepath.Join(venv, markerName))
	if err != nil {
		return Env{}, false
	}
	var m marker
	if json.Unmarshal(data, &m) != nil || m.Version != builderVersion || m.Key != key {
		return Env{}, false
	}
	env := venvEnv(key, venv, m.Notes)
	if _, err := os.Stat(env.Python); err != nil {
		return Env{}, false // the base interpreter went away: rebuild
	}
	return env, true
}

func venvEnv(key, venv string, notes []string) Env {
	bin := filepath.Join(venv, "bin")
	return Env{Key: key, Python: filepath.Join(bin, "python"), BinDir: bin, VirtualEnv: venv, Notes: notes}
}

// build creates the virtualenv in place; the caller holds the lock. The
// environment is built at its final path rather than renamed there, because
// virtualenvs hard-code their path in scripts' shebang lines.
func (b *Builder) build(ctx context.Context, key string, conda condaEnv, progress io.Writer) (env Env, err error) {
	b.builds.Add(1)
	start := time.Now()
	venv := filepath.Join(b.dir, key)
	logPath := filepath.Join(b.dir, key+".log")
	if err := os.RemoveAll(venv); err != nil { // a crashed build's remains
		return Env{}, fmt.Errorf("remove incomplete environment: %w", err)
	}
	logFile, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return Env{}, fmt.Errorf("create build log: %w", err)
	}
	defer logFile.Close()
	tail := &tailWriter{max: 20}
	out := io.MultiWriter(logFile, tail, bestEffort{progress})
	defer func() {
		if err != nil {
			os.RemoveAll(venv)
			fmt.Fprintf(logFile, "build failed: %v\n", err)
			if ctx.Err() == nil {
				err = &BuildError{Key: key, Log: logPath, Tail: tail.lines(), Err: err}
			}
			b.logger.Warn("environment build failed", "key", key, "err", err)
		}
	}()

	fmt.Fprintf(out, "building environment %s (%s) ...\n", key[:12], summarize(conda.Requirements))
	b.logger.Info("building environment", "key", key, "requirements", conda.Requirements)
	interp, pyNote, err := b.pickInterpreter(ctx, conda.Python)
	if err != nil {
		return Env{}, err
	}
	notes := slices.Clone(conda.Notes)
	if pyNote != "" {
		notes = append([]string{pyNote}, notes...)
	}
	for _, n := range notes {
		fmt.Fprintf(out, "note: %s\n", n)
	}
	tool, err := b.installer(ctx)
	if err != nil {
		return Env{}, err
	}
	fmt.Fprintf(out, "using python %s (%s) with %s\n", interp.Version, interp.Path, tool.name)

	if err := b.run(ctx, out, "create virtualenv", tool.venvArgs(interp.Path, venv)); err != nil {
		return Env{}, err
	}
	env = venvEnv(key, venv, notes)
	if len(conda.Requirements) > 0 {
		reqPath := filepath.Join(venv, "requirements.txt")
		if err := os.WriteFile(reqPath, []byte(strings.Join(conda.Requirements, "\n")+"\n"), 0o600); err != nil {
			return Env{}, fmt.Errorf("write requirements: %w", err)
		}
		if err := b.run(ctx, out, "install requirements", tool.installArgs(env.Python, reqPath)); err != nil {
			return Env{}, err
		}
	}
	// The server's umask keeps what it writes private, but venv and pip
	// set some modes of their own (activate scripts 0644, entry points
	// 0755); the environment is the user's alone, like the rest of the home.
	if err := makePrivate(venv); err != nil {
		return Env{}, fmt.Errorf("make environment private: %w", err)
	}
	elapsed := time.Since(start)
	m := marker{
		Version: builderVersion, Key: key, Interpreter: interp.Path, PythonVersion: interp.Version.String(),
		Installer: tool.name, Requirements: conda.Requirements, Notes: notes,
		BuiltAt: time.Now().UTC(), BuildSeconds: elapsed.Seconds(),
	}
	if err := writeMarker(filepath.Join(venv, markerName), m); err != nil {
		return Env{}, err
	}
	fmt.Fprintf(out, "environment ready in %.1fs\n", elapsed.Seconds())
	b.logger.Info("environment ready", "key", key, "python", interp.Version.String(), "elapsed", elapsed)
	return env, nil
}

// makePrivate clears the group and other bits of every file and folder
// under dir. Symbolic links (the venv's python) have no mode of their own.
func makePrivate(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink != 0 {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			return os.Chmod(p, perm&^0o077)
		}
		return nil
	})
}

// writeMarker writes m durably: temp file, fsync, rename, fsync of the dir.
func writeMarker(path string, m marker) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encode marker: %w", err)
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write marker: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return fmt.Errorf("write marker: %w", err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// run runs one installer step, its output going to out.
func (b *Builder) run(ctx context.Context, out io.Writer, step string, argv []string) error {
	fmt.Fprintf(out, "$ %s\n", strings.Join(argv, " "))
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = b.dir // keep uv from picking up a project or uv.toml from our cwd
	cmd.Env = installerEnviron(os.Environ())
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 5 * time.Second
	setProcessGroup(cmd)
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", step, ctx.Err())
		}
		return fmt.Errorf("%s: %w", step, err)
	}
	return nil
}

// installerEnviron keeps installers from downloading interpreters, colouring
// output or touching an active virtualenv or conda env.
func installerEnviron(base []string) []string {
	out := make([]string, 0, len(base)+4)
	for _, kv := range base {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONHOME", "UV_PYTHON", "UV_SYSTEM_PYTHON", "PIP_REQUIRE_VIRTUALENV":
			continue
		}
		out = append(out, kv)
	}
	return append(out, "UV_PYTHON_DOWNLOADS=never", "NO_COLOR=1", "PIP_DISABLE_PIP_VERSION_CHECK=1", "PIP_NO_INPUT=1")
}

// installer is the tool that creates virtualenvs and installs into them.
type installer struct {
	name string   // for humans: "uv 0.13.9" or "venv + pip"
	uv   []string // argv prefix running uv; nil for python -m venv + pip
}

func (t installer) venvArgs(python, dir string) []string {
	if t.uv == nil {
		return []string{python, "-m", "venv", dir}
	}
	// --seed: conda environments have pip, and scripts call it.
	return append(slices.Clone(t.uv), "venv", "--seed", "--python", python, dir)
}

func (t installer) installArgs(venvPython, reqFile string) []string {
	if t.uv == nil {
		return []string{venvPython, "-m", "pip", "install", "--disable-pip-version-check", "-r", reqFile}
	}
	return append(slices.Clone(t.uv), "pip", "install", "--python", venvPython, "-r", reqFile)
}

// installer finds uv (on PATH, then as python3 -m uv) once, falling back to
// python -m venv and pip.
func (b *Builder) installer(ctx context.Context) (installer, error) {
	b.toolsMu.Lock()
	defer b.toolsMu.Unlock()
	if b.tool != nil {
		return *b.tool, nil
	}
	t := installer{name: "venv + pip"}
	if !b.noUV {
		var candidates [][]string
		if p, err := b.lookPath("uv"); err == nil {
			candidates = append(candidates, []string{p})
		}
		if p, err := b.host(); err == nil {
			candidates = append(candidates, []string{p, "-m", "uv"})
		}
		for _, argv := range candidates {
			cmd := exec.CommandContext(ctx, argv[0], append(slices.Clone(argv[1:]), "--version")...)
			if v, err := cmd.Output(); err == nil {
				t = installer{name: strings.TrimSpace(string(v)), uv: argv}
				break
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return installer{}, err // do not remember a choice made while cancelled
	}
	b.tool = &t
	return t, nil
}

type probeResult struct {
	interp interpreter
	err    error
}

// probe runs probePython once per path.
func (b *Builder) probe(ctx context.Context, path string) (interpreter, error) {
	b.toolsMu.Lock()
	defer b.toolsMu.Unlock()
	if r, ok := b.probes[path]; ok {
		return r.interp, r.err
	}
	in, err := probePython(ctx, path)
	if ctx.Err() == nil {
		b.probes[path] = probeResult{in, err}
	}
	return in, err
}

// pickInterpreter chooses, and verifies by running it, the interpreter for req.
func (b *Builder) pickInterpreter(ctx context.Context, req pythonRequest) (interpreter, string, error) {
	var host interpreter
	if p, err := b.host(); err == nil {
		if h, err := b.probe(ctx, p); err == nil {
			host = h
		}
	}
	cands := candidateInterpreters(os.Getenv("PATH"), pyenvRoot(), uvPythonDir())
	if host.Path != "" {
		cands = append([]interpreter{host}, cands...)
	}
	for len(cands) > 0 {
		var avail []pyVersion
		for _, c := range cands {
			if !slices.Contains(avail, c.Version) {
				avail = append(avail, c.Version)
			}
		}
		v, note, err := choosePython(avail, req, host.Version)
		if err != nil {
			return interpreter{}, "", err
		}
		for i := 0; i < len(cands); {
			if cands[i].Version != v {
				i++
				continue
			}
			got, err := b.probe(ctx, cands[i].Path)
			if err == nil && got.Version == v {
				return got, note, nil
			}
			if ctx.Err() != nil {
				return interpreter{}, "", ctx.Err()
			}
			cands = slices.Delete(cands, i, i+1) // a broken shim or a liar
		}
	}
	return interpreter{}, "", ErrNoPython
}

func pyenvRoot() string {
	if r := os.Getenv("PYENV_ROOT"); r != "" {
		return r
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".pyenv")
	}
	return ""
}

func uvPythonDir() string {
	if d := os.Getenv("UV_PYTHON_INSTALL_DIR"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "uv", "python")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "share", "uv", "python")
	}
	return ""
}

// summarize lists requirements for the "building" line.
func summarize(reqs []string) string {
	const show = 8
	switch {
	case len(reqs) == 0:
		return "no packages"
	case len(reqs) <= show:
		return strings.Join(reqs, ", ")
	default:
		return fmt.Sprintf("%s, and %d more", strings.Join(reqs[:show], ", "), len(reqs)-show)
	}
}

// tailWriter keeps the last max lines written to it.
type tailWriter struct {
	max     int
	buf     []string
	partial []byte
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.partial = append(t.partial, p...)
	for {
		i := slices.Index(t.partial, '\n')
		if i < 0 {
			break
		}
		t.add(string(t.partial[:i]))
		t.partial = t.partial[i+1:]
	}
	if len(t.partial) > 4096 { // a line that never ends (progress bars)
		t.add(string(t.partial))
		t.partial = nil
	}
	t.partial = append([]byte(nil), t.partial...)
	return len(p), nil
}

func (t *tailWriter) add(line string) {
	t.buf = append(t.buf, strings.TrimRight(line, "\r"))
	if len(t.buf) > t.max {
		t.buf = slices.Delete(t.buf, 0, len(t.buf)-t.max)
	}
}

func (t *tailWriter) lines() []string {
	out := slices.Clone(t.buf)
	if len(t.partial) > 0 {
		out = append(out, string(t.partial))
	}
	return out
}

// bestEffort writes to w but never fails: a gone progress reader must not
// fail the build.
type bestEffort struct{ w io.Writer }

func (b bestEffort) Write(p []byte) (int, error) {
	b.w.Write(p) //nolint:errcheck // best effort by design
	return len(p), nil
}
