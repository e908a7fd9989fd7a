package yamlsyntax

import (
	"fmt"
	"strings"
)

// blockLine reads a line outside any flow collection, quoted string or block
// scalar: its indentation places it in the enclosing blocks.
func (s *scanner) blockLine(text string) {
	indent := leadingSpaces(text)
	if indent < len(text) && text[indent] == '\t' {
		if s.rootPlain != nil || s.root && len(s.levels) == 0 && s.plainOwner >= 0 {
			// yaml.v3 lets a document that is one plain value, on one
			// line or several, go on past tabs.
			s.stop = true
			return
		}
		rest := strings.TrimSpace(text)
		if rest != "" && rest[0] != '#' || indent == 0 {
			s.fail(indent, "tab character in the indentation; expected spaces (YAML does not indent with tabs)")
		} else if s.tabBlank.Line == 0 {
			s.tabBlank = Problem{Line: s.ln + 1, Col: indent + 1, Msg: "tab character in the indentation of a blank or comment line; expected spaces"}
		}
		return
	}
	rest := strings.TrimRight(text[indent:], " \t")
	if rest == "" || rest[0] == '#' {
		return
	}
	if indent == 0 && s.marker(rest) {
		return
	}
	if s.plainOwner >= 0 && indent > s.plainOwner {
		s.plainContinues(text, indent)
		return
	}
	s.plainOwner = -1
	s.node(text, indent, -1)
}

// marker handles a document marker (---, ...) or a directive (%YAML) at the
// start of a line, and reports whether rest was one.
func (s *scanner) marker(rest string) bool {
	start := strings.HasPrefix(rest, "---") && (len(rest) == 3 || rest[3] == ' ' || rest[3] == '\t')
	end := strings.HasPrefix(rest, "...") && (len(rest) == 3 || rest[3] == ' ' || rest[3] == '\t')
	switch {
	case end || start && s.root:
		// yaml.Unmarshal reads the first document only.
		s.stop = true
		return true
	case start:
		if body := strings.TrimSpace(rest[3:]); body != "" && body[0] != '#' {
			s.stop = true // a document on the marker's line
		}
		return true
	case rest[0] == '%':
		return true
	}
	return false
}

// plainContinues reads a line deeper than the node that owns a plain value
// on an earlier line: more of that value, unless it reads as a key.
func (s *scanner) plainContinues(text string, indent int) {
	if isItem(text, indent) {
		// "- x" goes on with the value; "- x: y" cannot.
		if _, _, ok := keyAt(text, skipBlanks(text, indent+1)); ok && len(s.levels) > 0 {
			s.deeper(indent, node{line: s.ln + 1})
		}
		return
	}
	key, _, ok := keyAt(text, indent)
	if !ok {
		s.rootPlain = nil // a key missing its ':' takes one line
		if s.contLine == 0 {
			s.contLine, s.contIndent = s.ln+1, indent
		}
		return
	}
	if s.contLine > 0 && s.contIndent == indent && s.contLine < s.ln+1 {
		s.noColon(s.contLine, s.contIndent, key)
		return
	}
	if s.contLine == 0 && indent == s.plainStart && s.plainLine <= s.ln {
		s.noColon(s.plainLine, s.plainStart, key)
		return
	}
	if len(s.levels) == 0 {
		s.stop = true
		return
	}
	s.deeper(indent, node{line: s.ln + 1, key: key})
}

// node reads the node that starts at byte offset c of text. owner is the
// indentation of the item whose "- " it follows on the same line, or -1 when
// it starts the line.
func (s *scanner) node(text string, c, owner int) {
	compact := owner >= 0
	if isItem(text, c) {
		if !s.place(c, true, compact, "") {
			return
		}
		if c+1 < len(text) && text[c+1] == '\t' {
			s.fail(c+1, "tab character after '-'; expected a space")
			return
		}
		j := skipBlanks(text, c+1)
		if j >= len(text) || text[j] == '#' {
			s.pending = &pending{indent: c}
			return
		}
		s.node(text, j, c)
		return
	}
	if (text[c] == '?' || text[c] == ':') && (c+1 == len(text) || text[c+1] == ' ' || text[c+1] == '\t') {
		s.stop = true // complex and empty keys
		return
	}
	k := c
	for k < len(text) && (text[k] == '&' || text[k] == '!') {
		k = skipBlanks(text, tokenEnd(text, k))
	}
	if k >= len(text) || text[k] == '#' {
		s.stop = true // an anchor or tag on a line of its own
		return
	}
	if key, end, ok := keyAt(text, k); ok {
		if s.place(c, false, compact, key) {
			s.value(text, end, c, true)
		}
		return
	}
	if k > c {
		s.stop = true // an anchor or tag on a value: yaml.v3 is lax there
		return
	}
	s.standalone(text, c, owner)
}

