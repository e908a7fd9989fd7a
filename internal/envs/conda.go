package envs

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/ciel-mlops/ciel/internal/spec/yamlsyntax"
)

// ErrInvalidConda is wrapped by the errors Ensure returns for a conda file it
// cannot read: bad YAML, or a shape conda would reject too. It is the user's
// mistake, not a build failure.
var ErrInvalidConda = errors.New("invalid conda file")

// condaEnv is what a conda file asks for, translated to a virtualenv.
type condaEnv struct {
	Python       pythonRequest
	Requirements []string // requirements.txt lines, conda packages first, then the pip: list
	Notes        []string // approximations made while translating
}

// condaSkipped lists conda packages that are not Python distributions; they
// are left out with a note.
var condaSkipped = map[string]bool{
	"cudatoolkit": true, "cudnn": true, "cuda": true, "cuda-toolkit": true,
	"cuda-version": true, "cuda-nvcc": true, "pytorch-cuda": true, "pytorch-mutex": true,
	"cpuonly": true, "nccl": true, "mkl": true, "mkl-service": true, "intel-openmp": true,
	"blas": true, "libblas": true, "liblapack": true, "openblas": true, "openssl": true,
	"ca-certificates": true, "libgcc-ng": true, "libstdcxx-ng": true, "libgomp": true,
	"nodejs": true, "git": true, "gcc": true, "gxx": true, "make": true,
	// conda itself and its solvers manage conda, not a virtualenv.
	"conda": true, "conda-build": true, "conda-libmamba-solver": true, "mamba": true, "py-rattler": true,
}

// condaSkippedPrefixes are name prefixes of conda-only packages.
var condaSkippedPrefixes = []string{"_", "cuda-", "libcu", "libnv", "r-"}

// condaToPip maps conda package names that differ on PyPI.
var condaToPip = map[string]string{
	"pytorch":         "torch",
	"py-xgboost":      "xgboost",
	"matplotlib-base": "matplotlib",
	"python-graphviz": "graphviz",
	"msgpack-python":  "msgpack",
	"py-opencv":       "opencv-python",
	"opencv":          "opencv-python",
	"pytables":        "tables",
	"ruamel_yaml":     "ruamel.yaml",
}

