package s3client

import (
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		endpoint string
		secure   bool
		err      string
	}{
		{"http://127.0.0.1:7070", false, ""},
		{"https://s3.example.com", true, ""},
		{"ftp://127.0.0.1", false, "expected http(s)://host[:port]"},
		{"127.0.0.1:7070", false, "expected http(s)://host[:port]"},
		{"http://", false, "expected http(s)://host[:port]"},
		{"http://%zz", false, "expected http(s)://host[:port]"},
	} {
		cl, err := New(tc.endpoint, "", nil)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("New(%q) = %v, want an error with %q", tc.endpoint, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("New(%q): %v", tc.endpoint, err)
			continue
		}
		if got := cl.EndpointURL().Scheme == "https"; got != tc.secure {
			t.Errorf("New(%q): secure %v, want %v", tc.endpoint, got, tc.secure)
		}
	}
}

func TestEnvCredentials(t *testing.T) {
	env := map[string]string{"ID": "AKID", "SECRET": "s3cr3t"}
	getenv := func(k string) string { return env[k] }
	for _, tc := range []struct {
		idEnv, secretEnv string
		wantID           string
		err              bool
	}{
		{"", "", "", false}, // anonymous
		{"ID", "SECRET", "AKID", false},
		{"ID", "MISSING", "", true},
		{"", "SECRET", "", true},
	} {
		creds, err := EnvCredentials(getenv, tc.idEnv, tc.secretEnv)
		if tc.err {
			if err == nil || strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "AKID") {
				t.Errorf("EnvCredentials(%q, %q) = %v, want an error that names the variables and no value", tc.idEnv, tc.secretEnv, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("EnvCredentials(%q, %q): %v", tc.idEnv, tc.secretEnv, err)
		}
		v, err := creds.GetWithContext(nil)
		if err != nil {
			t.Fatal(err)
		}
		if v.AccessKeyID != tc.wantID {
			t.Errorf("EnvCredentials(%q, %q): key %q, want %q", tc.idEnv, tc.secretEnv, v.AccessKeyID, tc.wantID)
		}
	}
}
