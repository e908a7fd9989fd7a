package api

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestWorkspaceDeleteRunsCleanups checks the "on workspace delete" hook:
// cleanups run in order, before the records go (they can still read them),
// a failing one keeps the workspace so the delete can be retried, and the
// workspace's folders are removed once it is gone.
func TestWorkspaceDeleteRunsCleanups(t *testing.T) {
	t.Parallel()
	s, tb := setup(t)
	jobDir := filepath.Join(tb.home, "jobs", "ws", "done")
	artDir := filepath.Join(tb.home, "mlartifacts", "ws", "1")
	other := filepath.Join(tb.home, "jobs", "other")
	for _, d := range []string{jobDir, artDir, other} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	var ran []string
	fail := errors.New("schedule store is down")
	s.onWorkspaceDelete("first", func(ctx context.Context, ws string) error {
		if _, err := s.st.GetWorkspace(ctx, ws); err != nil {
			t.Errorf("cleanup ran after the records went: %v", err)
		}
		ran = append(ran, "first:"+ws)
		return nil
	})
	s.onWorkspaceDelete("schedules", func(ctx context.Context, ws string) error {
		ran = append(ran, "schedules:"+ws)
		return fail
	})
	_, code, err := call(t, s.deleteWorkspace, "DELETE", "/api/v1/workspaces/ws", "", "ws", "ws")
	if !errors.Is(err, fail) || code != http.StatusInternalServerError {
		t.Fatalf("a failing cleanup: err %v, status %d", err, code)
	}
	if _, err := s.st.GetWorkspace(t.Context(), "ws"); err != nil {
		t.Fatalf("a failing cleanup deleted the workspace: %v", err)
	}
	if _, err := os.Stat(jobDir); err != nil {
		t.Fatalf("a failing cleanup removed the files: %v", err)
	}

	s.wsCleanups[1].stop = func(context.Context, string) error { ran = append(ran, "schedules:retry"); return nil }
	if _, code, err := call(t, s.deleteWorkspace, "DELETE", "/api/v1/workspaces/ws", "", "ws", "ws"); err != nil {
		t.Fatalf("retry: %v (%d)", err, code)
	}
	if want := []string{"first:ws", "schedules:ws", "first:ws", "schedules:retry"}; !slices.Equal(ran, want) {
		t.Errorf("cleanups ran %q, want %q", ran, want)
	}
	for _, d := range []string{filepath.Dir(jobDir), filepath.Dir(artDir)} {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s still there (%v)", d, err)
		}
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("another workspace's folder went too: %v", err)
	}
	if _, code, err := call(t, s.deleteWorkspace, "DELETE", "/api/v1/workspaces/ws", "", "ws", "ws"); code != http.StatusNotFound {
		t.Errorf("second delete: %v (%d), want 404", err, code)
	}
}

func TestWorkspaceDirsStayInside(t *testing.T) {
	t.Parallel()
	s := &server{cfg: Config{Home: t.TempDir()}}
	for _, ws := range []string{"..", "../x", "a/b", "", "/etc"} {
		if dirs, err := s.workspaceDirs(ws); err == nil {
			t.Errorf("workspaceDirs(%q) = %q, want an error", ws, dirs)
		}
	}
}
