package dockerfile

import (
	"path"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// quiet are commands that change nothing a virtualenv could hold; they are
// skipped without a note.
var quiet = map[string]bool{
	"rm": true, "mkdir": true, "cd": true, "ln": true, "cp": true, "mv": true, "echo": true,
	"printf": true, "chmod": true, "chown": true, "export": true, "set": true, "true": true,
	":": true, "touch": true, "test": true, "[": true, "cat": true, "find": true, "xargs": true,
	"tee": true, "sed": true, "ls": true, "which": true, "source": true, ".": true, "unset": true,
	"ldconfig": true, "sleep": true, "exit": true, "if": true, "then": true, "else": true,
	"fi": true, "do": true, "done": true, "for": true, "false": true,
}

// pipValueFlags are pip install options that take a value.
var pipValueFlags = map[string]bool{
	"-r": true, "--requirement": true, "-c": true, "--constraint": true, "-e": true, "--editable": true,
	"-i": true, "--index-url": true, "--extra-index-url": true, "-f": true, "--find-links": true,
	"-t": true, "--target": true, "--prefix": true, "--root": true, "--upgrade-strategy": true,
	"--only-binary": true, "--no-binary": true, "--progress-bar": true, "--trusted-host": true,
	"--cache-dir": true, "--log": true, "--src": true, "--platform": true, "--python-version": true,
	"--implementation": true, "--abi": true, "--root-user-action": true, "--exists-action": true,
	"--timeout": true, "--retries": true, "--proxy": true, "--cert": true, "--client-cert": true,
	"--global-option": true, "--config-settings": true, "-C": true, "--python": true, "-p": true,
}

// condaValueFlags are conda options that take a value.
var condaValueFlags = map[string]bool{
	"-n": true, "--name": true, "-p": true, "--prefix": true, "-c": true, "--channel": true,
	"-f": true, "--file": true, "--solver": true, "--cwd": true, "--repodata-fn": true,
	"--experimental-solver": true, "--platform": true, "--subdir": true,
}

var (
	// pipReqRE accepts a PEP 508 name with extras and a version specifier,
	// and an environment marker after ';'.
	pipReqRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?(\[[A-Za-z0-9._,\- ]*\])?\s*((===|==|>=|<=|!=|~=|>|<)\s*[0-9A-Za-z.*+!_-]+\s*(,\s*(===|==|>=|<=|!=|~=|>|<)\s*[0-9A-Za-z.*+!_-]+\s*)*)?(;.*)?$`)
	// condaSpecRE accepts "name", "name=1.2", "name>=1,<2", "ch::name=1.2=build".
	condaSpecRE    = regexp.MustCompile(`^([A-Za-z0-9_-]+::)?[A-Za-z0-9_][A-Za-z0-9._-]*(\s*[=<>!~][=<>!~]?\s*[0-9A-Za-z.*+_,|<>=!~-]*)?(=[A-Za-z0-9_.*]+)?$`)
	localVersionRE = regexp.MustCompile(`(==\s*[0-9][0-9A-Za-z.*!_-]*)\+[0-9A-Za-z.]+`)
	nameRE         = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*`)
	pythonExeRE    = regexp.MustCompile(`^python(3(\.\d+)?)?$`)
	pipExeRE       = regexp.MustCompile(`^pip(3(\.\d+)?)?$`)
)

// command interprets one simple command; env is the conda environment a
// "conda run" wrapper aims it at ("" for the default).
func (x *extractor) command(words []string, env string) {
	words = stripWrappers(words)
	if len(words) == 0 {
		return
	}
	exe := path.Base(words[0])
	switch {
	case exe == "conda" || exe == "mamba" || exe == "micromamba":
		x.conda(words, env)
	case pipExeRE.MatchString(exe):
		x.pip(words[1:], targetOf(words[0], env))
	case pythonExeRE.MatchString(exe) && len(words) > 2 && words[1] == "-m" && words[2] == "pip":
		x.pip(words[3:], targetOf(words[0], env))
	case exe == "uv" && len(words) > 1 && words[1] == "pip":
		x.pip(words[2:], env)
	case quiet[exe]:
	case exe == "apt-get" || exe == "apt" || exe == "yum" || exe == "dnf" || exe == "apk" || exe == "conda-env":
		sub := ""
		for _, w := range words[1:] {
			if !strings.HasPrefix(w, "-") {
				sub = " " + w
				break
			}
		}
		x.skip(exe + sub)
	default:
		x.skip(exe)
	}
}

// stripWrappers removes what only prefixes the real command: variable
// assignments, sudo, env, time, exec.
func stripWrappers(words []string) []string {
	for len(words) > 0 {
		w := words[0]
		switch {
		case strings.Contains(w, "=") && !strings.HasPrefix(w, "-") && nameRE.MatchString(w) && strings.Index(w, "=") == len(nameRE.FindString(w)):
			words = words[1:]
		case w == "sudo" || w == "env" || w == "time" || w == "exec" || w == "nohup":
			words = words[1:]
			for len(words) > 0 && strings.HasPrefix(words[0], "-") {
				if words[0] == "-u" && len(words) > 1 {
					words = words[1:]
				}
				words = words[1:]
			}
		default:
			return words
		}
	}
	return words
}

