package envs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// builderVersion is hashed into every key; bump it when a change to this
// package (translation rules, layout) makes existing environments stale.
const builderVersion = "ciel-envs/1"

// Config configures a Builder.
type Config struct {
	// Dir holds the built environments, one directory per key, with a build
	// log <key>.log and a lock file <key>.lock beside each (e.g. $CIEL_HOME/envs).
	// Several processes may share it. Required.
	Dir string
	// Logger receives build start and end records; nil discards them.
	Logger *slog.Logger
}

// Spec is an Azure ML environment as far as a local run cares.
type Spec struct {
	// Image is the Docker image; it never changes what gets built, but it
	// is part of the key.
	Image string
	// CondaFile is the conda environment YAML text (not a path). Empty, or
	// only whitespace, means "run on the host's python3".
	CondaFile string
}

// Env is a ready environment: what a step needs to run in it.
type Env struct {
	// Key is the content hash of the Spec (see Builder.Key).
	Key string
	// Python is the absolute path of the python to run.
	Python string
	// BinDir is to be prepended to PATH; "" for the host's python.
	BinDir string
	// VirtualEnv is the VIRTUAL_ENV value; "" for the host's python.
	VirtualEnv string
	// Notes are the approximations made, for the job log: a different Python
	// version than asked for, conda packages installed with pip, skipped
	// packages.
	Notes []string
}

// Environ returns base (typically os.Environ()) adjusted to run in e: BinDir
// first on PATH and VIRTUAL_ENV set, PYTHONHOME removed. For the host's
// python it returns a copy of base.
func (e Env) Environ(base []string) []string {
	out := make([]string, 0, len(base)+2)
	path := ""
	for _, kv := range base {
		switch {
		case e.VirtualEnv != "" && (strings.HasPrefix(kv, "VIRTUAL_ENV=") || strings.HasPrefix(kv, "PYTHONHOME=")):
		case e.BinDir != "" && strings.HasPrefix(kv, "PATH="):
			path = strings.TrimPrefix(kv, "PATH=")
		default:
			out = append(out, kv)
		}
	}
	if e.BinDir != "" {
		if path != "" {
			path = string(os.PathListSeparator) + path
		}
		out = append(out, "PATH="+e.BinDir+path)
	}
	if e.VirtualEnv != "" {
		out = append(out, "VIRTUAL_ENV="+e.VirtualEnv)
	}
	return out
}

// Builder builds environments under one directory and remembers the ones it
// has seen. Its methods may be called concurrently; concurrent Ensure calls
// for one key share a single build, also across processes sharing Dir.
type Builder struct {
	dir    string
	logger *slog.Logger

	mu      sync.Mutex
	ready   map[Spec]Env       // memoized results, keyed by the spec as given
	keys    map[Spec]string    // memoized Key results
	flights map[string]*flight // builds in progress, by key

	hostOnce   sync.Once
	hostPython string
	hostErr    error

	toolsMu  sync.Mutex
	probes   map[string]probeResult // interpreter probes, by path
	tool     *installer             // detected once it succeeds
	noUV     bool                   // tests: force the venv+pip fallback
	builds   atomic.Int64           // tests: builds actually run by this Builder
	lookPath func(string) (string, error)
}

type flight struct {
	done chan struct{}
	env  Env
	err  error
}

