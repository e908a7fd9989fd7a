package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"
)

// Output formats of -o/--output.
const (
	formatJSON  = "json"
	formatYAML  = "yaml"
	formatTable = "table"
)

// output is the -o/--output option every show, list and create command
// embeds; its print is the one printer of the CLI.
type output struct {
	Format string
}

func (o *output) bind(fs *pflag.FlagSet, def string) {
	fs.StringVarP(&o.Format, "output", "o", def, "output format: json, yaml or table")
}

func (o *output) validate() error {
	switch o.Format {
	case formatJSON, formatYAML, formatTable:
		return nil
	}
	return fmt.Errorf("--output %q: want json, yaml or table", o.Format)
}

// print writes v in the chosen format; table builds the table view and is
// only called for -o table.
func (o *output) print(w io.Writer, v any, table func() *textTable) error {
	return printValue(w, o.Format, v, table)
}

// printValue writes v to w as indented JSON, as YAML with the same keys in the
// same order as the JSON, or as the table that table returns.
func printValue(w io.Writer, format string, v any, table func() *textTable) error {
	switch format {
	case formatJSON:
		raw, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return fmt.Errorf("encode json: %w", err)
		}
		_, err = fmt.Fprintf(w, "%s\n", raw)
		return err
	case formatYAML:
		raw, err := jsonToYAML(v)
		if err != nil {
			return err
		}
		_, err = w.Write(raw)
		return err
	case formatTable:
		if table == nil {
			return fmt.Errorf("this command has no table output; use -o json or -o yaml")
		}
		return table().write(w)
	}
	return fmt.Errorf("unknown output format %q", format)
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

// write prints the header, a rule under it like az's, and the rows, in
// columns aligned by text/tabwriter. Tabs and newlines inside cells become
// spaces so they cannot break the columns.
func (t *textTable) write(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	rule := make([]string, len(t.header))
	widths := make([]int, len(t.header))
	for i, h := range t.header {
		widths[i] = len(h)
	}
	for _, r := range t.rows {
		for i := range min(len(r), len(widths)) {
			widths[i] = max(widths[i], len([]rune(cleanCell(r[i]))))
		}
	}
	for i := range rule {
		rule[i] = strings.Repeat("-", widths[i])
	}
	writeRow(tw, t.header)
	writeRow(tw, rule)
	for _, r := range t.rows {
		writeRow(tw, r)
	}
	return tw.Flush()
}

func writeRow(w io.Writer, cells []string) {
	clean := make([]string, len(cells))
	for i, c := range cells {
		clean[i] = cleanCell(c)
	}
	fmt.Fprintln(w, strings.TrimRight(strings.Join(clean, "\t"), "\t"))
}

func cleanCell(s string) string {
	return strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(s)
}
