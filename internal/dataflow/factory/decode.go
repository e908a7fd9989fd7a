package factory

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/ciel-mlops/ciel/internal/dataflow/expr"
	"github.com/ciel-mlops/ciel/internal/dataflow/jsonpos"
)

// MaxFileSize bounds a factory file: Data Factory's own limit on a
// resource's JSON is far below it, and it keeps a hostile file from
// holding the parser's memory.
const MaxFileSize = 8 << 20

// Resource is a linked service, dataset, pipeline or trigger.
type Resource interface {
	ResourceKind() Kind
	ResourceName() string
}

// ResourceKind is KindLinkedService.
func (l *LinkedService) ResourceKind() Kind { return KindLinkedService }

// ResourceName is the linked service's name.
func (l *LinkedService) ResourceName() string { return l.Name }

// ResourceKind is KindDataset.
func (d *Dataset) ResourceKind() Kind { return KindDataset }

// ResourceName is the dataset's name.
func (d *Dataset) ResourceName() string { return d.Name }

// ResourceKind is KindPipeline.
func (p *Pipeline) ResourceKind() Kind { return KindPipeline }

// ResourceName is the pipeline's name.
func (p *Pipeline) ResourceName() string { return p.Name }

// ResourceKind is KindTrigger.
func (t *Trigger) ResourceKind() Kind { return KindTrigger }

// ResourceName is the trigger's name.
func (t *Trigger) ResourceName() string { return t.Name }

// Parser parses and validates factory files. The zero Parser is ready to
// use and checks expressions with the expr package.
type Parser struct {
	// CheckExpr reports a syntax error in a Data Factory expression (an
	// unknown function, a wrong number of arguments). It is called with
	// every string value of a resource's properties that starts with "@"
	// (but not "@@") or holds "@{"; its error is reported at that value.
	// nil is expr.Check.
	CheckExpr func(s string) error
}

// Parse parses and validates one resource of kind from a file's bytes
// (see Parser.Parse).
func Parse(kind Kind, file string, data []byte) (Resource, error) {
	return Parser{}.Parse(kind, file, data)
}

// ParseLinkedService parses a linked service file (see Parser.Parse).
func ParseLinkedService(file string, data []byte) (*LinkedService, error) {
	r, err := Parser{}.Parse(KindLinkedService, file, data)
	if err != nil {
		return nil, err
	}
	return r.(*LinkedService), nil
}

// ParseDataset parses a dataset file (see Parser.Parse).
func ParseDataset(file string, data []byte) (*Dataset, error) {
	r, err := Parser{}.Parse(KindDataset, file, data)
	if err != nil {
		return nil, err
	}
	return r.(*Dataset), nil
}

// ParsePipeline parses a pipeline file (see Parser.Parse).
func ParsePipeline(file string, data []byte) (*Pipeline, error) {
	r, err := Parser{}.Parse(KindPipeline, file, data)
	if err != nil {
		return nil, err
	}
	return r.(*Pipeline), nil
}

// ParseTrigger parses a trigger file (see Parser.Parse).
func ParseTrigger(file string, data []byte) (*Trigger, error) {
	r, err := Parser{}.Parse(KindTrigger, file, data)
	if err != nil {
		return nil, err
	}
	return r.(*Trigger), nil
}

// Parse parses and validates one resource of kind from a file's bytes:
// {"name": ..., "properties": {...}} as ADF Studio commits it to git, or
// the REST API's shape, whose "id", "type" and "etag" are ignored. file
// names the file in errors. Every problem is an *Error at the position of
// the offending value; several come as an ErrorList (errors.As finds the
// first *Error in either).
func (p Parser) Parse(kind Kind, file string, data []byte) (Resource, error) {
	if len(data) > MaxFileSize {
		return nil, &Error{File: file, Msg: fmt.Sprintf("file is %d bytes; at most %d", len(data), MaxFileSize)}
	}
	doc, err := jsonpos.Parse(data)
	if err != nil {
		return nil, AsError(file, err)
	}
	return p.Decode(kind, file, doc)
}

