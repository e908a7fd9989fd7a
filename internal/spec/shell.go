package spec

import (
	"fmt"
	"strings"
)

// frameKind is a bash quoting context.
type frameKind uint8

const (
	inTop      frameKind = iota // unquoted shell text
	inDouble                    // "..."
	inSingle                    // '...'
	inANSI                      // $'...'
	inSubst                     // $( ... ): unquoted inside, ends at the matching ')'
	inBacktick                  // `...`
	inArith                     // $(( )), (( )), $[ ]: bash evaluates the text as code
	inTest                      // [[ ... ]]
	inComment                   // # ... up to the end of the line
	inHeredoc                   // the body of a here-document
)

// frame is one open quoting context.
type frame struct {
	kind        frameKind
	open, close byte // brackets counted by depth (inSubst, inArith)
	depth       int
	delim       string // inHeredoc: the line that ends the body
	quoted      bool   // inHeredoc: the delimiter was quoted, so nothing expands
	stripTabs   bool   // inHeredoc: <<- strips leading tabs
	arithOp     bool   // inTest: an arithmetic comparison such as -eq was seen
	ref         string // inTest: the first placeholder inside
}

// shellScanner follows bash's quoting through the literal text of a command
// so that Render knows how to quote each placeholder where it stands. It
// reads only; the text passes through unchanged.
type shellScanner struct {
	stack   []frame // innermost last; stack[0] is inTop
	escaped bool    // the last byte was a backslash escaping the next one
	midWord bool    // the last byte was part of a word, so '#' starts no comment
	line    []byte  // the current line, for here-document delimiters
	pending []frame // here-documents whose bodies start at the next newline
	err     error   // a problem only seen when a construct closes
}

// top returns the innermost frame.
func (sc *shellScanner) top() *frame {
	if len(sc.stack) == 0 {
		sc.stack = append(sc.stack, frame{kind: inTop})
	}
	return &sc.stack[len(sc.stack)-1]
}

// push opens a frame.
func (sc *shellScanner) push(f frame) {
	sc.top()
	sc.stack = append(sc.stack, f)
}

// pop closes the innermost frame; the outermost never closes.
func (sc *shellScanner) pop() {
	if len(sc.stack) > 1 {
		sc.stack = sc.stack[:len(sc.stack)-1]
	}
}

// feed scans literal text.
func (sc *shellScanner) feed(text string) {
	for i := 0; i < len(text); {
		n := sc.dispatch(text, i)
		for _, c := range []byte(text[i : i+n]) {
			if c == '\n' {
				sc.line = sc.line[:0]
			} else {
				sc.line = append(sc.line, c)
			}
		}
		i += n
	}
}

// dispatch scans the token at text[i] in the innermost frame and returns its
// length, or 0 when it closed a frame and the byte must be scanned again.
func (sc *shellScanner) dispatch(text string, i int) int {
	if sc.escaped {
		sc.escaped, sc.midWord = false, true
		return 1
	}
	c := text[i]
	switch sc.top().kind {
	case inSingle:
		if c == '\'' {
			sc.pop()
		}
		return 1
	case inANSI:
		switch c {
		case '\\':
			sc.escaped = true
		case '\'':
			sc.pop()
		}
		return 1
	case inComment:
		if c == '\n' || (c == '`' && len(sc.stack) > 1 && sc.stack[len(sc.stack)-2].kind == inBacktick) {
			sc.pop()
			return 0
		}
		return 1
	case inHeredoc:
		return sc.stepHeredoc(text, i)
	case inDouble:
		return sc.stepDouble(text, i)
	}
	return sc.stepUnquoted(text, i)
}

// stepExpansion opens $( ), $(( )) or $[ ] at text[i], which start the same
// way in every frame where they expand. It returns 0 when there is none.
func (sc *shellScanner) stepExpansion(text string, i int) int {
	rest := text[i:]
	switch {
	case strings.HasPrefix(rest, "$(("):
		sc.push(frame{kind: inArith, open: '(', close: ')', depth: 2})
		sc.midWord = false
		return 3
	case strings.HasPrefix(rest, "$("):
		sc.push(frame{kind: inSubst, open: '(', close: ')', depth: 1})
		sc.midWord = false
		return 2
	case strings.HasPrefix(rest, "$["):
		sc.push(frame{kind: inArith, open: '[', close: ']', depth: 1})
		sc.midWord = false
		return 2
	case rest[0] == '`':
		sc.push(frame{kind: inBacktick})
		sc.midWord = false
		return 1
	}
	return 0
}

