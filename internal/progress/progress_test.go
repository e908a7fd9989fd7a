package progress

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

func TestBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 5 << 20: "5.0 MiB", 3 << 30: "3.0 GiB"} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestMeter(t *testing.T) {
	var out bytes.Buffer
	m := Reader(strings.NewReader(strings.Repeat("x", 3000)), &out, "Uploading code")
	if n, err := io.Copy(io.Discard, m); err != nil || n != 3000 {
		t.Fatalf("copy %d, %v", n, err)
	}
	m.Done()
	m.Done()
	if m.Count() != 3000 || !strings.Contains(out.String(), "Uploading code: 2.9 KiB in") || strings.Count(out.String(), "\n") != 1 {
		t.Errorf("meter drew %q", out.String())
	}
	silent := Reader(strings.NewReader("abc"), nil, "x")
	io.Copy(io.Discard, silent)
	silent.Done()
}
