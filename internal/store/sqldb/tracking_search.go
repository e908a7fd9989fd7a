package sqldb

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/ciel-mlops/ciel/internal/tracking"
)

// searchSchema says how filter clauses and order-by keys of one kind of
// search (runs, experiments, logged models) become SQL over its table.
type searchSchema struct {
	// attrs maps canonical attribute keys to column expressions.
	attrs map[string]string
	// sub maps entity kinds to a table aliased x and the condition linking
	// x to the searched row.
	sub map[string]subTable
	// integerAttrs are attributes stored as integers that filters give as
	// strings (experiment_id).
	integerAttrs map[string]bool
	// nullable are the attributes whose column may be NULL; ordering puts
	// their NULLs last (the others need no such term, which would keep
	// SQLite from reading an index in order).
	nullable map[string]bool
}

type subTable struct {
	from, link string
	// latest orders a kind whose table holds many values per key (logged
	// model metrics) so LIMIT 1 picks the latest.
	latest string
}

var (
	runSchema = &searchSchema{
		attrs: map[string]string{"run_id": "r.run_id", "run_name": "r.name", "status": "r.status", "user_id": "r.user_id",
			"artifact_uri": "r.artifact_uri", "start_time": "r.start_time", "end_time": "r.end_time"},
		sub: map[string]subTable{
			tracking.KindMetric:  {from: "latest_metrics x", link: "x.run_id = r.run_id"},
			tracking.KindParam:   {from: "run_params x", link: "x.run_id = r.run_id"},
			tracking.KindTag:     {from: "run_tags x", link: "x.run_id = r.run_id"},
			tracking.KindDataset: {from: "run_datasets x", link: "x.run_id = r.run_id"},
		},
		nullable: map[string]bool{"end_time": true},
	}
	experimentSchema = &searchSchema{
		attrs: map[string]string{"name": "e.name", "experiment_id": "e.id", "creation_time": "e.creation_time",
			"last_update_time": "e.last_update_time"},
		sub: map[string]subTable{
			tracking.KindTag: {from: "experiment_tags x", link: "x.workspace = e.workspace AND x.experiment_id = e.id"},
		},
		integerAttrs: map[string]bool{"experiment_id": true},
	}
	modelSchema = &searchSchema{
		attrs: map[string]string{"name": "lm.name", "model_id": "lm.model_id", "model_type": "lm.model_type",
			"status": "lm.status", "source_run_id": "lm.source_run_id", "creation_timestamp": "lm.creation_time",
			"last_updated_timestamp": "lm.last_updated_time"},
		sub: map[string]subTable{
			tracking.KindMetric: {from: "metrics x", link: "x.model_id = lm.model_id", latest: "x.step DESC, x.timestamp DESC"},
			tracking.KindParam:  {from: "logged_model_params x", link: "x.model_id = lm.model_id"},
			tracking.KindTag:    {from: "logged_model_tags x", link: "x.model_id = lm.model_id"},
		},
	}
)

// sqlQuery accumulates SQL text and its arguments, in order, for one
// dialect (SQLite's when d is nil).
type sqlQuery struct {
	b    strings.Builder
	args []any
	d    *dialect
}

// query starts a query in s's dialect.
func (s *Store) query() *sqlQuery { return &sqlQuery{d: s.d} }

func (q *sqlQuery) dialect() *dialect {
	if q.d == nil {
		return sqliteDialect
	}
	return q.d
}

func (q *sqlQuery) add(sql string, args ...any) {
	q.b.WriteString(sql)
	q.args = append(q.args, args...)
}

// String returns the SQL text so far.
func (q *sqlQuery) String() string { return q.b.String() }

// where appends " AND <condition>" for each clause.
func (s *searchSchema) where(q *sqlQuery, clauses []tracking.Clause) error {
	for _, c := range clauses {
		q.add(" AND ")
		if err := s.clause(q, c); err != nil {
			return err
		}
	}
	return nil
}

// clause appends the condition of one filter clause.
func (s *searchSchema) clause(q *sqlQuery, c tracking.Clause) error {
	if c.Kind == tracking.KindAttribute {
		col, ok := s.attrs[c.Key]
		if !ok {
			return fmt.Errorf("search: attribute %q is not searchable here", c.Key)
		}
		return s.compare(q, col, c, s.integerAttrs[c.Key])
	}
	sub, ok := s.sub[c.Kind]
	if !ok {
		return fmt.Errorf("search: %s clauses are not supported here", c.Kind)
	}
	exists := "EXISTS"
	if c.Op == "IS NULL" {
		exists = "NOT EXISTS"
	}
	q.add(exists + " (SELECT 1 FROM " + sub.from + " WHERE " + sub.link)
	switch c.Kind {
	case tracking.KindDataset:
		q.add(" AND ")
		if err := s.compare(q, "x."+c.Key, c, false); err != nil {
			return err
		}
	default:
		q.add(" AND x.key = ?", c.Key)
		if c.Kind == tracking.KindMetric {
			q.add(" AND x.is_nan = FALSE")
		}
		if c.Op != "IS NULL" && c.Op != "IS NOT NULL" {
			q.add(" AND ")
			if err := s.compare(q, "x.value", c, false); err != nil {
				return err
			}
		}
	}
	q.add(")")
	return nil
}

