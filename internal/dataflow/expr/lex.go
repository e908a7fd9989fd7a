package expr

import (
	"strconv"
	"strings"
)

// tokKind is the kind of one lexical token of an expression.
type tokKind int

const (
	tokEOF tokKind = iota
	tokIdent
	tokString
	tokInt
	tokFloat
	tokLParen
	tokRParen
	tokLBrack
	tokRBrack
	tokDot
	tokSafeDot   // ?.
	tokSafeBrack // ?[
	tokComma
	tokRBrace // the "}" that closes an "@{...}" interpolation
)

// punct is the kind of a one-byte punctuation token.
func punct(c byte) tokKind {
	switch c {
	case '(':
		return tokLParen
	case ')':
		return tokRParen
	case '[':
		return tokLBrack
	case ']':
		return tokRBrack
	case ',':
		return tokComma
	}
	return tokRBrace
}

// describe names a token kind for "expected ... but found ..." messages.
func (k tokKind) describe() string {
	switch k {
	case tokEOF:
		return "the end of the expression"
	case tokIdent:
		return "a name"
	case tokString:
		return "a string"
	case tokInt, tokFloat:
		return "a number"
	case tokLParen:
		return "'('"
	case tokRParen:
		return "')'"
	case tokLBrack:
		return "'['"
	case tokRBrack:
		return "']'"
	case tokDot:
		return "'.'"
	case tokSafeDot:
		return "'?.'"
	case tokSafeBrack:
		return "'?['"
	case tokComma:
		return "','"
	case tokRBrace:
		return "'}'"
	}
	return "a token"
}

// token is one lexical token: its kind, its decoded value (the string of a
// literal, the name of an identifier) and its byte offset in the source.
type token struct {
	kind tokKind
	text string
	i    int64
	f    float64
	pos  int
}

// lexer cuts an expression's text into tokens on demand.
type lexer struct {
	src string
	pos int
}

// isSpace is the white space ADF allows between tokens, newlines included.
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isNameByte is a byte of a function or property name: ASCII letters,
// digits, "_", "$", and any byte of a non-ASCII character, so that a
// column named "Prénom" can be selected as firstRow.Prénom.
func isNameByte(c byte) bool {
	return c == '_' || c == '$' || c >= 0x80 || isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'z')
}

// next returns the next token, or a failure for a character that starts
// none or a string left open.
func (l *lexer) next() (token, error) {
	for l.pos < len(l.src) && isSpace(l.src[l.pos]) {
		l.pos++
	}
	start := l.pos
	if l.pos >= len(l.src) {
		return token{kind: tokEOF, pos: start}, nil
	}
	c := l.src[l.pos]
	switch c {
	case '(', ')', '[', ']', ',', '}':
		l.pos++
		return token{kind: punct(c), pos: start}, nil
	}
	switch {
	case c == '?':
		if l.pos+1 < len(l.src) && l.src[l.pos+1] == '.' {
			l.pos += 2
			return token{kind: tokSafeDot, pos: start}, nil
		}
		if l.pos+1 < len(l.src) && l.src[l.pos+1] == '[' {
			l.pos += 2
			return token{kind: tokSafeBrack, pos: start}, nil
		}
		return token{}, failf(start, "unexpected '?': expected '?.' or '?['")
	case c == '\'':
		return l.str()
	case c == '.' && !(l.pos+1 < len(l.src) && isDigit(l.src[l.pos+1])):
		l.pos++
		return token{kind: tokDot, pos: start}, nil
	case c == '-' || c == '+' || c == '.' || isDigit(c):
		return l.number()
	case isNameByte(c):
		for l.pos < len(l.src) && isNameByte(l.src[l.pos]) {
			l.pos++
		}
		return token{kind: tokIdent, text: l.src[start:l.pos], pos: start}, nil
	}
	return token{}, failf(start, "unexpected character '%s'", l.src[start:start+runeLen(l.src[start:])])
}

// runeLen is the byte length of the first character of s.
func runeLen(s string) int {
	for i := range s {
		if i > 0 {
			return i
		}
	}
	return len(s)
}

// str reads a single-quoted string, where ” stands for one quote.
func (l *lexer) str() (token, error) {
	start := l.pos
	l.pos++
	var b strings.Builder
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		if c == '\'' {
			if l.pos+1 < len(l.src) && l.src[l.pos+1] == '\'' {
				b.WriteByte('\'')
				l.pos += 2
				continue
			}
			l.pos++
			return token{kind: tokString, text: b.String(), pos: start}, nil
		}
		b.WriteByte(c)
		l.pos++
	}
	return token{}, failf(start, "string literal is not closed: expected a closing \"'\"")
}

// number reads an integer or a floating-point literal: an optional sign,
// digits, an optional fraction (".5" alone is allowed, as ADF's own
// examples write it) and an optional exponent. An integer too large for 64
// bits becomes a float, as JSON.NET reads it.
func (l *lexer) number() (token, error) {
	start := l.pos
	if c := l.src[l.pos]; c == '-' || c == '+' {
		l.pos++
	}
	digits := 0
	for l.pos < len(l.src) && isDigit(l.src[l.pos]) {
		l.pos++
		digits++
	}
	isFloat := false
	if l.pos < len(l.src) && l.src[l.pos] == '.' && l.pos+1 < len(l.src) && isDigit(l.src[l.pos+1]) {
		isFloat = true
		l.pos++
		for l.pos < len(l.src) && isDigit(l.src[l.pos]) {
			l.pos++
			digits++
		}
	}
	if digits == 0 {
		return token{}, failf(start, "unexpected %q: expected a number", l.src[start:l.pos+min(1, len(l.src)-l.pos)])
	}
	if l.pos < len(l.src) && (l.src[l.pos] == 'e' || l.src[l.pos] == 'E') {
		p := l.pos + 1
		if p < len(l.src) && (l.src[p] == '-' || l.src[p] == '+') {
			p++
		}
		if p < len(l.src) && isDigit(l.src[p]) {
			isFloat = true
			for p < len(l.src) && isDigit(l.src[p]) {
				p++
			}
			l.pos = p
		}
	}
	text := l.src[start:l.pos]
	if l.pos < len(l.src) && isNameByte(l.src[l.pos]) {
		return token{}, failf(start, "malformed number %q", text+string(l.src[l.pos]))
	}
	if !isFloat {
		if i, err := strconv.ParseInt(text, 10, 64); err == nil {
			return token{kind: tokInt, i: i, text: text, pos: start}, nil
		}
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return token{}, failf(start, "malformed number %q", text)
	}
	return token{kind: tokFloat, f: f, text: text, pos: start}, nil
}
