package githost

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidName(t *testing.T) {
	t.Parallel()
	good := []string{"a", "churn", "Churn_2", "my.repo", "x-y", "0abc", "a..b", "x.git.y", strings.Repeat("a", 64)}
	bad := []string{
		"", ".", "..", ".hidden", "-x", "_x", "a/b", `a\b`, "a b", "x.git", "x.GIT", "x.git.git",
		"trailing.", "%2e%2e", "nul\x00", "é", "a:b", strings.Repeat("a", 65), "a\nb",
	}
	for _, s := range good {
		if err := ValidName(s); err != nil {
			t.Errorf("ValidName(%q) = %v, want nil", s, err)
		}
	}
	for _, s := range bad {
		if err := ValidName(s); !errors.Is(err, ErrBadName) {
			t.Errorf("ValidName(%q) = %v, want ErrBadName", s, err)
		}
	}
}

func FuzzValidName(f *testing.F) {
	for _, s := range []string{"a", "..", "a/b", "x.git", "%2e", "a\x00", "A.b-c_d"} {
		f.Add(s)
	}
	root := filepath.FromSlash("/srv/ciel/git")
	f.Fuzz(func(t *testing.T, s string) {
		if ValidName(s) != nil {
			return
		}
		if len(s) > MaxNameLen || strings.ContainsAny(s, "/\\\x00%") || s == "." || s == ".." ||
			strings.HasSuffix(strings.ToLower(s), ".git") {
			t.Fatalf("ValidName accepted %q", s)
		}
		p, err := joinInside(root, s, s+".git")
		if err != nil {
			t.Fatalf("joinInside(%q): %v", s, err)
		}
		if filepath.Dir(filepath.Dir(p)) != root || filepath.Base(p) != s+".git" {
			t.Fatalf("joinInside(%q) = %q, outside %q", s, p, root)
		}
	})
}

func TestJoinInside(t *testing.T) {
	t.Parallel()
	root := filepath.FromSlash("/r")
	tests := []struct {
		segs []string
		ok   bool
	}{
		{[]string{"ws", "a.git"}, true},
		{[]string{"ws"}, true},
		{[]string{"..", "a"}, false},
		{[]string{"ws", ".."}, false},
		{[]string{"ws/x", "a"}, false}, // three components
		{[]string{"", "a"}, false},
		{[]string{"."}, false},
		{[]string{"ws", "../../etc"}, false},
	}
	for _, tt := range tests {
		_, err := joinInside(root, tt.segs...)
		if (err == nil) != tt.ok {
			t.Errorf("joinInside(%q) err = %v, want ok=%v", tt.segs, err, tt.ok)
		}
	}
}

func TestParseGitPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		path, service string
		want          gitRequest // zero: rejected
	}{
		{"/ws/r.git/info/refs", "git-upload-pack", gitRequest{"ws", "r", svcAdvertise, "git-upload-pack"}},
		{"/ws/r/info/refs", "git-receive-pack", gitRequest{"ws", "r", svcAdvertise, "git-receive-pack"}},
		{"/ws/r.git/git-upload-pack", "", gitRequest{"ws", "r", svcUploadPack, "git-upload-pack"}},
		{"/ws/r.git/git-receive-pack", "x", gitRequest{"ws", "r", svcReceivePack, "git-receive-pack"}},
		{"/ws/r.git/info/refs", "", gitRequest{}},
		{"/ws/r.git/info/refs", "git-upload-archive", gitRequest{}},
		{"/ws/r.git/info/refs/", "git-upload-pack", gitRequest{}},
		{"/ws/r.git/HEAD", "", gitRequest{}},
		{"/ws/r.git/objects/info/packs", "", gitRequest{}},
		{"/ws/r.git/objects/12/3456", "", gitRequest{}},
		{"/ws/../../etc/info/refs", "git-upload-pack", gitRequest{}},
		{"/ws/%2e%2e/info/refs", "git-upload-pack", gitRequest{}},
		{"/ws/..%2f..%2fetc/info/refs", "git-upload-pack", gitRequest{}},
		{"/ws/r.git.git/info/refs", "git-upload-pack", gitRequest{}},
		{"/ws/.git/info/refs", "git-upload-pack", gitRequest{}},
		{"//ws/r.git/info/refs", "git-upload-pack", gitRequest{}},
		{"/ws//r.git/info/refs", "git-upload-pack", gitRequest{}},
		{"ws/r.git/info/refs", "git-upload-pack", gitRequest{}},
		{"/ws/r.git/git-upload-pack/x", "", gitRequest{}},
		{"/ws/a/b.git/git-upload-pack", "", gitRequest{}},
		{"/ws/r\x00.git/git-upload-pack", "", gitRequest{}},
		{`/ws/..\..\r.git/git-upload-pack`, "", gitRequest{}},
		{"/ws/r.git", "", gitRequest{}},
		{"/", "", gitRequest{}},
		{"", "", gitRequest{}},
	}
	for _, tt := range tests {
		got, err := parseGitPath(tt.path, tt.service)
		if tt.want == (gitRequest{}) {
			if err == nil {
				t.Errorf("parseGitPath(%q, %q) = %+v, want rejected", tt.path, tt.service, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseGitPath(%q, %q) = %+v, %v; want %+v", tt.path, tt.service, got, err, tt.want)
		}
	}
}

func FuzzParseGitPath(f *testing.F) {
	f.Add("/ws/r.git/info/refs", "git-upload-pack")
	f.Add("/ws/r/git-receive-pack", "")
	f.Add("/ws/../../etc/info/refs", "git-upload-pack")
	f.Add("/ws/%2e%2e/git-upload-pack", "")
	f.Add("/ws/r.git/objects/info/packs", "")
	f.Fuzz(func(t *testing.T, p, svc string) {
		req, err := parseGitPath(p, svc)
		if err != nil {
			if !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrBadName) {
				t.Fatalf("parseGitPath(%q) error %v wraps neither sentinel", p, err)
			}
			return
		}
		if ValidName(req.ws) != nil || ValidName(req.name) != nil {
			t.Fatalf("parseGitPath(%q) accepted bad names %q %q", p, req.ws, req.name)
		}
		if req.program != "git-upload-pack" && req.program != "git-receive-pack" {
			t.Fatalf("parseGitPath(%q) program %q", p, req.program)
		}
		if _, err := joinInside("/root", req.ws, req.name+".git"); err != nil {
			t.Fatalf("parseGitPath(%q) names escape: %v", p, err)
		}
		tail := "/" + req.program
		if req.svc == svcAdvertise {
			tail = "/info/refs"
		}
		again, err := parseGitPath("/"+req.ws+"/"+req.name+".git"+tail, req.program)
		if err != nil || again != req {
			t.Fatalf("round trip of %q: %+v, %v; want %+v", p, again, err, req)
		}
	})
}

func TestDiffRefs(t *testing.T) {
	t.Parallel()
	a, b, z := strings.Repeat("a", 40), strings.Repeat("b", 40), strings.Repeat("0", 40)
	tests := []struct {
		name          string
		before, after []refSHA
		want          []PushEvent
	}{
		{"none", nil, nil, nil},
		{"unchanged", []refSHA{{"refs/heads/main", a}}, []refSHA{{"refs/heads/main", a}}, nil},
		{"create", nil, []refSHA{{"refs/heads/main", a}}, []PushEvent{{Ref: "refs/heads/main", Old: z, New: a}}},
		{"move", []refSHA{{"refs/heads/main", a}}, []refSHA{{"refs/heads/main", b}}, []PushEvent{{Ref: "refs/heads/main", Old: a, New: b}}},
		{"delete", []refSHA{{"refs/heads/x", a}}, nil, []PushEvent{{Ref: "refs/heads/x", Old: a, New: z}}},
		{
			"mixed sorted",
			[]refSHA{{"refs/heads/a", a}, {"refs/heads/z", a}},
			[]refSHA{{"refs/heads/a", a}, {"refs/heads/m", b}},
			[]PushEvent{{Ref: "refs/heads/m", Old: z, New: b}, {Ref: "refs/heads/z", Old: a, New: z}},
		},
	}
	for _, tt := range tests {
		got := diffRefs(tt.before, tt.after)
		if len(got) != len(tt.want) {
			t.Errorf("%s: diffRefs = %+v, want %+v", tt.name, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%s: event %d = %+v, want %+v", tt.name, i, got[i], tt.want[i])
			}
		}
	}
}

func TestValidRev(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"main", "refs/heads/main", "HEAD", "v1.0", "feature/x-y", "abc123"} {
		if err := validRev(s); err != nil {
			t.Errorf("validRev(%q) = %v", s, err)
		}
	}
	for _, s := range []string{"", "-x", "--upload-pack=x", "main~1", "main^", ":/msg", "@{-1}", "a..b", "/x", "x/", "a//b", "a b", strings.Repeat("a", 257)} {
		if err := validRev(s); !errors.Is(err, ErrBadName) {
			t.Errorf("validRev(%q) = %v, want ErrBadName", s, err)
		}
	}
}
