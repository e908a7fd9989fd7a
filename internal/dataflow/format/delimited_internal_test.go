package format

import (
	"io"
	"reflect"
	"strings"
	"testing"
)

// records scans all of data, with the plain-byte fast path or without.
func records(data string, d dialect, fast bool) ([][]string, error) {
	s := newScanner(strings.NewReader(data), d)
	if !fast {
		s.stop, s.stopQuoted = nil, nil
	}
	var out [][]string
	for {
		f, _, err := s.next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, append([]string(nil), f...))
	}
}

// FuzzScannerFastPath checks that the fast path splits every input
// exactly as the rune-by-rune path does.
func FuzzScannerFastPath(f *testing.F) {
	f.Add("a,b\r\n\"c,\"\"d\",e\\,f\n", uint8(0))
	f.Add("x|y;'z''w'|", uint8(2))
	f.Fuzz(func(t *testing.T, data string, which uint8) {
		d := []dialect{
			{delim: ',', quote: '"', escape: '\\'},
			{delim: ',', quote: '"', escape: '"', row: "\r\n"},
			{delim: ';', quote: '\'', escape: '\'', row: "|"},
			{delim: '\t', escape: '\\', row: "\n"},
		}[int(which)%4]
		fast, ferr := records(data, d, true)
		slow, serr := records(data, d, false)
		if (ferr == nil) != (serr == nil) || !reflect.DeepEqual(fast, slow) {
			t.Fatalf("fast %q (%v) != slow %q (%v)", fast, ferr, slow, serr)
		}
	})
}
