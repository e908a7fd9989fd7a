package tracking

import (
	"strings"
)

// Token kinds of the search filter language.
const (
	tokEOF    = iota
	tokIdent  // metrics.rmse, tags.`a b`, run_name
	tokWord   // AND, LIKE, ILIKE, IN, NOT, IS, NULL, ASC, DESC
	tokString // 'value' or "value"
	tokNumber // 1, -2.5, 1e-3
	tokOp     // =, ==, !=, <>, <, <=, >, >=
	tokList   // ('a', 'b')
)

// token is one lexeme. For identifiers entity is the part before the first
// dot (empty when there is none) and key the rest, unquoted; for strings key
// is the unquoted value; for lists list holds the values.
type token struct {
	kind   int
	text   string
	entity string
	key    string
	list   []string
}

func (t token) isWord(w string) bool { return t.kind == tokWord && strings.EqualFold(t.text, w) }

var keywords = map[string]bool{"AND": true, "LIKE": true, "ILIKE": true, "IN": true, "NOT": true,
	"IS": true, "NULL": true, "ASC": true, "DESC": true}

// lex splits a filter or order_by string into tokens.
func lex(s string) ([]token, error) {
	l := &lexer{src: s}
	var out []token
	for {
		l.skipSpace()
		if l.pos >= len(s) {
			return out, nil
		}
		t, err := l.token()
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
}

// lexer reads tokens from src.
type lexer struct {
	src string
	pos int
}

func (l *lexer) skipSpace() {
	for l.pos < len(l.src) && strings.IndexByte(" \t\r\n", l.src[l.pos]) >= 0 {
		l.pos++
	}
}

func (l *lexer) errorf(what string) error {
	return invalidf("Error on parsing filter '%s': %s at offset %d", l.src, what, l.pos)
}

func (l *lexer) token() (token, error) {
	start := l.pos
	c := l.src[l.pos]
	switch {
	case c == '\'' || c == '"':
		v, err := l.quoted(c)
		return token{kind: tokString, text: l.src[start:l.pos], key: v}, err
	case c == '(':
		return l.list()
	case strings.IndexByte("=!<>", c) >= 0:
		return l.op()
	case isDigit(c) || ((c == '-' || c == '+' || c == '.') && l.pos+1 < len(l.src) && (isDigit(l.src[l.pos+1]) || l.src[l.pos+1] == '.')):
		return l.number()
	case isWordStart(c) || c == '`':
		return l.ident()
	}
	return token{}, l.errorf("unexpected character " + string(rune(c)))
}

// quoted reads a string in quote q; a doubled quote stands for itself.
func (l *lexer) quoted(q byte) (string, error) {
	var b strings.Builder
	l.pos++
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		l.pos++
		if c == '\\' && l.pos < len(l.src) && (l.src[l.pos] == q || l.src[l.pos] == '\\') {
			b.WriteByte(l.src[l.pos])
			l.pos++
			continue
		}
		if c == q {
			if l.pos < len(l.src) && l.src[l.pos] == q {
				b.WriteByte(q)
				l.pos++
				continue
			}
			return b.String(), nil
		}
		b.WriteByte(c)
	}
	return "", l.errorf("unterminated quoted string")
}

func (l *lexer) op() (token, error) {
	start := l.pos
	for _, op := range []string{"==", "!=", "<>", "<=", ">=", "=", "<", ">"} {
		if strings.HasPrefix(l.src[l.pos:], op) {
			l.pos += len(op)
			return token{kind: tokOp, text: l.src[start:l.pos]}, nil
		}
	}
	return token{}, l.errorf("unknown operator")
}

func (l *lexer) number() (token, error) {
	start := l.pos
	if c := l.src[l.pos]; c == '-' || c == '+' {
		l.pos++
	}
	digits := func() {
		for l.pos < len(l.src) && isDigit(l.src[l.pos]) {
			l.pos++
		}
	}
	digits()
	if l.pos < len(l.src) && l.src[l.pos] == '.' {
		l.pos++
		digits()
	}
	if l.pos < len(l.src) && (l.src[l.pos] == 'e' || l.src[l.pos] == 'E') {
		l.pos++
		if l.pos < len(l.src) && (l.src[l.pos] == '-' || l.src[l.pos] == '+') {
			l.pos++
		}
		digits()
	}
	if l.pos < len(l.src) && isWordChar(l.src[l.pos]) {
		return token{}, l.errorf("malformed number")
	}
	return token{kind: tokNumber, text: l.src[start:l.pos]}, nil
}

// ident reads a keyword, or an identifier: an entity (bare or in
// backticks), then optionally '.' and a key (bare, which may contain dots,
// or quoted in backticks, double or single quotes).
func (l *lexer) ident() (token, error) {
	start := l.pos
	var first string
	if l.src[l.pos] == '`' {
		v, err := l.quoted('`')
		if err != nil {
			return token{}, err
		}
		first = v
	} else {
		for l.pos < len(l.src) && isWordChar(l.src[l.pos]) {
			l.pos++
		}
		first = l.src[start:l.pos]
		if keywords[strings.ToUpper(first)] {
			return token{kind: tokWord, text: first}, nil
		}
	}
	if l.pos >= len(l.src) || l.src[l.pos] != '.' {
		return token{kind: tokIdent, text: l.src[start:l.pos], key: first}, nil
	}
	l.pos++
	var key string
	if l.pos < len(l.src) && strings.IndexByte("`\"'", l.src[l.pos]) >= 0 {
		v, err := l.quoted(l.src[l.pos])
		if err != nil {
			return token{}, err
		}
		key = v
	} else {
		ks := l.pos
		for l.pos < len(l.src) && (isWordChar(l.src[l.pos]) || strings.IndexByte(".-/:", l.src[l.pos]) >= 0) {
			l.pos++
		}
		key = l.src[ks:l.pos]
	}
	return token{kind: tokIdent, text: l.src[start:l.pos], entity: first, key: key}, nil
}

// list reads a parenthesised, comma-separated list of quoted strings.
func (l *lexer) list() (token, error) {
	start := l.pos
	l.pos++
	var vals []string
	for {
		l.skipSpace()
		if l.pos >= len(l.src) {
			return token{}, l.errorf("unterminated list")
		}
		c := l.src[l.pos]
		if c == ')' && len(vals) == 0 {
			l.pos++
			return token{kind: tokList, text: l.src[start:l.pos]}, nil
		}
		if c != '\'' && c != '"' {
			return token{}, l.errorf("expected a quoted string in the list")
		}
		v, err := l.quoted(c)
		if err != nil {
			return token{}, err
		}
		vals = append(vals, v)
		l.skipSpace()
		if l.pos >= len(l.src) {
			return token{}, l.errorf("unterminated list")
		}
		switch l.src[l.pos] {
		case ',':
			l.pos++
		case ')':
			l.pos++
			return token{kind: tokList, text: l.src[start:l.pos], list: vals}, nil
		default:
			return token{}, l.errorf("expected ',' or ')' in the list")
		}
	}
}

func isDigit(c byte) bool     { return c >= '0' && c <= '9' }
func isWordStart(c byte) bool { return c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z') }
func isWordChar(c byte) bool  { return isWordStart(c) || isDigit(c) }
