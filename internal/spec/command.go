package spec

import (
	"fmt"
	"strings"
)

// CommandTemplate is a parsed Azure ML command: shell text with
// ${{inputs.x}} and ${{outputs.y}} placeholders, and optional blocks
// $[[ ... ]] that are dropped when an input they use is not given.
//
// A template never turns a value into shell text: Render makes each
// placeholder a quoted reference to an environment variable holding the
// value.
type CommandTemplate struct {
	// Source is the command as written.
	Source string
	parts  []cmdPart
}

// cmdPart is literal text, a placeholder, or an optional block of both.
type cmdPart struct {
	text     string
	ref      *Binding  // placeholder when not nil
	raw      string    // the placeholder as written
	block    []cmdPart // optional block when optional is true
	optional bool
}

// Delimiters of placeholders and optional blocks.
const (
	openPlaceholder  = "${{"
	closePlaceholder = "}}"
	openOptional     = "$[["
	closeOptional    = "]]"
)

// ParseCommand parses an Azure ML command. Placeholders must be
// ${{inputs.<name>}} or ${{outputs.<name>}}; optional blocks $[[ ... ]] may
// not nest. Errors name the line and column within the command.
func ParseCommand(tmpl string) (*CommandTemplate, error) {
	t := &CommandTemplate{Source: tmpl}
	var cur []cmdPart // parts of the open optional block
	inBlock, blockStart := false, 0
	lit := 0 // start of pending literal text
	flush := func(end int) {
		if end > lit {
			p := cmdPart{text: tmpl[lit:end]}
			if inBlock {
				cur = append(cur, p)
			} else {
				t.parts = append(t.parts, p)
			}
		}
	}
	for i := 0; i < len(tmpl); {
		rest := tmpl[i:]
		switch {
		case strings.HasPrefix(rest, openPlaceholder):
			flush(i)
			p, n, err := parsePlaceholder(tmpl, i)
			if err != nil {
				return nil, err
			}
			if inBlock {
				cur = append(cur, p)
			} else {
				t.parts = append(t.parts, p)
			}
			i += n
			lit = i
		case strings.HasPrefix(rest, openOptional):
			if inBlock {
				return nil, fmt.Errorf("%s: optional blocks $[[ ... ]] cannot nest (the open one starts at %s)", where(tmpl, i), where(tmpl, blockStart))
			}
			flush(i)
			inBlock, blockStart, cur = true, i, nil
			i += len(openOptional)
			lit = i
		case inBlock && strings.HasPrefix(rest, closeOptional):
			flush(i)
			t.parts = append(t.parts, cmdPart{optional: true, block: cur})
			inBlock, cur = false, nil
			i += len(closeOptional)
			lit = i
		default:
			i++
		}
	}
	if inBlock {
		return nil, fmt.Errorf("%s: unterminated optional block: $[[ has no matching ]]", where(tmpl, blockStart))
	}
	flush(len(tmpl))
	return t, nil
}

// parsePlaceholder parses the ${{...}} starting at tmpl[i] and returns it with
// its length.
func parsePlaceholder(tmpl string, i int) (cmdPart, int, error) {
	end := strings.Index(tmpl[i+len(openPlaceholder):], closePlaceholder)
	if end < 0 {
		return cmdPart{}, 0, fmt.Errorf("%s: unterminated placeholder: ${{ has no matching }}", where(tmpl, i))
	}
	n := len(openPlaceholder) + end + len(closePlaceholder)
	raw := tmpl[i : i+n]
	b, err := ParseBinding(raw)
	if err != nil {
		return cmdPart{}, 0, fmt.Errorf("%s: %w", where(tmpl, i), err)
	}
	if b.Scope != "" {
		return cmdPart{}, 0, fmt.Errorf("%s: %s cannot be used in a command: a command uses its own ${{inputs.<name>}} and ${{outputs.<name>}}", where(tmpl, i), raw)
	}
	return cmdPart{ref: &b, raw: raw}, n, nil
}

// where names byte offset i of tmpl as "command line L, column C".
func where(tmpl string, i int) string {
	line := 1 + strings.Count(tmpl[:i], "\n")
	col := i - strings.LastIndex(tmpl[:i], "\n")
	return fmt.Sprintf("command line %d, column %d", line, col)
}

// Refs lists every placeholder the command uses, each once, in the order
// they first appear.
func (t *CommandTemplate) Refs() []Binding {
	return t.refs(true)
}

// RequiredRefs lists the placeholders used outside optional blocks: those
// Render needs a value for.
func (t *CommandTemplate) RequiredRefs() []Binding {
	return t.refs(false)
}

// refs lists placeholders, including those in optional blocks when
// withOptional is set.
func (t *CommandTemplate) refs(withOptional bool) []Binding {
	var out []Binding
	seen := map[Binding]bool{}
	add := func(p cmdPart) {
		if p.ref != nil && !seen[*p.ref] {
			seen[*p.ref] = true
			out = append(out, *p.ref)
		}
	}
	for _, p := range t.parts {
		if !p.optional {
			add(p)
			continue
		}
		if withOptional {
			for _, q := range p.block {
				add(q)
			}
		}
	}
	return out
}
