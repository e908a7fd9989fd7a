package azp

import (
	"fmt"
	"sort"
	"strings"

	"github.com/ciel-mlops/ciel/internal/spec"
	"gopkg.in/yaml.v3"
)

// parameterTypes are the parameter types Azure accepts, lower-cased.
var parameterTypes = map[string]string{
	"string": "string", "number": "number", "boolean": "boolean", "object": "object",
	"step": "step", "steplist": "stepList", "job": "job", "joblist": "jobList",
	"deployment": "deployment", "deploymentlist": "deploymentList", "stage": "stage", "stagelist": "stageList",
	"filepath": "filePath", "pool": "pool", "environment": "environment", "securefile": "secureFile",
	"serviceconnection": "serviceConnection", "container": "container", "containerlist": "containerList",
}

// parameterTypeList names the accepted types for messages.
const parameterTypeList = "string, number, boolean, object, step, stepList, job, jobList, deployment, deploymentList, stage, stageList, filePath, pool, environment, secureFile, serviceConnection, container, containerList"

// declaredParam is a parameter declaration and the node it came from.
type declaredParam struct {
	Parameter
	node       *yaml.Node
	hasDefault bool
}

// declarations reads the parameters: of a pipeline or template file, in
// either the typed list form or the old name: default mapping form.
func (e *expander) declarations(root *yaml.Node) ([]declaredParam, error) {
	decl := mapGet(root, "parameters")
	if decl == nil || isNull(decl) {
		return nil, nil
	}
	var out []declaredParam
	switch decl.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(decl.Content); i += 2 {
			def, err := nodeToValue(decl.Content[i+1])
			if err != nil {
				return nil, e.errorf(decl.Content[i+1], "default: %v", err)
			}
			out = append(out, declaredParam{Parameter: Parameter{Name: decl.Content[i].Value, Type: "object",
				Default: def}, node: decl.Content[i], hasDefault: true})
		}
	case yaml.SequenceNode:
		for _, it := range decl.Content {
			p, hasDefault, err := parseParamDecl(it, e.errorf)
			if err != nil {
				return nil, err
			}
			out = append(out, declaredParam{Parameter: p, node: it, hasDefault: hasDefault})
		}
	default:
		return nil, e.errorf(decl, "parameters: expected a sequence of {name, type, default, values}, got %s", describe(decl))
	}
	return out, nil
}

// parseParamDecl reads one {name, displayName, type, default, values}.
func parseParamDecl(it *yaml.Node, errorf func(*yaml.Node, string, ...any) error) (Parameter, bool, error) {
	var p Parameter
	hasDefault := false
	if it.Kind != yaml.MappingNode {
		return p, false, errorf(it, "parameter: expected a mapping with name:, type:, default:, got %s", describe(it))
	}
	for i := 0; i+1 < len(it.Content); i += 2 {
		k, v := it.Content[i], it.Content[i+1]
		switch k.Value {
		case "name", "displayName", "type":
			if v.Kind != yaml.ScalarNode {
				return p, false, errorf(v, "%s: expected a string, got %s", k.Value, describe(v))
			}
			switch k.Value {
			case "name":
				p.Name = v.Value
			case "displayName":
				p.DisplayName = v.Value
			default:
				t, ok := parameterTypes[strings.ToLower(v.Value)]
				if !ok {
					return p, false, errorf(v, "unknown parameter type %q: expected one of %s", v.Value, parameterTypeList)
				}
				p.Type = t
			}
		case "default":
			def, err := nodeToValue(v)
			if err != nil {
				return p, false, errorf(v, "default: %v", err)
			}
			p.Default, hasDefault = def, true
		case "values":
			if v.Kind != yaml.SequenceNode {
				return p, false, errorf(v, "values: expected a sequence, got %s", describe(v))
			}
			vals, err := nodeToValue(v)
			if err != nil {
				return p, false, errorf(v, "values: %v", err)
			}
			p.Values, _ = vals.([]any)
		default:
			return p, false, errorf(k, "unknown key %q in a parameter: expected one of name, displayName, type, default, values", k.Value)
		}
	}
	if p.Name == "" {
		return p, false, errorf(it, "parameter: name: is required")
	}
	if p.Type == "" {
		p.Type = "string"
	}
	return p, hasDefault, nil
}

