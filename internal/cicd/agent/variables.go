package agent

import (
	"io"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/ciel-mlops/ciel/internal/cicd/azp"
)

// variable is one job variable.
type variable struct {
	name   string
	value  string
	secret bool
}

// variables holds a job's variables; names match case-insensitively, as in
// Azure. It is safe for concurrent use.
type variables struct {
	mu sync.Mutex
	m  map[string]variable
}

func newVariables() *variables { return &variables{m: map[string]variable{}} }

// set adds or replaces a variable.
func (v *variables) set(name, value string, secret bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.m[strings.ToLower(name)] = variable{name: name, value: value, secret: secret}
}

// lookup answers $(name) macros.
func (v *variables) lookup(name string) (string, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	x, ok := v.m[strings.ToLower(strings.TrimSpace(name))]
	return x.value, ok
}

// secretValues lists the non-empty secret values.
func (v *variables) secretValues() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []string
	for _, x := range v.m {
		if x.secret && x.value != "" {
			out = append(out, x.value)
		}
	}
	return out
}

// env returns the non-secret variables as NAME=value, named by azp.EnvName,
// sorted for stable output.
func (v *variables) env() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make([]string, 0, len(v.m))
	for _, x := range v.m {
		if !x.secret {
			out = append(out, azp.EnvName(x.name)+"="+x.value)
		}
	}
	sort.Strings(out)
	return out
}

// exprMap is the variables as the expression language's variables[...].
func (v *variables) exprMap() *azp.Map {
	v.mu.Lock()
	defer v.mu.Unlock()
	m := azp.NewMap()
	for _, x := range v.m {
		m.Set(x.name, x.value)
	}
	return m
}

// logSink writes the job log line by line, masking secrets. It is safe for
// concurrent use (a step's stdout and stderr write to it together).
type logSink struct {
	mu      sync.Mutex
	w       io.Writer
	secrets []string
}

func newLogSink(w io.Writer) *logSink {
	if w == nil {
		w = io.Discard
	}
	return &logSink{w: w}
}

// addSecret masks s from now on.
func (l *logSink) addSecret(s string) {
	if strings.TrimSpace(s) == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.secrets = append(l.secrets, s)
	// Longest first, so that a secret containing another is masked whole.
	sort.Slice(l.secrets, func(i, j int) bool { return len(l.secrets[i]) > len(l.secrets[j]) })
}

// mask replaces every secret in s with ***.
func (l *logSink) mask(s string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.maskLocked(s)
}

func (l *logSink) maskLocked(s string) string {
	for _, sec := range l.secrets {
		s = strings.ReplaceAll(s, sec, "***")
	}
	return s
}

// line writes one line of the log.
func (l *logSink) line(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = io.WriteString(l.w, l.maskLocked(s)+"\n")
}

func osArch() string {
	switch runtime.GOARCH {
	case "amd64":
		return "X64"
	case "386":
		return "X86"
	case "arm64":
		return "ARM64"
	}
	return strings.ToUpper(runtime.GOARCH)
}
