// Package arm imports Azure Resource Manager templates of a Data Factory
// — what ADF's "Export ARM template" and publish write
// (ARMTemplateForFactory.json) and the public template gallery's
// templates — into a factory.Factory, with an optional parameters file.
//
// arm evaluates ARM's own template expressions ("[concat(parameters('x'),
// '/Foo')]") with the functions real templates use; it leaves Data
// Factory's expressions ("@pipeline().parameters.x") as they are for the
// expr package. It deploys nothing: functions that read the deployment
// (resourceGroup(), subscription(), uniqueString()) answer with local
// stand-ins.
package arm

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/ciel-mlops/ciel/internal/dataflow/factory"
	"github.com/ciel-mlops/ciel/internal/dataflow/jsonpos"
)

// Config says what to import.
type Config struct {
	// Template is the template's JSON; TemplateFile names it in errors.
	Template     []byte
	TemplateFile string
	// Parameters is a parameters file's JSON ({"parameters": {"x":
	// {"value": ...}}}), nil for none; ParametersFile names it in errors.
	Parameters     []byte
	ParametersFile string
	// FactoryName is the value of a "factoryName" parameter the
	// parameters file leaves out ("ciel" when empty): templates use it
	// only to prefix resource names, which the import strips.
	FactoryName string
	// Exists reports resources outside the template that its references
	// may name (a gallery template's datasets name linked services the
	// user made before); nil means none.
	Exists factory.Exists
	// Parser parses the resources (its CheckExpr checks Data Factory
	// expressions).
	Parser factory.Parser
	// Now is the clock for utcNow(); nil is time.Now.
	Now func() time.Time
}

// ImportFiles imports the template at templatePath with the parameters
// file at paramsPath ("" for none).
func ImportFiles(templatePath, paramsPath string, exists factory.Exists) (*factory.Factory, error) {
	cfg := Config{TemplateFile: filepath.Base(templatePath), Exists: exists}
	var err error
	if cfg.Template, err = readBounded(templatePath); err != nil {
		return nil, err
	}
	if paramsPath != "" {
		cfg.ParametersFile = filepath.Base(paramsPath)
		if cfg.Parameters, err = readBounded(paramsPath); err != nil {
			return nil, err
		}
	}
	return Import(cfg)
}

// MaxTemplateSize bounds a template or parameters file.
const MaxTemplateSize = 32 << 20

func readBounded(path string) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read template: %w", err)
	}
	if info.Size() > MaxTemplateSize {
		return nil, fmt.Errorf("read template %s: %d bytes; at most %d", path, info.Size(), MaxTemplateSize)
	}
	return os.ReadFile(path)
}

// factoryTypes maps the Data Factory child resource types to kinds
// (ARM compares types without regard to case).
var factoryTypes = map[string]factory.Kind{
	"microsoft.datafactory/factories/linkedservices": factory.KindLinkedService,
	"microsoft.datafactory/factories/datasets":       factory.KindDataset,
	"microsoft.datafactory/factories/pipelines":      factory.KindPipeline,
	"microsoft.datafactory/factories/triggers":       factory.KindTrigger,
}

const factoryType = "microsoft.datafactory/factories"

// Import evaluates a template and returns the factory resources it
// deploys, parsed, validated and checked against each other (and
// cfg.Exists), in dependency order. Every error is a *factory.Error in the
// template or the parameters file, at the value that is wrong (a computed
// value's problem at the expression that computed it).
func Import(cfg Config) (*factory.Factory, error) {
	if cfg.TemplateFile == "" {
		cfg.TemplateFile = "template.json"
	}
	if cfg.ParametersFile == "" {
		cfg.ParametersFile = "parameters.json"
	}
	if len(cfg.Template) > MaxTemplateSize || len(cfg.Parameters) > MaxTemplateSize {
		return nil, fmt.Errorf("template or parameters over %d bytes", MaxTemplateSize)
	}
	tmpl, err := jsonpos.Parse(cfg.Template)
	if err != nil {
		return nil, factory.AsError(cfg.TemplateFile, err)
	}
	im := &importer{cfg: cfg, ev: &evaluator{file: cfg.TemplateFile, clock: cfg.Now}, f: &factory.Factory{}}
	if tmpl.Kind != jsonpos.Object {
		return nil, im.errorf(tmpl, "", "expected a template object {\"parameters\": ..., \"resources\": [...]}, got %s", tmpl.Kind)
	}
	if err := im.bindParameters(tmpl); err != nil {
		return nil, err
	}
	if err := im.bindVariables(tmpl); err != nil {
		return nil, err
	}
	res := tmpl.Get("resources")
	if res == nil || res.Kind != jsonpos.Array {
		return nil, im.errorf(tmpl, "resources", "expected an array of resources")
	}
	im.resources(res, "resources", "")
	if len(im.errs) > 0 {
		return nil, im.errs.Err()
	}
	if err := im.f.Check(cfg.Exists); err != nil {
		return nil, err
	}
	im.f.Sort()
	return im.f, nil
}

