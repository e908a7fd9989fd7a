package tracking

import (
	"slices"
	"strconv"
	"strings"
)

// grammar is what one kind of search accepts in its filter and order_by:
// MLflow's SearchUtils, SearchExperimentsUtils and logged-model search
// differ only in these sets.
type grammar struct {
	what       string              // "runs", "experiments", "logged models"
	kinds      []string            // entity kinds allowed besides attributes
	attributes map[string]string   // accepted attribute key -> canonical key
	numeric    map[string]bool     // canonical numeric attributes
	listKeys   map[string]bool     // canonical attributes that take IN (...)
	tagOps     map[string]bool     // comparators for tags (and params)
	orderAttrs map[string]struct{} // canonical attributes order_by accepts
	// entities are entity prefixes of this grammar only, looked up before
	// the shared entityKinds (traces' "trace." and "metadata.").
	entities map[string]string
}

var (
	metricOps  = opSet("=", "!=", "<", "<=", ">", ">=")
	stringOps  = opSet("=", "!=", "LIKE", "ILIKE", "IN", "NOT IN")
	keyOps     = opSet("=", "!=", "LIKE", "ILIKE", "IS NULL", "IS NOT NULL")
	datasetKey = map[string]bool{"name": true, "digest": true, "context": true}
)

func opSet(ops ...string) map[string]bool {
	m := make(map[string]bool, len(ops))
	for _, o := range ops {
		m[o] = true
	}
	return m
}

func keys(canon ...string) map[string]string {
	m := make(map[string]string, len(canon))
	for _, k := range canon {
		m[k] = k
	}
	return m
}

func keySet(ks ...string) map[string]struct{} {
	m := make(map[string]struct{}, len(ks))
	for _, k := range ks {
		m[k] = struct{}{}
	}
	return m
}

// The three grammars.
var (
	runGrammar = func() *grammar {
		attrs := keys("run_id", "run_name", "status", "user_id", "artifact_uri", "start_time", "end_time")
		for _, a := range []string{"created", "Created"} {
			attrs[a] = "start_time"
		}
		for _, a := range []string{"run name", "Run name", "Run Name"} {
			attrs[a] = "run_name"
		}
		return &grammar{what: "runs", kinds: []string{KindMetric, KindParam, KindTag, KindDataset},
			attributes: attrs, numeric: map[string]bool{"start_time": true, "end_time": true},
			listKeys: map[string]bool{"run_id": true}, tagOps: keyOps,
			orderAttrs: keySet("run_id", "run_name", "status", "user_id", "artifact_uri", "start_time", "end_time")}
	}()
	experimentGrammar = &grammar{what: "experiments", kinds: []string{KindTag},
		attributes: keys("name", "experiment_id", "creation_time", "last_update_time"),
		numeric:    map[string]bool{"creation_time": true, "last_update_time": true},
		listKeys:   map[string]bool{"experiment_id": true}, tagOps: keyOps,
		orderAttrs: keySet("name", "experiment_id", "creation_time", "last_update_time")}
	modelGrammar = func() *grammar {
		attrs := keys("name", "model_id", "model_type", "status", "source_run_id", "creation_timestamp", "last_updated_timestamp")
		attrs["creation_time"] = "creation_timestamp"
		attrs["last_updated_time"] = "last_updated_timestamp"
		return &grammar{what: "logged models", kinds: []string{KindMetric, KindParam, KindTag},
			attributes: attrs, numeric: map[string]bool{"creation_timestamp": true, "last_updated_timestamp": true},
			listKeys: map[string]bool{"name": true, "model_id": true, "source_run_id": true}, tagOps: keyOps,
			orderAttrs: keySet("name", "model_id", "model_type", "status", "source_run_id", "creation_timestamp", "last_updated_timestamp")}
	}()
)

// entityKinds maps every accepted entity prefix to its kind.
var entityKinds = map[string]string{
	"metric": KindMetric, "metrics": KindMetric,
	"param": KindParam, "params": KindParam, "parameter": KindParam, "parameters": KindParam,
	"tag": KindTag, "tags": KindTag,
	"attribute": KindAttribute, "attributes": KindAttribute, "attr": KindAttribute, "run": KindAttribute,
	"dataset": KindDataset, "datasets": KindDataset,
}

