package azp

import (
	"io/fs"
	"path"
	"strings"

	"gopkg.in/yaml.v3"
)

// items expands the items of a sequence under key, splicing in what
// ${{ if }}/${{ each }} items, array-valued ${{ }} items and template:
// references produce.
func (e *expander) items(content []*yaml.Node, sc *scope, key string) ([]*yaml.Node, error) {
	var out []*yaml.Node
	emit := func(n *yaml.Node) error {
		if listKinds[key] && n.Kind == yaml.MappingNode && mapGet(n, "template") != nil {
			ts, err := e.template(n, sc, key)
			out = append(out, ts...)
			return err
		}
		out = append(out, n)
		return nil
	}
	for _, it := range content {
		for it.Kind == yaml.AliasNode && it.Alias != nil {
			if e.aliases++; e.aliases > maxAliases {
				return nil, e.errorf(it, "more than %d aliases followed", maxAliases)
			}
			it = it.Alias
		}
		if isSpliceDirective(it) {
			spliced, err := e.splice(it, sc, key)
			if err != nil {
				return nil, err
			}
			out = append(out, spliced...)
			continue
		}
		nv, err := e.value(it, sc, key)
		if err != nil {
			return nil, err
		}
		switch {
		case it.Kind == yaml.ScalarNode && nv.Kind == yaml.SequenceNode:
			for _, c := range nv.Content {
				if err := emit(c); err != nil {
					return nil, err
				}
			}
		case it.Kind == yaml.MappingNode && nv.Kind == yaml.MappingNode && len(nv.Content) == 0 && len(it.Content) > 0:
			// every key was a directive that inserted nothing: no item
		default:
			if err := emit(nv); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// isSpliceDirective reports whether a sequence item is a mapping of
// ${{ if }}/${{ elseif }}/${{ else }}/${{ each }} keys whose values are
// sequences of items to insert.
func isSpliceDirective(it *yaml.Node) bool {
	if it.Kind != yaml.MappingNode || len(it.Content) < 2 {
		return false
	}
	for i := 0; i+1 < len(it.Content); i += 2 {
		d, ok, err := parseDirective(it.Content[i].Value)
		if err != nil || !ok || d.kind == "expr" || d.kind == "insert" {
			return false
		}
		v := it.Content[i+1]
		if v.Kind != yaml.SequenceNode && !isNull(v) {
			return false
		}
	}
	return true
}

// splice expands a directive item into the items it inserts.
func (e *expander) splice(it *yaml.Node, sc *scope, key string) ([]*yaml.Node, error) {
	var out []*yaml.Node
	c := it.Content
	for i := 0; i+1 < len(c); i += 2 {
		d, _, _ := parseDirective(c[i].Value)
		switch d.kind {
		case "if":
			chosen, last, err := e.chooseBranch(c, i, sc, func(n *yaml.Node) string { return n.Value })
			if err != nil {
				return nil, err
			}
			i = last
			if chosen != nil {
				got, err := e.items(chosen.Content, sc, key)
				if err != nil {
					return nil, err
				}
				out = append(out, got...)
			}
		case "each":
			coll, err := e.eval(c[i], d.expr, sc)
			if err != nil {
				return nil, err
			}
			body := c[i+1]
			err = e.each(c[i], d.name, coll, sc, func(isc *scope) error {
				got, err := e.items(body.Content, isc, key)
				out = append(out, got...)
				return err
			})
			if err != nil {
				return nil, err
			}
		default:
			return nil, e.errorf(c[i], "${{ %s }} without a preceding ${{ if }}", d.kind)
		}
	}
	return out, nil
}

// template replaces a template: reference in a list of kind (steps, jobs,
// stages or variables) with the items of the template file.
func (e *expander) template(ref *yaml.Node, sc *scope, kind string) ([]*yaml.Node, error) {
	var pathNode, paramsNode *yaml.Node
	for i := 0; i+1 < len(ref.Content); i += 2 {
		switch ref.Content[i].Value {
		case "template":
			pathNode = ref.Content[i+1]
		case "parameters":
			paramsNode = ref.Content[i+1]
		default:
			return nil, e.errorf(ref.Content[i], "unknown key %q in a template reference: expected one of template, parameters", ref.Content[i].Value)
		}
	}
	if pathNode.Kind != yaml.ScalarNode || pathNode.Value == "" {
		return nil, e.errorf(pathNode, "template: expected a file path, got %s", describe(pathNode))
	}
	root, src, pop, err := e.enter(sc.src, pathNode)
	if err != nil {
		return nil, err
	}
	defer pop()
	tsc, err := e.bindTemplateParams(root, paramsNode, pathNode, src, sc.vars)
	if err != nil {
		return nil, err
	}
	expanded, err := e.mapping(root, tsc, "parameters")
	if err != nil {
		return nil, err
	}
	for i := 0; i+1 < len(expanded.Content); i += 2 {
		if k := expanded.Content[i]; k.Value != kind {
			return nil, e.errorf(k, "unknown key %q in a %s template: expected one of parameters, %s", k.Value, kind, kind)
		}
	}
	list := mapGet(expanded, kind)
	switch {
	case list == nil || isNull(list):
		return nil, nil
	case kind == "variables" && list.Kind == yaml.MappingNode:
		return e.variableItems(list)
	case list.Kind != yaml.SequenceNode:
		return nil, e.errorf(list, "%s: expected a sequence, got %s", kind, describe(list))
	}
	return list.Content, nil
}

// variableItems turns the mapping form of variables into name/value items.
func (e *expander) variableItems(m *yaml.Node) ([]*yaml.Node, error) {
	var out []*yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		item, err := e.derive(&yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}, k)
		if err != nil {
			return nil, err
		}
		for _, kv := range [][2]*yaml.Node{{{Kind: yaml.ScalarNode, Value: "name"}, {Kind: yaml.ScalarNode, Value: k.Value}}, {{Kind: yaml.ScalarNode, Value: "value"}, v}} {
			nk, err := e.derive(kv[0], k)
			if err != nil {
				return nil, err
			}
			nv, err := e.derive(kv[1], k)
			if err != nil {
				return nil, err
			}
			item.Content = append(item.Content, nk, nv)
		}
		out = append(out, item)
	}
	return out, nil
}

// enter resolves and reads a template file, refusing cycles and runaway
// nesting; pop must be called when its expansion is done.
func (e *expander) enter(from source, pathNode *yaml.Node) (*yaml.Node, source, func(), error) {
	src, err := e.resolve(from, pathNode)
	if err != nil {
		return nil, src, nil, err
	}
	for _, f := range e.loading {
		if f == src.display() {
			return nil, src, nil, e.errorf(pathNode, "template include cycle: %s -> %s", strings.Join(e.loading, " -> "), src.display())
		}
	}
	if len(e.loading) >= maxTemplateDepth {
		return nil, src, nil, e.errorf(pathNode, "templates nested more than %d deep", maxTemplateDepth)
	}
	if e.loaded++; e.loaded > maxTemplateFiles {
		return nil, src, nil, e.errorf(pathNode, "more than %d template files", maxTemplateFiles)
	}
	root, err := e.readFile(src, pathNode)
	if err != nil {
		return nil, src, nil, err
	}
	e.loading = append(e.loading, src.display())
	return root, src, func() { e.loading = e.loading[:len(e.loading)-1] }, nil
}

// resolve finds the file a template: path names: relative to the including
// file, from the repository root when it starts with /, and in another
// repository when it ends with @alias (@self is the pipeline's own).
func (e *expander) resolve(from source, pathNode *yaml.Node) (source, error) {
	ref, alias, hasAlias := strings.Cut(pathNode.Value, "@")
	src := source{fsys: from.fsys, alias: from.alias}
	switch {
	case hasAlias && alias == "self":
		src = source{fsys: e.self}
	case hasAlias:
		fsys, err := e.repoFiles(alias, pathNode)
		if err != nil {
			return src, err
		}
		src = source{fsys: fsys, alias: alias}
	}
	var p string
	switch {
	case strings.HasPrefix(ref, "/"):
		p = path.Clean(strings.TrimPrefix(ref, "/"))
	case hasAlias && alias != from.alias && !(alias == "self" && from.alias == ""):
		p = path.Clean(ref)
	default:
		p = path.Join(path.Dir(from.file), ref)
	}
	if !fs.ValidPath(p) {
		return src, e.errorf(pathNode, "template path %q leaves the repository", pathNode.Value)
	}
	src.file = p
	return src, nil
}

// repoFiles opens the repository alias through Config.Repos, once.
func (e *expander) repoFiles(alias string, at *yaml.Node) (fs.FS, error) {
	if fsys, ok := e.repoFS[alias]; ok {
		return fsys, nil
	}
	repo, ok := e.repos[alias]
	if !ok {
		return nil, e.errorf(at, "repository %q is not declared in resources.repositories", alias)
	}
	if e.cfg.Repos == nil {
		return nil, e.errorf(at, "template from repository %q: no way to read other repositories was configured", alias)
	}
	fsys, err := e.cfg.Repos(repo)
	if err != nil {
		return nil, e.errorf(at, "open repository %q (%s): %v", alias, repo.Name, err)
	}
	e.repoFS[alias] = fsys
	return fsys, nil
}

// extend replaces an expanded root with extends: by the merge of the
// root's other keys and the extended template's keys.
func (e *expander) extend(root *yaml.Node, sc *scope) (*yaml.Node, error) {
	ext := mapGet(root, "extends")
	if ext == nil {
		return root, nil
	}
	if ext.Kind != yaml.MappingNode || mapGet(ext, "template") == nil {
		return nil, e.errorf(ext, "extends: expected a mapping with template: and parameters:, got %s", describe(ext))
	}
	var pathNode, paramsNode *yaml.Node
	for i := 0; i+1 < len(ext.Content); i += 2 {
		switch k := ext.Content[i]; k.Value {
		case "template":
			pathNode = ext.Content[i+1]
		case "parameters":
			paramsNode = ext.Content[i+1]
		default:
			return nil, e.errorf(k, "unknown key %q in extends: expected one of template, parameters", k.Value)
		}
	}
	troot, src, pop, err := e.enter(sc.src, pathNode)
	if err != nil {
		return nil, err
	}
	defer pop()
	tsc, err := e.bindTemplateParams(troot, paramsNode, pathNode, src, sc.vars)
	if err != nil {
		return nil, err
	}
	expanded, err := e.mapping(troot, tsc, "parameters")
	if err != nil {
		return nil, err
	}
	expanded, err = e.extend(expanded, tsc)
	if err != nil {
		return nil, err
	}
	out := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: root.Line, Column: root.Column}
	e.files[out] = e.files[root]
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "extends" {
			out.Content = append(out.Content, root.Content[i], root.Content[i+1])
		}
	}
	for i := 0; i+1 < len(expanded.Content); i += 2 {
		if err := e.addPair(out, expanded.Content[i], expanded.Content[i+1]); err != nil {
			return nil, err
		}
	}
	return out, nil
}
