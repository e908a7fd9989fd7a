package yamlsyntax

import (
	"fmt"
	"strings"
)

// scanner reads a document line by line, keeping what YAML's structure
// needs to judge the next line: the enclosing blocks and their indentation,
// open flow brackets, an open quoted string, a block scalar's body.
type scanner struct {
	lines []string
	ln    int // index of the line being read

	levels  []level  // enclosing block mappings and sequences, outermost first
	pending *pending // the node on an earlier line whose value starts below it
	root    bool     // the document's first node has been read
	// plainOwner is the indentation of the node whose plain value may go on
	// over more-indented lines; -1 when there is none.
	plainOwner int
	block      *blockScalar // the block scalar (| or >) being read
	flows      []opener     // open [ and {, outermost first
	flowPlain  bool         // inside a plain value in a flow collection
	quote      *openQuote   // a quoted string that goes on past its line

	// steps counts how far each block is indented past the node that
	// holds it, to learn the file's indentation unit.
	steps map[int]int
	// plainLine, plainStart are where the plain value that may go on
	// started; contLine, contIndent where its first continuation line did.
	plainLine, plainStart int
	contLine, contIndent  int
	rootPlain             *node // the document's first node, a plain value

	prob     *Problem
	probFrom int // the line where the construct blamed by prob starts
	// tabBlank is the first blank line whose indentation has a tab, which
	// yaml.v3 rejects inside some blocks but not others: a weak answer.
	tabBlank Problem
	stop     bool // the scanner met a construct it does not follow
}

// level is one enclosing block collection.
type level struct {
	indent int
	seq    bool // a sequence (items "- "), not a mapping
	// indentless is a sequence whose items are at the same indentation as
	// the key that holds it ("key:\n- a").
	indentless bool
	last       node // the entry most recently read
	first      node // the first entry
	count      int  // entries read
	// parent is the indentation of the node that holds the block, or -1
	// for the document's top block and blocks that start after "- ".
	parent int
}

// node is an entry of a block collection, for messages.
type node struct {
	line int    // 1-based
	key  string // the key of a mapping entry; "" for an item
	text string // a plain value standing where a key should be
}

// pending is a node whose value is on the following, deeper lines.
type pending struct {
	indent int
	key    bool // a key (an item otherwise)
}

// blockScalar is a literal (|) or folded (>) value being read.
type blockScalar struct {
	parent    int // indentation of the node owning it; the body is deeper
	indent    int // indentation of the body; 0 until its first line
	firstLine int // the body's first line (1-based)
}

// opener is an open flow bracket.
type opener struct {
	ch        byte
	line, col int  // 1-based
	colon     bool // the entry being read has had its ': '
}

// openQuote is a quoted string not closed on the line it starts.
type openQuote struct {
	ch        byte
	line, col int
	inFlow    bool
}

// scan reads lines up to the first problem, or to the end, or to a
// construct it does not follow (then stop is set).
func scan(lines []string) *scanner {
	s := &scanner{lines: lines, plainOwner: -1, steps: map[int]int{}}
	if len(lines) > 0 && (strings.HasPrefix(lines[0], "\xfe\xff") || strings.HasPrefix(lines[0], "\xff\xfe")) {
		s.stop = true // UTF-16, which the scanner does not read
		return s
	}
	for s.ln = 0; s.ln < len(lines) && s.prob == nil && !s.stop; s.ln++ {
		s.readLine(lines[s.ln])
	}
	if s.prob == nil && !s.stop {
		s.atEnd()
	}
	return s
}

// fail records the problem at byte offset i of the current line.
func (s *scanner) fail(i int, format string, args ...any) {
	line := s.ln + 1
	s.failAt(line, column(s.lines[s.ln], i), format, args...)
}

// failAt records a problem at line and col (both 1-based). The construct
// blamed starts at the outermost open flow or quote, if any.
func (s *scanner) failAt(line, col int, format string, args ...any) {
	if s.prob != nil {
		return
	}
	s.prob = &Problem{Line: line, Col: col, Msg: fmt.Sprintf(format, args...)}
	s.probFrom = line
	if len(s.flows) > 0 && s.flows[0].line < s.probFrom {
		s.probFrom = s.flows[0].line
	}
	if s.quote != nil && s.quote.line < s.probFrom {
		s.probFrom = s.quote.line
	}
}

