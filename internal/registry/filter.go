package registry

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// A filter is MLflow's search syntax for the registry: clauses joined by
// AND, each `key op value`, where key is an attribute (name, run_id,
// source_path, version_number, creation_timestamp, last_updated_timestamp)
// or tags.<key>, op is = != < <= > >= LIKE ILIKE IN or NOT IN, and value is
// a quoted string, a number or a parenthesised list of quoted strings.

// clause is one parsed comparison.
type clause struct {
	tag     bool   // tags.<key> rather than an attribute
	numeric bool   // a numeric attribute
	key     string // attribute or tag key
	op      string // upper case
	value   string
	values  []string // for IN and NOT IN
}

// filterKeys says which attributes a search accepts, and which are numeric.
type filterKeys struct {
	attrs   []string
	numeric []string
}

var (
	modelFilterKeys   = filterKeys{attrs: []string{"name"}, numeric: []string{"creation_timestamp", "last_updated_timestamp"}}
	versionFilterKeys = filterKeys{
		attrs:   []string{"name", "run_id", "source_path"},
		numeric: []string{"version_number", "creation_timestamp", "last_updated_timestamp"},
	}
)

// filterToken matches one token: a quoted string (either quote, with
// backslash escapes), a backquoted identifier, a parenthesised list, an
// operator, or a bare word.
var filterToken = regexp.MustCompile(`^(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|` + "`[^`]*`" +
	`|\((?:[^)'"]|'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")*\)|!=|<=|>=|=|<|>|[^\s=!<>()'"` + "`" + `]+)`)

// tokenize splits a filter into tokens, joining "NOT IN" and identifier
// pieces like tags.`my key` into one.
func tokenize(filter string) ([]string, error) {
	var toks []string
	rest := strings.TrimSpace(filter)
	for rest != "" {
		m := filterToken.FindString(rest)
		if m == "" {
			return nil, invalid(fmt.Sprintf("Invalid filter string %q: cannot parse at %q", filter, rest))
		}
		// tags.`key` and tags."key" are one identifier.
		if n := len(toks); n > 0 && strings.HasSuffix(toks[n-1], ".") && (m[0] == '`' || m[0] == '"' || m[0] == '\'') {
			toks[n-1] += m
		} else {
			toks = append(toks, m)
		}
		rest = strings.TrimLeftFunc(rest[len(m):], unicode.IsSpace)
	}
	for i := 0; i+1 < len(toks); i++ {
		if strings.EqualFold(toks[i], "NOT") && strings.EqualFold(toks[i+1], "IN") {
			toks = slices.Replace(toks, i, i+2, "NOT IN")
		}
	}
	return toks, nil
}

// parseFilter parses a filter for the given keys.
func parseFilter(filter string, keys filterKeys) ([]clause, error) {
	toks, err := tokenize(filter)
	if err != nil || len(toks) == 0 {
		return nil, err
	}
	var out []clause
	for i := 0; ; i += 4 {
		if i+3 > len(toks) {
			return nil, invalid(fmt.Sprintf("Invalid filter string %q: expected `key operator value`", filter))
		}
		c, err := parseClause(toks[i], toks[i+1], toks[i+2], keys)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
		switch {
		case i+3 == len(toks):
			return out, nil
		case !strings.EqualFold(toks[i+3], "AND"):
			return nil, invalid(fmt.Sprintf("Invalid filter string %q: expected AND, got %q (only AND joins clauses)", filter, toks[i+3]))
		}
	}
}

func parseClause(ident, op, value string, keys filterKeys) (clause, error) {
	c := clause{op: strings.ToUpper(op)}
	entity, key, dotted := strings.Cut(ident, ".")
	switch {
	case dotted && (entity == "tags" || entity == "tag"):
		c.tag, c.key = true, unquote(key)
	case dotted && entity == "attribute":
		c.key = unquote(key)
	case dotted:
		return c, invalid(fmt.Sprintf("Invalid entity type '%s'. Valid entity types are ('tag', 'tags', 'attribute')", entity))
	default:
		c.key = unquote(ident)
	}
	numeric := !c.tag && slices.Contains(keys.numeric, c.key)
	c.numeric = numeric
	if !c.tag && !numeric && !slices.Contains(keys.attrs, c.key) {
		return c, invalid(fmt.Sprintf("Invalid attribute key '%s' specified. Valid keys are '%v'",
			c.key, append(slices.Clone(keys.attrs), keys.numeric...)))
	}
	okOps := []string{"=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"}
	switch {
	case numeric:
		okOps = []string{"=", "!=", "<", "<=", ">", ">="}
	case c.tag:
		okOps = okOps[:4]
	}
	if !slices.Contains(okOps, c.op) {
		return c, invalid(fmt.Sprintf("Invalid comparator '%s' for '%s'; expected one of %v", op, ident, okOps))
	}
	if c.op == "IN" || c.op == "NOT IN" {
		list, err := parseList(value)
		c.values = list
		return c, err
	}
	if numeric {
		if _, err := strconv.ParseFloat(unquote(value), 64); err != nil {
			return c, invalid(fmt.Sprintf("Expected a numeric value for '%s', got %s", c.key, value))
		}
		c.value = unquote(value)
		return c, nil
	}
	if !isQuoted(value) {
		return c, invalid(fmt.Sprintf("Expected a quoted string value for '%s', got %s", ident, value))
	}
	c.value = unquote(value)
	return c, nil
}

