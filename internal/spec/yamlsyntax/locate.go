// Package yamlsyntax finds where a YAML document that the parser rejected is
// actually wrong, and says what was expected there.
//
// gopkg.in/yaml.v3 reports a syntax error at the start of the block that
// encloses it (a mis-indented key five lines down is "line 2: did not find
// expected key") or at no line at all. Locate reads the text again with a
// line scanner that knows YAML's indentation, flow brackets, quotes and
// block scalars, finds the first line that breaks them, and checks its
// answer against the parser: the text before the construct it blames must
// parse. When the scanner has no answer it trusts, Locate returns the
// parser's own line and message.
//
// It is only for documents the parser has already rejected; it is not a
// validator, and it never decides whether a document is valid.
package yamlsyntax

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Problem is what is wrong with a document and where: a 1-based line and
// column (column 0 when only the line is known, line 0 when neither is).
type Problem struct {
	Line, Col int
	Msg       string
}

// parserLine reads the line yaml.v3 puts in its error messages.
var parserLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// Locate returns where data, which yaml.v3 rejected with parseErr, is wrong.
func Locate(data []byte, parseErr error) Problem {
	fallback := parserProblem(parseErr)
	lines := splitLines(data)
	s := scan(lines)
	if s.prob != nil && prefixParses(lines, s.probFrom) {
		return *s.prob
	}
	if t := s.tabBlank; s.prob == nil && t.Line > 0 && strings.Contains(fallback.Msg, "tab character") && prefixParses(lines, t.Line) {
		return t
	}
	if name, ok := strings.CutPrefix(fallback.Msg, "unknown anchor '"); ok {
		name = strings.TrimSuffix(name, "' referenced")
		if p, ok := findAlias(lines, name); ok {
			return p
		}
	}
	return fallback
}

// parserProblem is the parser's own account of err: its line (which points
// at the enclosing block, not the fault) and message.
func parserProblem(err error) Problem {
	msg := err.Error()
	if m := parserLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return Problem{Line: line, Msg: m[2]}
	}
	return Problem{Msg: strings.TrimPrefix(msg, "yaml: ")}
}

// splitLines splits data into lines without their terminators (\n, \r\n
// or a lone \r, as YAML has them) and without a leading byte order mark.
func splitLines(data []byte) []string {
	text := strings.TrimPrefix(string(data), "\ufeff")
	text = strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\r", "\n")
	lines := strings.Split(text, "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// prefixParses reports whether the lines before line from (1-based) parse:
// the scanner blames a construct that starts on line from, so everything
// before it must be valid, or the scanner missed an earlier fault.
func prefixParses(lines []string, from int) bool {
	if from <= 1 {
		return true
	}
	if from-1 > len(lines) {
		from = len(lines) + 1
	}
	var n yaml.Node
	return unmarshal([]byte(strings.Join(lines[:from-1], "\n")+"\n"), &n) == nil
}

// unmarshal is yaml.Unmarshal with a panic inside the library turned into an
// error.
func unmarshal(data []byte, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errPanic
		}
	}()
	return yaml.Unmarshal(data, n)
}

// errPanic stands for a panic inside the YAML library.
var errPanic = errors.New("yaml: the parser panicked")

// findAlias finds the first use of the alias *name outside comments and
// quotes, for "unknown anchor" errors, which the parser reports without a
// line.
func findAlias(lines []string, name string) (Problem, bool) {
	want := "*" + name
	for i, l := range lines {
		for j := 0; j < len(l); j++ {
			switch l[j] {
			case '#':
				if j == 0 || l[j-1] == ' ' || l[j-1] == '\t' {
					j = len(l)
				}
			case '*':
				end := j + len(want)
				if strings.HasPrefix(l[j:], want) && (end == len(l) || strings.ContainsRune(" \t,]}", rune(l[end]))) {
					return Problem{Line: i + 1, Col: column(l, j),
						Msg: "alias " + want + " refers to no anchor; expected an anchor &" + name + " on a value before it"}, true
				}
			}
		}
	}
	return Problem{}, false
}

// column is the 1-based column, in characters, of byte offset i of line.
func column(line string, i int) int {
	if i > len(line) {
		i = len(line)
	}
	return utf8.RuneCountInString(line[:i]) + 1
}
