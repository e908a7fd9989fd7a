package spec

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

func TestNameRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s                  string
		name, port, stepOK bool
	}{
		{"train", true, true, true},
		{"my_job-1.2", true, false, false},
		{"_private", false, true, true},
		{"data-prep", true, true, true},
		{"1st", true, false, false},
		{"fit/inner", false, false, true},
		{"", false, false, false},
		{".", false, false, false},
		{"..", false, false, false},
		{"...", false, false, false},
		{"../../../../etc", false, false, false},
		{"/etc", false, false, false},
		{"a/../b", false, false, false},
		{"a\x00", false, false, false},
		{"a\nb", false, false, false},
		{`a\b`, false, false, false},
		{"a b", false, false, false},
		{strings.Repeat("a", 255), true, true, true},
		{strings.Repeat("a", 256), false, false, false},
	}
	for _, tt := range tests {
		if got := CheckName("name", tt.s) == nil; got != tt.name {
			t.Errorf("CheckName(%q) ok = %v, want %v", tt.s, got, tt.name)
		}
		if got := IsPortName(tt.s); got != tt.port {
			t.Errorf("IsPortName(%q) = %v, want %v", tt.s, got, tt.port)
		}
		if got := IsStepPath(tt.s); got != tt.stepOK {
			t.Errorf("IsStepPath(%q) = %v, want %v", tt.s, got, tt.stepOK)
		}
	}
}

// staysInside reports whether joining name under base names something
// strictly inside base.
func staysInside(base, name string) bool {
	rel, err := filepath.Rel(base, filepath.Join(base, name))
	return err == nil && rel != "." && filepath.IsLocal(rel) && filepath.IsLocal(name)
}

// FuzzNameRules checks that every name a rule accepts, joined under a
// folder as the server joins job, step, input and output names, stays
// inside that folder, and that names other than step paths are one segment.
func FuzzNameRules(f *testing.F) {
	for _, s := range []string{"train", "a/b", "..", "../x", "/", "a\x00", "my.model", "a/./b", "-x", "_"} {
		f.Add(s)
	}
	const base = "/home/u/.ciel/jobs/ws/job"
	f.Fuzz(func(t *testing.T, s string) {
		oneSegment := func(rule string) {
			if !staysInside(base, s) || strings.ContainsAny(s, `/\`) || hasControl(s) {
				t.Fatalf("%s accepts %q, which is not one plain path segment", rule, s)
			}
		}
		if CheckName("name", s) == nil {
			oneSegment("CheckName")
		}
		if IsPortName(s) {
			oneSegment("IsPortName")
		}
		if IsStepPath(s) && (!staysInside(base, s) || filepath.Clean(s) != s || hasControl(s)) {
			t.Fatalf("IsStepPath accepts %q, which leaves %s or is not clean", s, base)
		}
	})
}

// FuzzCheckSubmittedJob checks that a job the API accepts names only
// inputs, outputs and steps that stay inside the folders the engine joins
// them under, and no path on the server's disk.
func FuzzCheckSubmittedJob(f *testing.F) {
	f.Add([]byte(`{"type":"command","command":"echo","outputs":{"../../../../etc":{}}}`))
	f.Add([]byte(`{"type":"pipeline","jobs":{"a":{"command":"echo","inputs":{"x":{"path":"/etc"}}}}}`))
	f.Add([]byte(`{"type":"pipeline","jobs":{"a":{"component":{"inline":{"command":"echo","outputs":{"o":{}}}}}}}`))
	f.Add([]byte(`{"code":"blob:sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}`))
	const base = "/home/u/.ciel/jobs/ws/job"
	f.Fuzz(func(t *testing.T, data []byte) {
		var j Job
		if json.Unmarshal(data, &j) != nil || CheckSubmittedJob(&j) != nil {
			return
		}
		walkSubmitted(t, base, &j)
	})
}

// walkSubmitted fails t for any name of j that leaves dir when joined under
// it, or any path on the server's disk.
func walkSubmitted(t *testing.T, dir string, j *Job) {
	t.Helper()
	if j == nil {
		return
	}
	if j.Code != uploaded(j.Code) || strings.HasPrefix(j.Code, "file:") {
		t.Fatalf("accepted code %q, a path on the server", j.Code)
	}
	for name, in := range j.Inputs {
		if !staysInside(dir, name) || (in != nil && in.Path != uploaded(in.Path)) {
			t.Fatalf("accepted input %q (%+v)", name, in)
		}
	}
	for name := range j.Outputs {
		if !staysInside(dir, name) {
			t.Fatalf("accepted output %q", name)
		}
	}
	if j.Component != nil && j.Component.Inline != nil {
		c := j.Component.Inline
		for name := range c.Outputs {
			if !staysInside(dir, name) {
				t.Fatalf("accepted component output %q", name)
			}
		}
		for name, s := range c.Jobs {
			if !staysInside(dir, name) {
				t.Fatalf("accepted step %q", name)
			}
			walkSubmitted(t, filepath.Join(dir, name), s)
		}
	}
	for name, s := range j.Jobs {
		if !staysInside(dir, name) {
			t.Fatalf("accepted step %q", name)
		}
		walkSubmitted(t, filepath.Join(dir, name), s)
	}
}
