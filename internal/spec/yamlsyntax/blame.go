package yamlsyntax

import "strings"

// Some faults show two lines that disagree, and either could be the wrong
// one: the first key of a block indented 3 spaces and the second 2. The
// functions here pick the line whose indentation differs from the file's
// usual step (the indentation unit), or blame the line the parser stopped at
// when the file has no clear unit.

// unit is the step most blocks of the file are indented by past the node
// that holds them, or 0 when no step is clearly the most common. Among
// equally common steps, 2 (the usual one) wins.
func (s *scanner) unit() int {
	best, bestN, tie := 0, 0, false
	for step, n := range s.steps {
		switch {
		case n > bestN:
			best, bestN, tie = step, n, false
		case n == bestN:
			tie = true
		}
	}
	if tie {
		if s.steps[2] == bestN {
			return 2
		}
		return 0
	}
	return best
}

// deeper reports n at indentation c, deeper than the entries of the
// enclosing block though the entry above it already has a value. When that
// block has one entry, indented off the file's unit, and c is on the unit,
// the entry is the wrong one.
func (s *scanner) deeper(c int, n node) {
	top := s.levels[len(s.levels)-1]
	if u := s.unit(); u > 0 && top.count == 1 && top.parent >= 0 && c-top.parent == u && top.indent-top.parent != u {
		s.failAt(top.first.line, top.indent+1, "%s is indented %s but %s, in the same block, has %d; expected %s",
			subject(top.first), spaces(top.indent), describe(n), c, spaces(c))
		return
	}
	s.fail(c, "%s is indented %s, deeper than %s, which already has a value; expected %s",
		subject(n), spaces(c), describe(top.last), spaces(top.indent))
}

// between reports n at indentation c, between the block it left (popped)
// and the one it is in (top). When the block left has one entry, indented
// off the file's unit, and c is on it, that entry is the wrong one.
func (s *scanner) between(c int, n node, popped, top level) {
	for _, l := range []level{popped, top} {
		if u := s.unit(); u > 0 && l.count == 1 && l.parent >= 0 && c-l.parent == u && l.indent-l.parent != u {
			s.failAt(l.first.line, l.indent+1, "%s is indented %s but %s, in the same block, has %d; expected %s",
				subject(l.first), spaces(l.indent), describe(n), c, spaces(c))
			return
		}
	}
	s.fail(c, "%s is indented %s, which matches no enclosing block; expected %s (like %s) or %d (like %s)",
		subject(n), spaces(c), spaces(popped.indent), describe(popped.last), top.indent, describe(top.last))
}

// noColon reports a plain value on line at indentation col that stands
// where a key should, as the key on a later line shows.
func (s *scanner) noColon(line, col int, key string) {
	text := word(strings.TrimSpace(s.lines[line-1][col:]))
	s.failAt(line, col+1, "expected a key followed by ':' here, like key %q on line %d; found %q without one", key, s.ln+1, text)
}

// shortBlockLine reports a line of a block scalar's body that is less
// indented than the body's first line but deeper than the key that holds
// it. When the first line is off the file's unit and this one is on it, the
// first line is the wrong one.
func (s *scanner) shortBlockLine(indent int) {
	b := s.block
	if u := s.unit(); u > 0 && indent-b.parent == u && b.indent-b.parent != u {
		s.failAt(b.firstLine, b.indent+1, "the block scalar's first line is indented %s but line %d has %d; expected %s",
			spaces(b.indent), s.ln+1, indent, spaces(indent))
		return
	}
	s.fail(indent, "line is indented %s, less than the block scalar's first line (line %d, %s); expected %s or more to stay in the block scalar, or %s to end it",
		spaces(indent), b.firstLine, spaces(b.indent), spaces(b.indent), spaces(b.parent))
}
