package engine

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// directArgv returns the argument vector bash would exec for script, when
// script is one simple command that `bash -c` would run by exec'ing a program
// and nothing else: words made of plain characters, single-quoted strings and
// "${NAME}" references (what Render writes for a placeholder), with a first
// word that names an executable file on the step's PATH (or a path to one)
// and is not a shell builtin or keyword. For those, starting the program
// directly is what bash would do after parsing, minus bash's own start-up,
// which is most of what a short step costs. Anything else, or any doubt,
// returns false and the step runs under bash as before.
//
// env is the step's environment (NAME=value); dir its working directory.
// The returned argv[0] is the program's path as found, so the caller can
// exec it as it stands.
func directArgv(script string, env []string, dir string) ([]string, bool) {
	script = strings.TrimRight(script, " \t\n")
	words, ok := splitSimple(script, func(name string) string { return lookupEnv(env, name) })
	if !ok || len(words) == 0 {
		return nil, false
	}
	first := words[0]
	if first == "" || strings.ContainsRune(first, '=') || (shellReserved[first] && first != "true" && first != "false") {
		return nil, false
	}
	prog, ok := findProgram(first, lookupEnv(env, "PATH"), dir)
	if !ok {
		return nil, false
	}
	words[0] = prog
	return words, true
}

// splitSimple splits a one-line script into words as bash would, or reports
// false for anything but plain characters, single quotes and "${NAME}".
func splitSimple(s string, value func(string) string) ([]string, bool) {
	var words []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
			i++
		case c == '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, false
			}
			w.WriteString(s[i+1 : i+1+end])
			inWord = true
			i += end + 2
		case c == '"':
			name, n, ok := quotedRef(s[i:])
			if !ok {
				return nil, false
			}
			w.WriteString(value(name))
			inWord = true
			i += n
		case plainChar(c):
			w.WriteByte(c)
			inWord = true
			i++
		default:
			return nil, false
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, true
}

// quotedRef reads `"${NAME}"` at the start of s: the name and its length.
func quotedRef(s string) (string, int, bool) {
	if !strings.HasPrefix(s, `"${`) {
		return "", 0, false
	}
	end := strings.Index(s, `}"`)
	if end < 0 {
		return "", 0, false
	}
	name := s[3:end]
	if name == "" || (name[0] >= '0' && name[0] <= '9') {
		return "", 0, false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return "", 0, false
		}
	}
	return name, end + 2, true
}

// plainChar reports whether c stands for itself anywhere in an unquoted
// bash word: no expansion, globbing, quoting, redirection or control
// operator starts with it, whatever comes before or after.
func plainChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("-_./:,=+@%^", c) >= 0
}

// lookupEnv returns the last value of name in env, as a process sees it.
func lookupEnv(env []string, name string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], name+"="); ok {
			return v
		}
	}
	return ""
}

// findProgram resolves a command word as bash would: a word with a slash is
// a path (relative to dir), any other is looked up on path. It answers only
// for a regular executable file that starts with "#!" or is an ELF binary,
// since bash runs a file with neither as a shell script.
func findProgram(word, path, dir string) (string, bool) {
	if strings.ContainsRune(word, '/') {
		p := word
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		return p, runnable(p)
	}
	if p, ok := pathHits.get([2]string{path, word}, pathHitFresh); ok {
		return p, true
	}
	for _, d := range filepath.SplitList(path) {
		if d == "" || !filepath.IsAbs(d) {
			// An empty or relative PATH entry means the working directory
			// at exec time; leave those to bash.
			return "", false
		}
		p := filepath.Join(d, word)
		if _, err := os.Stat(p); err == nil {
			ok := runnable(p)
			if ok {
				pathHits.put([2]string{path, word}, p)
			}
			return p, ok
		}
	}
	return "", false
}

// pathHitFresh is how long a program found on a PATH is taken to be there
// without a new search: as bash remembers where it found a command (its
// hash table) for a whole session, ciel remembers it for a second, so a
// wide pipeline of one command does not stat every PATH entry for each of
// its steps. A program removed meanwhile fails its exec, as it would in
// bash.
const pathHitFresh = time.Second

// pathHits are the PATH searches that found a program lately, keyed by the
// PATH and the command word.
var pathHits recent[[2]string, string]

// runnable reports whether p is a regular executable file the kernel runs
// by itself.
func runnable(p string) bool {
	fi, err := os.Stat(p)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return false
	}
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	var head [4]byte
	if _, err := io.ReadFull(f, head[:]); err != nil {
		return false
	}
	return string(head[:2]) == "#!" || string(head[:]) == "\x7fELF"
}

// shellReserved are bash's keywords and builtins: a command starting with
// one of them means something other than running a program of that name.
var shellReserved = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`! [[ ]] { } case coproc do done elif else esac fi for function if in select
		then time until while . : [ alias bg bind break builtin caller cd command compgen complete compopt
		continue declare dirs disown echo enable eval exec exit export false fc fg getopts hash help history
		jobs kill let local logout mapfile popd printf pushd pwd read readarray readonly return set shift
		shopt source suspend test times trap true type typeset ulimit umask unalias unset wait`) {
		m[w] = true
	}
	return m
}()
