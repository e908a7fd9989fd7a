package arm

import (
	"fmt"
	"strings"

	"github.com/ciel-mlops/ciel/internal/dataflow/factory"
	"github.com/ciel-mlops/ciel/internal/dataflow/jsonpos"
)

// paramTypes are ARM's parameter types, lower-case.
var paramTypes = map[string]string{
	"string": "a string", "securestring": "a string", "int": "an integer", "bool": "a boolean",
	"object": "an object", "secureobject": "an object", "array": "an array",
}

// fileValue is a value the parameters file gives.
type fileValue struct {
	v   *jsonpos.Value
	key jsonpos.Pos
}

// readParametersFile reads {"parameters": {"x": {"value": ...}}}.
func (im *importer) readParametersFile() (map[string]fileValue, []string, error) {
	out := map[string]fileValue{}
	var order []string
	if im.cfg.Parameters == nil {
		return out, nil, nil
	}
	file := im.cfg.ParametersFile
	at := func(v *jsonpos.Value, p, format string, args ...any) error {
		return &factory.Error{File: file, Line: v.Pos.Line, Col: v.Pos.Col, Msg: p + ": " + fmt.Sprintf(format, args...)}
	}
	root, err := jsonpos.Parse(im.cfg.Parameters)
	if err != nil {
		return nil, nil, factory.AsError(file, err)
	}
	params := root.Get("parameters")
	if root.Kind != jsonpos.Object || params == nil || params.Kind != jsonpos.Object {
		return nil, nil, &factory.Error{File: file, Line: root.Pos.Line, Col: root.Pos.Col,
			Msg: `expected a parameters file {"parameters": {"<name>": {"value": ...}}}`}
	}
	for _, m := range params.Members {
		p := "parameters." + m.Key
		switch {
		case m.Value.Kind != jsonpos.Object:
			return nil, nil, at(m.Value, p, `expected {"value": ...}, got %s`, m.Value.Kind)
		case m.Value.Get("reference") != nil:
			return nil, nil, at(m.Value.Get("reference"), p, "Key Vault references are not supported in a parameters file; give the value (or use an AzureKeyVault linked service and `ciel data-factory secret set`)")
		case m.Value.Get("value") == nil:
			return nil, nil, at(m.Value, p, `missing "value"`)
		}
		out[strings.ToLower(m.Key)] = fileValue{v: m.Value.Get("value"), key: m.KeyPos}
		order = append(order, strings.ToLower(m.Key))
	}
	return out, order, nil
}

// bindParameters binds each declared parameter to its value from the
// parameters file, its defaultValue, or (factoryName only) cfg's, checks
// its type and allowedValues, and refuses values for undeclared ones.
func (im *importer) bindParameters(tmpl *jsonpos.Value) error {
	given, givenOrder, err := im.readParametersFile()
	if err != nil {
		return err
	}
	im.ev.params = map[string]*binding{}
	decls := tmpl.Get("parameters")
	if decls != nil && decls.Kind != jsonpos.Object {
		return im.errorf(decls, "parameters", "expected an object, got %s", decls.Kind)
	}
	var errs factory.ErrorList
	var order []*binding
	if decls != nil {
		for _, m := range decls.Members {
			b, err := im.declareParameter(m, given)
			if err != nil {
				errs = append(errs, factory.AsError(im.cfg.TemplateFile, err))
				continue
			}
			im.ev.params[strings.ToLower(m.Key)] = b
			order = append(order, b)
		}
	}
	for _, key := range givenOrder {
		fv := given[key]
		if _, ok := im.ev.params[key]; !ok && decls.Get(key) == nil {
			errs = append(errs, &factory.Error{File: im.cfg.ParametersFile, Line: fv.key.Line, Col: fv.key.Col,
				Msg: fmt.Sprintf("parameters.%s: the template declares no such parameter", key)})
		}
	}
	if len(errs) > 0 {
		return errs.Err()
	}
	seen := map[*factory.Error]bool{} // one failure reached through several parameters is told once
	for _, b := range order {
		if _, err := im.ev.get("parameter", im.ev.params, b.name); err != nil {
			if fe := factory.AsError(im.cfg.TemplateFile, err); !seen[fe] {
				seen[fe] = true
				errs = append(errs, fe)
			}
		}
	}
	return errs.Err()
}