// New returns a Builder for cfg. It does no I/O beyond resolving Dir.
func New(cfg Config) (*Builder, error) {
	if cfg.Dir == "" {
		return nil, errors.New("envs: Config.Dir is required")
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("envs: resolve dir %q: %w", cfg.Dir, err)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Builder{
		dir:      dir,
		logger:   logger,
		ready:    make(map[Spec]Env),
		keys:     make(map[Spec]string),
		flights:  make(map[string]*flight),
		probes:   make(map[string]probeResult),
		lookPath: exec.LookPath,
	}, nil
}

// Key returns the hex sha256 naming the environment s builds: a hash of the
// image and of the conda file's meaning (its python constraint and the
// requirements it translates to, so comments, formatting and the env name do
// not matter), plus this package's version. A conda file that does not parse
// is hashed as normalized text.
func (b *Builder) Key(s Spec) string {
	b.mu.Lock()
	k, ok := b.keys[s]
	b.mu.Unlock()
	if ok {
		return k
	}
	k = specKey(s)
	b.mu.Lock()
	b.keys[s] = k
	b.mu.Unlock()
	return k
}

func specKey(s Spec) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00image=%s\x00", builderVersion, strings.TrimSpace(s.Image))
	conda := strings.TrimSpace(s.CondaFile)
	switch env, err := parseConda(conda); {
	case conda == "":
		io.WriteString(h, "host\x00")
	case err != nil:
		fmt.Fprintf(h, "raw\x00%s\x00", normalizeText(conda))
	default:
		fmt.Fprintf(h, "python=%s|%s|%s\x00", env.Python.Want, env.Python.Lo, env.Python.Hi)
		for _, r := range env.Requirements {
			fmt.Fprintf(h, "req=%s\x00", r)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func normalizeText(s string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// Ensure returns the environment for s, building it first if needed. Without
// a conda file it returns the host's python3 at once. With one, the first
// call in a process checks Dir (and builds under a lock when the environment
// is missing or half-built); later calls are answered from memory. progress,
// which may be nil, receives human-readable build output; Notes are written
// to it when a build runs. Errors wrap ErrInvalidConda for a bad conda file
// and ErrNoPython when no interpreter exists; a failed build is a *BuildError.
// A Builder does not notice an environment deleted from Dir after it has
// returned it; a new Builder (process) rebuilds it.
func (b *Builder) Ensure(ctx context.Context, s Spec, progress io.Writer) (Env, error) {
	b.mu.Lock()
	if env, ok := b.ready[s]; ok {
		b.mu.Unlock()
		env.Notes = slices.Clone(env.Notes)
		return env, nil
	}
	b.mu.Unlock()

	if progress == nil {
		progress = io.Discard
	}
	key := b.Key(s)
	if strings.TrimSpace(s.CondaFile) == "" {
		python, err := b.host()
		if err != nil {
			return Env{}, err
		}
		return b.remember(s, Env{Key: key, Python: python}), nil
	}
	conda, err := parseConda(s.CondaFile)
	if err != nil {
		return Env{}, err
	}
	for {
		env, leader, err := b.join(ctx, key, conda, progress)
		if err == nil {
			return b.remember(s, env), nil
		}
		// A build abandoned because its caller gave up is retried by the
		// waiters that still want it.
		if leader || ctx.Err() != nil || !(errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
			return Env{}, err
		}
	}
}

// join runs the build for key, or waits for the one already running in this
// process. leader reports whether this call ran it.
func (b *Builder) join(ctx context.Context, key string, conda condaEnv, progress io.Writer) (env Env, leader bool, err error) {
	b.mu.Lock()
	if f, ok := b.flights[key]; ok {
		b.mu.Unlock()
		fmt.Fprintf(progress, "waiting for environment %s, being built for another job\n", key[:12])
		select {
		case <-f.done:
			return f.env, false, f.err
		case <-ctx.Done():
			return Env{}, false, ctx.Err()
		}
	}
	f := &flight{done: make(chan struct{})}
	b.flights[key] = f
	b.mu.Unlock()

	f.env, f.err = b.ensureOnDisk(ctx, key, conda, progress)

	b.mu.Lock()
	delete(b.flights, key)
	b.mu.Unlock()
	close(f.done)
	return f.env, true, f.err
}

func (b *Builder) remember(s Spec, env Env) Env {
	b.mu.Lock()
	b.ready[s] = env
	b.mu.Unlock()
	env.Notes = slices.Clone(env.Notes)
	return env
}

// host returns the absolute path of python3 (or python) on PATH, looked up once.
func (b *Builder) host() (string, error) {
	b.hostOnce.Do(func() {
		for _, name := range []string{"python3", "python"} {
			p, err := b.lookPath(name)
			if err != nil {
				continue
			}
			if b.hostPython, b.hostErr = filepath.Abs(p); b.hostErr == nil {
				return
			}
		}
		b.hostErr = fmt.Errorf("%w on PATH", ErrNoPython)
	})
	return b.hostPython, b.hostErr
}

// PythonFor returns the Python minor version ("3.11") a build would use
// for a conda python dependency such as "python=3.10": the one asked for
// when the machine has it, else the nearest it has. It runs interpreters to
// check them (once each), but builds nothing. Errors wrap ErrInvalidConda
// for a dependency that does not parse and ErrNoPython when the machine has
// no Python 3.
func (b *Builder) PythonFor(ctx context.Context, dependency string) (string, error) {
	ms, err := parseMatchSpec(dependency)
	if err != nil || !strings.EqualFold(ms.Name, "python") {
		return "", fmt.Errorf("%w: %q is not a python dependency", ErrInvalidConda, dependency)
	}
	req, err := parsePythonRequest(dependency, ms.Version)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidConda, err)
	}
	interp, _, err := b.pickInterpreter(ctx, req)
	if err != nil {
		return "", err
	}
	return interp.Version.String(), nil
}

// LogPath returns the path of the build log of the environment s builds
// (which exists once a build has started), or "" when s builds nothing:
// without a conda file it runs on the host's python3.
func (b *Builder) LogPath(s Spec) string {
	if strings.TrimSpace(s.CondaFile) == "" {
		return ""
	}
	return filepath.Join(b.dir, b.Key(s)+".log")
}
