package artifacts

import (
	"errors"
	"path/filepath"
	"strings"
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
		{"ws", "a//b/./c/", "/root/art/ws/a/b/c", false},
		{"ws", ".", "/root/art/ws", false},
		{"ws", "a/../b", "", true},
		{"ws", "/../x", "", true},
		{"../x", "a", "", true},
		{".tmp", "a", "", true},
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

func TestTempDirOutsideEveryWorkspace(t *testing.T) {
	r := Root{Dir: "/root/art/"}
	tmp := r.TempDir()
	if tmp != filepath.FromSlash("/root/art.tmp") {
		t.Errorf("TempDir() = %q", tmp)
	}
	if _, err := r.Path(".tmp", ""); err == nil {
		t.Error("a workspace named .tmp reaches a hidden folder")
	}
}

// FuzzClean checks that no path Clean accepts leaves the root, and that
// Path joins exactly what Clean gives.
func FuzzClean(f *testing.F) {
	for _, s := range []string{"", ".", "..", "%2e", "a/../..", "/..", "a//b", "./a/./b/", "a\x00", "..\\x", "...", "a/..b"} {
		f.Add(s)
	}
	root := Root{Dir: "/srv/art"}
	f.Fuzz(func(t *testing.T, rel string) {
		clean, err := Clean(rel)
		if err != nil {
			if !errors.Is(err, ErrBadPath) {
				t.Fatalf("Clean(%q): %v, not ErrBadPath", rel, err)
			}
			return
		}
		if strings.HasPrefix(clean, "/") || strings.HasSuffix(clean, "/") || clean == "." || strings.Contains(clean, "//") {
			t.Fatalf("Clean(%q) = %q, not canonical", rel, clean)
		}
		for el := range strings.SplitSeq(clean, "/") {
			if el == ".." || el == "." || (el == "" && clean != "") {
				t.Fatalf("Clean(%q) = %q holds %q", rel, clean, el)
			}
		}
		again, err := Clean(clean)
		if err != nil || again != clean {
			t.Fatalf("Clean(Clean(%q)) = %q, %v", rel, again, err)
		}
		p, err := root.Path("ws", rel)
		if err != nil {
			t.Fatalf("Path(ws, %q): %v after Clean accepted it", rel, err)
		}
		ws := filepath.FromSlash("/srv/art/ws")
		if p != ws && !strings.HasPrefix(p, ws+string(filepath.Separator)) {
			t.Fatalf("Path(ws, %q) = %q leaves %s", rel, p, ws)
		}
		if (clean == "") != (p == ws) {
			t.Fatalf("Path(ws, %q) = %q but Clean gives %q", rel, p, clean)
		}
	})
}
