package arm

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// An ARM template expression, the text between "[" and "]": function
// calls (case-insensitive names), 'single-quoted' strings with ” for a
// quote, integers, true and false, and property (.name) and index ([x])
// access on what a call returns.
type node interface{ offset() int }

type (
	callNode struct {
		off  int
		name string
		args []node
	}
	stringNode struct {
		off int
		s   string
	}
	intNode struct {
		off int
		n   int64
	}
	boolNode struct {
		off int
		b   bool
	}
	propNode struct {
		off  int
		x    node
		name string
	}
	indexNode struct {
		off   int
		x     node
		index node
	}
)

func (n *callNode) offset() int   { return n.off }
func (n *stringNode) offset() int { return n.off }
func (n *intNode) offset() int    { return n.off }
func (n *boolNode) offset() int   { return n.off }
func (n *propNode) offset() int   { return n.off }
func (n *indexNode) offset() int  { return n.off }

// maxExprDepth bounds nesting so a hostile template cannot exhaust the
// stack.
const maxExprDepth = 100

// exprError is a syntax error at a byte offset of the expression.
type exprError struct {
	off int
	msg string
}

func (e *exprError) Error() string { return fmt.Sprintf("at character %d: %s", e.off+1, e.msg) }

type exprParser struct {
	s     string
	pos   int
	depth int
}

// parseExpr parses the inside of a "[...]" string.
func parseExpr(s string) (node, error) {
	p := &exprParser{s: s}
	n, err := p.expr()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.pos < len(p.s) {
		return nil, p.errorf("unexpected %q after the expression", p.s[p.pos:])
	}
	return n, nil
}

func (p *exprParser) errorf(format string, args ...any) error {
	return &exprError{off: p.pos, msg: fmt.Sprintf(format, args...)}
}

func (p *exprParser) space() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t' || p.s[p.pos] == '\n' || p.s[p.pos] == '\r') {
		p.pos++
	}
}

func (p *exprParser) peek() byte {
	p.space()
	if p.pos < len(p.s) {
		return p.s[p.pos]
	}
	return 0
}

func (p *exprParser) expect(c byte) error {
	if p.peek() != c {
		if p.pos >= len(p.s) {
			return p.errorf("expected %q, got the end of the expression", c)
		}
		return p.errorf("expected %q, got %q", c, p.s[p.pos])
	}
	p.pos++
	return nil
}

func (p *exprParser) expr() (node, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxExprDepth {
		return nil, p.errorf("nested more than %d deep", maxExprDepth)
	}
	n, err := p.primary()
	for err == nil {
		switch p.peek() {
		case '.':
			off := p.pos
			p.pos++
			p.space()
			name := p.ident()
			if name == "" {
				return nil, p.errorf("expected a property name after '.'")
			}
			n = &propNode{off: off, x: n, name: name}
		case '[':
			off := p.pos
			p.pos++
			var idx node
			if idx, err = p.expr(); err != nil {
				return nil, err
			}
			if err = p.expect(']'); err != nil {
				return nil, err
			}
			n = &indexNode{off: off, x: n, index: idx}
		default:
			return n, nil
		}
	}
	return nil, err
}

func (p *exprParser) primary() (node, error) {
	c := p.peek()
	off := p.pos
	switch {
	case c == '\'':
		return p.str()
	case c == '-' || (c >= '0' && c <= '9'):
		p.pos++
		for p.pos < len(p.s) && p.s[p.pos] >= '0' && p.s[p.pos] <= '9' {
			p.pos++
		}
		n, err := strconv.ParseInt(p.s[off:p.pos], 10, 64)
		if err != nil {
			p.pos = off
			return nil, p.errorf("invalid integer %q", p.s[off:p.pos])
		}
		return &intNode{off: off, n: n}, nil
	case c == 0:
		return nil, p.errorf("expected a value, got the end of the expression")
	}
	name := p.ident()
	if name == "" {
		return nil, p.errorf("expected a function call, a 'string' or a number, got %q", c)
	}
	// A user-defined function is called as namespace.name(...).
	if p.pos < len(p.s) && p.s[p.pos] == '.' {
		save := p.pos
		p.pos++
		if rest := p.ident(); rest != "" && p.peek() == '(' {
			name += "." + rest
		} else {
			p.pos = save
		}
	}
	if p.peek() != '(' {
		switch strings.ToLower(name) {
		case "true", "false":
			return &boolNode{off: off, b: strings.EqualFold(name, "true")}, nil
		}
		return nil, p.errorf("expected '(' after %q", name)
	}
	p.pos++
	call := &callNode{off: off, name: name}
	if p.peek() == ')' {
		p.pos++
		return call, nil
	}
	for {
		arg, err := p.expr()
		if err != nil {
			return nil, err
		}
		call.args = append(call.args, arg)
		switch p.peek() {
		case ',':
			p.pos++
		case ')':
			p.pos++
			return call, nil
		default:
			if p.pos >= len(p.s) {
				return nil, p.errorf("expected ',' or ')' in the call of %s, got the end of the expression", name)
			}
			return nil, p.errorf("expected ',' or ')' in the call of %s, got %q", name, p.s[p.pos])
		}
	}
}

func (p *exprParser) ident() string {
	start := p.pos
	for p.pos < len(p.s) {
		r := rune(p.s[p.pos])
		if r == '_' || r == '$' || r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r) && p.pos > start) {
			p.pos++
			continue
		}
		break
	}
	return p.s[start:p.pos]
}

func (p *exprParser) str() (node, error) {
	off := p.pos
	p.pos++ // the opening quote
	var b strings.Builder
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		p.pos++
		if c != '\'' {
			b.WriteByte(c)
			continue
		}
		if p.pos < len(p.s) && p.s[p.pos] == '\'' {
			b.WriteByte('\'')
			p.pos++
			continue
		}
		return &stringNode{off: off, s: b.String()}, nil
	}
	p.pos = off
	return nil, p.errorf("string not closed with '")
}
