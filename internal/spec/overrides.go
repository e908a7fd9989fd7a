package spec

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// Options change how a file is parsed.
type Options struct {
	// Sets are --set overrides, "key.path=value", e.g.
	// "inputs.learning_rate=0.1", "settings.force_rerun=true",
	// "jobs.train.compute=cpu". They apply, in order, to the file being parsed
	// (not to component files it names) before it is decoded: missing mapping
	// keys are created and the value is read as YAML, so "true" is a boolean
	// and "3" an integer. A value that does not read as a YAML scalar (and
	// does not start with '{' or '[') is kept as a plain string.
	Sets []string
	// Fields are the values of named flags such as --name, --version or
	// --endpoint-name. Each is set as a plain string at its key path after
	// Sets and before the file is checked, so they win over the file and
	// over --set (as az's own flags do), and a file holding a placeholder
	// (`endpoint_name: <endpoint_name>`, as the azureml-examples files do)
	// is valid once the flag gives the real value. Errors about one name
	// the flag. Empty values are skipped.
	Fields []Field
}

// Field is one flag's value for Options.Fields.
type Field struct {
	Flag  string // "--endpoint-name", for errors
	Key   string // the key path it sets: "endpoint_name"
	Value string
}

// applyFields sets the flag values of fields in the mapping root.
func (d *decoder) applyFields(root *yaml.Node, fields []Field) error {
	var errs ErrorList
	for _, f := range fields {
		if f.Value == "" {
			continue
		}
		origin := f.Flag + " " + f.Value
		val := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: f.Value}
		d.markOrigin(val, origin)
		if err := d.setPath(root, strings.Split(f.Key, "."), val, origin); err != nil {
			errs = append(errs, Errorf(Pos{File: origin}, "%v", err))
		}
	}
	return errs.Err()
}

// applySets applies --set overrides to the mapping root. Nodes they write
// are remembered so errors about them point at the flag, not the file.
func (d *decoder) applySets(root *yaml.Node, sets []string) error {
	var errs ErrorList
	for _, set := range sets {
		origin := "--set " + set
		keys, val, err := parseSet(set)
		if err != nil {
			errs = append(errs, Errorf(Pos{File: origin}, "%v", err))
			continue
		}
		d.markOrigin(val, origin)
		if err := d.setPath(root, keys, val, origin); err != nil {
			errs = append(errs, Errorf(Pos{File: origin}, "%v", err))
		}
	}
	return errs.Err()
}

// parseSet splits "a.b.c=value" into its keys and the value's node.
func parseSet(set string) ([]string, *yaml.Node, error) {
	key, value, ok := strings.Cut(set, "=")
	if !ok {
		return nil, nil, fmt.Errorf("expected key=value, e.g. inputs.learning_rate=0.1")
	}
	key = strings.TrimSpace(key)
	keys := strings.Split(key, ".")
	for _, k := range keys {
		if k == "" {
			return nil, nil, fmt.Errorf("invalid key %q: expected names separated by single dots, e.g. jobs.train.compute", key)
		}
	}
	val, err := parseSetValue(value)
	if err != nil {
		return nil, nil, err
	}
	return keys, val, nil
}

// parseSetValue reads a --set value as YAML, falling back to a plain string
// for text that is not meant as YAML (a command line with ": " in it).
func parseSetValue(value string) (*yaml.Node, error) {
	plain := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value}
	trimmed := strings.TrimSpace(value)
	if trimmed == "" {
		return plain, nil
	}
	structured := strings.HasPrefix(trimmed, "{") || strings.HasPrefix(trimmed, "[")
	var doc yaml.Node
	if err := unmarshalNode([]byte(value), &doc); err != nil || len(doc.Content) == 0 {
		if structured {
			return nil, fmt.Errorf("invalid YAML value %q: %v", value, err)
		}
		return plain, nil
	}
	n := doc.Content[0]
	if n.Kind != yaml.ScalarNode && !structured {
		return plain, nil
	}
	if hasAlias(n) {
		return nil, fmt.Errorf("invalid value %q: aliases are not allowed in --set", value)
	}
	return n, nil
}

// hasAlias reports whether n contains an alias.
func hasAlias(n *yaml.Node) bool {
	if n.Kind == yaml.AliasNode {
		return true
	}
	for _, c := range n.Content {
		if hasAlias(c) {
			return true
		}
	}
	return false
}

// markOrigin records that n and everything below it came from a --set flag.
func (d *decoder) markOrigin(n *yaml.Node, origin string) {
	d.s.origins[n] = origin
	for _, c := range n.Content {
		d.markOrigin(c, origin)
	}
}

// setPath stores val at keys below the mapping root, creating mappings on
// the way and replacing what was there.
func (d *decoder) setPath(root *yaml.Node, keys []string, val *yaml.Node, origin string) error {
	m := root
	for i, k := range keys {
		last := i == len(keys)-1
		idx := mappingIndex(m, k)
		if idx < 0 {
			key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}
			d.s.origins[key] = origin
			var child *yaml.Node
			if last {
				child = val
			} else {
				child = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
				d.s.origins[child] = origin
			}
			m.Content = append(m.Content, key, child)
			m = child
			continue
		}
		if last {
			if vi := typedInputValue(keys, m.Content[idx+1], val); vi >= 0 {
				// Keep the input's declared type, so the value is
				// checked against it.
				m.Content[idx+1].Content[vi] = val
				return nil
			}
			m.Content[idx+1] = val
			return nil
		}
		child := m.Content[idx+1]
		if child.Kind == yaml.AliasNode && child.Alias != nil {
			// Copy what the alias points at so the override changes only
			// this place, not every user of the anchor.
			child = deepCopy(child.Alias)
			m.Content[idx+1] = child
		}
		switch {
		case isNull(child):
			child = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: child.Line, Column: child.Column}
			m.Content[idx+1] = child
		case child.Kind != yaml.MappingNode:
			return fmt.Errorf("%s is %s, not a mapping, so it has no key %q", strings.Join(keys[:i+1], "."), describe(child), keys[i+1])
		}
		m = child
	}
	return nil
}

// typedInputValue returns the index in old.Content of the value node of a
// literal input written as a mapping ({type: integer, value: 3}) that
// "--set inputs.<name>=<scalar>" replaces, or -1 when the override replaces
// the whole node: the scalar becomes the input's value and stays checked
// against the type declared beside it.
func typedInputValue(keys []string, old, val *yaml.Node) int {
	if len(keys) < 2 || keys[len(keys)-2] != "inputs" || old.Kind != yaml.MappingNode || val.Kind != yaml.ScalarNode {
		return -1
	}
	t := mappingIndex(old, "type")
	if t < 0 || !contains(literalTypes, old.Content[t+1].Value) {
		return -1
	}
	for _, k := range []string{"value", "default"} {
		if i := mappingIndex(old, k); i >= 0 {
			return i + 1
		}
	}
	return -1
}

// mappingIndex returns the index in m.Content of the key named k, or -1.
func mappingIndex(m *yaml.Node, k string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if key := m.Content[i]; key.Kind == yaml.ScalarNode && key.Value == k && key.ShortTag() != "!!merge" {
			return i
		}
	}
	return -1
}

// deepCopy copies n and everything below it. Aliases below n are copied as
// aliases (still pointing at their anchors), so the copy is no larger than
// the text; setPath copies again if it descends through one.
func deepCopy(n *yaml.Node) *yaml.Node {
	cp := *n
	cp.Content = make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		if c.Kind == yaml.AliasNode {
			a := *c
			cp.Content[i] = &a
			continue
		}
		cp.Content[i] = deepCopy(c)
	}
	return &cp
}