// atEnd reports what is still open at the end of the document.
func (s *scanner) atEnd() {
	s.ln = len(s.lines) - 1
	switch {
	case s.quote != nil:
		q := s.quote
		s.failAt(q.line, q.col, "%s string is never closed; expected a closing %c", quoteName(q.ch), q.ch)
	case len(s.flows) > 0:
		o := s.flows[len(s.flows)-1]
		s.failAt(o.line, o.col, "'%c' is never closed; expected a matching '%c'", o.ch, closerOf(o.ch))
	}
}

// readLine reads one line in whatever context the lines before it left.
func (s *scanner) readLine(text string) {
	if s.block != nil && s.inBlockScalar(text) {
		return
	}
	if s.quote != nil {
		q := *s.quote
		end, closed := scanQuoted(text, 0, q.ch)
		if !closed {
			return
		}
		s.quote = nil
		s.afterMultiLineQuote(text, end, q)
		return
	}
	if len(s.flows) > 0 {
		s.flowScan(text, 0)
		return
	}
	s.blockLine(text)
}

// inBlockScalar reports whether text belongs to the body of the block scalar
// being read, and ends the block scalar when it does not.
func (s *scanner) inBlockScalar(text string) bool {
	b := s.block
	indent := leadingSpaces(text)
	if strings.TrimSpace(text) == "" && (b.indent == 0 || indent >= b.indent || !strings.Contains(text, "\t")) {
		return true
	}
	if b.indent == 0 && indent > b.parent && text[indent] != '\t' {
		b.indent, b.firstLine = indent, s.ln+1
		return true
	}
	if b.indent > 0 && indent >= b.indent {
		return true
	}
	switch {
	case text[indent] == '\t' && indent > b.parent:
		s.fail(indent, "tab character in the indentation of a block scalar; expected spaces")
		return true
	case indent > b.parent && b.indent > 0 && text[indent] != '#':
		s.shortBlockLine(indent)
		return true
	}
	s.block = nil
	return false
}

// afterMultiLineQuote checks what follows a quoted value that closed on a
// later line than it opened: anything but a comment means the string was
// meant to close on its first line. In a flow collection the value may also
// end at ',', ']', '}' or the ':' after a key (a comment there needs a
// blank before it), and the flow goes on.
func (s *scanner) afterMultiLineQuote(text string, end int, q openQuote) {
	j := skipBlanks(text, end)
	ended := j >= len(text) || text[j] == '#'
	if q.inFlow {
		ended = j >= len(text) || j > end && text[j] == '#' || strings.IndexByte(",]}:", text[j]) >= 0
	}
	if !ended {
		s.failAt(q.line, q.col, "%s string is not closed on its line: it runs on to line %d; expected a closing %c",
			quoteName(q.ch), s.ln+1, q.ch)
		return
	}
	if q.inFlow {
		s.flowScan(text, end)
	}
}

// flowScan reads text from byte offset i inside the open flow collections.
func (s *scanner) flowScan(text string, i int) {
	for ; i < len(text) && s.prob == nil; i++ {
		c := text[i]
		switch {
		case c == ' ' || c == '\t':
			continue
		case c == '#' && (i == 0 || text[i-1] == ' ' || text[i-1] == '\t'):
			return
		case c == '[' || c == '{':
			s.flows = append(s.flows, opener{ch: c, line: s.ln + 1, col: column(text, i)})
			s.flowPlain = false
		case c == ']' || c == '}':
			s.flowPlain = false
			top := s.flows[len(s.flows)-1]
			if closerOf(top.ch) != c {
				s.fail(i, "found '%c' but the '%c' at line %d, column %d is still open; expected '%c'",
					c, top.ch, top.line, top.col, closerOf(top.ch))
				return
			}
			s.flows = s.flows[:len(s.flows)-1]
			if len(s.flows) == 0 {
				s.afterValue(text, i+1, fmt.Sprintf("'%c'", c))
				return
			}
		case c == ',':
			s.flowPlain = false
			s.flows[len(s.flows)-1].colon = false
		case (c == '"' || c == '\'') && !s.flowPlain:
			end, closed := scanQuoted(text, i+1, c)
			if !closed {
				s.quote = &openQuote{ch: c, line: s.ln + 1, col: column(text, i), inFlow: true}
				return
			}
			i = end - 1
		case c == ':':
			// "a:b" goes on as one plain value; ": " ends the key.
			if i+1 < len(text) && strings.IndexByte(" \t,[]{}", text[i+1]) < 0 {
				continue
			}
			s.flowPlain = false
			top := &s.flows[len(s.flows)-1]
			if top.colon {
				s.secondColon(text, i, *top)
				return
			}
			top.colon = true
		default:
			s.flowPlain = true
		}
	}
}