// standalone reads a node that is not a key or an item: the value of an
// item on the same line, the value of the key above it, or the document.
func (s *scanner) standalone(text string, c, owner int) {
	switch p := s.pending; {
	case owner >= 0:
		s.value(text, c, owner, false)
	case p != nil && c > p.indent:
		s.pending = nil
		s.value(text, c, p.indent, false)
	case !s.root && len(s.levels) == 0 && strings.IndexByte("\"'[]{}|>*&!@`%,", text[c]) >= 0:
		// A document that is one quoted or flow value: spec files never
		// are, and the parser's message says enough.
		s.stop = true
	case !s.root && len(s.levels) == 0:
		// The document is one value, or its first key lacks its ':'.
		s.root = true
		s.value(text, c, c, false)
		if s.plainOwner == c && !strings.Contains(text, " #") && !strings.Contains(text, "\t#") {
			s.rootPlain = &node{line: s.ln + 1, text: word(strings.TrimSpace(text[c:]))}
		}
	case strings.IndexByte("\"'[]{}|>*&!@`%,", text[c]) >= 0:
		// yaml.v3 takes some values at their key's indentation.
		s.stop = true
	default:
		s.pending = nil
		s.misplaced(text, c)
	}
}

// misplaced reports a line that is neither a key nor an item where the
// enclosing block expects one.
func (s *scanner) misplaced(text string, c int) {
	what := word(strings.TrimSpace(text[c:]))
	s.popTo(c)
	if len(s.levels) == 0 {
		s.stop = true
		return
	}
	top := s.levels[len(s.levels)-1]
	switch {
	case top.indent != c:
		s.fail(c, "%q is indented %s, which matches no enclosing block; expected a key at %s, like %s",
			what, spaces(c), spaces(top.indent), describe(top.last))
	case top.seq:
		s.fail(c, "expected a list item (\"- \") here, like %s; found %q", describe(top.last), what)
	default:
		s.fail(c, "expected a key followed by ':' here, like %s; found %q without one", describe(top.last), what)
	}
}

// popTo leaves the enclosing blocks that are deeper than c.
func (s *scanner) popTo(c int) (popped *level) {
	for len(s.levels) > 0 && s.levels[len(s.levels)-1].indent > c {
		l := s.levels[len(s.levels)-1]
		popped = &l
		s.levels = s.levels[:len(s.levels)-1]
	}
	return popped
}

// maxLevels bounds how deep the scanner follows nested blocks, which also
// bounds its recursion on a line of "- - - ...".
const maxLevels = 1000

// place puts an item (seq) or a key at column c into the enclosing blocks,
// and reports whether it fits. compact is set for a node that follows "- "
// on its line, which starts a new block there.
func (s *scanner) place(c int, seq, compact bool, key string) bool {
	n := node{line: s.ln + 1, key: key}
	if len(s.levels) >= maxLevels {
		s.stop = true
		return false
	}
	push := func(indentless bool, parent int) bool {
		s.levels = append(s.levels, level{indent: c, seq: seq, indentless: indentless, last: n, first: n, count: 1, parent: parent})
		s.root = true
		return true
	}
	if compact {
		return push(false, -1)
	}
	if p := s.pending; p != nil {
		s.pending = nil
		switch {
		case c > p.indent:
			s.steps[c-p.indent]++
			return push(false, p.indent)
		case c == p.indent && p.key && seq:
			return push(true, -1)
		}
	}
	if !s.root {
		return push(false, -1)
	}
	popped := s.popTo(c)
	if l := len(s.levels); l > 0 && s.levels[l-1].indentless && s.levels[l-1].indent == c && !seq {
		popped = &s.levels[l-1]
		s.levels = s.levels[:l-1]
	}
	if len(s.levels) == 0 {
		// yaml.v3 lets a comment line end a document that is one value.
		if r := s.rootPlain; r != nil && !seq && r.line == s.ln && leadingSpaces(s.lines[r.line-1]) == c {
			s.noColon(r.line, c, key)
			return false
		}
		// Less indented than the document's first node: yaml.v3 takes
		// some of these and not others.
		s.stop = true
		return false
	}
	top := &s.levels[len(s.levels)-1]
	switch {
	case top.indent == c && top.seq == seq:
		top.last = n
		top.count++
		return true
	case top.indent == c && top.seq:
		s.fail(c, "expected a list item (\"- \") here, like %s; found %s", describe(top.last), subject(n))
	case top.indent == c:
		s.fail(c, "expected a key here, like %s; found a list item", describe(top.last))
	case popped != nil:
		s.between(c, n, *popped, *top)
	default:
		s.deeper(c, n)
	}
	return false
}

