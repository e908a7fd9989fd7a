package dockerfile

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// ErrTooLarge is returned for a Dockerfile over the size Extract reads.
var ErrTooLarge = errors.New("dockerfile too large")

// ReadFunc reads a file of the build context by its slash-separated path
// relative to the context's root. It returns an error wrapping
// fs.ErrNotExist for a file the context lacks.
type ReadFunc func(name string) ([]byte, error)

// Package is one Python package a Dockerfile installs.
type Package struct {
	// Name is the package name, lower-cased with runs of -_. folded to -,
	// the key under which a later install replaces an earlier one.
	Name string
	// Spec is the requirement as written: "scikit-learn~=1.5.0" for pip,
	// "numpy=1.26" (a match spec) for conda.
	Spec string
	// Conda is true for a package installed with conda.
	Conda bool
}

// Result is what a Dockerfile installs, as far as a virtualenv can follow.
type Result struct {
	// BaseImage is the final stage's FROM image.
	BaseImage string
	// Python is the python match spec a conda line asks for ("python=3.10"),
	// "" when none does.
	Python string
	// Packages are in install order; a later install of a name replaced the
	// earlier one in place.
	Packages []Package
	// Upgrades are what a pip install --upgrade installed after other
	// packages were in: pip puts them over whatever those packages ask for,
	// which a single resolution of Packages and Upgrades together may not
	// (Azure's images bump dependencies so, for security fixes). CondaFile
	// applies them; a caller resolving in one go may leave them out.
	Upgrades []Package
	// Notes say what was not honoured, for the job log.
	Notes []string
}

// CondaFile writes r as a conda environment file named name, the form the
// environment builder takes: python and the conda packages as
// dependencies, the pip packages under pip:.
func (r Result) CondaFile(name string) string {
	var deps []any
	if r.Python != "" {
		deps = append(deps, r.Python)
	}
	var pip []string
	for _, p := range r.Applied() {
		if p.Conda {
			deps = append(deps, p.Spec)
		} else {
			pip = append(pip, p.Spec)
		}
	}
	if len(pip) > 0 {
		deps = append(deps, map[string][]string{"pip": pip})
	}
	doc := struct {
		Name         string `yaml:"name,omitempty"`
		Dependencies []any  `yaml:"dependencies"`
	}{name, deps}
	if doc.Dependencies == nil {
		doc.Dependencies = []any{}
	}
	out, _ := yaml.Marshal(doc) // strings, lists and maps of strings always marshal
	return string(out)
}

// Applied returns Packages with Upgrades applied: an upgrade replaces the
// package of its name, or is added.
func (r Result) Applied() []Package {
	out := slices.Clone(r.Packages)
	for _, u := range r.Upgrades {
		if i := slices.IndexFunc(out, func(p Package) bool { return p.Name == u.Name }); i >= 0 {
			out[i] = u
		} else {
			out = append(out, u)
		}
	}
	return out
}

// Empty reports whether r installs nothing and asks for no python.
func (r Result) Empty() bool { return r.Python == "" && len(r.Packages) == 0 && len(r.Upgrades) == 0 }

// Extract reads dockerfile (its text) and the files of its build context
// that its RUN lines name through read. Only the final build stage counts.
// It fails only for a Dockerfile over 1 MiB; everything it cannot honour is
// a note.
func Extract(dockerfile string, read ReadFunc) (Result, error) {
	if len(dockerfile) > maxDockerfile {
		return Result{}, fmt.Errorf("%w: %d bytes (at most %d)", ErrTooLarge, len(dockerfile), maxDockerfile)
	}
	x := &extractor{read: read}
	for _, in := range instructions(dockerfile) {
		x.instruction(in)
	}
	return x.result(), nil
}

// extractor walks the instructions of one Dockerfile.
type extractor struct {
	read ReadFunc

	base    string
	python  string
	pkgs    []Package
	notes   []string
	skipped []string // commands not run, "apt-get install"

	upgrades  []Package
	upgrading bool // within a pip install --upgrade that adds to Upgrades

	vars    vars
	workdir string
	copies  map[string]string // path in the image -> context path
	primary string            // the conda env the Dockerfile creates, "" if none
}

