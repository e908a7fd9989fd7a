package azp

import (
	"io/fs"

	"github.com/ciel-mlops/ciel/internal/spec"
	"gopkg.in/yaml.v3"
)

// Limits on one expansion, in the spirit of Azure's (100 template files,
// bounded nesting and memory), so no input can run away.
const (
	maxTemplateFiles = 100
	maxTemplateDepth = 50
	maxNodes         = 200_000
	maxAliases       = 10_000
	maxDepth         = 500
)

// Config configures expansion.
type Config struct {
	// Repos opens the files of a repository declared in
	// resources.repositories, for template: file.yml@alias. It is called at
	// most once per alias. Nil makes such references errors.
	Repos func(repo Repository) (fs.FS, error)
	// Variables are the predefined variables ${{ }} can read at compile
	// time (Build.SourceBranch, Build.SourceBranchName, Build.Reason, ...).
	Variables map[string]string
}

// Expand reads the pipeline file path from fsys, expands its templates and
// ${{ }} expressions with the given pipeline parameters, and returns the
// typed pipeline. Errors about the files are *spec.Error.
func Expand(fsys fs.FS, path string, params map[string]any) (*Pipeline, error) {
	return Config{}.Expand(fsys, path, params)
}

// Parse expands a single pipeline file given as bytes; template
// references in it are errors since there is nothing to read them from.
func Parse(name string, data []byte) (*Pipeline, error) {
	return Config{}.Expand(singleFileFS{name: name, data: data}, name, nil)
}

// Expand is the package-level Expand with this configuration.
func (c Config) Expand(fsys fs.FS, path string, params map[string]any) (*Pipeline, error) {
	e := &expander{cfg: c, files: map[*yaml.Node]string{}, repoFS: map[string]fs.FS{}, repos: map[string]Repository{}}
	root, err := e.expandRoot(source{fsys: fsys, file: path}, params)
	if err != nil {
		return nil, err
	}
	return (&decoder{files: e.files, file: path}).pipeline(root)
}

// source is a file and the file system it is read from.
type source struct {
	fsys  fs.FS
	alias string // "" for the pipeline's own repository
	file  string
}

// display names the file in positions: path, or path@alias.
func (s source) display() string {
	if s.alias == "" {
		return s.file
	}
	return s.file + "@" + s.alias
}

// scope is what ${{ }} sees at one point of one file.
type scope struct {
	src    source
	named  *Map // parameters, variables and each-bound names
	params *Map
	vars   *Map
}

// with returns a scope with one more named value bound (by ${{ each }}).
func (sc *scope) with(name string, v any) *scope {
	c := *sc
	c.named = sc.named.Clone()
	c.named.Set(name, v)
	return &c
}

// withVars returns a scope that also sees the static variables vars.
func (sc *scope) withVars(vars *Map) *scope {
	if vars.Len() == 0 {
		return sc
	}
	c := *sc
	c.vars = sc.vars.Clone()
	for i, k := range vars.keys {
		c.vars.Set(k, vars.vals[i])
	}
	c.named = sc.named.Clone()
	c.named.Set("variables", c.vars)
	return &c
}

// expander holds the state of one Expand call.
type expander struct {
	cfg     Config
	files   map[*yaml.Node]string // node -> display name of its file
	repos   map[string]Repository // declared in the root file's resources
	repoFS  map[string]fs.FS
	self    fs.FS
	loaded  int
	depth   int // nesting of value calls, bounded by maxDepth
	aliases int // aliases followed, bounded by maxAliases
	nodes   int
	loading []string // template files being expanded, outermost first
}

// pos is the position of a node in its file.
func (e *expander) pos(n *yaml.Node) spec.Pos {
	return spec.Pos{File: e.files[n], Line: n.Line, Col: n.Column}
}

// errorf returns a *spec.Error at n.
func (e *expander) errorf(n *yaml.Node, format string, args ...any) error {
	return spec.Errorf(e.pos(n), format, args...)
}

