package registry

import (
	"errors"
	"slices"
	"testing"
)

func TestParseFilter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		filter string
		want   []clause
		bad    bool
	}{
		{filter: ""},
		{filter: "name = 'm'", want: []clause{{key: "name", op: "=", value: "m"}}},
		{filter: `name="m" and run_id != 'r'`, want: []clause{{key: "name", op: "=", value: "m"}, {key: "run_id", op: "!=", value: "r"}}},
		{filter: "name ILIKE '%Best%'", want: []clause{{key: "name", op: "ILIKE", value: "%Best%"}}},
		{filter: "run_id IN ('a', 'b')", want: []clause{{key: "run_id", op: "IN", values: []string{"a", "b"}}}},
		{filter: "run_id not in ('a')", want: []clause{{key: "run_id", op: "NOT IN", values: []string{"a"}}}},
		{filter: "version_number >= 2", want: []clause{{key: "version_number", op: ">=", value: "2", numeric: true}}},
		{filter: "tags.team = 'ml'", want: []clause{{tag: true, key: "team", op: "=", value: "ml"}}},
		{filter: "tags.`my key` LIKE 'a%'", want: []clause{{tag: true, key: "my key", op: "LIKE", value: "a%"}}},
		{filter: `tag."k" = 'it\'s'`, want: []clause{{tag: true, key: "k", op: "=", value: "it's"}}},
		{filter: "attribute.name = 'm'", want: []clause{{key: "name", op: "=", value: "m"}}},
		{filter: "name = m", bad: true},
		{filter: "name =", bad: true},
		{filter: "name = 'a' OR name = 'b'", bad: true},
		{filter: "stage = 'x'", bad: true},
		{filter: "metrics.x > 1", bad: true},
		{filter: "version_number = 'x'", bad: true},
		{filter: "version_number LIKE '1'", bad: true},
		{filter: "tags.k IN ('a')", bad: true},
		{filter: "run_id IN ()", bad: true},
		{filter: "name = 'unterminated", bad: true},
	}
	for _, tt := range tests {
		got, err := parseFilter(tt.filter, versionFilterKeys)
		if tt.bad {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("parseFilter(%q) = %+v, %v; want ErrInvalid", tt.filter, got, err)
			}
			continue
		}
		if err != nil || !slices.EqualFunc(got, tt.want, func(a, b clause) bool {
			return a.tag == b.tag && a.numeric == b.numeric && a.key == b.key && a.op == b.op && a.value == b.value && slices.Equal(a.values, b.values)
		}) {
			t.Errorf("parseFilter(%q) = %+v, %v; want %+v", tt.filter, got, err, tt.want)
		}
	}
	if _, err := parseFilter("run_id = 'r'", modelFilterKeys); !errors.Is(err, ErrInvalid) {
		t.Errorf("run_id in a registered-model filter: %v", err)
	}
}

func TestMatches(t *testing.T) {
	t.Parallel()
	attr := func(k string) []string {
		return map[string][]string{"name": {"Best_Model"}, "version_number": {"10"}, "source_path": {"a", "runs:/r/model"}}[k]
	}
	tags := map[string]string{"team": "ml"}
	tests := []struct {
		filter string
		want   bool
	}{
		{"name = 'Best_Model'", true},
		{"name LIKE 'Best%'", true},
		{"name LIKE 'best%'", false},
		{"name ILIKE 'best%'", true},
		{"name LIKE 'Best_Mode_'", true},
		{"version_number > 9", true},
		{"version_number > 9.5 AND version_number < 10", false},
		{"tags.team = 'ml'", true},
		{"tags.team != 'ml'", false},
		{"tags.absent != 'x'", false},
		{"source_path = 'runs:/r/model'", true},
		{"name IN ('x', 'Best_Model')", true},
		{"name NOT IN ('Best_Model')", false},
	}
	for _, tt := range tests {
		cs, err := parseFilter(tt.filter, versionFilterKeys)
		if err != nil {
			t.Fatalf("%q: %v", tt.filter, err)
		}
		if got := matches(cs, attr, tags); got != tt.want {
			t.Errorf("%q matches = %v, want %v", tt.filter, got, tt.want)
		}
	}
}

func TestOrderByAndPageToken(t *testing.T) {
	t.Parallel()
	got, err := parseOrderBy([]string{"name", "timestamp DESC"}, modelOrderKeys)
	if err != nil || !slices.Equal(got, []orderKey{{"name", true}, {"creation_timestamp", false}}) {
		t.Errorf("parseOrderBy = %v, %v", got, err)
	}
	for _, bad := range [][]string{{"name SIDEWAYS"}, {"stage"}, {"name", "name DESC"}, {""}} {
		if _, err := parseOrderBy(bad, modelOrderKeys); !errors.Is(err, ErrInvalid) {
			t.Errorf("parseOrderBy(%q) = %v, want ErrInvalid", bad, err)
		}
	}
	if n, err := ParsePageToken(PageToken(42)); n != 42 || err != nil {
		t.Errorf("page token round trip = %d, %v", n, err)
	}
	if _, err := ParsePageToken("!!"); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad page token: %v", err)
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"name = 'm'", "tags.`k` LIKE '%'", "run_id IN ('a','b') AND version_number > 1", `tag."a\"b" = 'x'`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cs, err := parseFilter(s, versionFilterKeys)
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("parseFilter(%q): error %v does not match ErrInvalid", s, err)
		}
		_ = matches(cs, func(string) []string { return []string{"x"} }, map[string]string{"k": "v"})
	})
}
