// Package jsonpos parses JSON into a tree that remembers where each value
// was written (line and column), so that whoever checks a document after it
// parsed can say "file:3:17: expected a string" about the exact spot.
//
// jsonpos only parses, looks values up and writes them back; it knows
// nothing of what the document means. Syntax is checked by encoding/json's
// tokenizer, so what parses here is exactly what encoding/json accepts,
// except that jsonpos refuses a key written twice in one object (a
// document that says two things is refused rather than read as its last).
package jsonpos

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxDepth bounds how deeply arrays and objects may nest, so a hostile
// document cannot exhaust the stack of whoever walks the tree.
const MaxDepth = 256

// Kind is the JSON type of a Value.
type Kind uint8

// The kinds of JSON value.
const (
	Null Kind = iota
	Bool
	Number
	String
	Array
	Object
)

// String names the kind as messages do: "a string", "an object".
func (k Kind) String() string {
	switch k {
	case Null:
		return "null"
	case Bool:
		return "a boolean"
	case Number:
		return "a number"
	case String:
		return "a string"
	case Array:
		return "an array"
	case Object:
		return "an object"
	}
	return "an unknown value"
}

// Pos is where a value starts: line and column from 1, the column
// counting characters (not bytes) from the start of the line. The zero Pos
// means the position is not known.
type Pos struct {
	Line int
	Col  int
}

// Value is one JSON value and where it was written.
type Value struct {
	Kind Kind
	Pos  Pos
	// Text is a string's decoded text, a number's literal as written
	// ("1.50") and "true" or "false" for a boolean.
	Text string
	// Members are an object's members in the order written; Elems an
	// array's elements.
	Members []Member
	Elems   []*Value
}

// Member is one "key": value pair of an object.
type Member struct {
	Key    string
	KeyPos Pos
	Value  *Value
}

// SyntaxError is JSON that does not parse, at the position of the first
// character that breaks it.
type SyntaxError struct {
	Pos Pos
	Msg string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%d:%d: %s", e.Pos.Line, e.Pos.Col, e.Msg)
}

// Parse parses one JSON document. It returns a *SyntaxError for anything
// that is not a single well-formed JSON value.
func Parse(data []byte) (*Value, error) {
	p := &parser{data: data, dec: json.NewDecoder(bytes.NewReader(data))}
	p.dec.UseNumber()
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	off := p.skip(int(p.dec.InputOffset()))
	if _, err := p.dec.Token(); err != io.EOF {
		return nil, &SyntaxError{Pos: p.pos(off), Msg: "unexpected content after the JSON value"}
	}
	return v, nil
}

type parser struct {
	data []byte
	dec  *json.Decoder
}

// next reads a token and the offset it starts at.
func (p *parser) next() (json.Token, int, error) {
	start := p.skip(int(p.dec.InputOffset()))
	tok, err := p.dec.Token()
	if err != nil {
		return nil, 0, p.syntaxError(err, start)
	}
	return tok, start, nil
}

// skip moves off past what separates tokens: spaces, ':' and ','.
func (p *parser) skip(off int) int {
	for off < len(p.data) {
		switch p.data[off] {
		case ' ', '\t', '\n', '\r', ':', ',':
			off++
		default:
			return off
		}
	}
	return off
}

func (p *parser) value(depth int) (*Value, error) {
	tok, off, err := p.next()
	if err != nil {
		return nil, err
	}
	return p.valueFrom(tok, off, depth)
}

func (p *parser) valueFrom(tok json.Token, off, depth int) (*Value, error) {
	v := &Value{Pos: p.pos(off)}
	switch t := tok.(type) {
	case nil:
		v.Kind = Null
	case bool:
		v.Kind, v.Text = Bool, strconv.FormatBool(t)
	case json.Number:
		v.Kind, v.Text = Number, string(t)
	case string:
		v.Kind, v.Text = String, t
	case json.Delim:
		if depth >= MaxDepth {
			return nil, &SyntaxError{Pos: v.Pos, Msg: fmt.Sprintf("nested more than %d deep", MaxDepth)}
		}
		if t == '[' {
			return v, p.array(v, depth+1)
		}
		if t == '{' {
			return v, p.object(v, depth+1)
		}
		return nil, &SyntaxError{Pos: v.Pos, Msg: fmt.Sprintf("unexpected %q", rune(t))}
	}
	return v, nil
}

func (p *parser) array(v *Value, depth int) error {
	v.Kind = Array
	for {
		tok, off, err := p.next()
		if err != nil {
			return err
		}
		if tok == json.Delim(']') {
			return nil
		}
		e, err := p.valueFrom(tok, off, depth)
		if err != nil {
			return err
		}
		v.Elems = append(v.Elems, e)
	}
}

func (p *parser) object(v *Value, depth int) error {
	v.Kind = Object
	seen := map[string]bool{}
	for {
		tok, off, err := p.next()
		if err != nil {
			return err
		}
		if tok == json.Delim('}') {
			return nil
		}
		key, _ := tok.(string) // the tokenizer only gives a string or '}' here
		if seen[key] {
			return &SyntaxError{Pos: p.pos(off), Msg: fmt.Sprintf("key %q is written twice in this object", key)}
		}
		seen[key] = true
		e, err := p.value(depth)
		if err != nil {
			return err
		}
		v.Members = append(v.Members, Member{Key: key, KeyPos: p.pos(off), Value: e})
	}
}