// ParseProperties parses a resource given as its name and a file holding
// only its properties object (the CLI's --name N --properties @file):
// errors are placed in that file, with paths that start at "properties".
func (p Parser) ParseProperties(kind Kind, name, file string, data []byte) (Resource, error) {
	if len(data) > MaxFileSize {
		return nil, &Error{File: file, Msg: fmt.Sprintf("file is %d bytes; at most %d", len(data), MaxFileSize)}
	}
	props, err := jsonpos.Parse(data)
	if err != nil {
		return nil, AsError(file, err)
	}
	doc := &jsonpos.Value{Kind: jsonpos.Object, Pos: props.Pos, Members: []jsonpos.Member{
		{Key: "name", KeyPos: props.Pos, Value: &jsonpos.Value{Kind: jsonpos.String, Text: name, Pos: props.Pos}},
		{Key: "properties", KeyPos: props.Pos, Value: props},
	}}
	return p.Decode(kind, file, doc)
}

// Decode builds and validates a resource of kind from a parsed document
// (the ARM import hands in documents it computed, positioned in the
// template). Errors are as Parse's.
func (p Parser) Decode(kind Kind, file string, doc *jsonpos.Value) (Resource, error) {
	r := &reporter{file: file, doc: doc}
	if doc.Kind != jsonpos.Object {
		r.at(nil, `expected an object {"name": ..., "properties": {...}}, got %s`, doc.Kind)
		return nil, r.errs.Err()
	}
	nameV, propsV := doc.Get("name"), doc.Get("properties")
	switch {
	case nameV == nil:
		r.at(nil, `missing "name"; expected {"name": ..., "properties": {...}}`)
	case nameV.Kind != jsonpos.String:
		r.at(path{"name"}, "expected a string, got %s", nameV.Kind)
	}
	switch {
	case propsV == nil:
		r.at(nil, `missing "properties"; expected {"name": ..., "properties": {...}}`)
	case propsV.Kind != jsonpos.Object:
		r.at(path{"properties"}, "expected an object, got %s", propsV.Kind)
	}
	if r.failed() {
		return nil, r.errs.Err()
	}
	res, err := decodeProps(r, kind, propsV)
	if err != nil || r.failed() {
		return nil, r.errs.Err()
	}
	setName(res, nameV.Text)
	validate(r, res)
	p.checkExprs(r, propsV)
	if r.failed() {
		return nil, r.errs.Err()
	}
	return res, nil
}

// decodeProps checks the properties' JSON types against the resource's
// Go type (so a wrong type is reported where it is written), then lets
// encoding/json fill the struct.
func decodeProps(r *reporter, kind Kind, props *jsonpos.Value) (Resource, error) {
	var res Resource
	switch kind {
	case KindLinkedService:
		res = &LinkedService{}
	case KindDataset:
		res = &Dataset{}
	case KindPipeline:
		res = &Pipeline{}
	case KindTrigger:
		res = &Trigger{}
	default:
		r.at(nil, "unknown resource kind %q", kind)
		return nil, r.errs.Err()
	}
	c := &typeChecker{r: r}
	c.value(props, path{"properties"}, reflect.TypeOf(res).Elem())
	var single *jsonpos.Value
	if kind == KindTrigger {
		// A tumbling window trigger names its one pipeline in "pipeline".
		if single = props.Get("pipeline"); single != nil {
			c.value(single, path{"properties", "pipeline"}, reflect.TypeOf(TriggerPipeline{}))
		}
	}
	if r.failed() {
		return nil, r.errs.Err()
	}
	raw, err := props.MarshalJSON()
	if err == nil {
		err = json.Unmarshal(raw, res)
	}
	if err == nil && single != nil && single.Kind != jsonpos.Null {
		var tp TriggerPipeline
		if raw, err = single.MarshalJSON(); err == nil {
			err = json.Unmarshal(raw, &tp)
		}
		t := res.(*Trigger)
		if len(t.Pipelines) > 0 {
			r.at(path{"properties", "pipeline"}, `give either "pipeline" or "pipelines", not both`)
		}
		t.Pipelines = append(t.Pipelines, tp)
	}
	if err != nil {
		// The type check above should leave nothing for encoding/json to
		// refuse; if it does, say so rather than lose the error.
		r.at(path{"properties"}, "%v", err)
		return nil, err
	}
	return res, nil
}

