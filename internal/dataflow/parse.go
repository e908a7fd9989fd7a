package dataflow

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/ciel-mlops/ciel/internal/dataflow/factory"
	"github.com/ciel-mlops/ciel/internal/spec"
)

// Document is one factory resource as a file or a request holds it:
// {"name": ..., "properties": {...}} with the kind its folder or route
// says.
type Document struct {
	Kind       factory.Kind
	Name       string
	Properties json.RawMessage
	// File names where the document came from, for errors ("" for a
	// request body).
	File string
}

// envelope is the shape ADF Studio writes to git and the REST API
// answers; "type", "id" and "etag" are what the API adds and are ignored.
type envelope struct {
	Name       string          `json:"name"`
	Properties json.RawMessage `json:"properties"`
	Type       string          `json:"type,omitempty"`
	ID         string          `json:"id,omitempty"`
	ETag       string          `json:"etag,omitempty"`
}

// ParseDocument reads one resource of kind from data. Errors are
// *spec.Error carrying file:line:col and what was expected.
func ParseDocument(kind factory.Kind, file string, data []byte) (Document, error) {
	if !utf8.Valid(data) {
		return Document{}, &spec.Error{Pos: spec.Pos{File: file}, Msg: "not UTF-8 text; expected a JSON object"}
	}
	var env envelope
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&env); err != nil {
		return Document{}, jsonError(file, data, err, `a JSON object {"name": ..., "properties": {...}}`)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Document{}, posError(file, data, dec.InputOffset(), "unexpected data after the JSON object")
	}
	props := bytes.TrimSpace(env.Properties)
	if len(props) == 0 || props[0] != '{' {
		return Document{}, posError(file, data, 0, `expected "properties": {...}, the %s's definition`, kindNoun(kind))
	}
	compact, err := parseProperties(kind, file, data, props, int64(bytes.Index(data, props)))
	if err != nil {
		return Document{}, err
	}
	return Document{Kind: kind, Name: env.Name, Properties: compact, File: file}, nil
}

// ParseProperties reads a resource's "properties" object alone, as
// `--properties @file` gives it; the name comes from elsewhere. Errors are
// *spec.Error at the file's line and column.
func ParseProperties(kind factory.Kind, file string, data []byte) (Document, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&v); err != nil {
		return Document{}, jsonError(file, data, err, "a JSON object: the "+kindNoun(kind)+"'s properties")
	}
	if _, ok := v.(map[string]any); !ok {
		return Document{}, posError(file, data, 0, "expected a JSON object: the %s's properties", kindNoun(kind))
	}
	props := bytes.TrimSpace(data)
	compact, err := parseProperties(kind, file, data, props, int64(bytes.Index(data, props)))
	if err != nil {
		return Document{}, err
	}
	return Document{Kind: kind, Properties: compact, File: file}, nil
}

// parseProperties decodes props, found at byte base of data, into the
// factory type of kind, so that a field of the wrong JSON type is found at
// its place in the file, and returns props compacted.
func parseProperties(kind factory.Kind, file string, data, props []byte, base int64) (json.RawMessage, error) {
	var target any
	switch kind {
	case factory.KindLinkedService:
		target = &factory.LinkedService{}
	case factory.KindDataset:
		target = &factory.Dataset{}
	case factory.KindPipeline:
		target = &factory.Pipeline{}
	case factory.KindTrigger:
		target = &triggerShape{}
	default:
		return nil, fmt.Errorf("unknown kind of factory resource %q", kind)
	}
	if err := json.Unmarshal(props, target); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, posError(file, data, base+te.Offset, "properties.%s: expected %s, got JSON %s", te.Field, jsonType(te.Type.String()), te.Value)
		}
		return nil, posError(file, data, base, "properties: %v", err)
	}
	compact := new(bytes.Buffer)
	if err := json.Compact(compact, props); err != nil {
		return nil, posError(file, data, base, "properties: %v", err)
	}
	return compact.Bytes(), nil
}

// triggerShape is a trigger's properties as written: a tumbling window
// trigger names one "pipeline", the others a list of "pipelines".
type triggerShape struct {
	factory.Trigger
	Pipeline *factory.TriggerPipeline `json:"pipeline,omitempty"`
}

// jsonType says a Go type the way a JSON author reads it.
func jsonType(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case strings.HasPrefix(goType, "map["), strings.HasPrefix(goType, "factory."), strings.HasPrefix(goType, "struct"):
		return "an object"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "float"):
		return "a number"
	case goType == "bool":
		return "true or false"
	case goType == "string":
		return "a string"
	}
	return goType
}

// jsonError turns a decoding error into one at its line and column.
func jsonError(file string, data []byte, err error, expected string) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return posError(file, data, se.Offset, "%v; expected %s", se, expected)
	case errors.As(err, &te):
		return posError(file, data, te.Offset, "%s: expected %s, got JSON %s", te.Field, jsonType(te.Type.String()), te.Value)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return posError(file, data, int64(len(data)), "unexpected end of the file; expected %s", expected)
	}
	return posError(file, data, 0, "%v; expected %s", err, expected)
}

// posError is an error at byte offset off of data, as file:line:col.
func posError(file string, data []byte, off int64, format string, args ...any) *spec.Error {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	line, col := 1, 1
	for _, r := range string(data[:max(off, 0)]) {
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	// A syntax error's offset is just past the byte at fault.
	if col > 1 {
		col--
	}
	return &spec.Error{Pos: spec.Pos{File: file, Line: line, Col: col}, Msg: fmt.Sprintf(format, args...)}
}

// namePattern is Data Factory's rule for a linked service, dataset,
// pipeline or trigger name: a letter, digit or '_' first, none of
// . + ? / < > * % & : \ # anywhere, at most 260; ciel also refuses
// control characters.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9_][^<>*#.%&:\\+?/\x00-\x1f\x7f]{0,259}$`)

// CheckName reports why name cannot name a factory resource or secret.
func CheckName(what, name string) error {
	if name == "" {
		return invalid("name", "%s name is required", what)
	}
	if !namePattern.MatchString(name) || strings.TrimSpace(name) != name {
		return invalid("name", "invalid %s name %q: expected a letter, digit or '_' first, none of . + ? / < > * %% & : \\ # or control characters, no leading or trailing space, at most 260 characters", what, name)
	}
	return nil
}
