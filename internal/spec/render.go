package spec

import (
	"fmt"
	"hash/fnv"
	"sort"
	"strings"
)

// Prefixes of the environment variables Render passes values in.
const (
	EnvInputPrefix  = "CIEL_INPUT_"
	EnvOutputPrefix = "CIEL_OUTPUT_"
)

// Render turns the template into a bash script and the environment it needs.
//
// lookup returns the value of ${{inputs.name}} (kind "inputs") or
// ${{outputs.name}} (kind "outputs"), and ok=false when there is none. An
// optional block $[[ ... ]] is dropped when any placeholder in it has no
// value; a placeholder outside such a block with no value is an error (a
// caller that wants an optional input to read as empty there returns "",
// true).
//
// No value ever becomes shell text. Each placeholder becomes a reference to
// an environment variable (CIEL_INPUT_<name> or CIEL_OUTPUT_<name>), quoted
// for where it stands: "${V}" outside quotes, ${V} inside double quotes or an
// unquoted here-document, '"${V}"' inside single quotes. env holds
// "NAME=value" for each variable, sorted. So a value arrives as exactly one
// word, byte for byte, and is never run, unless the command itself evaluates
// it (eval, bash -c '...', let, declare -i, array subscripts). Placeholders in
// the arithmetic contexts Render can see ($(( )), (( )), $[ ]), in [[ ]] with
// an arithmetic comparison, in a quoted here-document, or right after a
// backslash are errors.
func (t *CommandTemplate) Render(lookup func(kind, name string) (value string, ok bool)) (script string, env []string, err error) {
	kept, values, err := t.resolve(lookup)
	if err != nil {
		return "", nil, err
	}
	var sc shellScanner
	var b strings.Builder
	vars := map[string]Binding{}
	for _, p := range kept {
		if p.ref == nil {
			sc.feed(p.text)
			b.WriteString(p.text)
			continue
		}
		name := EnvName(*p.ref)
		if other, ok := vars[name]; ok && other != *p.ref {
			return "", nil, fmt.Errorf("%s and %s map to the same variable %s", other, *p.ref, name)
		}
		vars[name] = *p.ref
		ins, err := sc.placeholder(name, p.raw)
		if err != nil {
			return "", nil, err
		}
		b.WriteString(ins)
	}
	if sc.err != nil {
		return "", nil, sc.err
	}
	for name, ref := range vars {
		v := values[ref]
		if strings.IndexByte(v, 0) >= 0 {
			return "", nil, fmt.Errorf("value of %s contains a NUL byte, which cannot be passed to a process", ref)
		}
		env = append(env, name+"="+v)
	}
	sort.Strings(env)
	return b.String(), env, nil
}

// resolve looks every placeholder up, drops optional blocks with a missing
// one, and returns the parts to render with the values found.
func (t *CommandTemplate) resolve(lookup func(kind, name string) (string, bool)) ([]cmdPart, map[Binding]string, error) {
	values := map[Binding]string{}
	found := map[Binding]bool{}
	get := func(b Binding) bool {
		if ok, done := found[b]; done {
			return ok
		}
		v, ok := lookup(b.Kind, b.Port)
		found[b] = ok
		if ok {
			values[b] = v
		}
		return ok
	}
	var kept []cmdPart
	var missing []string
	for _, p := range t.parts {
		switch {
		case p.optional:
			all := true
			for _, q := range p.block {
				if q.ref != nil && !get(*q.ref) {
					all = false
				}
			}
			if all {
				kept = append(kept, p.block...)
			}
		case p.ref != nil:
			if !get(*p.ref) {
				missing = append(missing, p.raw)
			}
			kept = append(kept, p)
		default:
			kept = append(kept, p)
		}
	}
	if len(missing) > 0 {
		return nil, nil, fmt.Errorf("command uses %s outside an optional block $[[ ... ]] but no value was given", strings.Join(missing, ", "))
	}
	return kept, values, nil
}

// EnvName is the environment variable Render passes b's value in:
// CIEL_INPUT_<port> or CIEL_OUTPUT_<port>. A port name with characters a
// variable name cannot hold has them replaced by '_' and a hash of the name
// appended, so two names never share a variable.
func EnvName(b Binding) string {
	prefix := EnvInputPrefix
	if b.Kind == BindOutputs {
		prefix = EnvOutputPrefix
	}
	var s strings.Builder
	changed := b.Port == ""
	for i := 0; i < len(b.Port); i++ {
		c := b.Port[i]
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			s.WriteByte(c)
			continue
		}
		s.WriteByte('_')
		changed = true
	}
	if changed {
		h := fnv.New32a()
		h.Write([]byte(b.Port))
		fmt.Fprintf(&s, "_%08x", h.Sum32())
	}
	return prefix + s.String()
}