// stepDouble scans inside double quotes.
func (sc *shellScanner) stepDouble(text string, i int) int {
	switch text[i] {
	case '\\':
		sc.escaped = true
		return 1
	case '"':
		sc.pop()
		sc.midWord = true
		return 1
	}
	if n := sc.stepExpansion(text, i); n > 0 {
		return n
	}
	return 1
}

// stepHeredoc scans the body of a here-document.
func (sc *shellScanner) stepHeredoc(text string, i int) int {
	f := sc.top()
	c := text[i]
	if c == '\n' {
		line := string(sc.line)
		if f.stripTabs {
			line = strings.TrimLeft(line, "\t")
		}
		if line == f.delim {
			sc.pop()
			sc.startHeredoc()
		}
		return 1
	}
	if f.quoted {
		return 1
	}
	if c == '\\' {
		sc.escaped = true
		return 1
	}
	if n := sc.stepExpansion(text, i); n > 0 {
		return n
	}
	return 1
}

// startHeredoc opens the body of the next pending here-document, if any.
func (sc *shellScanner) startHeredoc() {
	if len(sc.pending) > 0 {
		sc.push(sc.pending[0])
		sc.pending = sc.pending[1:]
		sc.midWord = false
	}
}

// stepUnquoted scans unquoted text: the top level, $( ), backticks, [[ ]]
// and arithmetic.
func (sc *shellScanner) stepUnquoted(text string, i int) int {
	f := sc.top()
	c, rest := text[i], text[i:]
	wordStart := !sc.midWord
	sc.midWord = true
	arith := f.kind == inArith
	switch {
	case c == '\\':
		sc.escaped = true
	case c == '\'':
		sc.push(frame{kind: inSingle})
	case c == '"':
		sc.push(frame{kind: inDouble})
	case c == '`' && f.kind == inBacktick:
		sc.pop()
	case strings.HasPrefix(rest, "$'"):
		sc.push(frame{kind: inANSI})
		return 2
	case c == '$' || c == '`':
		if n := sc.stepExpansion(text, i); n > 0 {
			return n
		}
	case c == '#' && wordStart && !arith:
		sc.push(frame{kind: inComment})
	case wordStart && !arith && strings.HasPrefix(rest, "(("):
		sc.push(frame{kind: inArith, open: '(', close: ')', depth: 2})
		sc.midWord = false
		return 2
	case strings.HasPrefix(rest, "<<<"):
		sc.midWord = false
		return 3
	case !arith && strings.HasPrefix(rest, "<<"):
		return sc.heredocOperator(text, i)
	default:
		return sc.stepWord(text, i, wordStart)
	}
	return 1
}

// stepWord scans brackets, [[ ]], separators and word characters.
func (sc *shellScanner) stepWord(text string, i int, wordStart bool) int {
	f := sc.top()
	c, rest := text[i], text[i:]
	switch {
	case f.close != 0 && c == f.open:
		f.depth++
		sc.midWord = false
	case f.close != 0 && c == f.close:
		f.depth--
		sc.midWord = f.depth == 0
		if f.depth == 0 {
			sc.pop()
		}
	case wordStart && f.kind != inTest && f.kind != inArith && isTestBracket(rest, "[["):
		sc.push(frame{kind: inTest})
		sc.midWord = false
		return 2
	case wordStart && f.kind == inTest && isTestBracket(rest, "]]"):
		sc.closeTest()
		return 2
	case wordStart && f.kind == inTest && isArithComparison(rest):
		f.arithOp = true
	case c == '\n':
		sc.midWord = false
		sc.startHeredoc()
	case strings.IndexByte(" \t;&|()<>", c) >= 0:
		sc.midWord = false
	}
	return 1
}

