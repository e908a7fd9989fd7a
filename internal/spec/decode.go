package spec

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxAliases bounds how many YAML aliases one parse follows, so a small file
// of aliases to aliases cannot make the parser walk an exponential tree.
const maxAliases = 10000

// session is the state shared by every file one Parse call reads: the
// top-level file and the component files it names.
type session struct {
	errs    ErrorList
	origins map[*yaml.Node]string // nodes written by --set, mapped to "--set key=value"
	loading []loadingFile         // component files being parsed, outermost first
	aliases int
}

// decoder reads the nodes of one file.
type decoder struct {
	file string // the file as it appears in positions
	abs  string // the file's absolute path; "" when parsing bytes with no name
	dir  string // absolute directory that relative paths resolve against
	s    *session
	// nest is how deep in nested choices of a search space the decoder is.
	nest int
}

// newDecoder returns a decoder for file within the session s.
func newDecoder(file string, s *session) (*decoder, error) {
	d := &decoder{file: file, s: s}
	if file == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("resolve working directory: %w", err)
		}
		d.dir = wd
		return d, nil
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", file, err)
	}
	d.abs, d.dir = abs, filepath.Dir(abs)
	return d, nil
}

// newSession starts the state of one Parse call.
func newSession() *session {
	return &session{origins: map[*yaml.Node]string{}}
}

// parseRoot decodes data into a node tree, applies the --set overrides and
// returns the top-level mapping.
func (d *decoder) parseRoot(data []byte, opts Options) (*yaml.Node, error) {
	var doc yaml.Node
	if err := unmarshalNode(data, &doc); err != nil {
		return nil, SyntaxError(d.file, data, err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, Errorf(Pos{File: d.file}, "empty file: expected a mapping")
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, Errorf(d.pos(root), "expected a mapping at the top of the file, got %s", describe(root))
	}
	if err := d.applySets(root, opts.Sets); err != nil {
		return nil, err
	}
	if err := d.applyFields(root, opts.Fields); err != nil {
		return nil, err
	}
	return root, nil
}

// unmarshalNode runs yaml.Unmarshal, turning a panic inside the YAML library
// into an error so that no input can crash the caller.
func unmarshalNode(data []byte, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: %v", r)
		}
	}()
	return yaml.Unmarshal(data, n)
}

// finish returns the session's errors in file order, or nil.
func (s *session) finish() error {
	if len(s.errs) == 0 {
		return nil
	}
	files := map[string]int{}
	for _, e := range s.errs {
		if _, ok := files[e.Pos.File]; !ok {
			files[e.Pos.File] = len(files)
		}
	}
	sort.SliceStable(s.errs, func(i, j int) bool {
		a, b := s.errs[i].Pos, s.errs[j].Pos
		if a.File != b.File {
			return files[a.File] < files[b.File]
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	return s.errs
}

// pos is where n was written: its line and column, or the --set flag that
// wrote it.
func (d *decoder) pos(n *yaml.Node) Pos {
	if o, ok := d.s.origins[n]; ok {
		return Pos{File: o}
	}
	return Pos{File: d.file, Line: n.Line, Col: n.Column}
}

// errorf records a problem at n. path, when not empty, names the field
// ("jobs.train.inputs.lr") and prefixes the message.
func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if path != "" {
		msg = path + ": " + msg
	}
	d.s.errs = append(d.s.errs, &Error{Pos: d.pos(n), Msg: msg})
}

// addErr records err, which is an *Error, an ErrorList or anything else (then
// placed at n).
func (d *decoder) addErr(n *yaml.Node, path string, err error) {
	var list ErrorList
	var one *Error
	switch {
	case errors.As(err, &list):
		d.s.errs = append(d.s.errs, list...)
	case errors.As(err, &one):
		d.s.errs = append(d.s.errs, one)
	default:
		d.errorf(n, path, "%v", err)
	}
}

// resolve follows aliases, within the session's budget.
func (d *decoder) resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode {
		d.s.aliases++
		if d.s.aliases == maxAliases {
			d.errorf(n, "", "too many YAML aliases (more than %d)", maxAliases)
		}
		if d.s.aliases >= maxAliases || n.Alias == nil {
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: n.Line, Column: n.Column}
		}
		n = n.Alias
	}
	return n
}