// bindParams binds a pipeline's declared parameters to the values given
// to Expand (strings from a command line are converted to the type).
func (e *expander) bindParams(root *yaml.Node, given *Map, src source) (*scope, error) {
	decls, err := e.declarations(root)
	if err != nil {
		return nil, err
	}
	vars := NewMap()
	keys := make([]string, 0, len(e.cfg.Variables))
	for k := range e.cfg.Variables {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		vars.Set(k, e.cfg.Variables[k])
	}
	params := NewMap()
	for _, d := range decls {
		v, ok := given.Get(d.Name)
		var err error
		if ok {
			v, err = coerceParam(goToValue(v), d.Type, true)
		} else if d.hasDefault {
			v, err = coerceParam(d.Default, d.Type, false)
		} else {
			err = fmt.Errorf("a value for the parameter is required (it has no default)")
		}
		if err == nil {
			err = checkAllowed(v, d.Values)
		}
		if err != nil {
			return nil, e.errorf(d.node, "parameter %q: %v", d.Name, err)
		}
		params.Set(d.Name, v)
	}
	for _, k := range given.Keys() {
		if _, ok := params.Get(k); !ok {
			return nil, spec.Errorf(spec.Pos{File: src.display()}, "unexpected parameter %q: the pipeline declares %s", k, declaredNames(decls))
		}
	}
	return newScope(src, params, vars), nil
}

// bindTemplateParams binds a template's declared parameters to the
// expanded parameters: mapping of the reference at pathNode.
func (e *expander) bindTemplateParams(root, paramsNode, pathNode *yaml.Node, src source, vars *Map) (*scope, error) {
	decls, err := e.declarations(root)
	if err != nil {
		return nil, err
	}
	given := NewMap()
	givenNodes := map[string]*yaml.Node{}
	if paramsNode != nil && !isNull(paramsNode) {
		if paramsNode.Kind != yaml.MappingNode {
			return nil, e.errorf(paramsNode, "parameters: expected a mapping, got %s", describe(paramsNode))
		}
		for i := 0; i+1 < len(paramsNode.Content); i += 2 {
			k := paramsNode.Content[i]
			v, err := nodeToValue(paramsNode.Content[i+1])
			if err != nil {
				return nil, e.errorf(paramsNode.Content[i+1], "parameter %q: %v", k.Value, err)
			}
			given.Set(k.Value, v)
			givenNodes[strings.ToLower(k.Value)] = paramsNode.Content[i+1]
		}
	}
	params := NewMap()
	for _, d := range decls {
		at := pathNode
		v, ok := given.Get(d.Name)
		var err error
		if ok {
			at = givenNodes[strings.ToLower(d.Name)]
			v, err = coerceParam(v, d.Type, false)
		} else if d.hasDefault {
			v, err = coerceParam(d.Default, d.Type, false)
		} else {
			err = fmt.Errorf("a value is required (the template %s declares it without a default)", src.display())
		}
		if err == nil {
			err = checkAllowed(v, d.Values)
		}
		if err != nil {
			return nil, e.errorf(at, "parameter %q: %v", d.Name, err)
		}
		params.Set(d.Name, v)
	}
	for _, k := range given.Keys() {
		if _, ok := params.Get(k); !ok {
			return nil, e.errorf(givenNodes[strings.ToLower(k)], "unexpected parameter %q: %s declares %s", k, src.display(), declaredNames(decls))
		}
	}
	return newScope(src, params, vars), nil
}

// newScope is the scope at the top of a file.
func newScope(src source, params, vars *Map) *scope {
	if vars == nil {
		vars = NewMap()
	}
	named := NewMap()
	named.Set("parameters", params)
	named.Set("variables", vars)
	return &scope{src: src, named: named, params: params, vars: vars}
}

