package cli

import "testing"

// TestServerRunSQLiteSync: `server run` takes the SQLite file's
// synchronous setting from --sqlite-sync, else CIEL_SQLITE_SYNC, else
// none (full); anything but full or normal, or the flag with a
// PostgreSQL store, is a usage error and no server starts.
func TestServerRunSQLiteSync(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
		code int
	}{
		{name: "default", want: ""},
		{name: "flag", args: []string{"--sqlite-sync", "normal"}, want: "normal"},
		{name: "env", env: map[string]string{"CIEL_SQLITE_SYNC": "normal"}, want: "normal"},
		{name: "flag wins", args: []string{"--sqlite-sync", "full"}, env: map[string]string{"CIEL_SQLITE_SYNC": "normal"}, want: "full"},
		{name: "bad flag", args: []string{"--sqlite-sync", "off"}, code: ExitUsage},
		{name: "bad env", env: map[string]string{"CIEL_SQLITE_SYNC": "extra"}, code: ExitUsage},
		{name: "postgres", args: []string{"--sqlite-sync", "normal", "--store", "postgres://ciel@127.0.0.1/ciel"}, code: ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{"CIEL_HOME": t.TempDir()}
			for k, v := range tt.env {
				env[k] = v
			}
			cfg, served, err := serverRun(env, tt.args...)
			got := cfg.SQLiteSync
			if code := ExitCode(err); code != tt.code {
				t.Fatalf("exit %d (%v), want %d", code, err, tt.code)
			}
			if tt.code != 0 {
				if served {
					t.Error("the server started")
				}
				return
			}
			if got != tt.want {
				t.Errorf("SQLiteSync = %q, want %q", got, tt.want)
			}
		})
	}
}
