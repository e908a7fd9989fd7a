package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/jmespath-community/go-jmespath"
	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"
)

// Output formats of -o/--output, as az names them: jsonc and yamlc are
// az's colored variants, printed here without color.
const (
	formatJSON  = "json"
	formatJSONC = "jsonc"
	formatYAML  = "yaml"
	formatYAMLC = "yamlc"
	formatTable = "table"
	formatTSV   = "tsv"
	formatNone  = "none"
)

// outputFormats are the values -o/--output takes, as az lists them.
var outputFormats = []string{formatJSON, formatJSONC, formatNone, formatTable, formatTSV, formatYAML, formatYAMLC}

// output is the -o/--output and --query pair every command that prints a
// result embeds; its print is the one printer of the CLI, shared with
// `ciel az` (az_output.go), so `az ml ... --query x -o tsv` lines work
// with ciel in place of az.
type output struct {
	Format string
	Query  string // a JMESPath expression; "" prints the whole result
}

func (o *output) bind(fs *pflag.FlagSet, def string) {
	fs.StringVarP(&o.Format, "output", "o", def, "output format: json, jsonc, table, tsv, yaml, yamlc or none")
	fs.StringVar(&o.Query, "query", "", "JMESPath query applied to the result before printing (see jmespath.org), e.g. --query name -o tsv")
}

// validate checks the format and compiles the query, with az's wording.
func (o *output) validate() error {
	if !slices.Contains(outputFormats, o.Format) {
		return fmt.Errorf("argument --output/-o: invalid choice: %q (choose from %s)", o.Format, strings.Join(outputFormats, ", "))
	}
	if o.Query != "" {
		if _, err := jmespath.Compile(o.Query); err != nil {
			return fmt.Errorf("argument --query: invalid jmespath query supplied for %q: %v", o.Query, err)
		}
	}
	return nil
}

// print writes v in the chosen format. Without --query, json and yaml
// keep v's own field order and table is the command's own view (table,
// when it has one). With --query, or for tsv, v goes through its JSON form
// and is printed as az prints a result (see printDoc).
func (o *output) print(w io.Writer, v any, table func() *textTable) error {
	if o.Format == formatNone {
		return nil
	}
	if o.Query == "" {
		switch o.Format {
		case formatJSON, formatJSONC:
			return writeJSONDoc(w, v)
		case formatYAML, formatYAMLC:
			return writeYAMLDoc(w, v)
		case formatTable:
			if table != nil {
				return table().write(w)
			}
		}
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode json: %w", err)
	}
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return fmt.Errorf("decode json: %w", err)
	}
	return o.printDoc(w, doc, keyOrder(raw))
}

// writeJSONDoc writes v as indented JSON, leaving <, > and & as they are
// (scripts read this, not browsers).
func writeJSONDoc(w io.Writer, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encode json: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// writeYAMLDoc writes v as YAML with the keys and order of its JSON.
func writeYAMLDoc(w io.Writer, v any) error {
	raw, err := jsonToYAML(v)
	if err != nil {
		return err
	}
	_, err = w.Write(raw)
	return err
}

// jsonToYAML encodes v as JSON, then re-encodes that document as block
// YAML. Going through JSON keeps the JSON field names and their order.
func jsonToYAML(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode yaml: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("encode yaml: %w", err)
	}
	blockStyle(&doc)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("encode yaml: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode yaml: %w", err)
	}
	return buf.Bytes(), nil
}

// blockStyle drops the flow and quoting styles a JSON document parses with,
// so the encoder writes plain block YAML; it still quotes strings that would
// otherwise read back as numbers, booleans or null. Empty collections stay
// in flow style ([] and {}).
func blockStyle(n *yaml.Node) {
	n.Style = 0
	if (n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode) && len(n.Content) == 0 {
		n.Style = yaml.FlowStyle
	}
	for _, c := range n.Content {
		blockStyle(c)
	}
}

// textTable is the -o table view of a result: a header and rows of cells.
type textTable struct {
	header []string
	rows   [][]string
}

// newTable returns a table with these column headers.
func newTable(header ...string) *textTable {
	return &textTable{header: header}
}

// Row appends a row; missing cells are blank.
func (t *textTable) Row(cells ...string) {
	t.rows = append(t.rows, cells)
}

// write prints the header, a rule under it like az's, and the rows, each
// column as wide as its widest cell (in characters) and two spaces apart.
// Every row is laid out against the same widths, so a blank cell, last or
// not, never shifts the columns after it; trailing blanks are trimmed.
// Tabs and newlines inside cells become spaces so they cannot break the
// columns.
func (t *textTable) write(w io.Writer) error {
	n := len(t.header)
	for _, r := range t.rows {
		n = max(n, len(r))
	}
	widths := make([]int, n)
	measure := func(cells []string) {
		for i, c := range cells {
			widths[i] = max(widths[i], utf8.RuneCountInString(cleanCell(c)))
		}
	}
	measure(t.header)
	for _, r := range t.rows {
		measure(r)
	}
	rule := make([]string, len(t.header))
	for i := range rule {
		rule[i] = strings.Repeat("-", widths[i])
	}
	var b strings.Builder
	writeRow(&b, widths, t.header)
	writeRow(&b, widths, rule)
	for _, r := range t.rows {
		writeRow(&b, widths, r)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeRow writes cells padded to widths, two spaces apart, without
// trailing spaces.
func writeRow(b *strings.Builder, widths []int, cells []string) {
	var line strings.Builder
	for i, c := range cells {
		c = cleanCell(c)
		if i > 0 {
			line.WriteString("  ")
		}
		line.WriteString(c)
		if i < len(cells)-1 {
			line.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c)))
		}
	}
	b.WriteString(strings.TrimRight(line.String(), " "))
	b.WriteByte('\n')
}

func cleanCell(s string) string {
	return strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(s)
}
