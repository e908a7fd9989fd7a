package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ciel-mlops/ciel/client"
)

func writeJobFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "job.yml")
	spec := "$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json\n" +
		"command: echo ${{inputs.lr}}\nenvironment: azureml:python@latest\ncompute: azureml:cpu\ninputs:\n  lr: 0.1\n"
	if err := os.WriteFile(p, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAzJobCommands(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    func(file string) []string
		want    string
		request string // a request the server must have seen
		posted  string // a part of the job body posted
	}{
		{"create set query tsv",
			func(f string) []string {
				return []string{"ml", "job", "create", "-f", f, "--set", "inputs.lr=0.5", "display_name=x", "--query", "name", "-o", "tsv", "-g", "rg", "-w", "ws"}
			},
			"train_1\n", "POST /api/v1/workspaces/ws/jobs", `"display_name":"x"`},
		{"show status tsv", func(string) []string {
			return []string{"ml", "job", "show", "-n", "train_1", "-w", "ws", "--query", "status", "-o", "tsv"}
		}, "Running\n", "GET /api/v1/workspaces/ws/jobs/train_1", ""},
		{"globals before the words", func(string) []string {
			return []string{"--only-show-errors", "-o", "tsv", "--workspace-name=ws", "ml", "job", "show", "--name", "train_1", "--query=status"}
		}, "Running\n", "", ""},
		{"list projection", func(string) []string {
			return []string{"ml", "job", "list", "-w", "ws", "--query", "[].name", "-o", "tsv"}
		}, "job_0\njob_1\njob_2\njob_3\njob_4\n", "", ""},
		{"list projection json", func(string) []string {
			return []string{"ml", "job", "list", "-w", "ws", "--query", "[:2].name"}
		}, "[\n  \"job_0\",\n  \"job_1\"\n]\n", "", ""},
		{"list filter", func(string) []string {
			return []string{"ml", "job", "list", "-w", "ws", "--query", "length([?status=='Completed'])", "-o", "tsv"}
		}, "5\n", "", ""},
		{"list tsv hash order", func(string) []string {
			return []string{"ml", "job", "list", "-w", "ws", "--query", "[:2].{s: status, n: name}", "-o", "tsv"}
		}, "Completed\tjob_0\nCompleted\tjob_1\n", "", ""},
		{"list table", func(string) []string {
			return []string{"ml", "job", "list", "-w", "ws", "--query", "[:2].{Name: name, Status: status}", "-o", "table"}
		}, "Name   Status\n-----  ---------\njob_0  Completed\njob_1  Completed\n", "", ""},
		{"list yaml", func(string) []string {
			return []string{"ml", "job", "list", "-w", "ws", "--query", "[:1].{name: name, status: status}", "-o", "yaml"}
		}, "- name: job_0\n  status: Completed\n", "", ""},
		{"list none", func(string) []string {
			return []string{"ml", "job", "list", "-w", "ws", "-o", "none"}
		}, "", "GET /api/v1/workspaces/ws/jobs", ""},
		{"scalar table", func(string) []string {
			return []string{"ml", "job", "show", "-n", "train_1", "-w", "ws", "--query", "status", "-o", "table"}
		}, "Result\n-------\nRunning\n", "", ""},
		{"null prints nothing", func(string) []string {
			return []string{"ml", "job", "show", "-n", "train_1", "-w", "ws", "--query", "nosuchfield", "-o", "tsv"}
		}, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tb, f := setupServer(t)
			f.setJob(client.Job{Name: "train_1", Type: "command", Status: "Running"}, "")
			r := tb.run(t, "", append([]string{"az"}, tt.args(writeJobFile(t))...)...)
			if r.code != 0 {
				t.Fatalf("exit %d: %v\n%s", r.code, r.err, r.stderr)
			}
			if r.stdout != tt.want {
				t.Errorf("stdout %q, want %q", r.stdout, tt.want)
			}
			if tt.request != "" && !f.sawRequest(tt.request) {
				t.Errorf("server did not see %s; saw %v", tt.request, f.requests)
			}
			if tt.posted != "" {
				f.mu.Lock()
				body := string(f.posted["/api/v1/workspaces/ws/jobs"])
				f.mu.Unlock()
				if !strings.Contains(body, tt.posted) || !strings.Contains(body, "0.5") {
					t.Errorf("posted %s, want --set applied (%s, lr 0.5)", body, tt.posted)
				}
			}
		})
	}
}

