package factory

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/ciel-mlops/ciel/internal/dataflow/jsonpos"
)

// Error is one problem with a factory file, at the position of the value
// that is wrong: "pipeline/copy.json:12:17: properties.activities[2].type:
// unknown activity type ...". Line and Col are 0 when the resource did not
// come from a file (built in code, or a value an ARM expression computed
// has no place of its own: it is then placed at the expression).
type Error struct {
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	Col  int    `json:"col,omitempty"`
	Msg  string `json:"message"`
}

// Error formats the problem as "file:line:col: message", leaving out what
// is unknown.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Col)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ErrorList is several problems found in one pass, in the order found.
type ErrorList []*Error

// Error joins the problems, one per line.
func (l ErrorList) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Unwrap lets errors.As find the first *Error in a list.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// Err returns nil for no problem, the *Error itself for one and the list
// for more, so that a single problem reads as itself.
func (l ErrorList) Err() error {
	switch len(l) {
	case 0:
		return nil
	case 1:
		return l[0]
	}
	return l
}

// maxErrors bounds how many problems one pass reports: past a few dozen a
// reader learns nothing more, and a hostile file cannot make the answer
// huge.
const maxErrors = 50

// path is where a value sits in a document: object keys (string) and
// array indexes (int), written "properties.activities[2].type".
type path []any

func (p path) String() string {
	var b strings.Builder
	for i, s := range p {
		switch s := s.(type) {
		case string:
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s)
		case int:
			b.WriteString("[" + strconv.Itoa(s) + "]")
		}
	}
	return b.String()
}

// to returns p with more steps, never sharing p's backing array.
func (p path) to(steps ...any) path {
	out := make(path, 0, len(p)+len(steps))
	return append(append(out, p...), steps...)
}

// reporter collects problems about one document, placing each at the
// value its path names (or the nearest value on the way there that
// exists, so "missing field" lands on the object that lacks it).
type reporter struct {
	file string
	doc  *jsonpos.Value // nil: no positions
	errs ErrorList
}

func (r *reporter) at(p path, format string, args ...any) {
	if len(r.errs) >= maxErrors {
		return
	}
	e := &Error{File: r.file, Msg: fmt.Sprintf(format, args...)}
	if len(p) > 0 {
		e.Msg = p.String() + ": " + e.Msg
	}
	if r.doc != nil {
		v, _ := r.doc.Lookup(p...)
		e.Line, e.Col = v.Pos.Line, v.Pos.Col
	}
	r.errs = append(r.errs, e)
}

func (r *reporter) failed() bool { return len(r.errs) > 0 }

// AsError turns any error into an *Error about file: an *Error or
// ErrorList stays as it is (the first of a list), a *jsonpos.SyntaxError
// keeps its position, anything else is placed nowhere in file.
func AsError(file string, err error) *Error {
	var fe *Error
	if errors.As(err, &fe) {
		return fe
	}
	var se *jsonpos.SyntaxError
	if errors.As(err, &se) {
		return &Error{File: file, Line: se.Pos.Line, Col: se.Pos.Col, Msg: "invalid JSON: " + se.Msg}
	}
	return &Error{File: file, Msg: err.Error()}
}