// parseList parses ('a', 'b').
func parseList(v string) ([]string, error) {
	if !strings.HasPrefix(v, "(") || !strings.HasSuffix(v, ")") {
		return nil, invalid(fmt.Sprintf("While parsing a list in the query, expected a parenthesised list of strings, got %s", v))
	}
	inner := strings.TrimSpace(v[1 : len(v)-1])
	var out []string
	for inner != "" {
		m := filterToken.FindString(inner)
		if !isQuoted(m) {
			return nil, invalid(fmt.Sprintf("While parsing a list in the query, expected string values, got %s", v))
		}
		out = append(out, unquote(m))
		inner = strings.TrimLeftFunc(strings.TrimPrefix(strings.TrimSpace(inner[len(m):]), ","), unicode.IsSpace)
	}
	if len(out) == 0 {
		return nil, invalid("While parsing a list in the query, expected a non-empty list of string values, but got empty list")
	}
	return out, nil
}

func isQuoted(s string) bool {
	return len(s) >= 2 && (s[0] == '\'' || s[0] == '"') && s[len(s)-1] == s[0]
}

// unquote strips quotes or backquotes and undoes backslash escapes.
func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '`' && s[len(s)-1] == '`') {
		return s[1 : len(s)-1]
	}
	if !isQuoted(s) {
		return s
	}
	s = s[1 : len(s)-1]
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// matches reports whether every clause holds. attr returns an attribute's
// values (a clause holds when it holds for one of them); tags are the
// entity's tags, and a clause on a tag the entity lacks does not hold.
func matches(clauses []clause, attr func(string) []string, tags map[string]string) bool {
	for _, c := range clauses {
		lhs := attr(c.key)
		if c.tag {
			v, ok := tags[c.key]
			if !ok {
				return false
			}
			lhs = []string{v}
		}
		if !slices.ContainsFunc(lhs, func(v string) bool { return compare(c, v) }) {
			return false
		}
	}
	return true
}

func compare(c clause, lhs string) bool {
	switch c.op {
	case "IN":
		return slices.Contains(c.values, lhs)
	case "NOT IN":
		return !slices.Contains(c.values, lhs)
	case "LIKE":
		return likeRE(c.value, false).MatchString(lhs)
	case "ILIKE":
		return likeRE(c.value, true).MatchString(lhs)
	}
	if c.numeric {
		a, _ := strconv.ParseFloat(lhs, 64)
		b, _ := strconv.ParseFloat(c.value, 64)
		switch c.op {
		case "=":
			return a == b
		case "!=":
			return a != b
		case "<":
			return a < b
		case "<=":
			return a <= b
		case ">":
			return a > b
		case ">=":
			return a >= b
		}
	}
	switch c.op {
	case "=":
		return lhs == c.value
	case "!=":
		return lhs != c.value
	}
	return false
}

// likeRE turns a SQL LIKE pattern (% any run, _ any one character) into a
// regular expression matching the whole string.
func likeRE(pattern string, fold bool) *regexp.Regexp {
	var b strings.Builder
	if fold {
		b.WriteString("(?is)^")
	} else {
		b.WriteString("(?s)^")
	}
	for _, r := range pattern {
		switch r {
		case '%':
			b.WriteString(".*")
		case '_':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// orderKey is one parsed order_by entry.
type orderKey struct {
	key string
	asc bool
}

// parseOrderBy parses ["name ASC", "version_number DESC"] against the keys
// allowed; "timestamp" means creation_timestamp.
func parseOrderBy(list []string, allowed []string) ([]orderKey, error) {
	var out []orderKey
	seen := map[string]bool{}
	for _, s := range list {
		f := strings.Fields(s)
		if len(f) == 0 || len(f) > 2 {
			return nil, invalid(fmt.Sprintf("Invalid order_by clause '%s'", s))
		}
		k := orderKey{key: strings.TrimPrefix(unquote(f[0]), "attribute."), asc: true}
		if k.key == "timestamp" {
			k.key = "creation_timestamp"
		}
		if len(f) == 2 {
			switch strings.ToUpper(f[1]) {
			case "ASC":
			case "DESC":
				k.asc = false
			default:
				return nil, invalid(fmt.Sprintf("Invalid order_by clause '%s': expected ASC or DESC", s))
			}
		}
		if !slices.Contains(allowed, k.key) {
			return nil, invalid(fmt.Sprintf("Invalid order by key '%s' specified. Valid keys are %v", k.key, allowed))
		}
		if seen[k.key] {
			return nil, invalid(fmt.Sprintf("`order_by` contains duplicate fields: %v", list))
		}
		seen[k.key] = true
		out = append(out, k)
	}
	return out, nil
}

// pageToken is what MLflow's page tokens hold: base64 of {"offset": n}.
type pageToken struct {
	Offset int `json:"offset"`
}

// ParsePageToken returns the offset a page token stands for (0 for "").
func ParsePageToken(tok string) (int, error) {
	if tok == "" {
		return 0, nil
	}
	raw, err := base64.StdEncoding.DecodeString(tok)
	var pt pageToken
	if err == nil {
		err = json.Unmarshal(raw, &pt)
	}
	if err != nil || pt.Offset < 0 {
		return 0, invalid(fmt.Sprintf("Invalid page token, could not base64-decode: %q", tok))
	}
	return pt.Offset, nil
}

// PageToken returns the token for the page starting at offset.
func PageToken(offset int) string {
	b, _ := json.Marshal(pageToken{Offset: offset})
	return base64.StdEncoding.EncodeToString(b)
}