// ParseRunFilter parses a search-runs filter: comparisons joined by AND,
// such as "metrics.rmse < 0.8 and params.model = 'tree' and
// attributes.run_id IN ('a', 'b')". Errors are *Error with
// CodeInvalidParameterValue.
func ParseRunFilter(s string) ([]Clause, error) { return runGrammar.parseFilter(s) }

// ParseExperimentFilter parses a search-experiments filter.
func ParseExperimentFilter(s string) ([]Clause, error) { return experimentGrammar.parseFilter(s) }

// ParseModelFilter parses a search-logged-models filter.
func ParseModelFilter(s string) ([]Clause, error) { return modelGrammar.parseFilter(s) }

// ParseRunOrderBy parses one search-runs order_by item, e.g.
// "metrics.`val loss` DESC".
func ParseRunOrderBy(s string) (OrderBy, error) { return runGrammar.parseOrderBy(s) }

// ParseExperimentOrderBy parses one search-experiments order_by item.
func ParseExperimentOrderBy(s string) (OrderBy, error) { return experimentGrammar.parseOrderBy(s) }

// parseModelOrderField parses a logged-model order_by field name.
func parseModelOrderField(s string, asc bool) (OrderBy, error) {
	o, err := modelGrammar.parseOrderBy(s)
	o.Asc = asc
	return o, err
}

func (g *grammar) parseFilter(s string) ([]Clause, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	p := &filterParser{g: g, toks: toks, src: s}
	var out []Clause
	for {
		c, err := p.clause()
		if err != nil {
			return nil, err
		}
		out = append(out, c)
		if p.done() {
			return out, nil
		}
		if t := p.next(); !t.isWord("AND") {
			return nil, invalidf("Invalid clause(s) in filter string %q: expected AND, found %q", s, t.text)
		}
	}
}

func (g *grammar) parseOrderBy(s string) (OrderBy, error) {
	toks, err := lex(s)
	if err != nil {
		return OrderBy{}, err
	}
	bad := func() (OrderBy, error) {
		return OrderBy{}, invalidf("Invalid order_by clause '%s'. Could not be parsed.", s)
	}
	if len(toks) == 0 || len(toks) > 2 || toks[0].kind != tokIdent {
		return bad()
	}
	o := OrderBy{Asc: true}
	if len(toks) == 2 {
		switch {
		case toks[1].isWord("ASC"):
		case toks[1].isWord("DESC"):
			o.Asc = false
		default:
			return bad()
		}
	}
	kind, key, err := g.identifier(toks[0])
	if err != nil {
		return OrderBy{}, err
	}
	if kind == KindDataset {
		return bad()
	}
	if kind == KindAttribute {
		if _, ok := g.orderAttrs[key]; !ok {
			return OrderBy{}, invalidf("Invalid attribute key '%s' specified. Valid keys are '%s'", key, sortedKeys(g.orderAttrs))
		}
	}
	o.Kind, o.Key = kind, key
	return o, nil
}

// identifier resolves an identifier token to its kind and canonical key.
func (g *grammar) identifier(t token) (kind, key string, err error) {
	kind = KindAttribute
	key = t.key
	if t.entity != "" {
		k, ok := g.entities[t.entity]
		if !ok {
			k, ok = entityKinds[t.entity]
		}
		if !ok || (k != KindAttribute && !slices.Contains(g.kinds, k)) {
			return "", "", invalidf("Invalid entity type '%s' in %s search. Valid values are %s", t.entity, g.what,
				strings.Join(append([]string{KindAttribute}, g.kinds...), ", "))
		}
		kind = k
	}
	if key == "" {
		return "", "", invalidf("Invalid identifier '%s': the key is empty", t.text)
	}
	switch kind {
	case KindAttribute:
		canon, ok := g.attributes[key]
		if !ok {
			return "", "", invalidf("Invalid attribute key '%s' specified. Valid keys are '%s'", key, sortedKeys(g.attributes))
		}
		key = canon
	case KindDataset:
		if !datasetKey[key] {
			return "", "", invalidf("Invalid dataset key '%s' specified. Valid keys are 'name', 'digest', 'context'", key)
		}
	}
	return kind, key, nil
}

func sortedKeys[V any](m map[string]V) string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return strings.Join(ks, ", ")
}

// filterParser walks the tokens of one filter.
type filterParser struct {
	g    *grammar
	toks []token
	pos  int
	src  string
}

