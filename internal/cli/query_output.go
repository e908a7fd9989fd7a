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

// printRaw prints output that may be JSON (a command's, a scoring
// answer): a JSON document is queried and printed as printDoc does; other
// text is written as it is, unless a --query needed JSON; nothing prints
// nothing.
func (o *output) printRaw(w io.Writer, raw []byte) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		if o.Query != "" {
			return fmt.Errorf("--query %q: the command's output is not JSON", o.Query)
		}
		_, err := w.Write(raw)
		return err
	}
	return o.printDoc(w, v, keyOrder(raw))
}

// printDoc applies --query to v, a decoded JSON document, and writes the
// result the way az prints a command's result: json and yaml with sorted
// keys, tsv, or az's automatic table. A null result prints nothing, as az
// does. order ranks object keys by where they first appear in the
// document, for the table's columns.
func (o *output) printDoc(w io.Writer, v any, order map[string]int) error {
	queryKeys := map[string]int{}
	if o.Query != "" {
		var err error
		if v, err = jmespath.Search(o.Query, v); err != nil {
			return &ExitError{Code: ExitFailure, Err: fmt.Errorf("--query %q: %w", o.Query, err)}
		}
		for i, k := range hashKeys(o.Query) {
			if _, seen := queryKeys[k]; !seen {
				queryKeys[k] = i
			}
		}
	}
	if v == nil || o.Format == formatNone {
		return nil
	}
	switch o.Format {
	case formatJSON, formatJSONC:
		return writeJSONDoc(w, v)
	case formatYAML, formatYAMLC:
		return writeYAMLDoc(w, v)
	case formatTSV:
		return writeAzTSV(w, v, queryKeys)
	case formatTable:
		return writeAzTable(w, v, o.Query != "", queryKeys, order)
	}
	return fmt.Errorf("unknown output format %q", o.Format)
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
