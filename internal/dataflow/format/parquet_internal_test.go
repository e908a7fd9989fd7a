package format

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// TestFastDecimal checks the fast decimal parse against Arrow's own, and
// that it steps aside where it cannot be exact.
func TestFastDecimal(t *testing.T) {
	for _, c := range []struct {
		s           string
		prec, scale int32
		fast        bool
	}{
		{"1.5", 10, 2, true}, {"-0.01", 10, 2, true}, {"+42", 10, 0, true}, {"123456789.120", 12, 2, true},
		{"12.345", 10, 2, false}, {"1e5", 10, 2, false}, {"", 10, 2, false}, {".", 10, 2, false},
		{"1234567890123456789", 38, 0, false}, {"99999", 4, 0, false}, {"1.2.3", 10, 2, false},
	} {
		got, ok := fastDecimal(c.s, c.prec, c.scale)
		if ok != c.fast {
			t.Errorf("fastDecimal(%q) ok = %v, want %v", c.s, ok, c.fast)
			continue
		}
		if ok {
			want, err := decimal128.FromString(c.s, c.prec, c.scale)
			if err != nil || got != want {
				t.Errorf("fastDecimal(%q) = %v, FromString = %v (%v)", c.s, got.ToString(c.scale), want.ToString(c.scale), err)
			}
		}
	}
}
