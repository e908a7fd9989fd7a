package kube

import (
	"errors"
	"strings"
	"testing"
	"testing/iotest"
)

// copyAfter appends what a lagging log stream had not copied yet: the log
// read again, less the bytes already there.
func TestCopyAfter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, log string
		skip      int64
		want      string
	}{
		{"nothing copied yet", "rank 0\nrank 1\n", 0, "rank 0\nrank 1\n"},
		{"the tail", "rank 0\nrank 1\n", 7, "rank 1\n"},
		{"all copied", "rank 0\n", 7, ""},
		{"log shorter than copied", "rank 0\n", 100, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got strings.Builder
			if err := copyAfter(&got, strings.NewReader(tt.log), tt.skip); err != nil || got.String() != tt.want {
				t.Errorf("copyAfter(%q, %d) = %q, %v; want %q", tt.log, tt.skip, got.String(), err, tt.want)
			}
		})
	}
	broken := errors.New("connection reset")
	if err := copyAfter(&strings.Builder{}, iotest.ErrReader(broken), 3); !errors.Is(err, broken) {
		t.Errorf("a broken read: %v, want %v", err, broken)
	}
}