var (
	pipNameRE     = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$`)
	pipVersionRE  = regexp.MustCompile(`^[0-9][0-9A-Za-z.+!_-]*(\.\*)?$`)
	pipOperatorRE = regexp.MustCompile(`^(==|>=|<=|!=|~=|>|<)`)
)

// parseConda reads a conda environment file (the YAML text, not a path).
func parseConda(text string) (condaEnv, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		p := yamlsyntax.Locate([]byte(text), err)
		return condaEnv{}, fmt.Errorf("%w: line %d, column %d: invalid YAML: %s", ErrInvalidConda, p.Line, p.Col, p.Msg)
	}
	var env condaEnv
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return env, nil // empty or comments only
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return env, condaErrorf(root, "top level must be a mapping with name, channels and dependencies")
	}
	var deps *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "dependencies" {
			deps = root.Content[i+1]
		}
	}
	if deps == nil || (deps.Kind == yaml.ScalarNode && deps.Tag == "!!null") {
		return env, nil
	}
	if deps.Kind != yaml.SequenceNode {
		return env, condaErrorf(deps, "dependencies must be a list")
	}
	var t translation
	for _, item := range deps.Content {
		if err := t.dependency(item); err != nil {
			return condaEnv{}, err
		}
	}
	env.Python = t.python
	env.Requirements = append(t.condaReqs, t.pipReqs...)
	env.Notes = t.notes()
	return env, nil
}

// translation accumulates the result of walking the dependencies list.
type translation struct {
	python    pythonRequest
	condaReqs []string
	pipReqs   []string
	converted []string // "numpy==1.26.* (conda: numpy=1.26)"
	skipped   []string
	loose     []string
}

func (t *translation) dependency(item *yaml.Node) error {
	switch item.Kind {
	case yaml.ScalarNode:
		return t.condaPackage(item)
	case yaml.MappingNode:
		for i := 0; i+1 < len(item.Content); i += 2 {
			key, val := item.Content[i], item.Content[i+1]
			if key.Value != "pip" {
				return condaErrorf(key, "unsupported dependency section %q (only pip: is allowed)", key.Value)
			}
			if val.Kind == yaml.ScalarNode && val.Tag == "!!null" {
				continue
			}
			if val.Kind != yaml.SequenceNode {
				return condaErrorf(val, "pip: must be a list of requirements")
			}
			for _, r := range val.Content {
				if r.Kind != yaml.ScalarNode {
					return condaErrorf(r, "pip requirement must be a string")
				}
				if line := strings.TrimSpace(r.Value); line != "" {
					t.pipReqs = append(t.pipReqs, line)
				}
			}
		}
		return nil
	default:
		return condaErrorf(item, "dependency must be a string or a pip: list")
	}
}

func (t *translation) condaPackage(item *yaml.Node) error {
	raw := strings.TrimSpace(item.Value)
	if raw == "" {
		return nil
	}
	ms, err := parseMatchSpec(raw)
	if err != nil {
		return condaErrorf(item, "%v", err)
	}
	name := strings.ToLower(ms.Name)
	if name == "python" {
		req, err := parsePythonRequest(raw, ms.Version)
		if err != nil {
			return condaErrorf(item, "%v", err)
		}
		t.python = req
		return nil
	}
	if name == "pip" {
		return nil // every virtualenv ciel builds has pip
	}
	if condaSkipped[name] || hasAnyPrefix(name, condaSkippedPrefixes) {
		t.skipped = append(t.skipped, raw)
		return nil
	}
	pipName := name
	if n, ok := condaToPip[name]; ok {
		pipName = n
	}
	if !pipNameRE.MatchString(pipName) {
		return condaErrorf(item, "package name %q is not a valid Python distribution name", ms.Name)
	}
	constraint, ok := pipConstraint(ms.Version)
	if !ok {
		t.loose = append(t.loose, raw)
		constraint = ""
	}
	req := pipName + constraint
	t.condaReqs = append(t.condaReqs, req)
	if req != raw {
		t.converted = append(t.converted, fmt.Sprintf("%s (conda: %s)", req, raw))
	} else {
		t.converted = append(t.converted, req)
	}
	return nil
}

func (t *translation) notes() []string {
	var notes []string
	if len(t.converted) > 0 {
		notes = append(notes, "conda packages installed from PyPI with pip: "+strings.Join(t.converted, ", "))
	}
	if len(t.loose) > 0 {
		notes = append(notes, "conda version constraints with no pip equivalent were dropped: "+strings.Join(t.loose, ", "))
	}
	if len(t.skipped) > 0 {
		notes = append(notes, "conda-only packages skipped: "+strings.Join(t.skipped, ", "))
	}
	return notes
}

// matchSpec is a conda package match specification split into its parts.
type matchSpec struct {
	Name    string
	Version string // conda version constraint: "=1.26" (fuzzy), "1.26" (exact), ">=1,<2", ""
	Build   string
}

// parseMatchSpec splits "channel::name=1.2=build", "name >=1.2" and friends.
func parseMatchSpec(s string) (matchSpec, error) {
	if i := strings.LastIndex(s, "::"); i >= 0 {
		s = s[i+2:]
	}
	if i := strings.IndexByte(s, '['); i >= 0 {
		s = s[:i] // bracket keys (version='...', build=...) are not supported; keep the name
	}
	s = strings.TrimSpace(s)
	var ms matchSpec
	if f := strings.Fields(s); len(f) > 1 {
		ms.Name, f = f[0], f[1:]
		if strings.Trim(f[0], "=<>!~") == "" && len(f) > 1 {
			f = append([]string{f[0] + f[1]}, f[2:]...) // "numpy >= 1.2"
		}
		ms.Version = f[0]
		if len(f) > 1 {
			ms.Build = f[1]
		}
	} else if i := strings.IndexAny(s, "=<>!~"); i >= 0 {
		ms.Name, ms.Version = s[:i], s[i:]
		// name=version=build: a single '=' starts a fuzzy version, a second one the build.
		if strings.HasPrefix(ms.Version, "=") && !strings.HasPrefix(ms.Version, "==") {
			if j := strings.IndexByte(ms.Version[1:], '='); j >= 0 {
				ms.Build = ms.Version[j+2:]
				ms.Version = ms.Version[:j+1]
			}
		}
	} else {
		ms.Name = s
	}
	if ms.Name == "" {
		return ms, fmt.Errorf("dependency %q has no package name", s)
	}
	return ms, nil
}

// pipConstraint translates a conda version constraint to a pip one. ok is
// false when there is no safe translation (conda's "|", odd characters).
func pipConstraint(v string) (string, bool) {
	if v == "" {
		return "", true
	}
	if strings.Contains(v, "|") {
		return "", false
	}
	var out []string
	for _, clause := range strings.Split(v, ",") {
		clause = strings.TrimSpace(clause)
		var c string
		switch {
		case strings.HasPrefix(clause, "=") && !strings.HasPrefix(clause, "=="):
			c = fuzzyPin(clause[1:]) // conda "=1.26" means 1.26.*
		case pipOperatorRE.MatchString(clause):
			op := pipOperatorRE.FindString(clause)
			ver := clause[len(op):]
			if op != "==" && op != "!=" {
				ver = strings.TrimSuffix(strings.TrimSuffix(ver, "*"), ".")
			} else {
				ver = starSuffix(ver)
			}
			c = op + ver
		default:
			c = "==" + starSuffix(clause) // a bare version is exact in conda
		}
		ver := strings.TrimLeft(c, "=<>!~")
		if !pipVersionRE.MatchString(ver) {
			return "", false
		}
		out = append(out, c)
	}
	return strings.Join(out, ","), true
}

// fuzzyPin turns conda's "=X" (any version starting with X) into pip syntax,
// keeping full x.y.z pins readable.
func fuzzyPin(v string) string {
	v = strings.TrimSuffix(strings.TrimSuffix(v, "*"), ".")
	if strings.Count(v, ".") >= 2 {
		return "==" + v
	}
	return "==" + v + ".*"
}

// starSuffix normalizes a trailing "*" to pip's ".*".
func starSuffix(v string) string {
	if strings.HasSuffix(v, "*") && !strings.HasSuffix(v, ".*") {
		return strings.TrimSuffix(v, "*") + ".*"
	}
	return v
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func condaErrorf(n *yaml.Node, format string, args ...any) error {
	return fmt.Errorf("%w: line %d: %s", ErrInvalidConda, n.Line, fmt.Sprintf(format, args...))
}

// CondaRequirements is a conda file translated for pip, as a build would
// install it.
type CondaRequirements struct {
	// Python is the python dependency as written ("python=3.10"), "" when
	// the file names none.
	Python string
	// Requirements are pip requirement lines: conda packages first, then
	// the pip: list.
	Requirements []string
	// Notes are the approximations the translation made.
	Notes []string
}

// TranslateConda translates a conda environment file (its YAML text) the way
// Ensure does before it builds. Errors wrap ErrInvalidConda.
func TranslateConda(text string) (CondaRequirements, error) {
	env, err := parseConda(text)
	if err != nil {
		return CondaRequirements{}, err
	}
	return CondaRequirements{Python: env.Python.Spec, Requirements: env.Requirements, Notes: env.Notes}, nil
}
