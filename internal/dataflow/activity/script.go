package activity

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ciel-mlops/ciel/internal/dataflow/tabular"
	"github.com/ciel-mlops/ciel/internal/dataflow/tabular/convert"
)

func init() { funcs["Script"] = runScript }

// Data Factory's bounds on a Script's output: 5000 rows and 4 MB in all,
// past which rows are dropped and outputTruncated is true.
const (
	scriptMaxRows  = 5000
	scriptMaxBytes = 4 << 20
)

// scriptParam is one of a script's parameters.
type scriptParam struct {
	name  string
	value any
}

// runScript runs a Script: its scripts in order on the activity's linked
// service, a Query's result sets and a NonQuery's count of changed rows
// reported as Data Factory does (resultSetCount, recordsAffected,
// resultSets[{rowCount, rows}], outputParameters, outputTruncated).
func runScript(ctx context.Context, env *Env, c Call) (map[string]any, error) {
	fail := func(format string, a ...any) (map[string]any, error) {
		return nil, &Error{Code: "2011", Msg: fmt.Sprintf("Script %q: ", c.Name) + fmt.Sprintf(format, a...)}
	}
	if c.LinkedService == nil {
		return fail("%v", errNoLinkedService)
	}
	scripts, _ := c.TypeProperties["scripts"].([]any)
	if len(scripts) == 0 {
		return fail("no scripts")
	}
	d, err := OpenDatabase(ctx, *c.LinkedService)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	var sets []any
	var affected int64
	rowsLeft, size, truncated := scriptMaxRows, 0, false
	for i, s := range scripts {
		m, _ := s.(map[string]any)
		text, _ := m["text"].(string)
		if strings.TrimSpace(text) == "" {
			return fail("scripts[%d]: no text", i)
		}
		params, err := scriptParams(m["parameters"])
		if err != nil {
			return fail("scripts[%d]: %v", i, err)
		}
		query, args := bindParams(text, params, d.Placeholder)
		typ, _ := m["type"].(string)
		if strings.EqualFold(typ, "NonQuery") {
			n, err := d.Exec(ctx, query, args)
			if err != nil {
				return fail("scripts[%d]: %v", i, err)
			}
			affected += n
			continue
		}
		results, err := d.ResultSets(ctx, query, args, rowsLeft)
		if err != nil {
			return fail("scripts[%d]: %v", i, err)
		}
		for _, res := range results {
			if len(res.Columns) == 0 {
				affected += res.RowsAffected
				continue
			}
			rows := make([]any, 0, len(res.Rows))
			for _, row := range res.Rows {
				obj := RowObject(res.Columns, row)
				js, _ := json.Marshal(obj)
				if size+len(js) > scriptMaxBytes || rowsLeft == 0 {
					truncated = true
					break
				}
				size += len(js)
				rowsLeft--
				rows = append(rows, obj)
			}
			truncated = truncated || res.Truncated
			sets = append(sets, map[string]any{"rowCount": int64(len(rows)), "rows": rows})
		}
	}
	if sets == nil {
		sets = []any{}
	}
	return map[string]any{
		"resultSetCount":     int64(len(sets)),
		"recordsAffected":    affected,
		"resultSets":         sets,
		"outputParameters":   map[string]any{},
		"outputLogs":         "",
		"outputLogsLocation": "",
		"outputTruncated":    truncated,
	}, nil
}

// scriptParams reads parameters [{name, type, value, direction}], the
// values converted to their types. Only input parameters are supported.
func scriptParams(v any) ([]scriptParam, error) {
	list, _ := v.([]any)
	var out []scriptParam
	for i, x := range list {
		m, _ := x.(map[string]any)
		name, _ := m["name"].(string)
		name = strings.TrimPrefix(name, "@")
		if name == "" {
			return nil, fmt.Errorf("parameters[%d]: no name", i)
		}
		if dir, _ := m["direction"].(string); dir != "" && !strings.EqualFold(dir, "Input") {
			return nil, fmt.Errorf("parameter %q: direction %s: only Input parameters are supported on these databases", name, dir)
		}
		val := m["value"]
		if t, _ := m["type"].(string); t != "" && val != nil {
			to := interimType(t)
			if strings.EqualFold(t, "Timespan") {
				to = tabular.TimeSpan
			}
			cv, err := convert.Convert(jsonToRow(val), fromJSON(val), to, &convert.Default)
			if err != nil {
				return nil, fmt.Errorf("parameter %q: %w", name, err)
			}
			val = cv
		}
		out = append(out, scriptParam{name: name, value: val})
	}
	return out, nil
}

func jsonToRow(v any) any {
	if n, ok := v.(json.Number); ok {
		if i, err := n.Int64(); err == nil {
			return i
		}
		f, _ := n.Float64()
		return f
	}
	return v
}

func fromJSON(v any) tabular.Type {
	switch jsonToRow(v).(type) {
	case int64:
		return tabular.Int64
	case float64:
		return tabular.Double
	case bool:
		return tabular.Boolean
	}
	return tabular.String
}

// bindParams replaces @name references to the parameters, outside quotes
// and comments, by the database's placeholders, returning the arguments in
// placeholder order ($n reuses a number per name; ? repeats the value).
func bindParams(text string, params []scriptParam, placeholder func(int) string) (string, []any) {
	if len(params) == 0 {
		return text, nil
	}
	find := func(name string) int {
		for i, p := range params {
			if strings.EqualFold(p.name, name) {
				return i
			}
		}
		return -1
	}
	positional := placeholder(1) == placeholder(2)
	var b strings.Builder
	var args []any
	num := map[int]int{}
	for i := 0; i < len(text); {
		ch := text[i]
		switch {
		case ch == '\'' || ch == '"' || ch == '`':
			end := i + 1
			for end < len(text) && text[end] != ch {
				end++
			}
			end = min(end+1, len(text))
			b.WriteString(text[i:end])
			i = end
			continue
		case ch == '-' && strings.HasPrefix(text[i:], "--"):
			end := strings.IndexByte(text[i:], '\n')
			if end < 0 {
				end = len(text) - i
			}
			b.WriteString(text[i : i+end])
			i += end
			continue
		case ch == '/' && strings.HasPrefix(text[i:], "/*"):
			end := strings.Index(text[i+2:], "*/")
			if end < 0 {
				end = len(text) - i - 2
			} else {
				end += 2
			}
			b.WriteString(text[i : i+2+end])
			i += 2 + end
			continue
		case ch == '@':
			j := i + 1
			for j < len(text) && (text[j] == '_' || text[j] >= 'a' && text[j] <= 'z' || text[j] >= 'A' && text[j] <= 'Z' || text[j] >= '0' && text[j] <= '9') {
				j++
			}
			if p := find(text[i+1 : j]); j > i+1 && p >= 0 {
				if positional {
					args = append(args, params[p].value)
					b.WriteString(placeholder(len(args)))
				} else {
					n, ok := num[p]
					if !ok {
						args = append(args, params[p].value)
						n = len(args)
						num[p] = n
					}
					b.WriteString(placeholder(n))
				}
				i = j
				continue
			}
		}
		b.WriteByte(ch)
		i++
	}
	return b.String(), args
}
