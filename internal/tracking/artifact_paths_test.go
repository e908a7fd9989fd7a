package tracking

import (
	"path"
	"strings"
	"testing"
)

func TestArtifactPathRules(t *testing.T) {
	t.Parallel()
	cases := []struct {
		raw             string
		file, del, list bool   // accepted by fileRel, deleteRel, cleanRel
		clean           string // what each gives when it accepts
	}{
		{"0/r/artifacts/model.pkl", true, true, true, "0/r/artifacts/model.pkl"},
		{"0//r/./artifacts/", true, true, true, "0/r/artifacts"},
		{"0/r/artifacts", true, true, true, "0/r/artifacts"},
		{"0/models/m-1/artifacts", true, true, true, "0/models/m-1/artifacts"},
		{"0/r", true, false, true, "0/r"},
		{"models/m", true, false, true, "models/m"},
		{"0", true, false, true, "0"},
		{"", false, false, true, ""},
		{".", false, false, true, ""},
		{"/", false, false, true, ""},
		{"./.", false, false, true, ""},
		{"..", false, false, false, ""},
		{"../..", false, false, false, ""},
		{"0/../..", false, false, false, ""},
		{"0/r/../r2/artifacts", false, false, false, ""},
		{"a\x00b/c/d", false, false, false, ""},
		{".mpu/abc/1", false, true, true, ".mpu/abc/1"},
		{"0/r/artifacts/.x.tmp-0123456789ab", false, true, true, "0/r/artifacts/.x.tmp-0123456789ab"},
		{"0/r/artifacts/.x.tmp-later", true, true, true, "0/r/artifacts/.x.tmp-later"},
	}
	for _, tc := range cases {
		got, err := fileRel(tc.raw)
		if (err == nil) != tc.file || err == nil && got != tc.clean {
			t.Errorf("fileRel(%q) = %q, %v; want accepted=%v", tc.raw, got, err, tc.file)
		}
		got, err = deleteRel(tc.raw)
		if (err == nil) != tc.del || err == nil && got != tc.clean {
			t.Errorf("deleteRel(%q) = %q, %v; want accepted=%v", tc.raw, got, err, tc.del)
		}
		got, err = cleanRel(tc.raw)
		if (err == nil) != tc.list || err == nil && got != tc.clean {
			t.Errorf("cleanRel(%q) = %q, %v; want accepted=%v", tc.raw, got, err, tc.list)
		}
		if err != nil && asError(err, "").Code != CodeInvalidParameterValue {
			t.Errorf("cleanRel(%q): %v is not INVALID_PARAMETER_VALUE", tc.raw, err)
		}
	}
}

// FuzzArtifactPath checks the proxy's path rules hold for any path: what
// is accepted never climbs out, a file is never the root, a deletion is
// never shallower than a run's artifacts, and a path below a root stays
// below it.
func FuzzArtifactPath(f *testing.F) {
	for _, s := range []string{"", ".", "%2e", "..", "../..", "0/r/artifacts/x", "0//r/./a/", "a\x00", ".mpu/x", "..\\x", "0/r/artifacts/../../.."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		root := "1/run/artifacts"
		rel, clean, err := subRel(root, raw)
		if err == nil && rel != root && !strings.HasPrefix(rel, root+"/") {
			t.Fatalf("subRel(%q, %q) = %q leaves the root", root, raw, rel)
		}
		if err == nil && path.Join(root, clean) != rel {
			t.Fatalf("subRel(%q, %q) = %q, %q", root, raw, rel, clean)
		}
		checks := map[string]func(string) (string, error){"fileRel": fileRel, "deleteRel": deleteRel, "cleanRel": cleanRel}
		for name, check := range checks {
			got, err := check(raw)
			if err != nil {
				if asError(err, "").Code != CodeInvalidParameterValue {
					t.Fatalf("%s(%q): %v, not INVALID_PARAMETER_VALUE", name, raw, err)
				}
				continue
			}
			if got != path.Clean("/" + got)[1:] || strings.Contains(got, "\x00") {
				t.Fatalf("%s(%q) = %q, not clean", name, raw, got)
			}
			for el := range strings.SplitSeq(got, "/") {
				if el == ".." {
					t.Fatalf("%s(%q) = %q climbs", name, raw, got)
				}
			}
			switch {
			case name == "fileRel" && (got == "" || hiddenRel(got)):
				t.Fatalf("fileRel(%q) = %q: the root or a temporary file", raw, got)
			case name == "deleteRel" && strings.Count(got, "/") < minDeleteDepth-1:
				t.Fatalf("deleteRel(%q) = %q: shallower than a run's artifacts", raw, got)
			}
		}
	})
}