// secondColon reports a ':' at byte offset i in an entry of the flow
// collection top that already has one. On a later line that is no deeper
// than the line the collection opened on, the line is a new block key and
// the collection was left open.
func (s *scanner) secondColon(text string, i int, top opener) {
	if s.ln+1 > top.line && leadingSpaces(text) <= leadingSpaces(s.lines[top.line-1]) {
		s.failAt(top.line, top.col, "'%c' is not closed before line %d, which starts a new key; expected a matching '%c'",
			top.ch, s.ln+1, closerOf(top.ch))
		return
	}
	s.fail(i, "a second ':' in one entry of the '%c' at line %d, column %d; expected ',' between entries",
		top.ch, top.line, top.col)
}

// afterValue checks the rest of a line after a value that ended at byte
// offset i (a closed flow collection, a quoted string, an alias): only
// blanks and a comment may follow. what names the end, for messages.
func (s *scanner) afterValue(text string, i int, what string) {
	j := skipBlanks(text, i)
	switch {
	case j >= len(text) || text[j] == '#':
	case text[j] == ':':
		// A flow collection or quoted string used as a key: rare enough
		// to leave to the parser.
		s.stop = true
	case text[j] == ']' || text[j] == '}':
		s.fail(j, "found '%c' with no '%c' open; expected the end of the line", text[j], openerOf(text[j]))
	default:
		s.fail(j, "unexpected %q after the closing %s; expected the end of the line or a comment", word(text[j:]), what)
	}
}

// scanQuoted finds the end of a quoted string whose text starts at byte
// offset i (just past the opening quote q): the offset past the closing
// quote, and whether it closes on this line.
func scanQuoted(text string, i int, q byte) (int, bool) {
	for ; i < len(text); i++ {
		switch {
		case q == '"' && text[i] == '\\':
			i++
		case text[i] == q && q == '\'' && i+1 < len(text) && text[i+1] == '\'':
			i++
		case text[i] == q:
			return i + 1, true
		}
	}
	return len(text), false
}

// leadingSpaces counts the spaces that start text.
func leadingSpaces(text string) int {
	n := 0
	for n < len(text) && text[n] == ' ' {
		n++
	}
	return n
}

// skipBlanks returns the offset of the first byte at or after i that is not
// a space or a tab.
func skipBlanks(text string, i int) int {
	for i < len(text) && (text[i] == ' ' || text[i] == '\t') {
		i++
	}
	return i
}

// tokenEnd is the offset of the first blank at or after i, or the end of
// text.
func tokenEnd(text string, i int) int {
	for i < len(text) && text[i] != ' ' && text[i] != '\t' {
		i++
	}
	return i
}

// word is the text up to the next blank, shortened for messages.
func word(text string) string {
	if i := strings.IndexAny(text, " \t"); i >= 0 {
		text = text[:i]
	}
	if len(text) > 20 {
		text = text[:20] + "..."
	}
	return text
}

// closerOf is the bracket that closes o.
func closerOf(o byte) byte {
	if o == '[' {
		return ']'
	}
	return '}'
}

// openerOf is the bracket that c closes.
func openerOf(c byte) byte {
	if c == ']' {
		return '['
	}
	return '{'
}

// quoteName names a quoted string by its quote.
func quoteName(q byte) string {
	if q == '"' {
		return "double-quoted"
	}
	return "single-quoted"
}
