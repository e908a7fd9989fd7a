package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ciel-mlops/ciel/internal/api"
)

// runWithExe runs the CLI as tb.run does, with Executable set.
func (tb *testBundle) runWithExe(t *testing.T, exe string, args ...string) result {
	t.Helper()
	var out, errOut strings.Builder
	root := NewRoot(Config{Args: args, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut, Executable: exe,
		Getenv: func(k string) string { return tb.env[k] }})
	err := root.ExecuteContext(t.Context())
	return result{stdout: out.String(), stderr: errOut.String(), code: ExitCode(err), err: err}
}

func TestInstallService(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	user := t.TempDir()
	tb.env["HOME"] = user
	r := tb.runWithExe(t, "/opt/ciel/bin/ciel", "server", "install-service")
	if r.code != 0 {
		t.Fatalf("install-service: %v", r.err)
	}
	path := filepath.Join(user, ".config", "systemd", "user", "ciel.service")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("unit not written: %v", err)
	}
	unit := string(raw)
	for _, want := range []string{
		"\nExecStart=/opt/ciel/bin/ciel server run --addr " + api.DefaultAddr + "\n",
		"\nEnvironment=CIEL_HOME=" + tb.home + "\n",
		"\nRestart=on-failure\n",
		"\n[Install]\nWantedBy=default.target\n",
	} {
		if !strings.Contains(unit, want) {
			t.Errorf("unit lacks %q:\n%s", want, unit)
		}
	}
	for _, want := range []string{"Wrote " + path, unit, "systemctl --user enable --now ciel.service", "loginctl enable-linger"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}

	// --print writes nothing; the address the home remembers is pinned;
	// XDG_CONFIG_HOME is honoured.
	if err := os.WriteFile(filepath.Join(tb.home, "address.json"), []byte(`{"addr":"127.0.0.1:7999"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	xdg := t.TempDir()
	tb.env["XDG_CONFIG_HOME"] = xdg
	r = tb.runWithExe(t, "/opt/ciel/bin/ciel", "server", "install-service", "--print")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "[Unit]\n") || !strings.Contains(r.stdout, "--addr 127.0.0.1:7999\n") {
		t.Errorf("--print (%v):\n%s", r.err, r.stdout)
	}
	if _, err := os.Stat(filepath.Join(xdg, "systemd")); !os.IsNotExist(err) {
		t.Errorf("--print wrote a file: %v", err)
	}
	r = tb.runWithExe(t, "/opt/ciel/bin/ciel", "server", "install-service", "--unit-name", "ciel-team", "--addr", "127.0.0.1:7400")
	if raw, err := os.ReadFile(filepath.Join(xdg, "systemd", "user", "ciel-team.service")); r.code != 0 || err != nil ||
		!strings.Contains(string(raw), "--addr 127.0.0.1:7400\n") {
		t.Errorf("--unit-name/--addr under XDG_CONFIG_HOME: %v, %v\n%s", r.err, err, raw)
	}
}

func TestInstallServiceRefuses(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	tb.env["HOME"] = t.TempDir()
	for _, args := range [][]string{
		{"--unit-name", "../evil"},
		{"--unit-name", ""},
		{"--addr", "nocolon"},
	} {
		r := tb.runWithExe(t, "/opt/ciel", append([]string{"server", "install-service"}, args...)...)
		if r.code != ExitUsage {
			t.Errorf("%q: exit %d (%v), want %d", args, r.code, r.err, ExitUsage)
		}
	}
}

func TestServiceUnitQuoting(t *testing.T) {
	t.Parallel()
	u := serviceUnit{Executable: "/opt/my apps/ciel", Home: "/data/100% \"ml\"/$HOME", Addr: "127.0.0.1:7311"}
	text := u.text()
	for _, want := range []string{
		`ExecStart="/opt/my apps/ciel" server run --addr 127.0.0.1:7311`,
		`Environment="CIEL_HOME=/data/100%% \"ml\"/$$HOME"`,
		`Description=ciel MLOps server (CIEL_HOME=/data/100%% "ml"/$HOME)`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("unit lacks %s:\n%s", want, text)
		}
	}
}

// TestInstallServiceBlobKeys: the blob store's keys reach the unit through
// a private EnvironmentFile, never the unit, its command line or the
// output; without keys a stale file goes.
func TestInstallServiceBlobKeys(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	user := t.TempDir()
	tb.env["HOME"] = user
	tb.env["AWS_ACCESS_KEY_ID"] = "AKIDEXAMPLE"
	tb.env["AWS_SECRET_ACCESS_KEY"] = `se"cr\et+/key`
	blob := "s3://team-bucket?endpoint=http://10.0.0.5:9000&prefix=ciel&region=us-east-1"
	r := tb.runWithExe(t, "/opt/ciel/bin/ciel", "server", "install-service", "--blob", blob)
	if r.code != 0 {
		t.Fatalf("install-service: %v\n%s", r.err, r.stderr)
	}
	envPath := filepath.Join(tb.home, "ciel.env")
	raw, err := os.ReadFile(filepath.Join(user, ".config", "systemd", "user", "ciel.service"))
	if err != nil {
		t.Fatal(err)
	}
	unit := string(raw)
	for _, want := range []string{
		"\nEnvironmentFile=" + envPath + "\n",
		" --blob s3://team-bucket?endpoint=http%%3A%%2F%%2F10.0.0.5%%3A9000&prefix=ciel&region=us-east-1\n",
	} {
		if !strings.Contains(unit, want) {
			t.Errorf("unit lacks %q:\n%s", want, unit)
		}
	}
	for _, where := range map[string]string{"unit": unit, "stdout": r.stdout, "stderr": r.stderr} {
		if strings.Contains(where, "AKIDEXAMPLE") || strings.Contains(where, "cr\\et") {
			t.Errorf("a key leaked:\n%s", where)
		}
	}
	fi, err := os.Stat(envPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("env file mode %v, want 0600", fi.Mode().Perm())
	}
	env, _ := os.ReadFile(envPath)
	if want := "AWS_ACCESS_KEY_ID=\"AKIDEXAMPLE\"\nAWS_SECRET_ACCESS_KEY=\"se\\\"cr\\\\et+/key\"\n"; string(env) != want {
		t.Errorf("env file:\n%s\nwant:\n%s", env, want)
	}

	// --print shows where the keys go and writes nothing.
	if err := os.Remove(envPath); err != nil {
		t.Fatal(err)
	}
	r = tb.runWithExe(t, "/opt/ciel/bin/ciel", "server", "install-service", "--blob", blob, "--print")
	if r.code != 0 || !strings.Contains(r.stdout, "EnvironmentFile="+envPath) || strings.Contains(r.stdout, "AKIDEXAMPLE") {
		t.Errorf("--print (%v):\n%s", r.err, r.stdout)
	}
	if _, err := os.Stat(envPath); !os.IsNotExist(err) {
		t.Errorf("--print wrote the keys: %v", err)
	}

	// Without keys (anonymous) the unit has no EnvironmentFile and an old
	// one is removed; a URL with keys in it is refused.
	if err := os.WriteFile(envPath, []byte("AWS_ACCESS_KEY_ID=old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	delete(tb.env, "AWS_ACCESS_KEY_ID")
	delete(tb.env, "AWS_SECRET_ACCESS_KEY")
	r = tb.runWithExe(t, "/opt/ciel/bin/ciel", "server", "install-service", "--blob", blob)
	raw, _ = os.ReadFile(filepath.Join(user, ".config", "systemd", "user", "ciel.service"))
	if r.code != 0 || strings.Contains(string(raw), "EnvironmentFile") {
		t.Errorf("anonymous (%v):\n%s", r.err, raw)
	}
	if _, err := os.Stat(envPath); !os.IsNotExist(err) {
		t.Errorf("the stale keys file stayed: %v", err)
	}
	r = tb.runWithExe(t, "/opt/ciel/bin/ciel", "server", "install-service", "--blob", "s3://AKID:secret@team-bucket")
	if r.code != ExitUsage || strings.Contains(r.stderr+r.stdout, "secret") {
		t.Errorf("keys in the URL: exit %d (%v)\n%s", r.code, r.err, r.stderr)
	}
}
