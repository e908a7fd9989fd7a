// Package dockerfile reads the Python packages a Dockerfile installs, so that
// an Azure ML environment defined by a Docker build context (build: {path})
// can be approximated by a virtualenv on a machine that runs no containers.
//
// Extract honours, in the final build stage only, the RUN lines that install
// Python packages — pip install (with -r files from the context), conda
// create/install, conda env create/update -f — and reports every other RUN
// command, and every argument it could not honour, as a note. It never runs
// anything and never reads outside the files its caller hands it.
//
// It is not a Dockerfile builder or linter: instructions other than FROM,
// ARG, ENV, COPY/ADD and RUN are ignored, and a shell command is understood
// only as far as the words it is made of (no functions, loops or
// substitutions).
package dockerfile

import (
	"encoding/json"
	"strings"
)

// maxDockerfile bounds the text Extract reads; a build context's Dockerfile
// is a few kilobytes.
const maxDockerfile = 1 << 20

// instruction is one Dockerfile instruction after line continuations are
// joined: its upper-cased keyword and the rest of the line.
type instruction struct {
	Line    int // 1-based line where it starts
	Keyword string
	Args    string
}

// instructions splits a Dockerfile into instructions: comment and blank
// lines dropped, continuation lines joined (escape character \ or the one a
// leading "# escape=" directive names), heredoc bodies skipped.
func instructions(text string) []instruction {
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	escape := parserEscape(lines)
	var out []instruction
	var cur strings.Builder
	start := 0
	flush := func() {
		s := strings.TrimSpace(cur.String())
		cur.Reset()
		if s == "" {
			return
		}
		kw, rest, _ := strings.Cut(s, " ")
		if i := strings.IndexAny(kw, "\t"); i >= 0 {
			kw, rest = kw[:i], kw[i+1:]+" "+rest
		}
		out = append(out, instruction{Line: start, Keyword: strings.ToUpper(kw), Args: strings.TrimSpace(rest)})
	}
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() > 0) {
			continue // comments, also inside a continued instruction
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		if strings.HasSuffix(strings.TrimRight(line, " \t"), string(escape)) {
			l := strings.TrimRight(line, " \t")
			cur.WriteString(l[:len(l)-1])
			cur.WriteByte(' ')
			continue
		}
		cur.WriteString(line)
		if doc := heredocMarker(cur.String()); doc != "" {
			for i+1 < len(lines) && strings.TrimSpace(lines[i+1]) != doc {
				i++
			}
			i++ // the terminator
		}
		flush()
	}
	flush()
	return out
}

// parserEscape reads the "# escape=`" parser directive, which may only
// appear before the first instruction.
func parserEscape(lines []string) byte {
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if !strings.HasPrefix(l, "#") {
			break
		}
		k, v, ok := strings.Cut(strings.TrimSpace(l[1:]), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "escape") {
			if v = strings.TrimSpace(v); v == "`" {
				return '`'
			}
		}
	}
	return '\\'
}

// heredocMarker returns the terminator of a heredoc an instruction opens
// ("RUN <<EOF", "COPY <<-'EOT' /x"), or "".
func heredocMarker(s string) string {
	i := strings.Index(s, "<<")
	if i < 0 {
		return ""
	}
	rest := strings.TrimPrefix(s[i+2:], "-")
	f := strings.Fields(rest)
	if len(f) == 0 {
		return ""
	}
	m := strings.Trim(f[0], `'"`)
	if m == "" || strings.ContainsAny(m, "<>|&;") {
		return ""
	}
	return m
}

// execForm decodes the JSON array form of RUN (["pip", "install", "x"]);
// ok is false for the shell form.
func execForm(args string) ([]string, bool) {
	if !strings.HasPrefix(args, "[") {
		return nil, false
	}
	var words []string
	if err := json.Unmarshal([]byte(args), &words); err != nil {
		return nil, false
	}
	return words, true
}

// runFlags strips RUN's own flags (--mount=..., --network=..., --security=...).
func runFlags(args string) string {
	for strings.HasPrefix(args, "--") {
		_, rest, ok := strings.Cut(args, " ")
		if !ok {
			return ""
		}
		args = strings.TrimSpace(rest)
	}
	return args
}

// vars holds the ARG and ENV values of the current build stage.
type vars map[string]string

// set records ARG/ENV arguments: "K=V K2=V2", "K V" (old ENV form) or a bare
// "K" (an ARG without default, left unset).
func (v vars) set(keyword, args string) {
	if !strings.Contains(strings.Fields(args + " x")[0], "=") {
		if k, val, ok := strings.Cut(args, " "); ok && keyword == "ENV" {
			v[k] = v.expand(strings.Trim(strings.TrimSpace(val), `"'`))
		}
		return
	}
	for _, w := range splitWords(args) {
		if k, val, ok := strings.Cut(w, "="); ok && k != "" {
			v[k] = v.expand(val)
		}
	}
}

// expand substitutes $NAME and ${NAME} (and ${NAME:-default}) with known
// values; unknown names are left as written, so a caller can tell.
func (v vars) expand(s string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		var name, def string
		var end int
		if s[i+1] == '{' {
			j := strings.IndexByte(s[i+2:], '}')
			if j < 0 {
				b.WriteByte(s[i])
				continue
			}
			name, end = s[i+2:i+2+j], i+3+j
			if k, d, ok := strings.Cut(name, ":-"); ok {
				name, def = k, d
			}
		} else {
			j := i + 1
			for j < len(s) && (s[j] == '_' || isAlnum(s[j])) {
				j++
			}
			name, end = s[i+1:j], j
		}
		if name == "" {
			b.WriteByte(s[i])
			continue
		}
		if val, ok := v[name]; ok {
			b.WriteString(val)
		} else if def != "" {
			b.WriteString(def)
		} else {
			b.WriteString(s[i:end])
		}
		i = end - 1
	}
	return b.String()
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
