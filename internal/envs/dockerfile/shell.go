package dockerfile

import "strings"

// splitCommands splits a shell command line into simple commands, each a
// list of words with quotes removed, at the operators &&, ||, ;, | and &
// and at newlines. Parentheses and braces of subshells and groups are
// dropped. It is a tokenizer, not a shell: it expands nothing.
func splitCommands(s string) [][]string {
	var cmds [][]string
	var words []string
	var w strings.Builder
	inWord := false
	endWord := func() {
		if inWord {
			words = append(words, w.String())
			w.Reset()
			inWord = false
		}
	}
	endCmd := func() {
		endWord()
		if len(words) > 0 {
			cmds = append(cmds, words)
			words = nil
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				j = len(s) - i - 1
			}
			w.WriteString(s[i+1 : i+1+j])
			inWord = true
			i += j + 1
		case c == '"':
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' && j+1 < len(s) && strings.IndexByte("\"\\$`", s[j+1]) >= 0 {
					j++
				}
				w.WriteByte(s[j])
			}
			inWord = true
			i = j
		case c == '\\' && i+1 < len(s):
			i++
			if s[i] != '\n' {
				w.WriteByte(s[i])
				inWord = true
			}
		case c == '#' && !inWord:
			for i < len(s) && s[i] != '\n' {
				i++
			}
			endCmd()
		case (c == '>' || c == '<') && (!inWord || isDigits(w.String())):
			// A redirection: drop it and its target ("2>&1", "> log").
			w.Reset()
			inWord = false
			for i+1 < len(s) && strings.IndexByte("<>&", s[i+1]) >= 0 {
				i++
			}
			for i+1 < len(s) && (s[i+1] == ' ' || s[i+1] == '\t') {
				i++
			}
			for i+1 < len(s) && strings.IndexByte(" \t\n;&|()", s[i+1]) < 0 {
				i++
			}
		case c == ' ' || c == '\t':
			endWord()
		case c == '\n' || c == ';' || c == '&' || c == '|':
			endCmd()
		case c == ')' && strings.Count(w.String(), "(") <= strings.Count(w.String(), ")"):
			endCmd() // a subshell's end, not a $( ... )'s
		case (c == '(' || c == '{' || c == '}') && !inWord:
			endCmd()
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	endCmd()
	return cmds
}

// splitWords splits s into words as splitCommands does, ignoring operators.
func splitWords(s string) []string {
	var out []string
	for _, c := range splitCommands(s) {
		out = append(out, c...)
	}
	return out
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
