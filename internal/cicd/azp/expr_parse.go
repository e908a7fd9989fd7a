package azp

import (
	"fmt"
	"strconv"
	"strings"
)

// maxExprDepth bounds the nesting of an expression so that no input can
// exhaust the stack.
const maxExprDepth = 100

// Expr is a parsed expression, ready to be evaluated any number of times.
type Expr struct {
	src  string
	root exprNode
}

// String returns the expression's source text.
func (e *Expr) String() string { return e.src }

// exprNode is one node of a parsed expression.
type exprNode interface{}

// literalNode is a literal value.
type literalNode struct{ v any }

// namedNode is a top-level named value: parameters, variables,
// dependencies, or a variable bound by ${{ each }}.
type namedNode struct{ name string }

// indexNode is obj[key] or obj.key (key then a literal string).
type indexNode struct {
	obj, key exprNode
	wildcard bool // obj.* or obj[*]
}

// callNode is a function call.
type callNode struct {
	name string
	fn   *function
	args []exprNode
}

// ExprSyntaxError is a malformed expression; Offset is the 0-based byte
// offset in the expression where the problem was found.
type ExprSyntaxError struct {
	Offset int
	Msg    string
}

// Error formats the problem with its 1-based column in the expression.
func (e *ExprSyntaxError) Error() string {
	return fmt.Sprintf("expression column %d: %s", e.Offset+1, e.Msg)
}

// ParseExpression parses the text of an expression (what is written inside
// ${{ }}, inside $[ ] or as a condition:). Function names and arities are
// checked here; named values are looked up when it is evaluated.
func ParseExpression(src string) (*Expr, error) {
	p := &exprParser{src: src}
	p.skipSpace()
	if p.pos >= len(src) {
		return nil, &ExprSyntaxError{Offset: 0, Msg: "empty expression"}
	}
	root, err := p.expr(0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos < len(src) {
		return nil, p.errorf("unexpected %q after the end of the expression", p.rest())
	}
	return &Expr{src: src, root: root}, nil
}

// exprParser is a recursive-descent parser over one expression.
type exprParser struct {
	src string
	pos int
}

func (p *exprParser) errorf(format string, args ...any) error {
	return &ExprSyntaxError{Offset: p.pos, Msg: fmt.Sprintf(format, args...)}
}

// rest returns a short view of the unparsed text for messages.
func (p *exprParser) rest() string {
	r := p.src[p.pos:]
	if len(r) > 20 {
		r = r[:20] + "..."
	}
	return r
}

func (p *exprParser) skipSpace() {
	for p.pos < len(p.src) && strings.IndexByte(" \t\r\n", p.src[p.pos]) >= 0 {
		p.pos++
	}
}

// expr parses one primary expression followed by any property accesses.
func (p *exprParser) expr(depth int) (exprNode, error) {
	if depth > maxExprDepth {
		return nil, p.errorf("expression nested more than %d deep", maxExprDepth)
	}
	p.skipSpace()
	if p.pos >= len(p.src) {
		return nil, p.errorf("unexpected end of expression")
	}
	c := p.src[p.pos]
	switch {
	case c == '\'':
		return p.str()
	case c == '-' || c == '.' || isDigit(c):
		return p.number()
	case isIdentStart(c):
		return p.identifier(depth)
	}
	return nil, p.errorf("unexpected %q", p.rest())
}

// str parses a single-quoted string, ” standing for one quote.
func (p *exprParser) str() (exprNode, error) {
	start := p.pos
	p.pos++
	var b strings.Builder
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		p.pos++
		if c != '\'' {
			b.WriteByte(c)
			continue
		}
		if p.pos < len(p.src) && p.src[p.pos] == '\'' {
			b.WriteByte('\'')
			p.pos++
			continue
		}
		return &literalNode{v: b.String()}, nil
	}
	p.pos = start
	return nil, p.errorf("unterminated string: expected a closing '")
}

