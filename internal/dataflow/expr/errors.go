package expr

import (
	"errors"
	"fmt"
)

// Error is an expression that cannot be parsed or evaluated: Expr is the
// string value it was written in (with its "@"), Col the 1-based column in
// Expr where the problem is, Msg what is wrong ("unknown function 'foo'",
// "function 'add' expects 2 arguments"). Path, when set, is where in the
// JSON the string was found ("typeProperties.source.sqlReaderQuery").
type Error struct {
	Path string
	Expr string
	Col  int
	Msg  string
	// Err is the cause when the problem came from outside the language
	// (a Scope callback), or nil.
	Err error
}

// Error formats the problem as ADF users read it: where, the expression,
// then what is wrong.
func (e *Error) Error() string {
	where := ""
	if e.Path != "" {
		where = e.Path + ": "
	}
	return fmt.Sprintf("%sexpression %q column %d: %s", where, clip(e.Expr), e.Col, e.Msg)
}

// Unwrap returns the cause, if any.
func (e *Error) Unwrap() error { return e.Err }

// clip shortens a long expression for a message: the column still points
// into the full text, which a caller has.
func clip(s string) string {
	const max = 200
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}

// failure is an evaluation problem found at byte offset pos of the
// expression text; the string-value layer turns it into an *Error once it
// knows the text and where the expression starts in it.
type failure struct {
	pos int
	msg string
	err error
}

func (f *failure) Error() string { return f.msg }

func (f *failure) Unwrap() error { return f.err }

// failf makes a failure at pos.
func failf(pos int, format string, args ...any) error {
	return &failure{pos: pos, msg: fmt.Sprintf(format, args...)}
}

// locate turns a failure (or any error) found in the expression that starts
// at byte offset base of text into an *Error.
func locate(text string, base int, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	var f *failure
	if errors.As(err, &f) {
		return &Error{Expr: text, Col: column(text, base+f.pos), Msg: f.msg, Err: f.err}
	}
	return &Error{Expr: text, Col: base + 1, Msg: err.Error(), Err: err}
}

// column is the 1-based column of byte offset off in s, counted in
// characters (runes) as an editor shows them.
func column(s string, off int) int {
	if off > len(s) {
		off = len(s)
	}
	n := 1
	for range s[:off] {
		n++
	}
	return n
}