// value reads the value that starts at byte offset j of text (after a key's
// ':' when afterKey, or a node of its own); owner is the indentation of the
// node it belongs to, which its continuation lines must exceed.
func (s *scanner) value(text string, j, owner int, afterKey bool) {
	j = skipBlanks(text, j)
	for j < len(text) && (text[j] == '&' || text[j] == '!') {
		j = skipBlanks(text, tokenEnd(text, j))
	}
	if j >= len(text) || text[j] == '#' {
		if afterKey {
			s.pending = &pending{indent: owner, key: true}
		}
		return
	}
	switch c := text[j]; {
	case c == '|' || c == '>':
		s.blockHeader(text, j, owner)
	case c == '"' || c == '\'':
		end, closed := scanQuoted(text, j+1, c)
		if !closed {
			s.quote = &openQuote{ch: c, line: s.ln + 1, col: column(text, j)}
			return
		}
		s.afterValue(text, end, fmt.Sprintf("%c", c))
	case c == '[' || c == '{':
		s.flows = append(s.flows, opener{ch: c, line: s.ln + 1, col: column(text, j)})
		s.flowPlain = false
		s.flowScan(text, j+1)
	case c == '*':
		s.afterValue(text, tokenEnd(text, j), "alias")
	case c == '-' && isItem(text, j) && afterKey:
		s.fail(j, "a list cannot start on the same line as its key; expected the \"- \" items on the lines below, indented")
	case c == ']' || c == '}':
		s.fail(j, "found '%c' with no '%c' open; expected a value", c, openerOf(c))
	case strings.IndexByte("@`%,", c) >= 0:
		s.fail(j, "'%c' cannot start a plain value; expected the value in quotes", c)
	default:
		s.plain(text, j, owner)
	}
}

// plain reads a plain (unquoted) value from byte offset j to the end of the
// line or a comment; it may go on over deeper lines.
func (s *scanner) plain(text string, j, owner int) {
	for i := j; i < len(text); i++ {
		switch {
		case (text[i] == ' ' || text[i] == '\t') && i+1 < len(text) && text[i+1] == '#':
			s.setPlain(j, owner)
			return
		case text[i] == ':' && (i+1 == len(text) || text[i+1] == ' ' || text[i+1] == '\t'):
			s.fail(i, "unexpected ':' inside a value: it reads as a second key on one line; expected the value in quotes, or the key on a line of its own")
			return
		}
	}
	s.setPlain(j, owner)
}

// setPlain notes a plain value that starts at byte offset j of the current
// line and may go on over lines deeper than owner.
func (s *scanner) setPlain(j, owner int) {
	s.plainOwner = owner
	s.plainLine, s.plainStart = s.ln+1, j
	s.contLine, s.contIndent = 0, 0
}

// blockHeader checks the header of a block scalar (|, >, with an optional
// indentation digit and chomping sign) and starts reading its body.
func (s *scanner) blockHeader(text string, j, owner int) {
	i := j + 1
	for n := 0; n < 2 && i < len(text) && (text[i] == '+' || text[i] == '-' || text[i] >= '1' && text[i] <= '9'); n++ {
		i++
	}
	if k := skipBlanks(text, i); k < len(text) && text[k] != '#' {
		s.fail(k, "unexpected %q after the block scalar indicator %q; expected a line break (the text goes on the lines below)",
			word(text[k:]), text[j:i])
		return
	}
	s.block = &blockScalar{parent: owner}
}

// keyAt reads a mapping key at byte offset c: a plain or quoted key followed
// by ':' and a blank or the end of the line. It returns the key and the
// offset past the ':'.
func keyAt(text string, c int) (string, int, bool) {
	if c >= len(text) {
		return "", 0, false
	}
	if q := text[c]; q == '"' || q == '\'' {
		end, closed := scanQuoted(text, c+1, q)
		if !closed {
			return "", 0, false
		}
		k := skipBlanks(text, end)
		if k < len(text) && text[k] == ':' && (k+1 == len(text) || text[k+1] == ' ' || text[k+1] == '\t') {
			return text[c+1 : end-1], k + 1, true
		}
		return "", 0, false
	}
	if strings.IndexByte("[]{},#&*!|>%@`", text[c]) >= 0 || isItem(text, c) {
		return "", 0, false
	}
	for i := c; i < len(text); i++ {
		switch {
		case (text[i] == ' ' || text[i] == '\t') && i+1 < len(text) && text[i+1] == '#':
			return "", 0, false
		case text[i] == ':' && (i+1 == len(text) || text[i+1] == ' ' || text[i+1] == '\t'):
			return strings.TrimSpace(text[c:i]), i + 1, i > c
		}
	}
	return "", 0, false
}

// isItem reports whether a sequence item ("-" and a blank or the end of the
// line) starts at byte offset c.
func isItem(text string, c int) bool {
	return c < len(text) && text[c] == '-' && (c+1 == len(text) || text[c+1] == ' ' || text[c+1] == '\t')
}

// spaces says how many spaces n is.
func spaces(n int) string {
	if n == 1 {
		return "1 space"
	}
	return fmt.Sprintf("%d spaces", n)
}

// subject names the entry a message is about: key "name" or the list item.
func subject(n node) string {
	if n.key != "" {
		return fmt.Sprintf("key %q", n.key)
	}
	return "list item"
}

// describe names an entry for messages: key "name" (line 4), or the list
// item on line 4.
func describe(n node) string {
	if n.key != "" {
		return fmt.Sprintf("key %q on line %d", n.key, n.line)
	}
	return fmt.Sprintf("the list item on line %d", n.line)
}