// compare appends "col <op> value". LIKE is case-sensitive, ILIKE not, as
// in MLflow.
func (s *searchSchema) compare(q *sqlQuery, col string, c tracking.Clause, integer bool) error {
	val := func(v string) any {
		if integer {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				return n
			}
		}
		return v
	}
	switch c.Op {
	case "=", "!=", "<", "<=", ">", ">=":
		var v any = val(c.Str)
		if c.IsNum {
			v = c.Num
			if c.Num == math.Trunc(c.Num) && math.Abs(c.Num) < 1<<53 {
				v = int64(c.Num)
			}
		}
		q.add(col+" "+c.Op+" ?", v)
	case "LIKE":
		q.add(q.dialect().like(col, c.Str))
	case "ILIKE":
		q.add("LOWER("+col+") LIKE LOWER(?)", c.Str)
	case "IN", "NOT IN":
		q.add(col + " " + c.Op + " (")
		for i, v := range c.List {
			if i > 0 {
				q.add(", ")
			}
			q.add("?", val(v))
		}
		q.add(")")
	default:
		return fmt.Errorf("search: comparator %q is not supported here", c.Op)
	}
	return nil
}

// likeToGlob turns a LIKE pattern into the equivalent GLOB pattern, which
// SQLite matches case-sensitively.
func likeToGlob(p string) string {
	var b strings.Builder
	for _, r := range p {
		switch r {
		case '%':
			b.WriteByte('*')
		case '_':
			b.WriteByte('?')
		case '*', '?', '[':
			b.WriteString("[" + string(r) + "]")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// orderBy appends the ORDER BY terms of keys: each key sorts runs without a
// value last (and, for metrics, NaN just before them).
func (s *searchSchema) orderBy(q *sqlQuery, keys []tracking.OrderBy) error {
	for i, o := range keys {
		if i > 0 {
			q.add(", ")
		}
		dir := " ASC"
		if !o.Asc {
			dir = " DESC"
		}
		if o.Kind == tracking.KindAttribute {
			col, ok := s.attrs[o.Key]
			if !ok {
				return fmt.Errorf("search: cannot order by attribute %q here", o.Key)
			}
			if s.nullable[o.Key] {
				q.add(col + " IS NULL, ")
			}
			q.add(col + dir)
			continue
		}
		sub, ok := s.sub[o.Kind]
		if !ok || o.Kind == tracking.KindDataset {
			return fmt.Errorf("search: cannot order by %s keys here", o.Kind)
		}
		one := " WHERE " + sub.link + " AND x.key = ?"
		if sub.latest != "" {
			one += " ORDER BY " + sub.latest
		}
		one += " LIMIT 1)"
		if o.Kind == tracking.KindMetric {
			q.add("COALESCE((SELECT x.is_nan FROM "+sub.from+one+", 2), ", o.Key)
		} else {
			q.add("(SELECT x.value FROM "+sub.from+one+" IS NULL, ", o.Key)
		}
		q.add("(SELECT x.value FROM "+sub.from+one+dir, o.Key)
	}
	return nil
}

// hasOrder reports whether keys order by the attribute key.
func hasOrder(keys []tracking.OrderBy, key string) bool {
	for _, o := range keys {
		if o.Kind == tracking.KindAttribute && o.Key == key {
			return true
		}
	}
	return false
}

// stageCond is the condition a view type puts on a lifecycle column.
func stageCond(col, view string) string {
	switch view {
	case tracking.ViewDeletedOnly:
		return col + " = 'deleted'"
	case tracking.ViewAll:
		return "TRUE"
	}
	return col + " = 'active'"
}

// idList is a JSON array of ids, for "IN (SELECT value FROM json_each(?))".
func idList(ids []string) string {
	if len(ids) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(ids)
	return string(b)
}

// experimentIDs parses experiment IDs; ones that are not integers match
// nothing, so they are dropped.
func experimentIDs(ids []string) []int64 {
	out := make([]int64, 0, len(ids))
	for _, id := range ids {
		if n, err := strconv.ParseInt(id, 10, 64); err == nil {
			out = append(out, n)
		}
	}
	return out
}
