package activity

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

func init() { funcs["SqlServerStoredProcedure"] = runStoredProcedure }

// runStoredProcedure runs a Stored Procedure activity on the activity's
// linked service, which in ciel is PostgreSQL or MySQL/MariaDB rather
// than SQL Server: storedProcedureName ("name", "schema.name", SQL
// Server's "[dbo].[name]") is looked up case-insensitively (a "dbo"
// schema that does not exist means the search path), then run as CALL
// for a procedure or SELECT for a function, with
// storedProcedureParameters {name: {value, type}} passed by name
// (PostgreSQL) or in the routine's order (MySQL). Parameters the routine
// does not declare are an error; ones it declares and the activity
// omits take their defaults (PostgreSQL) or NULL (MySQL).
func runStoredProcedure(ctx context.Context, env *Env, c Call) (map[string]any, error) {
	start := time.Now()
	fail := func(format string, a ...any) (map[string]any, error) {
		return nil, &Error{Code: "2402", Msg: fmt.Sprintf("Stored procedure %q: ", c.Name) + fmt.Sprintf(format, a...)}
	}
	if c.LinkedService == nil {
		return fail("%v", errNoLinkedService)
	}
	name, _ := c.TypeProperties["storedProcedureName"].(string)
	schema, proc, err := splitRoutineName(name)
	if err != nil {
		return fail("storedProcedureName: %v", err)
	}
	params, err := procParams(c.TypeProperties["storedProcedureParameters"])
	if err != nil {
		return fail("storedProcedureParameters: %v", err)
	}
	d, err := OpenDatabase(ctx, *c.LinkedService)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	var stmt string
	var args []any
	if d.Placeholder(1) == "$1" {
		stmt, err = pgCall(ctx, d, schema, proc, params)
	} else {
		stmt, args, err = myCall(ctx, d, proc, params)
	}
	if err != nil {
		return fail("%v", err)
	}
	if _, err := d.Exec(ctx, stmt, args); err != nil {
		return fail("%v", err)
	}
	return map[string]any{"effectiveIntegrationRuntime": "ciel", "executionDuration": int64(time.Since(start).Seconds())}, nil
}

// procParam is one storedProcedureParameters entry, its value as text
// (nil for NULL).
type procParam struct {
	name  string
	value *string
}

// procParams reads {name: {value, type}} in name order; a leading @ (SQL
// Server's) is dropped.
func procParams(v any) ([]procParam, error) {
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("expected an object of {value, type}, got %T", v)
	}
	var out []procParam
	for name, pv := range m {
		p := procParam{name: strings.TrimPrefix(name, "@")}
		if p.name == "" {
			return nil, fmt.Errorf("a parameter has no name")
		}
		spec, ok := pv.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: expected {value, type}, got %T", name, pv)
		}
		if val := spec["value"]; val != nil {
			s, err := paramText(val)
			if err != nil {
				return nil, fmt.Errorf("%s: %v", name, err)
			}
			p.value = &s
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

func paramText(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e18 {
			return strconv.FormatInt(int64(x), 10), nil
		}
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case int:
		return strconv.Itoa(x), nil
	}
	return "", fmt.Errorf("value: expected a string, number or boolean, got %T", v)
}

var routinePart = regexp.MustCompile(`^\[?([^\[\].]+)\]?$`)

// splitRoutineName splits "[schema].[name]" or "schema.name" or "name".
func splitRoutineName(s string) (schema, name string, err error) {
	parts := strings.Split(strings.TrimSpace(s), ".")
	if s == "" || len(parts) > 2 {
		return "", "", fmt.Errorf("%q: expected name or schema.name", s)
	}
	for i, p := range parts {
		m := routinePart.FindStringSubmatch(strings.TrimSpace(p))
		if m == nil {
			return "", "", fmt.Errorf("%q: expected name or schema.name", s)
		}
		parts[i] = m[1]
	}
	if len(parts) == 1 {
		return "", parts[0], nil
	}
	return parts[0], parts[1], nil
}

