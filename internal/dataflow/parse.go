package dataflow

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/ciel-mlops/ciel/internal/dataflow/factory"
	"github.com/ciel-mlops/ciel/internal/dataflow/jsonpos"
)

// Document is one resource parsed and validated by the factory package,
// with its "properties" object as written (what the store keeps and the
// API answers).
type Document struct {
	Resource   factory.Resource
	Properties json.RawMessage
	// File names where the document came from, for errors.
	File string
	// doc is the parsed file, kept so that errors about the resource's
	// references are placed in it (nil: no positions).
	doc *jsonpos.Value
}

// Kind is the document's kind.
func (d Document) Kind() factory.Kind { return d.Resource.ResourceKind() }

// Name is the resource's name.
func (d Document) Name() string { return d.Resource.ResourceName() }

// ParseDocument reads one resource of kind from a file's bytes,
// {"name": ..., "properties": {...}} as ADF Studio writes it, with the
// factory package's parser: every problem is a *factory.Error (or a
// factory.ErrorList) at file:line:col. name, when not "", names the
// resource (a request's URL, --name) and the file may leave "name" out;
// a file that names another is refused.
func ParseDocument(kind factory.Kind, name, file string, data []byte) (Document, error) {
	if len(data) > factory.MaxFileSize {
		return Document{}, &factory.Error{File: file, Msg: fmt.Sprintf("file is %d bytes; at most %d", len(data), factory.MaxFileSize)}
	}
	doc, err := jsonpos.Parse(data)
	if err != nil {
		return Document{}, factory.AsError(file, err)
	}
	if name != "" && doc.Kind == jsonpos.Object {
		if err := setName(doc, kind, name, file); err != nil {
			return Document{}, err
		}
	}
	res, err := factory.Parser{}.Decode(kind, file, doc)
	if err != nil {
		return Document{}, err
	}
	props, err := doc.Get("properties").MarshalJSON()
	if err != nil {
		return Document{}, fmt.Errorf("%s: %w", file, err)
	}
	return Document{Resource: res, Properties: props, File: file, doc: doc}, nil
}

// setName gives doc the name name, refusing one that names another.
func setName(doc *jsonpos.Value, kind factory.Kind, name, file string) error {
	for i, m := range doc.Members {
		if m.Key != "name" {
			continue
		}
		if m.Value.Kind == jsonpos.String && !strings.EqualFold(m.Value.Text, name) {
			return &factory.Error{File: file, Line: m.Value.Pos.Line, Col: m.Value.Pos.Col,
				Msg: fmt.Sprintf("name: the file names %s %q, not %q", kindNoun(kind), m.Value.Text, name)}
		}
		doc.Members[i].Value = &jsonpos.Value{Kind: jsonpos.String, Text: name, Pos: m.Value.Pos}
		return nil
	}
	doc.Members = append(doc.Members, jsonpos.Member{Key: "name", KeyPos: doc.Pos,
		Value: &jsonpos.Value{Kind: jsonpos.String, Text: name, Pos: doc.Pos}})
	return nil
}

// ParseProperties reads a resource given as its name and a file holding
// only its properties object (--name N --properties @file), errors at the
// file's line and column.
func ParseProperties(kind factory.Kind, name, file string, data []byte) (Document, error) {
	res, err := factory.Parser{}.ParseProperties(kind, name, file, data)
	if err != nil {
		return Document{}, err
	}
	props, err := compact(data)
	return Document{Resource: res, Properties: props, File: file}, err
}

// LoadFolder reads a factory kept as ADF's git integration keeps it with
// factory.LoadFolder and returns its documents in the order they can be
// created. A folder is a whole factory: factory.LoadFolder resolves its
// references inside it.
func LoadFolder(dir string, exists factory.Exists) ([]Document, error) {
	f, err := factory.Parser{}.LoadFolder(dir)
	if err != nil {
		return nil, err
	}
	return FactoryDocuments(f, exists)
}

// FactoryDocuments turns a factory read as a whole (a folder, an ARM
// template) into documents, in the order they can be created. Its
// references must resolve in f or through exists.
func FactoryDocuments(f *factory.Factory, exists factory.Exists) ([]Document, error) {
	if err := f.Check(exists); err != nil {
		return nil, err
	}
	var res []factory.Resource
	for _, x := range f.LinkedServices {
		res = append(res, x)
	}
	for _, x := range f.Datasets {
		res = append(res, x)
	}
	for _, x := range f.Pipelines {
		res = append(res, x)
	}
	for _, x := range f.Triggers {
		res = append(res, x)
	}
	docs := make([]Document, 0, len(res))
	for _, r := range res {
		props, err := propertiesOf(r)
		if err != nil {
			return nil, err
		}
		docs = append(docs, Document{Resource: r, Properties: props})
	}
	return docs, nil
}

// propertiesOf writes a parsed resource's properties as Data Factory does:
// its fields less the name, a tumbling window trigger's one pipeline as
// "pipeline".
func propertiesOf(r factory.Resource) (json.RawMessage, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("write %s %q: %w", kindNoun(r.ResourceKind()), r.ResourceName(), err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	delete(m, "name")
	if t, ok := r.(*factory.Trigger); ok && t.Type == "TumblingWindowTrigger" && len(t.Pipelines) == 1 {
		m["pipeline"], _ = json.Marshal(t.Pipelines[0])
		delete(m, "pipelines")
	}
	return json.Marshal(m)
}

// references returns the resources a parsed resource names, as the
// factory package's reference check finds them.
func references(r factory.Resource) []Ref {
	f := &factory.Factory{}
	if f.Add(r, "", nil) != nil {
		return nil
	}
	var out []Ref
	_ = f.Check(func(kind factory.Kind, name string) bool {
		out = append(out, Ref{Kind: kind, Name: name})
		return true
	})
	slices.SortFunc(out, func(a, b Ref) int { return strings.Compare(string(a.Kind)+"/"+a.Name, string(b.Kind)+"/"+b.Name) })
	return slices.CompactFunc(out, func(a, b Ref) bool { return a.Kind == b.Kind && strings.EqualFold(a.Name, b.Name) })
}

// compact returns JSON without insignificant white space.
func compact(b []byte) (json.RawMessage, error) {
	var v json.RawMessage
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// CheckName reports why name cannot name a resource of kind (or, for
// kind "secret", a secret), as an *InvalidError.
func CheckName(kind factory.Kind, name string) error {
	if err := factory.CheckName(kind, name); err != nil {
		return invalid("name", "%s: %v", kindNoun(kind), err)
	}
	return nil
}