func (im *importer) declareParameter(m jsonpos.Member, given map[string]fileValue) (*binding, error) {
	name, decl, p := m.Key, m.Value, "parameters."+m.Key
	if decl.Kind != jsonpos.Object {
		return nil, im.errorf(decl, p, `expected {"type": ...}, got %s`, decl.Kind)
	}
	typV := decl.Get("type")
	if typV == nil || typV.Kind != jsonpos.String || paramTypes[strings.ToLower(typV.Text)] == "" {
		return nil, im.errorf(decl, p+".type", "expected one of string, securestring, int, bool, object, secureobject, array")
	}
	typ := strings.ToLower(typV.Text)
	b := &binding{name: name, declared: decl}
	b.resolve = func() (any, error) {
		var v any
		var where *factory.Error // where the value was written, for errors
		if fv, ok := given[strings.ToLower(name)]; ok {
			v = normalize(fv.v.Any())
			where = &factory.Error{File: im.cfg.ParametersFile, Line: fv.v.Pos.Line, Col: fv.v.Pos.Col}
		} else if def := decl.Get("defaultValue"); def != nil {
			var err error
			if v, err = im.ev.evalAny(def, p+".defaultValue"); err != nil {
				return nil, err
			}
			where = im.errorf(def, "", "")
		} else if strings.EqualFold(name, "factoryName") {
			v = im.cfg.FactoryName
			if v == "" {
				v = "ciel"
			}
			return v, nil
		} else {
			return nil, im.errorf(decl, p, "parameter %q has no value: give it in the parameters file ({\"parameters\": {%q: {\"value\": ...}}}) or a defaultValue in the template", name, name)
		}
		if !hasType(v, typ) {
			where.Msg = fmt.Sprintf("%s: expected %s (the parameter is %s), got %s", p, paramTypes[typ], typV.Text, describe(v))
			return nil, where
		}
		if allowed := decl.Get("allowedValues"); allowed != nil && allowed.Kind == jsonpos.Array {
			ok := false
			for _, a := range allowed.Elems {
				ok = ok || sameValue(normalize(a.Any()), v)
			}
			if !ok {
				where.Msg = fmt.Sprintf("%s: %v is not one of the allowedValues", p, v)
				return nil, where
			}
		}
		return v, nil
	}
	return b, nil
}

func hasType(v any, typ string) bool {
	switch typ {
	case "string", "securestring":
		_, ok := v.(string)
		return ok
	case "int":
		_, ok := v.(int64)
		return ok
	case "bool":
		_, ok := v.(bool)
		return ok
	case "object", "secureobject":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	}
	return false
}

// bindVariables declares the template's variables and works each out, in
// the order written (a variable may use parameters and other variables).
func (im *importer) bindVariables(tmpl *jsonpos.Value) error {
	im.ev.vars = map[string]*binding{}
	vars := tmpl.Get("variables")
	if vars == nil {
		return nil
	}
	if vars.Kind != jsonpos.Object {
		return im.errorf(vars, "variables", "expected an object, got %s", vars.Kind)
	}
	for _, m := range vars.Members {
		m := m
		if strings.EqualFold(m.Key, "copy") {
			return im.errorf(m.Value, "variables.copy", "variable copy loops are not supported")
		}
		im.ev.vars[strings.ToLower(m.Key)] = &binding{name: m.Key, declared: m.Value, resolve: func() (any, error) {
			return im.ev.evalAny(m.Value, "variables."+m.Key)
		}}
	}
	for _, m := range vars.Members {
		if _, err := im.ev.get("variable", im.ev.vars, m.Key); err != nil {
			return factory.AsError(im.cfg.TemplateFile, err)
		}
	}
	return nil
}