// declaredNames lists declared parameter names for messages.
func declaredNames(decls []declaredParam) string {
	if len(decls) == 0 {
		return "no parameters"
	}
	names := make([]string, len(decls))
	for i, d := range decls {
		names[i] = d.Name
	}
	return "parameters " + strings.Join(names, ", ")
}

// coerceParam checks a parameter value against its type and converts it.
// fromText allows an object-like value to arrive as YAML or JSON text, as
// it does from a command line.
func coerceParam(v any, typ string, fromText bool) (any, error) {
	if s, ok := v.(string); ok && fromText && isObjectType(typ) {
		var n yaml.Node
		if err := unmarshalNode([]byte(s), &n); err != nil {
			return nil, fmt.Errorf("expected a %s as YAML or JSON text: %v", typ, err)
		}
		parsed, err := nodeToValue(&n)
		if err != nil {
			return nil, fmt.Errorf("expected a %s as YAML or JSON text: %v", typ, err)
		}
		v = parsed
	}
	switch typ {
	case "number":
		if f, ok := v.(float64); ok {
			return f, nil
		}
		if s, ok := v.(string); ok && strings.TrimSpace(s) != "" {
			if f, ok := toNumber(s); ok {
				return f, nil
			}
		}
		return nil, fmt.Errorf("expected a number, got %s", quoteValue(v))
	case "boolean":
		if b, ok := v.(bool); ok {
			return b, nil
		}
		if s, ok := v.(string); ok && (strings.EqualFold(s, "true") || strings.EqualFold(s, "false")) {
			return strings.EqualFold(s, "true"), nil
		}
		return nil, fmt.Errorf("expected a boolean (true or false), got %s", quoteValue(v))
	case "object", "pool", "container", "containerList":
		return v, nil
	case "step", "job", "deployment", "stage":
		if _, ok := v.(*Map); !ok {
			return nil, fmt.Errorf("expected a %s (a mapping), got a %s", typ, kindName(v))
		}
		return v, nil
	case "stepList", "jobList", "deploymentList", "stageList":
		if v == nil {
			return []any{}, nil
		}
		list, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("expected a %s (a sequence), got a %s", typ, kindName(v))
		}
		for i, it := range list {
			if _, ok := it.(*Map); !ok {
				return nil, fmt.Errorf("item %d of the %s: expected a mapping, got a %s", i+1, typ, kindName(it))
			}
		}
		return v, nil
	}
	if _, ok := toString(v); !ok {
		return nil, fmt.Errorf("expected a %s, got a %s", typ, kindName(v))
	}
	s, _ := toString(v)
	return s, nil
}

// isObjectType reports whether a type holds mappings or sequences.
func isObjectType(typ string) bool {
	switch typ {
	case "string", "number", "boolean", "filePath", "environment", "secureFile", "serviceConnection":
		return false
	}
	return true
}

// checkAllowed checks a value against a parameter's values: list.
func checkAllowed(v any, allowed []any) error {
	if len(allowed) == 0 {
		return nil
	}
	shown := make([]string, len(allowed))
	for i, a := range allowed {
		if equalValues(v, a) {
			return nil
		}
		shown[i] = quoteValue(a)
	}
	return fmt.Errorf("%s is not one of the allowed values %s", quoteValue(v), strings.Join(shown, ", "))
}

// goToValue converts a Go value given to Expand into an expression value.
func goToValue(v any) any {
	switch v := v.(type) {
	case nil, bool, float64, string, *Map, Version:
		return v
	case int:
		return float64(v)
	case int64:
		return float64(v)
	case float32:
		return float64(v)
	case []string:
		out := make([]any, len(v))
		for i, s := range v {
			out[i] = s
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, it := range v {
			out[i] = goToValue(it)
		}
		return out
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		m := NewMap()
		for _, k := range keys {
			m.Set(k, goToValue(v[k]))
		}
		return m
	}
	return fmt.Sprint(v)
}