func setName(res Resource, name string) {
	switch x := res.(type) {
	case *LinkedService:
		x.Name = name
	case *Dataset:
		x.Name = name
	case *Pipeline:
		x.Name = name
	case *Trigger:
		x.Name = name
	}
}

var (
	rawMessageType = reflect.TypeOf(json.RawMessage(nil))
	activityType   = reflect.TypeOf(Activity{})
)

// typeChecker walks a JSON value against the Go type it will decode into,
// reporting the first value of the wrong JSON type at its position. It
// follows encoding/json's rules: null is every type's zero value, keys
// match fields exactly or else without regard to case, unknown keys are
// let through.
type typeChecker struct {
	r *reporter
}

func (c *typeChecker) value(v *jsonpos.Value, p path, t reflect.Type) {
	if v.Kind == jsonpos.Null || t == rawMessageType || c.r.failed() {
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		c.value(v, p, t.Elem())
	case reflect.String:
		c.want(v, p, jsonpos.String)
	case reflect.Bool:
		c.want(v, p, jsonpos.Bool)
	case reflect.Int, reflect.Int64:
		if c.want(v, p, jsonpos.Number) {
			if _, err := strconv.ParseInt(v.Text, 10, 64); err != nil {
				c.r.at(p, "expected an integer, got %s", v.Text)
			}
		}
	case reflect.Slice:
		if c.want(v, p, jsonpos.Array) {
			for i, e := range v.Elems {
				c.value(e, p.to(i), t.Elem())
			}
		}
	case reflect.Map:
		if c.want(v, p, jsonpos.Object) {
			for _, m := range v.Members {
				c.value(m.Value, p.to(m.Key), t.Elem())
			}
		}
	case reflect.Struct:
		if c.want(v, p, jsonpos.Object) {
			for _, m := range v.Members {
				if f, ok := fieldFor(t, m.Key); ok {
					c.value(m.Value, p.to(m.Key), f.Type)
				}
			}
			if t == activityType {
				c.nested(v, p)
			}
		}
	}
}

func (c *typeChecker) want(v *jsonpos.Value, p path, k jsonpos.Kind) bool {
	if v.Kind != k {
		c.r.at(p, "expected %s, got %s", k, v.Kind)
		return false
	}
	return true
}

// nested checks the activities a control activity holds in its
// typeProperties, which the Activity type keeps raw.
func (c *typeChecker) nested(act *jsonpos.Value, p path) {
	typ, tp := act.Get("type"), act.Get("typeProperties")
	if typ == nil || typ.Kind != jsonpos.String || tp == nil || tp.Kind != jsonpos.Object {
		return
	}
	if t, ok := controlProps[typ.Text]; ok {
		c.value(tp, p.to("typeProperties"), reflect.TypeOf(t).Elem())
	}
}

// fieldFor finds the struct field a JSON key decodes into.
func fieldFor(t reflect.Type, key string) (reflect.StructField, bool) {
	var folded *reflect.StructField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if name == key {
			return f, true
		}
		if folded == nil && strings.EqualFold(name, key) {
			folded = &f
		}
	}
	if folded != nil {
		return *folded, true
	}
	return reflect.StructField{}, false
}

// checkExprs hands every expression in props to the CheckExpr hook.
func (p Parser) checkExprs(r *reporter, props *jsonpos.Value) {
	check := p.CheckExpr
	if check == nil {
		check = expr.Check
	}
	props.Walk(func(steps []any, v *jsonpos.Value) bool {
		if v.Kind != jsonpos.String || !looksLikeExpr(v.Text) {
			return true
		}
		if err := check(v.Text); err != nil {
			r.at(path{"properties"}.to(steps...), "invalid expression: %v", err)
		}
		return true
	})
}

// looksLikeExpr reports whether Data Factory reads s as an expression or
// a string with interpolations.
func looksLikeExpr(s string) bool {
	return (strings.HasPrefix(s, "@") && !strings.HasPrefix(s, "@@")) || strings.Contains(s, "@{")
}