type importer struct {
	cfg  Config
	ev   *evaluator
	f    *factory.Factory
	errs factory.ErrorList
}

func (im *importer) errorf(v *jsonpos.Value, p, format string, args ...any) *factory.Error {
	msg := fmt.Sprintf(format, args...)
	if p != "" {
		msg = p + ": " + msg
	}
	return &factory.Error{File: im.cfg.TemplateFile, Line: v.Pos.Line, Col: v.Pos.Col, Msg: msg}
}

func (im *importer) fail(err error) {
	if fe, ok := err.(*factory.Error); ok {
		im.errs = append(im.errs, fe)
		return
	}
	if list, ok := err.(factory.ErrorList); ok {
		im.errs = append(im.errs, list...)
		return
	}
	im.errs = append(im.errs, factory.AsError(im.cfg.TemplateFile, err))
}

// resources imports a list of resources (the template's, or those nested
// in a factory resource, whose types and names are relative to it).
func (im *importer) resources(list *jsonpos.Value, p, parentType string) {
	for i, r := range list.Elems {
		if len(im.errs) > 50 {
			return
		}
		rp := fmt.Sprintf("%s[%d]", p, i)
		if r.Kind != jsonpos.Object {
			im.fail(im.errorf(r, rp, "expected a resource object, got %s", r.Kind))
			continue
		}
		if err := im.resource(r, rp, parentType); err != nil {
			im.fail(err)
		}
	}
}

func (im *importer) resource(r *jsonpos.Value, rp, parentType string) error {
	if cond := r.Get("condition"); cond != nil {
		v, err := im.ev.evalAny(cond, rp+".condition")
		if err != nil {
			return err
		}
		if b, ok := v.(bool); !ok {
			return im.errorf(cond, rp+".condition", "expected a boolean, got %s", describe(v))
		} else if !b {
			im.f.Notes = append(im.f.Notes, rp+": condition is false, skipped")
			return nil
		}
	}
	typ, _, err := im.stringField(r, rp, "type")
	if err != nil {
		return err
	}
	name, nameV, err := im.stringField(r, rp, "name")
	if err != nil {
		return err
	}
	if parentType != "" && !strings.Contains(typ, ".") {
		typ = parentType + "/" + typ
	}
	if r.Get("copy") != nil {
		return im.errorf(r.Get("copy"), rp+".copy", "resource copy loops are not supported; write each resource out")
	}
	kind, ok := factoryTypes[strings.ToLower(typ)]
	if !ok {
		if strings.EqualFold(typ, factoryType) {
			if nested := r.Get("resources"); nested != nil && nested.Kind == jsonpos.Array {
				im.resources(nested, rp+".resources", typ)
			}
			return nil
		}
		im.f.Notes = append(im.f.Notes, fmt.Sprintf("%s: %s %q is not a factory resource ciel keeps, skipped", rp, typ, name))
		return nil
	}
	short, err := shortName(name, parentType != "")
	if err != nil {
		return im.errorf(nameV, rp+".name", "%v", err)
	}
	doc := &jsonpos.Value{Kind: jsonpos.Object, Pos: r.Pos, Members: []jsonpos.Member{
		{Key: "name", KeyPos: nameV.Pos, Value: &jsonpos.Value{Kind: jsonpos.String, Pos: nameV.Pos, Text: short}},
	}}
	if props := r.Get("properties"); props != nil {
		pv, err := im.ev.evalTree(props, rp+".properties")
		if err != nil {
			return err
		}
		doc.Members = append(doc.Members, jsonpos.Member{Key: "properties", KeyPos: props.Pos, Value: pv})
	}
	res, err := im.cfg.Parser.Decode(kind, im.cfg.TemplateFile, doc)
	if err != nil {
		return err
	}
	return im.f.Add(res, im.cfg.TemplateFile, doc)
}

// stringField evaluates a resource's "type" or "name", which must come
// out a string.
func (im *importer) stringField(r *jsonpos.Value, rp, key string) (string, *jsonpos.Value, error) {
	v := r.Get(key)
	if v == nil {
		return "", nil, im.errorf(r, rp, "missing %q", key)
	}
	x, err := im.ev.evalAny(v, rp+"."+key)
	if err != nil {
		return "", nil, err
	}
	s, ok := x.(string)
	if !ok {
		return "", nil, im.errorf(v, rp+"."+key, "expected a string, got %s", describe(x))
	}
	return s, v, nil
}

// shortName reduces a child resource's full name "factory/Foo" to "Foo"
// (nested resources may give "Foo" alone).
func shortName(name string, nested bool) (string, error) {
	parts := strings.Split(name, "/")
	switch {
	case len(parts) == 2 && parts[0] != "":
		return parts[1], nil
	case len(parts) == 1 && nested:
		return parts[0], nil
	}
	return "", fmt.Errorf("expected \"<factory name>/<resource name>\", got %q", name)
}

// sameValue reports whether two plain values are equal, for
// allowedValues.
func sameValue(a, b any) bool { return reflect.DeepEqual(a, b) }