// targetOf names the conda environment a pip or python executable belongs
// to: "base" for conda's own (/opt/conda/bin/pip), else env.
func targetOf(exe, env string) string {
	if env != "" {
		return env
	}
	dir := path.Dir(exe)
	if dir == "/opt/miniconda/bin" || dir == "/opt/conda/bin" || dir == "/opt/miniconda3/bin" {
		return "base"
	}
	return ""
}

// aimed reports whether an install into env reaches the environment: the
// one the Dockerfile creates, or any when it creates none.
func (x *extractor) aimed(env, what string) bool {
	if x.primary == "" || env == "" || env == x.primary {
		return true
	}
	x.note("%s into conda environment %s skipped: the environment is %s", what, env, x.primary)
	return false
}

// conda interprets conda, mamba and micromamba commands.
func (x *extractor) conda(words []string, env string) {
	exe := path.Base(words[0])
	args, flags := condaArgs(words[1:])
	if len(args) == 0 {
		return
	}
	if e := flags["-n"] + flags["-p"]; e != "" {
		env = e
	}
	switch args[0] {
	case "run":
		// conda run [-n X | -p X] [--no-capture-output] cmd ...: the
		// command starts at the first word that is not a run option.
		rest := words[1:]
		i := 1
		for i < len(rest) && strings.HasPrefix(rest[i], "-") {
			name, val, hasVal := strings.Cut(rest[i], "=")
			if condaValueFlags[name] && !hasVal && i+1 < len(rest) {
				i++
				val = rest[i]
			}
			if name == "-n" || name == "--name" || name == "-p" || name == "--prefix" {
				env = val
			}
			i++
		}
		if i < len(rest) {
			x.command(rest[i:], env)
		}
	case "create":
		if x.primary == "" && env != "" {
			x.primary = env
		}
		x.condaPackages(args[1:], flags["-f"], env)
	case "install":
		x.condaPackages(args[1:], flags["-f"], env)
	case "env":
		if len(args) > 1 && (args[1] == "create" || args[1] == "update") {
			if args[1] == "create" && x.primary == "" && env != "" {
				x.primary = env
			}
			file := flags["-f"]
			if file == "" {
				file = "environment.yml"
			}
			if x.aimed(env, exe+" env "+args[1]) {
				x.condaEnvFile(file, 0)
			}
		}
	case "clean", "config", "init", "activate", "deactivate", "info", "list", "update", "upgrade", "search":
	default:
		x.skip(exe + " " + args[0])
	}
}

// condaArgs splits conda's words into positional arguments and the values
// of -n/-p/-f (under those short names).
func condaArgs(words []string) ([]string, map[string]string) {
	flags := map[string]string{}
	var args []string
	for i := 0; i < len(words); i++ {
		w := words[i]
		if !strings.HasPrefix(w, "-") {
			args = append(args, w)
			if len(args) == 1 && w == "run" {
				return args, flags // run's own flags are read by the caller
			}
			continue
		}
		name, val, hasVal := strings.Cut(w, "=")
		if condaValueFlags[name] && !hasVal && i+1 < len(words) {
			i++
			val = words[i]
		}
		switch name {
		case "-n", "--name":
			flags["-n"] = val
		case "-p", "--prefix":
			flags["-p"] = val
		case "-f", "--file":
			flags["-f"] = val
		}
	}
	return args, flags
}

// condaPackages installs conda match specs (and a --file list of them).
func (x *extractor) condaPackages(specs []string, file, env string) {
	if !x.aimed(env, "conda install") {
		return
	}
	if file != "" {
		data, _, err := x.contextFile(file)
		if err != nil {
			x.note("conda --file %s: %v; skipped", file, err)
		}
		for _, l := range strings.Split(string(data), "\n") {
			if l = strings.TrimSpace(stripComment(l)); l != "" {
				specs = append(specs, l)
			}
		}
	}
	for _, s := range specs {
		x.condaSpec(s)
	}
}

// condaSpec installs one conda match spec.
func (x *extractor) condaSpec(s string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return
	}
	if !condaSpecRE.MatchString(s) || strings.Contains(s, "$") {
		x.note("conda package %q is not a package name with a version; skipped", s)
		return
	}
	name := s
	if i := strings.LastIndex(name, "::"); i >= 0 {
		name = name[i+2:]
	}
	name = normName(nameRE.FindString(name))
	switch name {
	case "python":
		x.python = s
	case "pip":
	default:
		x.add(Package{Name: name, Spec: s, Conda: true})
	}
}