func (p *filterParser) done() bool { return p.pos >= len(p.toks) }

func (p *filterParser) next() token {
	if p.done() {
		return token{kind: tokEOF, text: "end of filter"}
	}
	t := p.toks[p.pos]
	p.pos++
	return t
}

func (p *filterParser) peek() token {
	if p.done() {
		return token{kind: tokEOF}
	}
	return p.toks[p.pos]
}

// clause parses "identifier comparator value" or "identifier IS [NOT] NULL".
func (p *filterParser) clause() (Clause, error) {
	id := p.next()
	if id.kind != tokIdent {
		return Clause{}, invalidf("Invalid clause(s) in filter string %q: expected an identifier such as metrics.<key>, found %q", p.src, id.text)
	}
	kind, key, err := p.g.identifier(id)
	if err != nil {
		return Clause{}, err
	}
	c := Clause{Kind: kind, Key: key}
	if c.Op, err = p.comparator(); err != nil {
		return Clause{}, err
	}
	if err := p.checkOp(c); err != nil {
		return Clause{}, err
	}
	if c.Op == "IS NULL" || c.Op == "IS NOT NULL" {
		return c, nil
	}
	return p.value(c)
}

// comparator reads one comparison operator, keywords upper-cased.
func (p *filterParser) comparator() (string, error) {
	t := p.next()
	switch {
	case t.kind == tokOp:
		if t.text == "==" {
			return "=", nil
		}
		if t.text == "<>" {
			return "!=", nil
		}
		return t.text, nil
	case t.isWord("LIKE"), t.isWord("ILIKE"), t.isWord("IN"):
		return strings.ToUpper(t.text), nil
	case t.isWord("NOT") && p.peek().isWord("IN"):
		p.next()
		return "NOT IN", nil
	case t.isWord("IS"):
		op := "IS NULL"
		if p.peek().isWord("NOT") {
			p.next()
			op = "IS NOT NULL"
		}
		if !p.next().isWord("NULL") {
			break
		}
		return op, nil
	}
	return "", invalidf("Invalid clause(s) in filter string %q: expected a comparison operator, found %q", p.src, t.text)
}

// checkOp checks the comparator is one the identifier's kind accepts.
func (p *filterParser) checkOp(c Clause) error {
	var ok map[string]bool
	switch c.Kind {
	case KindMetric:
		ok = metricOps
	case KindParam, KindTag, KindMetadata:
		ok = p.g.tagOps
	case KindDataset:
		ok = stringOps
	case KindAttribute:
		ok = stringOps
		if p.g.numeric[c.Key] {
			ok = metricOps
		}
	}
	if !ok[c.Op] {
		return invalidf("Invalid comparator '%s' for %s '%s': expected one of %s", c.Op, c.Kind, c.Key, sortedKeys(ok))
	}
	if (c.Op == "IN" || c.Op == "NOT IN") && c.Kind == KindAttribute && !p.g.listKeys[c.Key] {
		return invalidf("Only %s attributes support comparison with a list of quoted string values.", sortedKeys(p.g.listKeys))
	}
	return nil
}

// value reads the value a clause compares with: a number for metrics and
// numeric attributes, a list for IN, else a quoted string.
func (p *filterParser) value(c Clause) (Clause, error) {
	t := p.next()
	numeric := c.Kind == KindMetric || (c.Kind == KindAttribute && p.g.numeric[c.Key])
	switch {
	case c.Op == "IN" || c.Op == "NOT IN":
		if t.kind != tokList || len(t.list) == 0 {
			return c, invalidf("While parsing a list in the query, expected a non-empty list of string values, but got %q", t.text)
		}
		c.List = t.list
	case numeric:
		if t.kind != tokNumber {
			return c, invalidf("Expected numeric value type for %s '%s'. Found %s", c.Kind, c.Key, t.text)
		}
		n, err := strconv.ParseFloat(t.text, 64)
		if err != nil {
			return c, invalidf("Expected numeric value type for %s '%s'. Found %s", c.Kind, c.Key, t.text)
		}
		c.IsNum, c.Num = true, n
	default:
		if t.kind != tokString {
			return c, invalidf("Expected a quoted string value for %s '%s' (e.g. 'my-value'). Got value %s", c.Kind, c.Key, t.text)
		}
		c.Str = t.key
	}
	return c, nil
}
