package envs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ErrNoPython is returned when the machine has no usable Python 3.
var ErrNoPython = errors.New("no python3 interpreter found")

// pyVersion is a Python minor version; the zero value means "unset".
type pyVersion struct{ Major, Minor int }

func (v pyVersion) String() string { return fmt.Sprintf("%d.%d", v.Major, v.Minor) }
func (v pyVersion) isZero() bool   { return v == pyVersion{} }
func (v pyVersion) rank() int      { return v.Major*1000 + v.Minor }

// pythonRequest is what a conda file asks of python, at minor granularity.
type pythonRequest struct {
	Spec   string    // the dependency as written ("python=3.10"); "" when absent
	Want   pyVersion // a specific minor ("=3.10", "==3.10.4", "3.10.*")
	Lo, Hi pyVersion // inclusive bounds from >=, >, <=, <, ~=; zero when open
}

// parsePythonRequest reads the version constraint of a python dependency.
func parsePythonRequest(spec, constraint string) (pythonRequest, error) {
	req := pythonRequest{Spec: spec}
	if i := strings.IndexByte(constraint, '|'); i >= 0 {
		constraint = constraint[:i] // "3.9|3.10": take the first alternative
	}
	for _, clause := range strings.Split(constraint, ",") {
		clause = strings.TrimSpace(clause)
		if clause == "" {
			continue
		}
		op := clause[:len(clause)-len(strings.TrimLeft(clause, "=<>!~"))]
		major, minor, patch, err := splitVersion(strings.TrimSuffix(strings.TrimSuffix(clause[len(op):], "*"), "."))
		if err != nil {
			return req, fmt.Errorf("python version %q: %w", clause, err)
		}
		v := pyVersion{major, max(minor, 0)}
		switch op {
		case "", "=", "==":
			if minor < 0 {
				req.Lo, req.Hi = pyVersion{major, 0}, pyVersion{major, 999}
			} else {
				req.Want = v
			}
		case "~=":
			req.Lo, req.Hi = v, pyVersion{major, 999}
		case ">=":
			req.Lo = v
		case ">":
			switch {
			case minor < 0:
				req.Lo = pyVersion{major + 1, 0}
			case patch < 0:
				req.Lo = pyVersion{major, minor + 1}
			default:
				req.Lo = v
			}
		case "<=":
			if minor < 0 {
				v.Minor = 999
			}
			req.Hi = v
		case "<":
			switch {
			case minor < 0 || (minor == 0 && patch <= 0):
				req.Hi = pyVersion{major - 1, 999}
			case patch <= 0:
				req.Hi = pyVersion{major, minor - 1}
			default:
				req.Hi = v
			}
		case "!=":
		default:
			return req, fmt.Errorf("python version %q: unknown operator %q", clause, op)
		}
	}
	return req, nil
}

// splitVersion parses "3", "3.10" or "3.10.4"; absent parts are -1.
func splitVersion(s string) (major, minor, patch int, err error) {
	parts := strings.Split(s, ".")
	nums := []int{-1, -1, -1}
	for i, p := range parts {
		if i == 3 {
			break
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return 0, 0, 0, fmt.Errorf("not a version number")
		}
		nums[i] = n
	}
	return nums[0], nums[1], nums[2], nil
}

// nearestPython picks the available version closest to want, preferring the
// higher one on ties. exact reports whether want itself is available.
func nearestPython(avail []pyVersion, want pyVersion) (best pyVersion, exact bool) {
	bestDist := -1
	for _, v := range avail {
		d := v.rank() - want.rank()
		if d < 0 {
			d = -d
		}
		if bestDist < 0 || d < bestDist || (d == bestDist && v.rank() > best.rank()) {
			best, bestDist = v, d
		}
	}
	return best, bestDist == 0
}

