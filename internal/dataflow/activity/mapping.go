package activity

import (
	"fmt"
	"strings"

	"github.com/ciel-mlops/ciel/internal/dataflow/tabular"
	"github.com/ciel-mlops/ciel/internal/dataflow/tabular/convert"
)

// extraColumn is one of a source's additionalColumns: the file's path
// ($$FILEPATH), a copy of a source column ($$COLUMN:name) or a constant.
type extraColumn struct {
	name     string
	filePath bool
	column   int // index of the copied source column, -1 when none
	constant any
}

// FilePather is a file source's optional ability: the path (relative to
// its file system) of the file its last batch came from, for an
// additionalColumns $$FILEPATH. A file source that offers it keeps each
// batch to one file.
type FilePather interface {
	FilePath() string
}

func parseExtraColumns(v any, schema tabular.Schema) ([]extraColumn, tabular.Schema, error) {
	list, ok := v.([]any)
	if v != nil && !ok {
		return nil, nil, fmt.Errorf("additionalColumns: want an array of {name, value}")
	}
	var out []extraColumn
	var cols tabular.Schema
	for i, x := range list {
		m, ok := x.(map[string]any)
		name, _ := m["name"].(string)
		if !ok || name == "" {
			return nil, nil, fmt.Errorf("additionalColumns[%d]: want {name, value}", i)
		}
		ec := extraColumn{name: name, column: -1}
		col := tabular.Column{Name: name, Type: tabular.String, Nullable: true}
		switch val := m["value"].(type) {
		case string:
			switch {
			case val == "$$FILEPATH":
				ec.filePath = true
			case strings.HasPrefix(val, "$$COLUMN:"):
				src := strings.TrimPrefix(val, "$$COLUMN:")
				ec.column = columnIndex(schema, src)
				if ec.column < 0 {
					return nil, nil, fmt.Errorf("additionalColumns[%d]: $$COLUMN:%s: the source has no column %q", i, src, src)
				}
				col = schema[ec.column]
				col.Name = name
			default:
				ec.constant = val
			}
		case nil:
		default:
			ec.constant = fmt.Sprint(val)
		}
		out = append(out, ec)
		cols = append(cols, col)
	}
	return out, cols, nil
}

// columnIndex finds a column by name: exactly, else ignoring case; -1.
func columnIndex(s tabular.Schema, name string) int {
	for i, c := range s {
		if c.Name == name {
			return i
		}
	}
	for i, c := range s {
		if strings.EqualFold(c.Name, name) {
			return i
		}
	}
	return -1
}

// mapping is a Copy's column mapping: for each sink column, the source
// column (by index into the source's columns and additional columns) it
// takes, and the types to convert between.
type mapping struct {
	src  []int
	from []tabular.Type
	sink tabular.Schema // names and types written
	conv convert.Settings
}

// translator is a TabularTranslator's mapping entries, resolved.
type columnRef struct {
	name    string
	ordinal int // from 1; 0 when by name
	typ     tabular.Type
}

type translator struct {
	mappings []struct{ source, sink columnRef }
	conv     convert.Settings
	// boolSet says typeConversionSettings set treatBooleanAsNumber; a
	// table sink otherwise takes Booleans as numbers (MySQL's BOOLEAN is
	// a TINYINT).
	boolSet bool
}

func parseTranslator(v any) (*translator, error) {
	tr := &translator{conv: convert.Default}
	m, ok := v.(map[string]any)
	if v == nil {
		return tr, nil
	}
	if !ok {
		return nil, fmt.Errorf("translator: want an object")
	}
	if t, _ := m["type"].(string); t != "" && t != "TabularTranslator" {
		return nil, fmt.Errorf("translator type %q: only TabularTranslator is supported", t)
	}
	if s, ok := m["typeConversionSettings"].(map[string]any); ok {
		if b, ok := s["allowDataTruncation"].(bool); ok {
			tr.conv.AllowDataTruncation = b
		}
		tr.conv.TreatBooleanAsNumber, tr.boolSet = s["treatBooleanAsNumber"].(bool)
		tr.conv.DateTimeFormat, _ = s["dateTimeFormat"].(string)
		tr.conv.DateTimeOffsetFormat, _ = s["dateTimeOffsetFormat"].(string)
	}
	list, _ := m["mappings"].([]any)
	for i, x := range list {
		e, _ := x.(map[string]any)
		src, err := parseRef(e["source"])
		if err != nil {
			return nil, fmt.Errorf("translator.mappings[%d].source: %w", i, err)
		}
		snk, err := parseRef(e["sink"])
		if err != nil {
			return nil, fmt.Errorf("translator.mappings[%d].sink: %w", i, err)
		}
		tr.mappings = append(tr.mappings, struct{ source, sink columnRef }{src, snk})
	}
	return tr, nil
}

