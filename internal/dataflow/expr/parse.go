package expr

import (
	"strings"
)

// maxDepth bounds how deeply calls and indexes may nest, so that no input
// can exhaust the stack; real pipelines stay far below it.
const maxDepth = 100

// node is one node of a parsed expression; pos is its byte offset in the
// string value it was written in.
type node interface{ at() int }

// litNode is a literal: a string, a number, true, false or null.
type litNode struct {
	pos int
	v   any
}

// callNode is a function call; fn is the built-in it names.
type callNode struct {
	pos  int
	fn   *builtin
	args []node
}

// propNode is obj.name, or obj?.name when safe.
type propNode struct {
	pos  int
	obj  node
	name string
	safe bool
}

// indexNode is obj[key], or obj?[key] when safe.
type indexNode struct {
	pos  int
	obj  node
	key  node
	safe bool
}

func (n *litNode) at() int   { return n.pos }
func (n *callNode) at() int  { return n.pos }
func (n *propNode) at() int  { return n.pos }
func (n *indexNode) at() int { return n.pos }

// parser is a recursive-descent parser over one expression with one token
// of look-ahead. It reads from the whole string value so that every
// position it records is an offset in that value.
type parser struct {
	lx    lexer
	tok   token
	depth int
}

// newParser starts a parser at byte offset pos of src.
func newParser(src string, pos int) (*parser, error) {
	p := &parser{lx: lexer{src: src, pos: pos}}
	return p, p.advance()
}

// advance moves to the next token.
func (p *parser) advance() error {
	t, err := p.lx.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

// found describes the current token for an error message.
func (p *parser) found() string {
	switch p.tok.kind {
	case tokIdent:
		return "'" + p.tok.text + "'"
	case tokString:
		return "the string '" + clip(p.tok.text) + "'"
	case tokInt, tokFloat:
		return p.tok.text
	}
	return p.tok.kind.describe()
}

// expect consumes a token of kind k or fails naming what was wanted.
func (p *parser) expect(k tokKind, context string) error {
	if p.tok.kind != k {
		return failf(p.tok.pos, "expected %s%s but found %s", k.describe(), context, p.found())
	}
	return p.advance()
}

// expr parses a value, a call, and any property accesses and indexes after
// it.
func (p *parser) expr() (node, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, failf(p.tok.pos, "expression nests deeper than %d levels", maxDepth)
	}
	n, err := p.primary()
	if err != nil {
		return nil, err
	}
	for {
		switch p.tok.kind {
		case tokDot, tokSafeDot:
			safe, pos := p.tok.kind == tokSafeDot, p.tok.pos
			if err := p.advance(); err != nil {
				return nil, err
			}
			if p.tok.kind != tokIdent && p.tok.kind != tokInt {
				return nil, failf(p.tok.pos, "expected a property name after '.' but found %s", p.found())
			}
			n = &propNode{pos: pos, obj: n, name: p.tok.text, safe: safe}
			if err := p.advance(); err != nil {
				return nil, err
			}
		case tokLBrack, tokSafeBrack:
			safe, pos := p.tok.kind == tokSafeBrack, p.tok.pos
			if err := p.advance(); err != nil {
				return nil, err
			}
			key, err := p.expr()
			if err != nil {
				return nil, err
			}
			if err := p.expect(tokRBrack, " to close the index"); err != nil {
				return nil, err
			}
			n = &indexNode{pos: pos, obj: n, key: key, safe: safe}
		default:
			return n, nil
		}
	}
}

// primary parses a literal or a function call.
func (p *parser) primary() (node, error) {
	t := p.tok
	switch t.kind {
	case tokString:
		return &litNode{pos: t.pos, v: t.text}, p.advance()
	case tokInt:
		return &litNode{pos: t.pos, v: t.i}, p.advance()
	case tokFloat:
		return &litNode{pos: t.pos, v: t.f}, p.advance()
	case tokIdent:
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.tok.kind == tokLParen {
			return p.call(t)
		}
		switch strings.ToLower(t.text) {
		case "true":
			return &litNode{pos: t.pos, v: true}, nil
		case "false":
			return &litNode{pos: t.pos, v: false}, nil
		case "null":
			return &litNode{pos: t.pos, v: nil}, nil
		}
		if lookup(t.text) == nil {
			return nil, failf(t.pos, "unknown name '%s': expected a function call such as %s(...), a quoted string or a number", t.text, t.text)
		}
		return nil, failf(p.tok.pos, "expected '(' after the function name '%s' but found %s", t.text, p.found())
	}
	return nil, failf(t.pos, "expected a function call, a string, a number, true, false or null but found %s", p.found())
}

// call parses the argument list of the function named by t (the current
// token is its "(") and checks the name and the number of arguments.
func (p *parser) call(t token) (node, error) {
	fn := lookup(t.text)
	if fn == nil {
		return nil, failf(t.pos, "unknown function '%s'", t.text)
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	n := &callNode{pos: t.pos, fn: fn}
	if p.tok.kind == tokRParen {
		if err := p.advance(); err != nil {
			return nil, err
		}
	} else {
		for {
			a, err := p.expr()
			if err != nil {
				return nil, err
			}
			n.args = append(n.args, a)
			if p.tok.kind == tokComma {
				if err := p.advance(); err != nil {
					return nil, err
				}
				continue
			}
			if err := p.expect(tokRParen, " or ',' in the arguments of "+fn.name+"()"); err != nil {
				return nil, err
			}
			break
		}
	}
	if len(n.args) < fn.min || (fn.max >= 0 && len(n.args) > fn.max) {
		return nil, failf(t.pos, "function '%s' expects %s, got %d", fn.name, fn.arity(), len(n.args))
	}
	return n, nil
}

// parseAt parses one expression that starts at byte offset pos of src and
// must be followed by a token of kind end (tokEOF for a whole-value
// expression, tokRBrace for an interpolation). It returns the expression
// and the offset just past the end token.
func parseAt(src string, pos int, end tokKind) (node, int, error) {
	p, err := newParser(src, pos)
	if err != nil {
		return nil, 0, err
	}
	if p.tok.kind == end {
		return nil, 0, failf(p.tok.pos, "empty expression")
	}
	n, err := p.expr()
	if err != nil {
		return nil, 0, err
	}
	if p.tok.kind != end {
		what := "the end of the expression"
		if end == tokRBrace {
			what = "'}' to close '@{'"
		}
		if p.tok.kind == tokEOF {
			return nil, 0, failf(p.tok.pos, "expected %s", what)
		}
		return nil, 0, failf(p.tok.pos, "expected %s but found %s", what, p.found())
	}
	return n, p.lx.pos, nil
}
