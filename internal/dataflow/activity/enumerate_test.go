package activity

import (
	"strings"
	"testing"
)

func TestWildcardMatch(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		pattern, name string
		want          bool
	}{
		{"*.csv", "a.csv", true}, {"*.csv", "a.csv.gz", false}, {"data_??.csv", "data_01.csv", true},
		{"data_??.csv", "data_1.csv", false}, {"*", "", true}, {"a*b*c", "aXXbYYc", true}, {"a*b*c", "aXXbYY", false},
		{"^*.csv", "*.csv", true}, {"^*.csv", "a.csv", false}, {"x^?", "x?", true}, {"x^?", "xy", false},
		{"ünï*", "ünïcode", true}, {"[ab].csv", "[ab].csv", true}, {"[ab].csv", "a.csv", false},
	} {
		if got := wildcardMatch(c.pattern, c.name); got != c.want {
			t.Errorf("wildcardMatch(%q, %q) = %v, want %v", c.pattern, c.name, got, c.want)
		}
	}
}

// FuzzWildcardMatch checks that matching ends quickly and that a pattern
// without wildcards matches only itself.
func FuzzWildcardMatch(f *testing.F) {
	f.Add("*a*b?c^*", "xaybzc*")
	f.Add(strings.Repeat("*a", 40), strings.Repeat("a", 200)+"b")
	f.Fuzz(func(t *testing.T, pattern, name string) {
		if len(pattern) > 512 || len(name) > 512 {
			t.Skip()
		}
		got := wildcardMatch(pattern, name)
		if !strings.ContainsAny(pattern, "*?^") && got != (pattern == name) && strings.ToValidUTF8(pattern, "") == pattern && strings.ToValidUTF8(name, "") == name {
			t.Fatalf("literal %q vs %q: %v", pattern, name, got)
		}
	})
}