// syntaxError turns encoding/json's error, met reading the token that
// starts at start, into one at a line and column. The tokenizer's offset
// is exact for errors between tokens but not inside a literal, so the
// token is scanned again on its own, where the offset is exact.
func (p *parser) syntaxError(err error, start int) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		off := int(se.Offset)
		var again *json.SyntaxError
		if errors.As(json.Unmarshal(p.data[start:], new(any)), &again) && again.Error() == se.Error() {
			off = start + int(again.Offset) - 1
		}
		return &SyntaxError{Pos: p.pos(off), Msg: se.Error()}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return &SyntaxError{Pos: p.pos(len(p.data)), Msg: "unexpected end of JSON input"}
	}
	return &SyntaxError{Pos: p.pos(len(p.data)), Msg: err.Error()}
}

// pos converts a byte offset to a line and a column in characters.
func (p *parser) pos(off int) Pos {
	if off > len(p.data) {
		off = len(p.data)
	}
	before := p.data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	lineStart := bytes.LastIndexByte(before, '\n') + 1
	return Pos{Line: line, Col: utf8.RuneCount(before[lineStart:]) + 1}
}

// Get returns the member of an object named key, matching the key exactly
// or else without regard to case, as encoding/json does; nil when there is
// none or v is not an object.
func (v *Value) Get(key string) *Value {
	if v == nil || v.Kind != Object {
		return nil
	}
	var folded *Value
	for _, m := range v.Members {
		if m.Key == key {
			return m.Value
		}
		if folded == nil && strings.EqualFold(m.Key, key) {
			folded = m.Value
		}
	}
	return folded
}

// Lookup follows a path of object keys (string) and array indexes (int)
// from v, returning the deepest value it reached and whether it reached
// the end. Errors about a missing field are placed at the object that
// lacks it this way.
func (v *Value) Lookup(path ...any) (*Value, bool) {
	cur := v
	for _, step := range path {
		var next *Value
		switch s := step.(type) {
		case string:
			next = cur.Get(s)
		case int:
			if cur.Kind == Array && s >= 0 && s < len(cur.Elems) {
				next = cur.Elems[s]
			}
		}
		if next == nil {
			return cur, false
		}
		cur = next
	}
	return cur, true
}

// Walk calls fn for v and every value inside it, depth first, with the
// path from v (keys and indexes). fn returning false skips what is inside
// that value.
func (v *Value) Walk(fn func(path []any, v *Value) bool) {
	v.walk(nil, fn)
}

func (v *Value) walk(path []any, fn func([]any, *Value) bool) {
	if !fn(path, v) {
		return
	}
	for i, e := range v.Elems {
		e.walk(append(path[:len(path):len(path)], i), fn)
	}
	for _, m := range v.Members {
		m.Value.walk(append(path[:len(path):len(path)], m.Key), fn)
	}
}

// MarshalJSON writes v back as JSON: members in the order written,
// numbers as written.
func (v *Value) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	if err := v.encode(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func (v *Value) encode(b *bytes.Buffer) error {
	if v == nil {
		b.WriteString("null")
		return nil
	}
	switch v.Kind {
	case Null:
		b.WriteString("null")
	case Bool, Number:
		b.WriteString(v.Text)
	case String:
		s, err := json.Marshal(v.Text)
		if err != nil {
			return err
		}
		b.Write(s)
	case Array:
		b.WriteByte('[')
		for i, e := range v.Elems {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := e.encode(b); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case Object:
		b.WriteByte('{')
		for i, m := range v.Members {
			if i > 0 {
				b.WriteByte(',')
			}
			k, err := json.Marshal(m.Key)
			if err != nil {
				return err
			}
			b.Write(k)
			b.WriteByte(':')
			if err := m.Value.encode(b); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	}
	return nil
}

// Any returns v as encoding/json decodes into any with UseNumber: nil,
// bool, json.Number, string, []any, map[string]any.
func (v *Value) Any() any {
	switch v.Kind {
	case Bool:
		return v.Text == "true"
	case Number:
		return json.Number(v.Text)
	case String:
		return v.Text
	case Array:
		out := make([]any, len(v.Elems))
		for i, e := range v.Elems {
			out[i] = e.Any()
		}
		return out
	case Object:
		out := make(map[string]any, len(v.Members))
		for _, m := range v.Members {
			out[m.Key] = m.Value.Any()
		}
		return out
	}
	return nil
}

// FromAny builds a Value from what encoding/json decodes into any (plus
// the integer and float types), every part of it placed at pos: a value
// computed from something written at pos. Object members come in key
// order. It fails on a type JSON has no place for.
func FromAny(x any, pos Pos) (*Value, error) {
	return fromAny(x, pos, 0)
}

func fromAny(x any, pos Pos, depth int) (*Value, error) {
	if depth > MaxDepth {
		return nil, fmt.Errorf("value nested more than %d deep", MaxDepth)
	}
	v := &Value{Pos: pos}
	switch t := x.(type) {
	case nil:
		v.Kind = Null
	case bool:
		v.Kind, v.Text = Bool, strconv.FormatBool(t)
	case json.Number:
		v.Kind, v.Text = Number, string(t)
	case int:
		v.Kind, v.Text = Number, strconv.Itoa(t)
	case int64:
		v.Kind, v.Text = Number, strconv.FormatInt(t, 10)
	case float64:
		b, err := json.Marshal(t)
		if err != nil {
			return nil, err
		}
		v.Kind, v.Text = Number, string(b)
	case string:
		v.Kind, v.Text = String, t
	case []any:
		v.Kind = Array
		for _, e := range t {
			ev, err := fromAny(e, pos, depth+1)
			if err != nil {
				return nil, err
			}
			v.Elems = append(v.Elems, ev)
		}
	case map[string]any:
		v.Kind = Object
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ev, err := fromAny(t[k], pos, depth+1)
			if err != nil {
				return nil, err
			}
			v.Members = append(v.Members, Member{Key: k, KeyPos: pos, Value: ev})
		}
	default:
		return nil, fmt.Errorf("%T has no JSON form", x)
	}
	return v, nil
}
