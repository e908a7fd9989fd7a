package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/jmespath-community/go-jmespath"
)

// azGlobals are az's global flags, which may come anywhere on the line.
type azGlobals struct {
	Query        string
	Output       string // json (the default), jsonc, tsv, table, yaml, yamlc or none
	Group        string
	Workspace    string
	Subscription string // recorded only: there is one local subscription
}

// azOutputs are the values -o/--output takes, as az lists them.
var azOutputs = []string{"json", "jsonc", "none", "table", "tsv", "yaml", "yamlc"}

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
		g.Output = "json"
	}
	if !slices.Contains(azOutputs, g.Output) {
		return fmt.Errorf("argument --output/-o: invalid choice: %q (choose from %s)", g.Output, strings.Join(azOutputs, ", "))
	}
	if g.Query != "" {
		if _, err := jmespath.Compile(g.Query); err != nil {
			return fmt.Errorf("argument --query: invalid jmespath query supplied for %q: %v", g.Query, err)
		}
	}
	return nil
}

// printRaw prints a command's output the az way when it is JSON; other
// output (or none) is written as it is, unless a --query needed JSON.
func (g *azGlobals) printRaw(w io.Writer, raw []byte) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		if g.Query != "" {
			return fmt.Errorf("--query %q: the command's output is not JSON", g.Query)
		}
		_, err := w.Write(raw)
		return err
	}
	return g.print(w, v, keyOrder(raw))
}

// print applies --query to v and writes the result in the --output format.
// A null result prints nothing, as az does. order ranks object keys by
// where they first appear in the document (see azObject).
func (g *azGlobals) print(w io.Writer, v any, order map[string]int) error {
	queryKeys := map[string]int{}
	if g.Query != "" {
		var err error
		if v, err = jmespath.Search(g.Query, v); err != nil {
			return &ExitError{Code: ExitFailure, Err: fmt.Errorf("--query %q: %w", g.Query, err)}
		}
		for i, k := range hashKeys(g.Query) {
			if _, seen := queryKeys[k]; !seen {
				queryKeys[k] = i
			}
		}
	}
	if v == nil || g.Output == "none" {
		return nil
	}
	switch g.Output {
	case "json", "jsonc":
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			return fmt.Errorf("encode json: %w", err)
		}
		_, err := w.Write(buf.Bytes())
		return err
	case "yaml", "yamlc":
		raw, err := jsonToYAML(v)
		if err != nil {
			return err
		}
		_, err = w.Write(raw)
		return err
	case "tsv":
		return writeAzTSV(w, v, queryKeys)
	case "table":
		return writeAzTable(w, v, g.Query != "", queryKeys, order)
	}
	return fmt.Errorf("unknown output format %q", g.Output)
}

