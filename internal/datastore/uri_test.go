package datastore

import (
	"errors"
	"strings"
	"testing"
)

func TestParseURI(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		want URI
		err  string
	}{
		{in: "azureml://datastores/lake/paths/sub/file.csv", want: URI{Kind: KindDatastore, Datastore: "lake", Path: "sub/file.csv"}},
		{in: "azureml://datastores/lake/paths/sub/", want: URI{Kind: KindDatastore, Datastore: "lake", Path: "sub"}},
		{in: "azureml://datastores/lake/paths/", want: URI{Kind: KindDatastore, Datastore: "lake"}},
		{in: "azureml://datastores/lake/paths", want: URI{Kind: KindDatastore, Datastore: "lake"}},
		{in: "azureml://subscriptions/s/resourcegroups/rg/workspaces/ws/datastores/lake/paths/a/b.csv",
			want: URI{Kind: KindDatastore, Workspace: "ws", Datastore: "lake", Path: "a/b.csv"}},
		{in: "azureml://subscriptions/s/resourceGroups/rg/workspaces/ws/datastores/lake/paths/",
			want: URI{Kind: KindDatastore, Workspace: "ws", Datastore: "lake"}},
		{in: "azureml://jobs/quirky_lamp_1/outputs/model", want: URI{Kind: KindJobOutput, Job: "quirky_lamp_1", Output: "model"}},
		{in: "azureml://jobs/j/outputs/model/", want: URI{Kind: KindJobOutput, Job: "j", Output: "model"}},
		{in: "azureml://jobs/j/outputs/train.model/paths/a/b.pkl", want: URI{Kind: KindJobOutput, Job: "j", Output: "train.model", Path: "a/b.pkl"}},
		{in: "https://example.com/data/iris.csv?v=1", want: URI{Kind: KindURL, URL: "https://example.com/data/iris.csv?v=1"}},
		{in: "http://127.0.0.1:8080/x", want: URI{Kind: KindURL, URL: "http://127.0.0.1:8080/x"}},

		{in: "azureml://datastores/lake/paths/../etc/passwd", err: "'..'"},
		{in: "azureml://datastores/lake/paths/a/../../b", err: "'..'"},
		{in: "azureml://datastores/lake/paths/./a", err: "'.'"},
		{in: "azureml://datastores/lake/paths//etc/passwd", err: "absolute"},
		{in: "azureml://datastores/lake/paths/a//b", err: "empty segment"},
		{in: `azureml://datastores/lake/paths/a\..\b`, err: `'\'`},
		{in: "azureml://datastores/lake/paths/a\x00b", err: "control"},
		{in: "azureml://datastores/lake/paths/a\nb", err: "control"},
		{in: "azureml://datastores/../paths/a", err: "datastore name"},
		{in: "azureml://datastores/a/b/paths/c", err: "datastore name"},
		{in: "azureml://datastores/lake", err: "expected azureml://datastores"},
		{in: "azureml://datastores/lake/files/a", err: "expected azureml://datastores"},
		{in: "azureml://subscriptions/s/resourcegroups/rg/workspaces/ws/computes/c", err: "expected azureml://subscriptions"},
		{in: "azureml://subscriptions/s/resourcegroups/rg/workspaces/../datastores/d/paths/a", err: "workspace name"},
		{in: "azureml://jobs/j", err: "expected azureml://jobs"},
		{in: "azureml://jobs/../outputs/o", err: "job name"},
		{in: "azureml://jobs/j/outputs/a/b", err: "output name"},
		{in: "azureml://jobs/j/outputs/o/paths/../x", err: "'..'"},
		{in: "ftp://example.com/x", err: "expected azureml://"},
		{in: "https:///x", err: "expected http(s)://<host>"},
		{in: "https://example.com/\x7f", err: "control"},
		{in: "azureml:iris:1", err: "expected azureml://"},
		{in: "azureml://datastores/lake/paths/" + strings.Repeat("a/", 600), err: "longer than"},
	} {
		got, err := ParseURI(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || !errors.Is(err, ErrBadURI) {
				t.Errorf("ParseURI(%q) = %+v, %v; want an ErrBadURI saying %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParseURI(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
}

func TestCleanPathRefusalsAreEscapes(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"..", "../x", "a/..", "/abs", "a//b", `a\b`, "a/./b", "\x00"} {
		if _, err := CleanPath(p); !errors.Is(err, ErrEscape) {
			t.Errorf("CleanPath(%q) = %v; want ErrEscape", p, err)
		}
	}
	for p, want := range map[string]string{"": "", "a": "a", "a/b/": "a/b", "a b/c%2e%2e": "a b/c%2e%2e", "..a/b..": "..a/b.."} {
		if got, err := CleanPath(p); err != nil || got != want {
			t.Errorf("CleanPath(%q) = %q, %v; want %q", p, got, err, want)
		}
	}
}

// FuzzParseURI checks the parser never panics, and that what it accepts
// is safe: a datastore or job path is relative, without "." or ".."
// segments, and parses back to itself.
func FuzzParseURI(f *testing.F) {
	for _, s := range []string{
		"azureml://datastores/lake/paths/sub/file.csv", "azureml://jobs/j/outputs/o/paths/a/b",
		"azureml://subscriptions/s/resourcegroups/rg/workspaces/ws/datastores/d/paths/x",
		"https://example.com/a.csv", "azureml://datastores/lake/paths/../x", "http://[::1]:80/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseURI(s)
		if err != nil {
			if !errors.Is(err, ErrBadURI) {
				t.Fatalf("ParseURI(%q): error %v does not wrap ErrBadURI", s, err)
			}
			return
		}
		switch u.Kind {
		case KindDatastore, KindJobOutput:
			if strings.HasPrefix(u.Path, "/") || strings.Contains(u.Path, "\\") {
				t.Fatalf("ParseURI(%q): unsafe path %q", s, u.Path)
			}
			for _, seg := range strings.Split(u.Path, "/") {
				if seg == "." || seg == ".." || (seg == "" && u.Path != "") {
					t.Fatalf("ParseURI(%q): unsafe path %q", s, u.Path)
				}
			}
			back, err := ParseURI(u.String())
			if err != nil || back.Path != u.Path || back.Datastore != u.Datastore || back.Job != u.Job || back.Output != u.Output {
				t.Fatalf("ParseURI(%q) = %+v, but its String %q parses to %+v, %v", s, u, u.String(), back, err)
			}
		case KindURL:
			if !IsDataURI(u.URL) {
				t.Fatalf("ParseURI(%q): URL %q is not a data URI", s, u.URL)
			}
		default:
			t.Fatalf("ParseURI(%q): kind %q", s, u.Kind)
		}
	})
}