// choosePython decides which available version serves req. host is the
// version of the host's python3 (zero if unknown), preferred when req allows
// it. note is non-empty when the choice does not satisfy req.
func choosePython(avail []pyVersion, req pythonRequest, host pyVersion) (v pyVersion, note string, err error) {
	if len(avail) == 0 {
		return pyVersion{}, "", ErrNoPython
	}
	hostAvail, highest := false, avail[0]
	for _, a := range avail {
		hostAvail = hostAvail || (a == host && !host.isZero())
		if a.rank() > highest.rank() {
			highest = a
		}
	}
	nearest := func(want pyVersion) (pyVersion, string, error) {
		v, exact := nearestPython(avail, want)
		if exact {
			return v, "", nil
		}
		return v, fmt.Sprintf("conda file asks for %s; using python %s (nearest available)", req.Spec, v), nil
	}
	switch {
	case !req.Want.isZero():
		return nearest(req.Want)
	case !req.Lo.isZero() || !req.Hi.isZero():
		inRange := func(a pyVersion) bool {
			return (req.Lo.isZero() || a.rank() >= req.Lo.rank()) && (req.Hi.isZero() || a.rank() <= req.Hi.rank())
		}
		if hostAvail && inRange(host) {
			return host, "", nil
		}
		var found bool
		for _, a := range avail {
			if inRange(a) && (!found || a.rank() > v.rank()) {
				v, found = a, true
			}
		}
		if found {
			return v, "", nil
		}
		if !req.Lo.isZero() {
			return nearest(req.Lo)
		}
		return nearest(req.Hi)
	case hostAvail:
		return host, "", nil
	default:
		return highest, "", nil
	}
}

// interpreter is a Python executable and the version it claims to be.
type interpreter struct {
	Path    string
	Version pyVersion
}

var (
	pyenvVersionRE = regexp.MustCompile(`^(\d+)\.(\d+)(\.\d+)?$`)
	uvPythonRE     = regexp.MustCompile(`^cpython-(\d+)\.(\d+)\.\d+-`)
)

// candidateInterpreters lists, without running anything, the interpreters
// this machine seems to have: pythonX.Y on PATH, then pyenv's versions, then
// uv-managed ones. Entries may be broken (a pyenv shim for an inactive
// version); probe before use.
func candidateInterpreters(pathList, pyenvRoot, uvPythonDir string) []interpreter {
	var out []interpreter
	for _, dir := range filepath.SplitList(pathList) {
		if dir == "" {
			continue
		}
		for minor := 0; minor < 30; minor++ {
			p := filepath.Join(dir, fmt.Sprintf("python3.%d", minor))
			if isExecutable(p) {
				out = append(out, interpreter{p, pyVersion{3, minor}})
			}
		}
	}
	scan := func(root string, re *regexp.Regexp) {
		entries, _ := os.ReadDir(root)
		for _, e := range entries {
			m := re.FindStringSubmatch(e.Name())
			if m == nil || m[1] != "3" {
				continue
			}
			minor, _ := strconv.Atoi(m[2])
			bin := filepath.Join(root, e.Name(), "bin")
			for _, name := range []string{"python3." + m[2], "python3"} {
				if p := filepath.Join(bin, name); isExecutable(p) {
					out = append(out, interpreter{p, pyVersion{3, minor}})
					break
				}
			}
		}
	}
	if pyenvRoot != "" {
		scan(filepath.Join(pyenvRoot, "versions"), pyenvVersionRE)
	}
	if uvPythonDir != "" {
		scan(uvPythonDir, uvPythonRE)
	}
	return out
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// probeScript prints the interpreter's version and real executable; it is
// valid Python 2 so that a stray python2 answers instead of failing to parse.
const probeScript = "import sys; print('%d.%d.%d' % tuple(sys.version_info[:3])); print(sys.executable)"

// probePython runs path to learn its real version and executable, resolving
// pyenv shims to the interpreter behind them.
func probePython(ctx context.Context, path string) (interpreter, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, path, "-c", probeScript)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return interpreter{}, fmt.Errorf("probe %s: %w: %s", path, err, strings.TrimSpace(stderr.String()))
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) < 2 {
		return interpreter{}, fmt.Errorf("probe %s: unexpected output %q", path, stdout.String())
	}
	major, minor, _, err := splitVersion(strings.TrimSpace(lines[0]))
	if err != nil || major != 3 || minor < 0 {
		return interpreter{}, fmt.Errorf("probe %s: not a python 3 (%q)", path, lines[0])
	}
	exe := strings.TrimSpace(lines[1])
	if !filepath.IsAbs(exe) {
		exe = path
	}
	return interpreter{exe, pyVersion{major, minor}}, nil
}