// writeAzTSV writes v as az's tsv does: a list is one row per item, any
// other value one row; an object's values are tab-separated in key order
// (the order of a --query's {a: x, b: y} when the object is that hash), a
// list's items likewise; a nested list shows its length, a nested object
// nothing, null None, booleans True/False.
func writeAzTSV(w io.Writer, v any, queryKeys map[string]int) error {
	rows, ok := v.([]any)
	if !ok {
		rows = []any{v}
	}
	var b strings.Builder
	for _, row := range rows {
		var cells []any
		switch r := row.(type) {
		case map[string]any:
			for _, k := range sortKeys(r, queryKeys) {
				cells = append(cells, r[k])
			}
		case []any:
			cells = r
		default:
			cells = []any{r}
		}
		for i, c := range cells {
			if i > 0 {
				b.WriteByte('\t')
			}
			b.WriteString(tsvCell(c))
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// sortKeys returns m's keys sorted, or in the --query's hash order when
// every key is one the query names.
func sortKeys(m map[string]any, queryKeys map[string]int) []string {
	keys := make([]string, 0, len(m))
	inQuery := len(queryKeys) > 0
	for k := range m {
		keys = append(keys, k)
		if _, ok := queryKeys[k]; !ok {
			inQuery = false
		}
	}
	if inQuery {
		slices.SortFunc(keys, func(a, b string) int { return queryKeys[a] - queryKeys[b] })
	} else {
		slices.Sort(keys)
	}
	return keys
}

func tsvCell(v any) string {
	switch x := v.(type) {
	case []any:
		return strconv.Itoa(len(x))
	case map[string]any:
		return ""
	case nil:
		return "None"
	}
	return scalarText(v)
}

// scalarText is a scalar as Python's str() writes it.
func scalarText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		if x {
			return "True"
		}
		return "False"
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// writeAzTable writes v as az's automatic table: one row per item of a
// list, a column per scalar field (headed by its name with the first letter
// capitalized), nested lists and objects left out, scalars under "Result".
// Columns are sorted by name unless a --query is active; then they keep the
// query's hash order, else the order the fields came in.
func writeAzTable(w io.Writer, v any, queryActive bool, queryKeys, order map[string]int) error {
	items, ok := v.([]any)
	if !ok {
		items = []any{v}
	}
	var cols []string
	seen := map[string]bool{}
	for _, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			if !seen["Result"] {
				seen["Result"] = true
				cols = append(cols, "Result")
			}
			continue
		}
		for k, x := range m {
			switch x.(type) {
			case []any, map[string]any, nil:
				continue
			}
			if !seen[k] {
				seen[k] = true
				cols = append(cols, k)
			}
		}
	}
	rank := func(k string) (int, bool) {
		if r, ok := queryKeys[k]; ok {
			return r - len(queryKeys) - 1, true
		}
		r, ok := order[k]
		return r, ok
	}
	slices.SortStableFunc(cols, func(a, b string) int {
		if queryActive {
			ra, oka := rank(a)
			rb, okb := rank(b)
			switch {
			case oka && okb:
				return ra - rb
			case oka != okb: // ranked columns first
				if oka {
					return -1
				}
				return 1
			}
		}
		return strings.Compare(a, b)
	})
	header := make([]string, len(cols))
	for i, c := range cols {
		header[i] = strings.ToUpper(c[:1]) + c[1:]
	}
	t := newTable(header...)
	for _, it := range items {
		cells := make([]string, len(cols))
		m, isMap := it.(map[string]any)
		for i, c := range cols {
			switch {
			case isMap:
				if x, ok := m[c]; ok {
					cells[i] = scalarText(x)
				}
			case c == "Result":
				cells[i] = scalarText(it)
			}
		}
		t.Row(cells...)
	}
	return t.write(w)
}

// hashKeyPattern finds the keys of JMESPath multi-select hashes:
// `{name: name, "Run": status}`.
var hashKeyPattern = regexp.MustCompile(`[{,]\s*(?:"([^"]+)"|([A-Za-z_][A-Za-z0-9_]*))\s*:`)

// hashKeys returns the keys a query's multi-select hashes name, in order.
func hashKeys(query string) []string {
	var keys []string
	for _, m := range hashKeyPattern.FindAllStringSubmatch(query, -1) {
		keys = append(keys, m[1]+m[2])
	}
	return keys
}

// keyOrder ranks the object keys of a JSON document by where each first
// appears, so a table can keep the fields in the order the command wrote
// them.
func keyOrder(raw []byte) map[string]int {
	rank := map[string]int{}
	dec := json.NewDecoder(bytes.NewReader(raw))
	type frame struct{ object, wantKey bool }
	var stack []frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return rank
		}
		top := len(stack) - 1
		if top >= 0 && stack[top].object && stack[top].wantKey {
			if k, ok := tok.(string); ok {
				if _, seen := rank[k]; !seen {
					rank[k] = len(rank)
				}
				stack[top].wantKey = false
				continue
			}
		}
		if top >= 0 && stack[top].object {
			stack[top].wantKey = true // after this value comes a key
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{object: true, wantKey: true})
		case json.Delim('['):
			stack = append(stack, frame{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
	}
}