func parseRef(v any) (columnRef, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return columnRef{}, fmt.Errorf("want {name} or {ordinal}")
	}
	r := columnRef{}
	r.name, _ = m["name"].(string)
	if t, ok := m["type"].(string); ok {
		r.typ = interimType(t)
	}
	switch o := m["ordinal"].(type) {
	case int64:
		r.ordinal = int(o)
	case float64:
		r.ordinal = int(o)
	case string:
		fmt.Sscan(o, &r.ordinal)
	}
	if r.name == "" && r.ordinal <= 0 {
		if p, _ := m["path"].(string); p != "" {
			return r, fmt.Errorf("path %q: hierarchical mappings are not supported", p)
		}
		return r, fmt.Errorf("want a name or an ordinal from 1")
	}
	return r, nil
}

// interimType reads a type name as ADF writes it ("Int32", "String",
// "Byte[]", "Guid"), ignoring case.
func interimType(s string) tabular.Type {
	for _, t := range []tabular.Type{tabular.String, tabular.Int16, tabular.Int32, tabular.Int64, tabular.Single,
		tabular.Double, tabular.Decimal, tabular.Boolean, tabular.DateTime, tabular.DateTimeOffset, tabular.Date,
		tabular.TimeSpan, tabular.GUID, tabular.ByteArray} {
		if strings.EqualFold(string(t), s) {
			return t
		}
	}
	switch strings.ToLower(s) {
	case "int", "integer":
		return tabular.Int32
	case "long":
		return tabular.Int64
	case "float":
		return tabular.Double
	case "bool":
		return tabular.Boolean
	case "datetime2":
		return tabular.DateTime
	}
	return tabular.String
}

// resolve builds the mapping from the source's columns to the sink's.
// sinkCols are the sink table's columns (nil for a file sink, which takes
// the mapped columns as they come).
func (tr *translator) resolve(src, sinkCols tabular.Schema) (*mapping, error) {
	m := &mapping{conv: tr.conv}
	if sinkCols != nil && !tr.boolSet {
		m.conv.TreatBooleanAsNumber = true
	}
	add := func(si int, name string, typ tabular.Type) error {
		if sinkCols != nil {
			j := columnIndex(sinkCols, name)
			if j < 0 {
				return fmt.Errorf("sink has no column %q (it has %s)", name, names(sinkCols))
			}
			name, typ = sinkCols[j].Name, sinkCols[j].Type
		}
		if typ == "" {
			typ = src[si].Type
		}
		m.src = append(m.src, si)
		m.from = append(m.from, src[si].Type)
		m.sink = append(m.sink, tabular.Column{Name: name, Type: typ, Nullable: true,
			Precision: src[si].Precision, Scale: src[si].Scale})
		return nil
	}
	if len(tr.mappings) == 0 {
		for i, c := range src {
			if err := add(i, c.Name, ""); err != nil {
				return nil, err
			}
		}
		return m, nil
	}
	for i, e := range tr.mappings {
		si := -1
		if e.source.name != "" {
			si = columnIndex(src, e.source.name)
		} else if e.source.ordinal <= len(src) {
			si = e.source.ordinal - 1
		}
		if si < 0 {
			return nil, fmt.Errorf("translator.mappings[%d]: the source has no column %s (it has %s)", i, e.source.describe(), names(src))
		}
		name := e.sink.name
		if name == "" {
			if sinkCols == nil || e.sink.ordinal > len(sinkCols) {
				name = src[si].Name
			} else {
				name = sinkCols[e.sink.ordinal-1].Name
			}
		}
		if err := add(si, name, e.sink.typ); err != nil {
			return nil, fmt.Errorf("translator.mappings[%d]: %w", i, err)
		}
	}
	return m, nil
}

func (r columnRef) describe() string {
	if r.name != "" {
		return fmt.Sprintf("%q", r.name)
	}
	return fmt.Sprintf("at ordinal %d", r.ordinal)
}

func names(s tabular.Schema) string {
	var n []string
	for _, c := range s {
		n = append(n, c.Name)
	}
	return strings.Join(n, ", ")
}
