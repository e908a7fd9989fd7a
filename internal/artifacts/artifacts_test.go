package artifacts

import (
	"errors"
	"path/filepath"
	"testing"
)

func TestPath(t *testing.T) {
	r := Root{Dir: "/root/art"}
	cases := []struct {
		ws, rel, want string
		bad           bool
	}{
		{"ws", "1/abc/artifacts/model.pkl", "/root/art/ws/1/abc/artifacts/model.pkl", false},
		{"ws", "/models/m/1", "/root/art/ws/models/m/1", false},
		{"ws", "", "/root/art/ws", false},
		{"ws", "dir/", "/root/art/ws/dir", false},
		{"ws", "../other/x", "", true},
		{"ws", "a/../../x", "", true},
		{"ws", "..", "", true},
		{"ws", "a//b", "", true},
		{"../x", "a", "", true},
		{"", "a", "", true},
		{"ws", "a\x00b", "", true},
	}
	for _, tc := range cases {
		got, err := r.Path(tc.ws, tc.rel)
		if tc.bad {
			if !errors.Is(err, ErrBadPath) {
				t.Errorf("Path(%q, %q) = %q, %v; want ErrBadPath", tc.ws, tc.rel, got, err)
			}
			continue
		}
		if err != nil || got != filepath.FromSlash(tc.want) {
			t.Errorf("Path(%q, %q) = %q, %v; want %q", tc.ws, tc.rel, got, err, tc.want)
		}
	}
}

func TestLocationRoundTrip(t *testing.T) {
	for _, rel := range []string{"models/m/1", "1/run/artifacts"} {
		got, err := Rel(Location(rel))
		if err != nil || got != rel {
			t.Errorf("Rel(Location(%q)) = %q, %v", rel, got, err)
		}
	}
	if _, err := Rel("s3://bucket/x"); !errors.Is(err, ErrBadPath) {
		t.Errorf("Rel of a foreign URI: %v", err)
	}
}
