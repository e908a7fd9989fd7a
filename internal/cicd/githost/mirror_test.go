package githost_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ciel-mlops/ciel/internal/cicd/githost"
)

func TestValidateRemoteURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url string
		ok  bool
	}{
		{"/srv/git/app.git", true},
		{"file:///srv/git/app.git", true},
		{"https://github.com/org/app.git", true},
		{"https://user:ghp_secret@github.com/org/app.git", true},
		{"http://git.local:8080/app", true},
		{"ssh://git@github.com/org/app.git", true},
		{"git://git.local/app.git", true},
		{"", false},
		{"ext::sh -c touch% /tmp/pwned", false},
		{"ext::sh", false},
		{"fd::17", false},
		{"transport::something", false},
		{"-oProxyCommand=touch /tmp/pwned", false},
		{"--upload-pack=touch /tmp/x", false},
		{"file:///srv/../etc/app", false},
		{"/srv/git/../../etc", false},
		{"file://otherhost/srv/app", false},
		{"relative/path", false},
		{"./app", false},
		{"../app", false},
		{"git@github.com:org/app.git", false},
		{"ftp://host/app", false},
		{"https:///no-host", false},
		{"ssh://-oProxyCommand=x/app", false},
		{"ssh://-user@host/app", false},
		{"ssh://git:pass@host/app", false},
		{"https://host/app?x=1", false},
		{"https://host/a pp", false},
		{"https://host/app\n", false},
	}
	for _, tt := range tests {
		err := githost.ValidateRemoteURL(tt.url)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateRemoteURL(%q) = %v, want ok %v", tt.url, err, tt.ok)
		}
		if err != nil && !errors.Is(err, githost.ErrBadURL) {
			t.Errorf("ValidateRemoteURL(%q) = %v, want ErrBadURL", tt.url, err)
		}
		if err != nil && strings.Contains(err.Error(), "pass@") {
			t.Errorf("ValidateRemoteURL(%q) error repeats the password: %v", tt.url, err)
		}
	}
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"https://user:ghp_secret@github.com/org/app.git", "https://***@github.com/org/app.git"},
		{"https://ghp_token@github.com/org/app.git", "https://***@github.com/org/app.git"},
		{"http://u:p@h/app", "http://***@h/app"},
		{"ssh://git@github.com/org/app.git", "ssh://git@github.com/org/app.git"},
		{"ssh://git:pw@github.com/app", "ssh://git:***@github.com/app"},
		{"/srv/git/app.git", "/srv/git/app.git"},
		{"https://github.com/org/app.git", "https://github.com/org/app.git"},
	}
	for _, tt := range tests {
		if got := githost.RedactURL(tt.in); got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// external makes a bare repository outside the host and a working copy
// that pushes to it, with one commit on main.
func external(t *testing.T) (bare, work string) {
	t.Helper()
	root := t.TempDir()
	bare, work = filepath.Join(root, "ext.git"), filepath.Join(root, "work")
	gitClient(t, root, "init", "-q", "--bare", bare)
	gitClient(t, root, "init", "-q", "-b", "main", work)
	writeFile(t, filepath.Join(work, "a.txt"), "1")
	gitClient(t, work, "add", ".")
	gitClient(t, work, "commit", "-qm", "one")
	gitClient(t, work, "push", "-q", bare, "main")
	return bare, work
}

func TestMirrorAndFetch(t *testing.T) {
	t.Parallel()
	h, _ := setup(t, nil)
	ctx := t.Context()
	bare, work := external(t)
	repo, err := h.Mirror(ctx, "ws", "ext", bare)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Mirror(ctx, "ws", "ext", bare); !errors.Is(err, githost.ErrExists) {
		t.Errorf("second Mirror = %v, want ErrExists", err)
	}
	if _, err := os.Stat(filepath.Join(repo.Dir, "hooks")); err == nil {
		t.Error("the mirror has a hooks folder; want none (--template=)")
	}
	main1 := gitClient(t, work, "rev-parse", "HEAD")
	if got, err := h.Resolve(ctx, "ws", "ext", "main"); err != nil || got != main1 {
		t.Fatalf("Resolve(main) = %q, %v; want %s", got, err, main1)
	}
	zero := strings.Repeat("0", 40)

	steps := []struct {
		name   string
		change func() // on the external repository
		want   func() []githost.PushEvent
	}{
		{"nothing changed", func() {}, func() []githost.PushEvent { return nil }},
		{"branch moved", func() {
			writeFile(t, filepath.Join(work, "a.txt"), "2")
			gitClient(t, work, "commit", "-qam", "two")
			gitClient(t, work, "push", "-q", bare, "main")
		}, func() []githost.PushEvent {
			return []githost.PushEvent{{Ref: "refs/heads/main", Old: main1, New: gitClient(t, work, "rev-parse", "HEAD")}}
		}},
		{"nothing changed again", func() {}, func() []githost.PushEvent { return nil }},
		{"branch created", func() { gitClient(t, work, "push", "-q", bare, "main:feature") }, func() []githost.PushEvent {
			return []githost.PushEvent{{Ref: "refs/heads/feature", Old: zero, New: gitClient(t, work, "rev-parse", "HEAD")}}
		}},
		{"branch deleted", func() { gitClient(t, work, "push", "-q", bare, ":feature") }, func() []githost.PushEvent {
			return []githost.PushEvent{{Ref: "refs/heads/feature", Old: gitClient(t, work, "rev-parse", "HEAD"), New: zero}}
		}},
	}
	for _, st := range steps {
		st.change()
		evs, err := h.Fetch(ctx, "ws", "ext")
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		want := st.want()
		if len(evs) != len(want) {
			t.Fatalf("%s: events = %+v, want %+v", st.name, evs, want)
		}
		for i, ev := range evs {
			if ev.Workspace != "ws" || ev.Repo != "ext" || ev.Ref != want[i].Ref || ev.Old != want[i].Old || ev.New != want[i].New {
				t.Errorf("%s: event %d = %+v, want %+v", st.name, i, ev, want[i])
			}
		}
	}
}

func TestMirrorRefusals(t *testing.T) {
	t.Parallel()
	h, b := setup(t, nil)
	ctx := t.Context()
	marker := filepath.Join(b.dir, "pwned")
	for _, u := range []string{"ext::sh -c touch% " + marker, "-u" + marker, "relative", "file:///x/../y"} {
		if _, err := h.Mirror(ctx, "ws", "bad", u); !errors.Is(err, githost.ErrBadURL) {
			t.Errorf("Mirror(%q) = %v, want ErrBadURL", u, err)
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a refused URL ran a command")
	}
	// A clone that fails leaves nothing and keeps the password out.
	_, err := h.Mirror(ctx, "ws", "gone", "http://user:s3cretpassword@127.0.0.1:1/none.git")
	if err == nil || strings.Contains(err.Error(), "s3cretpassword") {
		t.Errorf("Mirror of an unreachable URL = %v; want an error without the password", err)
	}
	if _, err := h.Get(ctx, "ws", "gone"); !errors.Is(err, githost.ErrNotFound) {
		t.Errorf("a failed mirror left a repository: %v", err)
	}
	// A hosted repository is not a mirror.
	if _, err := h.Create(ctx, "ws", "plain"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Fetch(ctx, "ws", "plain"); !errors.Is(err, githost.ErrBadURL) {
		t.Errorf("Fetch of a hosted repository = %v, want ErrBadURL", err)
	}
}
