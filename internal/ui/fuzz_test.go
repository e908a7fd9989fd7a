package ui

import (
	"strings"
	"testing"
	"time"
)

// FuzzSessionParse: no cookie value panics the check, and none is taken
// but one the server issued.
func FuzzSessionParse(f *testing.F) {
	now := time.Unix(1_700_000_000, 0)
	s := newSessions("tok", func() time.Time { return now })
	// Issued by hand, so that every fuzzing process knows the same one.
	payload := "v1.1800000000.bm9uY2Vub25jZW5vbmNl"
	issued := payload + "." + s.mac(payload)
	if _, _, ok := s.parse(issued); !ok {
		f.Fatal("the hand-issued session is refused")
	}
	f.Add(issued)
	f.Add("v1.1800000000.AAAA.BBBB")
	f.Add("v1...")
	f.Add(strings.Repeat("v1.", 100))
	f.Fuzz(func(t *testing.T, v string) {
		if _, _, ok := s.parse(v); ok && v != issued {
			t.Errorf("took %q, which was not issued", v)
		}
	})
}

// FuzzSafeNext: whatever a login form says, the browser is sent to a path
// on this server.
func FuzzSafeNext(f *testing.F) {
	for _, p := range []string{"/workspaces/w", "//evil", "/\\evil", "https://evil", "/ws/w/#/x", "/a\nb"} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		got := safeNext(p)
		if got != "/" && got != p {
			t.Errorf("safeNext(%q) = %q", p, got)
		}
		if !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.ContainsAny(got, "\\\r\n\t") {
			t.Errorf("safeNext(%q) = %q leaves this server", p, got)
		}
	})
}