func (x *extractor) instruction(in instruction) {
	if x.vars == nil {
		x.vars = vars{}
	}
	switch in.Keyword {
	case "FROM":
		// A new stage: only the last one is the image.
		f := strings.Fields(x.vars.expand(in.Args))
		for len(f) > 0 && strings.HasPrefix(f[0], "--") {
			f = f[1:]
		}
		*x = extractor{read: x.read, vars: vars{}, copies: map[string]string{}}
		if len(f) > 0 {
			x.base = f[0]
		}
	case "ARG", "ENV":
		x.vars.set(in.Keyword, in.Args)
	case "WORKDIR":
		x.workdir = path.Join("/", x.workdir, x.vars.expand(in.Args))
	case "COPY", "ADD":
		x.copy(x.vars.expand(in.Args))
	case "RUN":
		args := runFlags(in.Args)
		if heredocMarker(args) != "" {
			x.note("RUN with a heredoc (line %d) is not read", in.Line)
			return
		}
		if words, ok := execForm(args); ok {
			for i, w := range words {
				words[i] = x.vars.expand(w)
			}
			x.command(words, "")
			return
		}
		for _, c := range splitCommands(x.vars.expand(args)) {
			x.command(c, "")
		}
	}
}

// copy records where COPY puts context files, so "-r requirements.txt" run
// later finds its source.
func (x *extractor) copy(args string) {
	words, ok := execForm(args)
	if !ok {
		words = splitWords(args)
	}
	var srcs []string
	for _, w := range words {
		if strings.HasPrefix(w, "--from") {
			return // from another stage or image, not the context
		}
		if !strings.HasPrefix(w, "--") {
			srcs = append(srcs, w)
		}
	}
	if len(srcs) < 2 {
		return
	}
	dest := srcs[len(srcs)-1]
	srcs = srcs[:len(srcs)-1]
	if !path.IsAbs(dest) {
		dest = path.Join("/", x.workdir, dest)
	}
	toDir := strings.HasSuffix(srcs[len(srcs)-1], "/") || len(srcs) > 1 || strings.HasSuffix(dest, "/") ||
		strings.HasSuffix(dest, "/.") || dest == "/"
	if x.copies == nil {
		x.copies = map[string]string{}
	}
	for _, s := range srcs {
		if strings.Contains(s, "://") {
			continue
		}
		s = path.Clean(strings.TrimPrefix(s, "./"))
		d := path.Clean(dest)
		if toDir {
			d = path.Join(d, path.Base(s))
		}
		x.copies[d] = s
	}
}

// contextFile reads a file a RUN line names by its path in the image.
func (x *extractor) contextFile(name string) ([]byte, string, error) {
	p := name
	if !path.IsAbs(p) {
		p = path.Join("/", x.workdir, p)
	}
	candidates := []string{}
	if src, ok := x.copies[path.Clean(p)]; ok {
		candidates = append(candidates, src)
	}
	candidates = append(candidates, path.Clean(strings.TrimPrefix(name, "./")), path.Base(name))
	var firstErr error
	for _, c := range candidates {
		if c == "" || c == "." || c == ".." || strings.HasPrefix(c, "../") || path.IsAbs(c) || x.read == nil {
			continue
		}
		data, err := x.read(c)
		if err == nil {
			return data, c, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if firstErr == nil {
		firstErr = errors.New("not in the build context")
	}
	return nil, "", firstErr
}

func (x *extractor) note(format string, args ...any) {
	n := fmt.Sprintf(format, args...)
	if !slices.Contains(x.notes, n) {
		x.notes = append(x.notes, n)
	}
}

func (x *extractor) skip(what string) {
	if !slices.Contains(x.skipped, what) {
		x.skipped = append(x.skipped, what)
	}
}

// add installs one package, replacing an earlier install of the same name.
func (x *extractor) add(p Package) {
	if x.upgrading {
		if i := slices.IndexFunc(x.upgrades, func(q Package) bool { return q.Name == p.Name }); i >= 0 {
			x.upgrades[i] = p
		} else {
			x.upgrades = append(x.upgrades, p)
		}
		return
	}
	for i, q := range x.pkgs {
		if q.Name == p.Name {
			x.pkgs[i] = p
			return
		}
	}
	x.pkgs = append(x.pkgs, p)
}

// remove uninstalls a package.
func (x *extractor) remove(name string) bool {
	n := len(x.pkgs) + len(x.upgrades)
	x.pkgs = slices.DeleteFunc(x.pkgs, func(p Package) bool { return p.Name == name })
	x.upgrades = slices.DeleteFunc(x.upgrades, func(p Package) bool { return p.Name == name })
	return len(x.pkgs)+len(x.upgrades) != n
}

func (x *extractor) result() Result {
	r := Result{BaseImage: x.base, Python: x.python, Packages: x.pkgs, Upgrades: x.upgrades, Notes: slices.Clone(x.notes)}
	if len(x.skipped) > 0 {
		r.Notes = append(r.Notes, "RUN commands not run on the host: "+strings.Join(x.skipped, ", "))
	}
	return r
}

var nameFoldRE = regexp.MustCompile(`[-_.]+`)

// normName is the key packages are replaced under (PEP 503 normalisation).
func normName(name string) string {
	return nameFoldRE.ReplaceAllString(strings.ToLower(name), "-")
}