// derive makes n a new node standing where from stood.
func (e *expander) derive(n, from *yaml.Node) (*yaml.Node, error) {
	e.nodes++
	if e.nodes > maxNodes {
		return nil, e.errorf(from, "the expanded pipeline is larger than %d YAML nodes", maxNodes)
	}
	if _, ok := e.files[n]; !ok {
		e.files[n] = e.files[from]
	}
	if n.Line == 0 {
		n.Line, n.Column = from.Line, from.Column
	}
	return n, nil
}

// adopt records the file of every node under n made by valueToNode.
func (e *expander) adopt(n, from *yaml.Node) error {
	if _, err := e.derive(n, from); err != nil {
		return err
	}
	for _, c := range n.Content {
		if err := e.adopt(c, from); err != nil {
			return err
		}
	}
	return nil
}

// readFile parses one YAML file into its top-level mapping and records the
// file of each node.
func (e *expander) readFile(src source, at *yaml.Node) (*yaml.Node, error) {
	data, err := fs.ReadFile(src.fsys, src.file)
	if err != nil {
		msg := err.Error()
		if pe, ok := err.(*fs.PathError); ok {
			msg = pe.Err.Error()
		}
		if at == nil {
			return nil, spec.Errorf(spec.Pos{File: src.display()}, "cannot read pipeline file: %s", msg)
		}
		return nil, e.errorf(at, "cannot read template %s: %s", src.display(), msg)
	}
	var doc yaml.Node
	if err := unmarshalNode(data, &doc); err != nil {
		return nil, spec.SyntaxError(src.display(), data, err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, spec.Errorf(spec.Pos{File: src.display(), Line: 1, Col: 1}, "empty file: expected a mapping")
	}
	root := doc.Content[0]
	var mark func(*yaml.Node)
	mark = func(n *yaml.Node) {
		if _, seen := e.files[n]; seen {
			return
		}
		e.files[n] = src.display()
		for _, c := range n.Content {
			mark(c)
		}
	}
	mark(root)
	if root.Kind != yaml.MappingNode {
		return nil, e.errorf(root, "expected a mapping at the top of the file, got %s", describe(root))
	}
	return root, nil
}

// expandRoot expands the pipeline file, including an extends: template.
func (e *expander) expandRoot(src source, params map[string]any) (*yaml.Node, error) {
	e.self = src.fsys
	root, err := e.readFile(src, nil)
	if err != nil {
		return nil, err
	}
	e.declareRepos(root)
	given := NewMap()
	for k, v := range params {
		given.Set(k, v)
	}
	sc, err := e.bindParams(root, given, src)
	if err != nil {
		return nil, err
	}
	out, err := e.mapping(root, sc, "parameters")
	if err != nil {
		return nil, err
	}
	if p := mapGet(root, "parameters"); p != nil {
		out.Content = append([]*yaml.Node{root.Content[indexOfKey(root, "parameters")], p}, out.Content...)
	}
	return e.extend(out, sc)
}

// indexOfKey finds the position of key's node in a mapping's Content.
func indexOfKey(n *yaml.Node, key string) int {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return i
		}
	}
	return -1
}

// declareRepos notes the repositories of resources.repositories so that
// template: x@alias can find them.
func (e *expander) declareRepos(root *yaml.Node) {
	repos := mapGet(mapGet(root, "resources"), "repositories")
	if repos == nil || repos.Kind != yaml.SequenceNode {
		return
	}
	for _, r := range repos.Content {
		alias := mapGet(r, "repository")
		if alias == nil || alias.Kind != yaml.ScalarNode {
			continue
		}
		repo := Repository{Alias: alias.Value}
		for key, dst := range map[string]*string{"type": &repo.Type, "name": &repo.Name, "ref": &repo.Ref, "endpoint": &repo.Endpoint} {
			if v := mapGet(r, key); v != nil && v.Kind == yaml.ScalarNode {
				*dst = v.Value
			}
		}
		e.repos[repo.Alias] = repo
	}
}

// singleFileFS is a file system holding one file, for Parse.
type singleFileFS struct {
	name string
	data []byte
}

// Open opens the one file.
func (s singleFileFS) Open(name string) (fs.File, error) {
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

// ReadFile returns the one file's bytes.
func (s singleFileFS) ReadFile(name string) ([]byte, error) {
	if name != s.name {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return s.data, nil
}
