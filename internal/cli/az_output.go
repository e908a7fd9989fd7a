package cli

import (
	"fmt"
	"io"
	"strings"
)

// azGlobals are az's global flags, which may come anywhere on the line.
type azGlobals struct {
	Query        string
	Output       string // json (the default), jsonc, tsv, table, yaml, yamlc or none
	Group        string
	Workspace    string
	Subscription string // recorded only: there is one local subscription
}

// azValueFlags maps the spellings of the global flags that take a value to
// the field each sets.
func (g *azGlobals) valueFlags() map[string]*string {
	return map[string]*string{
		"--query": &g.Query, "-o": &g.Output, "--output": &g.Output,
		"-g": &g.Group, "--resource-group": &g.Group,
		"-w": &g.Workspace, "--workspace-name": &g.Workspace,
		"--subscription": &g.Subscription,
	}
}

// take sets the global flags found in args and returns the other words in
// their order. "--flag value", "--flag=value" and "-ovalue" are understood;
// everything after "--" is left alone.
func (g *azGlobals) take(args []string) ([]string, error) {
	flags := g.valueFlags()
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(rest, args[i:]...), nil
		}
		switch a {
		case "--only-show-errors", "--debug", "--verbose":
			continue
		}
		name, value, hasValue := strings.Cut(a, "=")
		if !strings.HasPrefix(a, "--") && len(a) > 2 && (a[:2] == "-o" || a[:2] == "-g" || a[:2] == "-w") {
			name, value, hasValue = a[:2], strings.TrimPrefix(a[2:], "="), true
		}
		dst, ok := flags[name]
		if !ok {
			rest = append(rest, a)
			continue
		}
		if !hasValue {
			if i+1 >= len(args) {
				return nil, fmt.Errorf("argument %s: expected one argument", name)
			}
			i++
			value = args[i]
		}
		*dst = value
	}
	return rest, nil
}

func (g *azGlobals) validate() error {
	if g.Output == "" {
		g.Output = formatJSON
	}
	o := output{Format: g.Output, Query: g.Query}
	return o.validate()
}

// printRaw prints a command's output the az way (see output.printRaw).
func (g *azGlobals) printRaw(w io.Writer, raw []byte) error {
	o := output{Format: g.Output, Query: g.Query}
	return o.printRaw(w, raw)
}

// print applies --query to v and writes the result in the --output format
// (see output.printDoc). order ranks object keys by where they first appear
// in the document.
func (g *azGlobals) print(w io.Writer, v any, order map[string]int) error {
	o := output{Format: g.Output, Query: g.Query}
	return o.printDoc(w, v, order)
}