// isTestBracket reports whether rest starts with the word tok ("[[" or
// "]]"), followed by a blank, a separator or the end.
func isTestBracket(rest, tok string) bool {
	if !strings.HasPrefix(rest, tok) {
		return false
	}
	return len(rest) == len(tok) || strings.IndexByte(" \t\n;&|)", rest[len(tok)]) >= 0
}

// isArithComparison reports whether rest starts with one of the [[ ]]
// operators that evaluate their operands as arithmetic.
func isArithComparison(rest string) bool {
	for _, op := range []string{"-eq", "-ne", "-lt", "-le", "-gt", "-ge"} {
		if isTestBracket(rest, op) {
			return true
		}
	}
	return false
}

// closeTest closes [[ ]], refusing a placeholder inside one that compares
// numbers: bash evaluates such operands as arithmetic, which runs code
// hidden in array subscripts.
func (sc *shellScanner) closeTest() {
	f := *sc.top()
	sc.pop()
	sc.midWord = true
	if f.arithOp && f.ref != "" && sc.err == nil {
		sc.err = fmt.Errorf("%s is used inside [[ ]] with an arithmetic comparison (-eq, -lt, ...), where bash evaluates the value as code; use [ ... ] instead", f.ref)
	}
}

// heredocOperator reads "<<[-] word" at text[i] and queues a here-document
// whose body starts at the next newline.
func (sc *shellScanner) heredocOperator(text string, i int) int {
	j := i + 2
	h := frame{kind: inHeredoc}
	if j < len(text) && text[j] == '-' {
		h.stripTabs = true
		j++
	}
	for j < len(text) && (text[j] == ' ' || text[j] == '\t') {
		j++
	}
	var delim strings.Builder
loop:
	for j < len(text) {
		c := text[j]
		switch {
		case c == '\'' || c == '"':
			end := strings.IndexByte(text[j+1:], c)
			if end < 0 {
				break loop
			}
			delim.WriteString(text[j+1 : j+1+end])
			h.quoted = true
			j += end + 2
		case c == '\\' && j+1 < len(text):
			delim.WriteByte(text[j+1])
			h.quoted = true
			j += 2
		case strings.IndexByte(" \t\n;&|()<>'\"\\", c) >= 0:
			break loop
		default:
			delim.WriteByte(c)
			j++
		}
	}
	if delim.Len() == 0 {
		sc.midWord = false
		return 2
	}
	h.delim = delim.String()
	sc.pending = append(sc.pending, h)
	sc.midWord = true
	return j - i
}

// placeholder returns what stands in the script for a placeholder (raw, as
// written in the command) whose value is in the variable name, quoted for
// the current context.
func (sc *shellScanner) placeholder(name, raw string) (string, error) {
	if sc.escaped {
		return "", fmt.Errorf("%s follows a backslash, which would escape the quoting around its value; remove the backslash", raw)
	}
	for k := range sc.stack {
		switch f := &sc.stack[k]; f.kind {
		case inArith:
			return "", fmt.Errorf("%s is inside an arithmetic expression ($(( )), (( )) or $[ ]), where bash evaluates the value as code; pass it as an argument instead", raw)
		case inTest:
			// Even quoted or inside $( ), a value compared with -eq in
			// [[ ]] is evaluated; closeTest decides once it has seen the
			// operators.
			if f.ref == "" {
				f.ref = raw
			}
		}
	}
	ref := "${" + name + "}"
	var ins string
	f := sc.top()
	switch f.kind {
	case inDouble, inComment:
		ins = ref
	case inSingle:
		ins = `'"` + ref + `"'`
	case inANSI:
		ins = `'"` + ref + `"$'`
	case inHeredoc:
		if f.quoted {
			return "", fmt.Errorf("%s is inside a here-document with a quoted delimiter, which expands nothing; unquote the delimiter", raw)
		}
		ins = ref
	default:
		ins = `"` + ref + `"`
	}
	sc.midWord = true
	sc.line = append(sc.line, ins...)
	return ins, nil
}