// condaEnvFile installs what a conda environment file lists.
func (x *extractor) condaEnvFile(file string, depth int) {
	data, src, err := x.contextFile(file)
	if err != nil {
		x.note("conda environment file %s: %v; skipped", file, err)
		return
	}
	var doc struct {
		Dependencies []yaml.Node `yaml:"dependencies"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		x.note("conda environment file %s is not valid YAML; skipped", src)
		return
	}
	for _, d := range doc.Dependencies {
		switch d.Kind {
		case yaml.ScalarNode:
			x.condaSpec(d.Value)
		case yaml.MappingNode:
			for i := 0; i+1 < len(d.Content); i += 2 {
				if d.Content[i].Value != "pip" {
					continue
				}
				for _, r := range d.Content[i+1].Content {
					x.requirementLine(r.Value, path.Dir(src), depth)
				}
			}
		}
	}
}

// pip interprets the arguments of pip (after "pip").
func (x *extractor) pip(args []string, env string) {
	if len(args) == 0 {
		return
	}
	switch args[0] {
	case "install":
	case "uninstall":
		if !x.aimed(env, "pip uninstall") {
			return
		}
		for _, a := range args[1:] {
			if !strings.HasPrefix(a, "-") {
				x.remove(normName(a))
			}
		}
		return
	default:
		return // cache, config, list, freeze, ...: nothing installed
	}
	if !x.aimed(env, "pip install") {
		return
	}
	// A pip install --upgrade after packages were installed bumps what is
	// there (often dependencies, for security fixes) over what those
	// packages ask for: kept apart, see Result.Upgrades.
	x.upgrading = len(x.pkgs) > 0 && (slices.Contains(args, "-U") || slices.Contains(args, "--upgrade"))
	defer func() { x.upgrading = false }()
	for i := 1; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			x.requirement(a)
			continue
		}
		name, val, hasVal := strings.Cut(a, "=")
		if pipValueFlags[name] && !hasVal && i+1 < len(args) {
			i++
			val = args[i]
		}
		x.pipOption(name, val, ".", 0)
	}
}

// pipOption handles one option of pip install or of a requirements file;
// dir is the folder relative names in a requirements file start from.
func (x *extractor) pipOption(name, val, dir string, depth int) {
	switch name {
	case "-r", "--requirement":
		x.requirementsFile(val, dir, depth+1)
	case "-e", "--editable":
		x.note("editable install %s is not honoured; skipped", val)
	case "-i", "--index-url", "--extra-index-url", "-f", "--find-links":
		x.note("package index %s is not used; packages come from PyPI", val)
	case "-c", "--constraint":
		x.note("constraints file %s is not applied", val)
	case "-t", "--target", "--prefix", "--root", "--user":
		x.note("pip install %s is not honoured; packages go into the environment", name)
	}
}

// maxRequirementsDepth bounds -r files including -r files.
const maxRequirementsDepth = 5

// requirementsFile installs what a requirements file lists.
func (x *extractor) requirementsFile(name, dir string, depth int) {
	if depth > maxRequirementsDepth {
		x.note("requirements file %s: nested too deep; skipped", name)
		return
	}
	if !path.IsAbs(name) && dir != "." {
		name = path.Join(dir, name)
	}
	data, src, err := x.contextFile(name)
	if err != nil {
		x.note("requirements file %s: %v; skipped", name, err)
		return
	}
	text := strings.ReplaceAll(string(data), "\\\n", "")
	for _, l := range strings.Split(text, "\n") {
		x.requirementLine(l, path.Dir(src), depth)
	}
}

// requirementLine installs one line of a requirements file (or a conda
// file's pip: list).
func (x *extractor) requirementLine(l, dir string, depth int) {
	l = strings.TrimSpace(stripComment(l))
	if l == "" {
		return
	}
	if strings.HasPrefix(l, "-") {
		f := strings.Fields(l)
		name, val, _ := strings.Cut(f[0], "=")
		if val == "" && len(f) > 1 {
			val = f[1]
		}
		x.pipOption(name, val, dir, depth)
		return
	}
	x.requirement(l)
}

// requirement installs one pip requirement, or notes why it cannot.
func (x *extractor) requirement(r string) {
	r = strings.TrimSpace(r)
	switch {
	case r == "":
		return
	case strings.Contains(r, "$") || strings.Contains(r, "{{"):
		x.note("requirement %q names an unset variable; skipped", r)
		return
	case strings.Contains(r, "://") || strings.HasPrefix(r, "git+") || strings.HasSuffix(r, ".whl") ||
		strings.HasSuffix(r, ".tar.gz") || strings.HasSuffix(r, ".zip") || strings.HasPrefix(r, ".") || strings.HasPrefix(r, "/"):
		x.note("requirement %s is a path or URL, not a PyPI package; skipped", r)
		return
	}
	if m := localVersionRE.FindStringSubmatch(r); m != nil {
		plain := localVersionRE.ReplaceAllString(r, "$1")
		x.note("%s -> %s: local builds (+cuXXX, +cpu) are not on PyPI", r, plain)
		r = plain
	}
	if !pipReqRE.MatchString(r) {
		x.note("requirement %q is not a package name with a version; skipped", r)
		return
	}
	x.add(Package{Name: normName(nameRE.FindString(r)), Spec: r})
}

// stripComment removes a " #" comment from a requirements or conda line.
func stripComment(l string) string {
	if strings.HasPrefix(strings.TrimSpace(l), "#") {
		return ""
	}
	if i := strings.Index(l, " #"); i >= 0 {
		return l[:i]
	}
	if i := strings.Index(l, "\t#"); i >= 0 {
		return l[:i]
	}
	return l
}