// number parses a number literal (-1.5, .5, 3) or a version (1.2.3).
func (p *exprParser) number() (exprNode, error) {
	start := p.pos
	for p.pos < len(p.src) && (isDigit(p.src[p.pos]) || strings.IndexByte("-+.eE", p.src[p.pos]) >= 0) {
		p.pos++
	}
	text := p.src[start:p.pos]
	if strings.Count(text, ".") >= 2 && text[0] != '-' {
		if v, ok := parseVersion(text); ok {
			return &literalNode{v: v}, nil
		}
	} else if numberPattern.MatchString(text) {
		if f, err := strconv.ParseFloat(text, 64); err == nil {
			return &literalNode{v: f}, nil
		}
	}
	p.pos = start
	return nil, p.errorf("invalid number or version %q", text)
}

// identifier parses a keyword literal, a function call or a named value
// with its property accesses.
func (p *exprParser) identifier(depth int) (exprNode, error) {
	start := p.pos
	name := p.ident()
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == '(' {
		return p.call(name, start, depth)
	}
	var n exprNode
	switch strings.ToLower(name) {
	case "true":
		n = &literalNode{v: true}
	case "false":
		n = &literalNode{v: false}
	case "null":
		n = &literalNode{v: nil}
	default:
		n = &namedNode{name: name}
	}
	return p.accessors(n, depth)
}

// ident reads an identifier: letters, digits, _ and -.
func (p *exprParser) ident() string {
	start := p.pos
	for p.pos < len(p.src) && (isIdentStart(p.src[p.pos]) || isDigit(p.src[p.pos]) || p.src[p.pos] == '-') {
		p.pos++
	}
	return p.src[start:p.pos]
}

// accessors parses .name, .* and [expr] after a value.
func (p *exprParser) accessors(n exprNode, depth int) (exprNode, error) {
	for {
		p.skipSpace()
		if p.pos >= len(p.src) {
			return n, nil
		}
		switch p.src[p.pos] {
		case '.':
			p.pos++
			if p.pos < len(p.src) && p.src[p.pos] == '*' {
				p.pos++
				n = &indexNode{obj: n, wildcard: true}
				continue
			}
			if p.pos >= len(p.src) || !isIdentStart(p.src[p.pos]) {
				return nil, p.errorf("expected a property name after '.'")
			}
			n = &indexNode{obj: n, key: &literalNode{v: p.ident()}}
		case '[':
			p.pos++
			p.skipSpace()
			if p.pos < len(p.src) && p.src[p.pos] == '*' {
				p.pos++
				n = &indexNode{obj: n, wildcard: true}
			} else {
				key, err := p.expr(depth + 1)
				if err != nil {
					return nil, err
				}
				n = &indexNode{obj: n, key: key}
			}
			p.skipSpace()
			if p.pos >= len(p.src) || p.src[p.pos] != ']' {
				return nil, p.errorf("expected ']'")
			}
			p.pos++
		default:
			return n, nil
		}
	}
}

// call parses the arguments of a function call and checks its arity.
func (p *exprParser) call(name string, start, depth int) (exprNode, error) {
	fn := lookupFunction(name)
	if fn == nil {
		p.pos = start
		return nil, p.errorf("unknown function %s()", name)
	}
	p.pos++ // (
	var args []exprNode
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == ')' {
		p.pos++
	} else {
		for {
			a, err := p.expr(depth + 1)
			if err != nil {
				return nil, err
			}
			args = append(args, a)
			p.skipSpace()
			if p.pos >= len(p.src) {
				return nil, p.errorf("expected ',' or ')' in the call of %s()", name)
			}
			if p.src[p.pos] == ')' {
				p.pos++
				break
			}
			if p.src[p.pos] != ',' {
				return nil, p.errorf("expected ',' or ')' in the call of %s(), got %q", name, p.rest())
			}
			p.pos++
		}
	}
	if len(args) < fn.min || (fn.max >= 0 && len(args) > fn.max) {
		p.pos = start
		return nil, p.errorf("%s() takes %s, got %d", fn.name, fn.arity(), len(args))
	}
	n := &callNode{name: fn.name, fn: fn, args: args}
	return p.accessors(n, depth)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}
