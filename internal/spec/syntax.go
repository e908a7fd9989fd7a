package spec

import (
	"strconv"
	"strings"

	"github.com/ciel-mlops/ciel/internal/spec/yamlsyntax"
)

// SyntaxError turns the error yaml.v3 gave for data, the text of file, into
// an *Error at the line and column where the text is really wrong (the
// parser names the start of the enclosing block), saying what was expected
// there, with the line kept for Snippet.
func SyntaxError(file string, data []byte, err error) *Error {
	p := yamlsyntax.Locate(data, err)
	e := Errorf(Pos{File: file, Line: p.Line, Col: p.Col}, "invalid YAML: %s", p.Msg)
	if p.Line > 0 {
		e.Source = lineOf(data, p.Line)
	}
	return e
}

// lineOf returns line n (1-based) of data without its line ending.
func lineOf(data []byte, n int) string {
	text := strings.ReplaceAll(strings.ReplaceAll(string(data), "\r\n", "\n"), "\r", "\n")
	lines := strings.SplitN(text, "\n", n+1)
	if n > len(lines) {
		return ""
	}
	return strings.TrimPrefix(lines[n-1], "\ufeff")
}

// snippetWidth bounds how much of a long line Snippet shows.
const snippetWidth = 100

// Snippet shows the line of a syntax error with a caret under its column:
//
//	6 |    conda_file: env.yml
//	  |    ^
//
// It is "" for errors that kept no line.
func (e *Error) Snippet() string {
	if e.Source == "" || e.Pos.Line == 0 {
		return ""
	}
	runes := []rune(e.Source)
	col := e.Pos.Col
	if col > len(runes)+1 {
		col = len(runes) + 1
	}
	start, end := 0, len(runes)
	if col > snippetWidth/2 {
		start = col - snippetWidth/2
	}
	if end-start > snippetWidth {
		end = start + snippetWidth
	}
	shown := string(runes[start:end])
	lead := ""
	if start > 0 {
		shown, lead = "..."+shown, "   "
	}
	if end < len(runes) {
		shown += "..."
	}
	num := strconv.Itoa(e.Pos.Line)
	var b strings.Builder
	b.WriteString("  " + num + " | " + shown)
	if col > 0 {
		b.WriteString("\n  " + strings.Repeat(" ", len(num)) + " | " + lead)
		// Copy tabs from the line so the caret lines up under them.
		for _, r := range runes[start : col-1] {
			if r == '\t' {
				b.WriteByte('\t')
			} else {
				b.WriteByte(' ')
			}
		}
		b.WriteByte('^')
	}
	return b.String()
}