// describe names what kind of YAML value n is, for messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a sequence"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!int":
			return "an integer"
		case "!!float":
			return "a number"
		case "!!bool":
			return "a boolean"
		case "!!str":
			return "a string"
		}
		return "a scalar"
	}
	return "nothing"
}

// isNull reports whether n is an empty value or ~.
func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// joinPath names a field below path.
func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// pair is one key and value of a mapping.
type pair struct {
	name string
	key  *yaml.Node
	val  *yaml.Node
}

// pairs lists the entries of the mapping n, reporting duplicate keys and
// expanding YAML merge keys (<<), whose entries never override explicit ones.
func (d *decoder) pairs(n *yaml.Node, path string) []pair {
	n = d.resolve(n)
	var explicit, merged []pair
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := d.resolve(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, path, "expected a string key, got %s", describe(k))
			continue
		}
		if k.ShortTag() == "!!merge" {
			merged = append(merged, d.mergePairs(v, path)...)
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.errorf(k, path, "duplicate key %q (first at line %d); expected each key once in a mapping", k.Value, first.Line)
			continue
		}
		seen[k.Value] = k
		explicit = append(explicit, pair{name: k.Value, key: k, val: v})
	}
	for _, p := range merged {
		if _, ok := seen[p.name]; !ok {
			seen[p.name] = p.key
			explicit = append(explicit, p)
		}
	}
	return explicit
}

// mergePairs returns the entries a merge key (<<) brings in: those of a
// mapping or of a sequence of mappings.
func (d *decoder) mergePairs(v *yaml.Node, path string) []pair {
	v = d.resolve(v)
	switch v.Kind {
	case yaml.MappingNode:
		return d.pairs(v, path)
	case yaml.SequenceNode:
		var out []pair
		for _, item := range v.Content {
			out = append(out, d.mergePairs(item, path)...)
		}
		return out
	}
	d.errorf(v, path, "expected a mapping to merge, got %s", describe(v))
	return nil
}

// fieldFunc decodes the value of one known key; path names the key.
type fieldFunc func(path string, v *yaml.Node)

// keyTable is what keys a mapping accepts.
type keyTable struct {
	known     map[string]fieldFunc // decoded by their handler
	elsewhere map[string]string    // valid in another kind of file: key -> where
	ignored   []string             // allowed by Azure ML, of no use to ciel
	// open accepts any other key too, as Azure ML does where its schema
	// includes unknown keys (a pipeline's settings).
	open bool
}

// use adds the handlers of extra to the table when ok is set; otherwise
// their keys are reported as valid only in where.
func (t *keyTable) use(extra map[string]fieldFunc, ok bool, where string) {
	for k, h := range extra {
		if ok {
			t.known[k] = h
			continue
		}
		if t.elsewhere == nil {
			t.elsewhere = map[string]string{}
		}
		t.elsewhere[k] = where
	}
}

// fields decodes the mapping n with one handler per known key. Keys in
// ignored are accepted and skipped (Azure ML allows them but ciel has no use
// for them); any other key is an error listing the known ones. what names the
// thing being decoded in that error ("command job").
func (d *decoder) fields(n *yaml.Node, path, what string, known map[string]fieldFunc, ignored []string) {
	d.fieldsOf(n, path, what, keyTable{known: known, ignored: ignored})
}

// fieldsOf is fields with a full key table.
func (d *decoder) fieldsOf(n *yaml.Node, path, what string, t keyTable) {
	n = d.resolve(n)
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "expected a mapping for %s, got %s", what, describe(n))
		return
	}
	for _, p := range d.pairs(n, path) {
		if h, ok := t.known[p.name]; ok {
			h(joinPath(path, p.name), d.resolve(p.val))
			continue
		}
		if where, ok := t.elsewhere[p.name]; ok {
			d.errorf(p.key, joinPath(path, p.name), "only valid in %s, not in %s", where, what)
			continue
		}
		if t.open || contains(t.ignored, p.name) {
			continue
		}
		d.errorf(p.key, path, "unknown key %q in %s; known keys: %s", p.name, what, strings.Join(sortedKeys(t.known), ", "))
	}
}

// contains reports whether list holds s.
func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