// pgLiteral is a PostgreSQL string literal (standard_conforming_strings
// is on, as it has been by default since 9.1): an untyped constant the
// routine's signature gives a type.
func pgLiteral(p *string) string {
	if p == nil {
		return "NULL"
	}
	return "'" + strings.ReplaceAll(*p, "'", "''") + "'"
}

// pgCall finds the routine in pg_proc and builds its CALL or SELECT with
// named arguments.
func pgCall(ctx context.Context, d Database, schema, name string, params []procParam) (string, error) {
	const q = `SELECT n.nspname, p.proname, p.prokind::text, coalesce(array_to_string(p.proargnames, chr(1)), '')
		FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		WHERE lower(p.proname) = lower($1)
		  AND (lower(n.nspname) = lower($2) OR (($2 = '' OR lower($2) = 'dbo') AND pg_function_is_visible(p.oid)))
		ORDER BY lower(n.nspname) = lower($2) DESC, p.prokind = 'p' DESC LIMIT 1`
	res, err := d.ResultSets(ctx, q, []any{name, schema}, 1)
	if err != nil {
		return "", err
	}
	if len(res) == 0 || len(res[0].Rows) == 0 {
		return "", fmt.Errorf("no procedure or function %s in the database", qualified(schema, name))
	}
	row := res[0].Rows[0]
	nsp, proname, kind, argnames := row[0].(string), row[1].(string), row[2].(string), row[3].(string)
	declared := map[string]string{}
	for _, a := range strings.Split(argnames, "\x01") {
		if a != "" {
			declared[strings.ToLower(a)] = a
		}
	}
	args := make([]string, 0, len(params))
	for _, p := range params {
		real, ok := declared[strings.ToLower(p.name)]
		if !ok {
			return "", fmt.Errorf("%s.%s has no parameter %q", nsp, proname, p.name)
		}
		args = append(args, d.Quote(real)+" => "+pgLiteral(p.value))
	}
	call := "CALL "
	if kind != "p" {
		call = "SELECT "
	}
	return call + d.Quote(nsp) + "." + d.Quote(proname) + "(" + strings.Join(args, ", ") + ")", nil
}

// myCall finds the routine in information_schema and builds its CALL or
// SELECT with the arguments in its order.
func myCall(ctx context.Context, d Database, name string, params []procParam) (string, []any, error) {
	res, err := d.ResultSets(ctx, `SELECT ROUTINE_NAME, ROUTINE_TYPE FROM information_schema.ROUTINES
		WHERE ROUTINE_SCHEMA = DATABASE() AND lower(ROUTINE_NAME) = lower(?)`, []any{name}, 1)
	if err != nil {
		return "", nil, err
	}
	if len(res) == 0 || len(res[0].Rows) == 0 {
		return "", nil, fmt.Errorf("no procedure or function %s in the database", name)
	}
	real, kind := fmt.Sprint(res[0].Rows[0][0]), fmt.Sprint(res[0].Rows[0][1])
	res, err = d.ResultSets(ctx, `SELECT PARAMETER_NAME FROM information_schema.PARAMETERS
		WHERE SPECIFIC_SCHEMA = DATABASE() AND SPECIFIC_NAME = ? AND ORDINAL_POSITION > 0 ORDER BY ORDINAL_POSITION`, []any{real}, 1000)
	if err != nil {
		return "", nil, err
	}
	given := map[string]*string{}
	for _, p := range params {
		given[strings.ToLower(p.name)] = p.value
	}
	var marks []string
	var args []any
	for _, r := range res[0].Rows {
		pn := strings.ToLower(fmt.Sprint(r[0]))
		marks = append(marks, "?")
		if v := given[pn]; v != nil {
			args = append(args, *v)
		} else {
			args = append(args, nil)
		}
		delete(given, pn)
	}
	for pn := range given {
		return "", nil, fmt.Errorf("%s has no parameter %q", real, pn)
	}
	call := "CALL "
	if strings.EqualFold(kind, "FUNCTION") {
		call = "SELECT "
	}
	return call + d.Quote(real) + "(" + strings.Join(marks, ", ") + ")", args, nil
}

func qualified(schema, name string) string {
	if schema == "" {
		return name
	}
	return schema + "." + name
}