func TestAzLocalCommands(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		code int
		want func(t *testing.T, stdout string)
	}{
		{"account id tsv", []string{"account", "show", "--query", "id", "-o", "tsv"}, 0, func(t *testing.T, out string) {
			if len(strings.TrimSpace(out)) != 36 || strings.Count(out, "-") != 4 || strings.Count(out, "\n") != 1 {
				t.Errorf("id %q is not one UUID line", out)
			}
		}},
		{"account show", []string{"account", "show"}, 0, func(t *testing.T, out string) {
			var a struct {
				ID, Name, TenantID, State string
				IsDefault                 bool
				User                      struct{ Name string }
			}
			if err := json.Unmarshal([]byte(out), &a); err != nil || a.ID == "" || a.TenantID == "" ||
				a.State != "Enabled" || !a.IsDefault || a.User.Name == "" {
				t.Errorf("account %s (%v)", out, err)
			}
		}},
		{"login quiet", []string{"login", "--service-principal", "-u", "x", "-p", "y", "--tenant", "t"}, 0, wantOut("")},
		{"account set quiet", []string{"account", "set", "--subscription", "abc"}, 0, wantOut("")},
		{"version", []string{"version"}, 0, func(t *testing.T, out string) {
			var v struct {
				CLI        string            `json:"azure-cli"`
				Extensions map[string]string `json:"extensions"`
			}
			if err := json.Unmarshal([]byte(out), &v); err != nil || v.CLI == "" || v.Extensions["ml"] == "" {
				t.Errorf("version %s (%v)", out, err)
			}
		}},
		{"extension add ml", []string{"extension", "add", "-n", "ml", "-y"}, 0, wantOut("")},
		{"extension update ml", []string{"extension", "update", "--name", "ml"}, 0, wantOut("")},
		{"extension add other", []string{"extension", "add", "-n", "azure-devops"}, ExitUsage, nil},
		{"extension list", []string{"extension", "list", "--query", "[].name", "-o", "tsv"}, 0, wantOut("ml\n")},
		{"extension show", []string{"extension", "show", "-n", "ml", "--query", "version", "-o", "tsv"}, 0, wantOut(azMLVersion + "\n")},
		{"bad output", []string{"version", "-o", "xml"}, ExitUsage, nil},
		{"bad query", []string{"version", "--query", "[?"}, ExitUsage, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := setup(t).run(t, "", append([]string{"az"}, tt.args...)...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d: %v", r.code, tt.code, r.err)
			}
			if tt.want != nil {
				tt.want(t, r.stdout)
			}
		})
	}
}

func wantOut(want string) func(*testing.T, string) {
	return func(t *testing.T, got string) {
		t.Helper()
		if got != want {
			t.Errorf("stdout %q, want %q", got, want)
		}
	}
}

func TestAzUnsupportedCommandsFail(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"group", "create", "-n", "rg", "-l", "eastus"},
		{"ml", "registry", "list"},
		{"ml", "job"},
		{"ml", "job", "frobnicate", "-n", "x"},
		{"storage", "blob", "upload", "--file", "x"},
		{"extension", "remove", "-n", "ml"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			r := setup(t).run(t, "", append([]string{"az"}, args...)...)
			var words []string
			for _, a := range args {
				if strings.HasPrefix(a, "-") {
					break
				}
				words = append(words, a)
			}
			if r.code != ExitUsage || r.err == nil ||
				!strings.Contains(r.err.Error(), "ciel's az does not carry out `az "+strings.Join(words, " ")+"`") {
				t.Fatalf("exit %d: %v", r.code, r.err)
			}
		})
	}
}

func TestAzConfigureDefaults(t *testing.T) {
	t.Parallel()
	tb, f := setupServer(t)
	f.setJob(client.Job{Name: "train_1", Status: "Completed"}, "")
	if r := tb.run(t, "", "az", "configure", "--defaults", "group=rg", "workspace=ws"); r.code != 0 || r.stdout != "" {
		t.Fatalf("exit %d: %v %q", r.code, r.err, r.stdout)
	}
	r := tb.run(t, "", "az", "configure", "--list-defaults", "--query", "[?name=='workspace'].value", "-o", "tsv")
	if r.code != 0 || r.stdout != "ws\n" {
		t.Fatalf("exit %d: %v %q", r.code, r.err, r.stdout)
	}
	// The default workspace is the one az ml commands use.
	r = tb.run(t, "", "az", "ml", "job", "show", "-n", "train_1", "--query", "status", "-o", "tsv")
	if r.code != 0 || r.stdout != "Completed\n" || !f.sawRequest("GET /api/v1/workspaces/ws/jobs/train_1") {
		t.Fatalf("exit %d: %v %q", r.code, r.err, r.stdout)
	}
}

func TestAzEndpointCommands(t *testing.T) {
	t.Parallel()
	tb, s := setupEndpointServer(t, "Succeeded")
	req := filepath.Join(t.TempDir(), "sample.json")
	if err := os.WriteFile(req, []byte(`{"data": [[1, 2]]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	r := tb.run(t, "", "az", "ml", "online-endpoint", "update", "-w", "ws", "-n", "model-service", "--traffic", "blue=90", "green=10", "--query", "traffic.blue", "-o", "tsv")
	if r.code != 0 || r.stdout != "90\n" || s.body("PATCH /api/v1/workspaces/ws/online-endpoints/model-service") == "" {
		t.Fatalf("update: exit %d: %v %q", r.code, r.err, r.stdout)
	}
	r = tb.run(t, "", "az", "ml", "online-endpoint", "invoke", "-w", "ws", "--name", "model-service", "--request-file", req)
	if r.code != 0 || !strings.Contains(r.stdout, `"echo": {"data": [[1, 2]]}`) {
		t.Fatalf("invoke: exit %d: %v %q", r.code, r.err, r.stdout)
	}
	r = tb.run(t, "", "az", "ml", "online-endpoint", "invoke", "-w", "ws", "--name", "model-service", "--request-file", req, "--query", "echo.data[0][1]", "-o", "tsv")
	if r.code != 0 || r.stdout != "2\n" {
		t.Fatalf("invoke --query: exit %d: %v %q", r.code, r.err, r.stdout)
	}
	file := writeDeploymentFiles(t, t.TempDir())
	r = tb.run(t, "", "az", "ml", "online-deployment", "create", "-w", "ws", "-f", file, "--all-traffic", "--query", "provisioning_state", "-o", "tsv")
	if r.code != 0 || r.stdout != "Succeeded\n" {
		t.Fatalf("deployment create: exit %d: %v %q\n%s", r.code, r.err, r.stdout, r.stderr)
	}
}

func TestAzTSV(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"scalar", "x", "x\n"},
		{"number", 3.0, "3\n"},
		{"bool", true, "True\n"},
		{"list of scalars", []any{"a", 1.5}, "a\n1.5\n"},
		{"object sorted", map[string]any{"b": "2", "a": "1", "n": nil, "l": []any{1.0, 2.0}, "o": map[string]any{}}, "1\t2\t2\tNone\t\n"},
		{"list of lists", []any{[]any{"a", "b"}, []any{"c"}}, "a\tb\nc\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var b strings.Builder
			if err := writeAzTSV(&b, tt.v, nil); err != nil || b.String() != tt.want {
				t.Fatalf("got %q (%v), want %q", b.String(), err, tt.want)
			}
		})
	}
}

func TestKeyOrder(t *testing.T) {
	t.Parallel()
	got := keyOrder([]byte(`{"name": "a", "nested": {"inner": [1, {"deep": 2}], "x": {}}, "status": "s"}`))
	want := map[string]int{"name": 0, "nested": 1, "inner": 2, "deep": 3, "x": 4, "status": 5}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

func TestParseAzLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		words   string
		rest    string
		globals azGlobals
		wantErr bool
	}{
		{"flags anywhere", []string{"-g", "rg", "ml", "job", "show", "-n", "x", "--query=status", "-otsv", "--debug"},
			"ml job show", "-n x", azGlobals{Query: "status", Output: "tsv", Group: "rg"}, false},
		{"long forms", []string{"ml", "job", "list", "--output", "table", "--workspace-name", "ws", "--subscription", "s", "--only-show-errors"},
			"ml job list", "", azGlobals{Output: "table", Workspace: "ws", Subscription: "s"}, false},
		{"double dash ends it", []string{"ml", "job", "create", "--", "-o", "x"}, "ml job create", "-- -o x", azGlobals{}, false},
		{"other flags kept in order", []string{"ml", "job", "create", "-f", "a.yml", "--set", "a=1", "--stream"},
			"ml job create", "-f a.yml --set a=1 --stream", azGlobals{}, false},
		{"missing value", []string{"version", "--query"}, "", "", azGlobals{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o, err := parseAzLine(tt.args)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if got := strings.Join(o.Words, " "); got != tt.words {
				t.Errorf("words %q, want %q", got, tt.words)
			}
			if got := strings.Join(o.Rest, " "); got != tt.rest {
				t.Errorf("rest %q, want %q", got, tt.rest)
			}
			if o.azGlobals != tt.globals {
				t.Errorf("globals %+v, want %+v", o.azGlobals, tt.globals)
			}
		})
	}
}

// FuzzParseAzLine checks the global-flag parser never panics and keeps
// every word that is not a global flag, in order.
func FuzzParseAzLine(f *testing.F) {
	f.Add("ml job show -n x --query status -o tsv")
	f.Add("-otsv --query=[].name ml job list -- -g")
	f.Fuzz(func(t *testing.T, line string) {
		args := strings.Fields(line)
		o, err := parseAzLine(args)
		if err != nil {
			return
		}
		got := append(slices.Clone(o.Words), o.Rest...)
		i := 0
		for _, a := range args {
			if i < len(got) && got[i] == a {
				i++
			}
		}
		if i != len(got) {
			t.Fatalf("%q: kept %q, not a subsequence of the input", args, got)
		}
	})
}
