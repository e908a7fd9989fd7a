package cli

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/spf13/cobra"
)

// silentCommands print no result (nothing, a log, a download note or the
// server's own lines), so they take no -o or --query, like their az
// counterparts. A command missing from here must take both.
var silentCommands = []string{
	"ciel az", "ciel batch-deployment delete", "ciel batch-endpoint delete", "ciel completion", "ciel completion bash", "ciel completion fish", "ciel completion powershell", "ciel completion zsh",
	"ciel component archive", "ciel component restore", "ciel compute delete", "ciel compute helper-image",
	"ciel data archive", "ciel data restore", "ciel datastore delete", "ciel environment archive", "ciel environment restore",
	"ciel job archive", "ciel job cancel", "ciel job download", "ciel job restore", "ciel job stream",
	"ciel model archive", "ciel model download", "ciel model restore",
	"ciel online-deployment delete", "ciel online-deployment get-logs", "ciel online-endpoint delete",
	"ciel pipelines expand", "ciel pipelines runs artifact download", "ciel schedule delete",
	"ciel server install-service", "ciel server run", "ciel server stop", "ciel studio", "ciel workspace delete",
}

func TestEveryResultCommandTakesQueryAndOutput(t *testing.T) {
	t.Parallel()
	root := NewRoot(Config{Args: []string{}})
	var walk func(c *cobra.Command)
	n := 0
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		if c.HasSubCommands() || c.Hidden || c.Name() == "help" {
			return
		}
		path := c.CommandPath()
		o, q := c.Flags().Lookup("output"), c.Flags().Lookup("query")
		if slices.Contains(silentCommands, path) {
			if o != nil {
				t.Errorf("%s prints a result (-o) but is listed as silent", path)
			}
			return
		}
		n++
		if o == nil || q == nil || o.Shorthand != "o" {
			t.Errorf("%s: -o/--output %v, --query %v; every command printing a result takes both", path, o != nil, q != nil)
			return
		}
		if !strings.Contains(o.Usage, "tsv") {
			t.Errorf("%s: -o usage %q does not list tsv", path, o.Usage)
		}
	}
	walk(root)
	if n < 40 {
		t.Errorf("walked %d result commands; the tree lost commands?", n)
	}
}

// TestQueryAndOutputOnCommands drives `ciel <cmd> --query ... -o ...` the
// way deployment scripts use `az ml ... --query x -o tsv`.
func TestQueryAndOutputOnCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"iris.csv": "a,b\n",
		"job.yml":  "$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json\ncommand: echo hi\nenvironment: azureml:py:1\ncompute: azureml:cpu\n",
	})
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"job show status tsv", []string{"job", "show", "-n", "bright_fox_1", "-w", "ml", "--query", "status", "-o", "tsv"}, "Running\n"},
		{"job show json string", []string{"job", "show", "-n", "bright_fox_1", "-w", "ml", "--query", "status"}, "\"Running\"\n"},
		{"job show yaml", []string{"job", "show", "-n", "bright_fox_1", "-w", "ml", "--query", "{n: name, s: status}", "-o", "yaml"},
			"n: bright_fox_1\ns: Running\n"},
		{"job show tsv hash order", []string{"job", "show", "-n", "bright_fox_1", "-w", "ml", "--query", "{s: status, n: name}", "-o", "tsv"},
			"Running\tbright_fox_1\n"},
		{"job show none", []string{"job", "show", "-n", "bright_fox_1", "-w", "ml", "-o", "none"}, ""},
		{"job show null prints nothing", []string{"job", "show", "-n", "bright_fox_1", "-w", "ml", "--query", "no_such_field", "-o", "tsv"}, ""},
		{"job list names", []string{"job", "list", "-w", "ml", "--query", "[].name", "-o", "tsv"}, "job_0\njob_1\njob_2\njob_3\njob_4\n"},
		{"job list filter", []string{"job", "list", "-w", "ml", "--query", "[?name=='job_3'].status | [0]", "-o", "tsv"}, "Completed\n"},
		{"job list length", []string{"job", "list", "-w", "ml", "--query", "length(@)", "-o", "json"}, "5\n"},
		{"job list query table", []string{"job", "list", "-w", "ml", "-r", "2", "--query", "[].{Job: name, State: status}", "-o", "table"},
			"Job    State\n-----  ---------\njob_0  Completed\njob_1  Completed\n"},
		{"job list jsonc", []string{"job", "list", "-w", "ml", "-r", "1", "--query", "[0].type", "-o", "jsonc"}, "\"command\"\n"},
		{"job list yamlc", []string{"job", "list", "-w", "ml", "-r", "1", "--query", "[0].type", "-o", "yamlc"}, "command\n"},
		{"job create name", []string{"job", "create", "-w", "ml", "-f", filepath.Join(dir, "job.yml"), "--query", "name", "-o", "tsv"}, "bright_fox_1\n"},
		{"workspace list", []string{"workspace", "list", "--query", "[0].location", "-o", "tsv"}, "eastus\n"},
		{"data create version", []string{"data", "create", "-w", "ml", "--name", "iris", "--version", "3", "--type", "uri_file",
			"--path", filepath.Join(dir, "iris.csv"), "--query", "[name, version]", "-o", "tsv"}, "iris\n3\n"},
		{"compute create", []string{"compute", "create", "-w", "ml", "--name", "cpu", "--type", "amlcompute", "--max-instances", "3",
			"--query", "max_instances", "-o", "tsv"}, "3\n"},
		{"environment create", []string{"environment", "create", "-w", "ml", "--name", "py", "--image", "python:3.12",
			"--query", "image", "-o", "tsv"}, "python:3.12\n"},
		{"tsv of an object", []string{"job", "show", "-n", "bright_fox_1", "-w", "ml", "--query", "{a: name, b: jobs.prep.status, c: `true`}", "-o", "tsv"},
			"bright_fox_1\tCompleted\tTrue\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tb, f := setupServer(t)
			f.setJob(studioJob("Running"), "")
			r := tb.run(t, "", tt.args...)
			if r.code != 0 {
				t.Fatalf("%q: exit %d: %v", tt.args, r.code, r.err)
			}
			if r.stdout != tt.want {
				t.Errorf("%q printed\n%q\nwant\n%q", tt.args, r.stdout, tt.want)
			}
		})
	}
}

func TestQueryErrors(t *testing.T) {
	t.Parallel()
	tb, f := setupServer(t)
	f.setJob(studioJob("Running"), "")
	r := tb.run(t, "", "job", "show", "-n", "bright_fox_1", "-w", "ml", "--query", "[?", "-o", "tsv")
	if r.code != ExitUsage || !strings.Contains(r.err.Error(), "invalid jmespath query") {
		t.Errorf("bad query: exit %d, err %v", r.code, r.err)
	}
	if f.sawRequest("GET /api/v1/workspaces/ml/jobs/bright_fox_1") {
		t.Error("a bad query still reached the server; it must be refused first")
	}
	r = tb.run(t, "", "job", "show", "-n", "bright_fox_1", "-w", "ml", "-o", "csv")
	if r.code != ExitUsage || !strings.Contains(r.err.Error(), `invalid choice: "csv"`) {
		t.Errorf("bad format: exit %d, err %v", r.code, r.err)
	}
	r = tb.run(t, "", "job", "show", "-n", "bright_fox_1", "-w", "ml", "--query", "abs(name)", "-o", "tsv")
	if r.code != ExitFailure || !strings.Contains(r.err.Error(), `--query "abs(name)"`) {
		t.Errorf("query failing at run time: exit %d, err %v", r.code, r.err)
	}
}

// TestJSONOutputKeepsHTMLCharacters checks -o json writes <, > and & as
// they are: a script comparing a scoring URI or a command line must see
// the text it gave.
func TestJSONOutputKeepsHTMLCharacters(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	o := output{Format: formatJSON}
	if err := o.print(&buf, map[string]string{"command": "a && b > c"}, nil); err != nil {
		t.Fatal(err)
	}
	var back map[string]string
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil || !strings.Contains(buf.String(), "a && b > c") {
		t.Errorf("printed %s (%v)", buf.String(), err)
	}
}

func TestTableAlignsBlankCells(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		rows [][]string
	}{
		{"blank last cell", [][]string{{"a", "Running", "x"}, {"longer-name", "Completed", ""}, {"b", "Failed", "yyyyyy"}}},
		{"blank last cells in a run", [][]string{{"a", "Running", ""}, {"bb", "Queued", ""}, {"longer-name", "Completed", "z"}}},
		{"blank middle cell", [][]string{{"a", "", "x"}, {"longer-name", "Completed", "y"}}},
		{"short row", [][]string{{"a"}, {"longer-name", "Completed", "y"}}},
		{"wide characters", [][]string{{"日本語", "ü", ""}, {"ab", "Completed", "y"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tab := newTable("Name", "Status", "Note")
			for _, r := range tt.rows {
				tab.Row(r...)
			}
			var buf bytes.Buffer
			if err := tab.write(&buf); err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
			header := lines[0]
			starts := []int{0, strings.Index(header, "Status"), strings.Index(header, "Note")}
			for i, r := range tt.rows {
				line := []rune(lines[i+2])
				for c, cell := range r {
					if cell == "" {
						continue
					}
					col := utf8.RuneCountInString(header[:starts[c]])
					if col+utf8.RuneCountInString(cell) > len(line) || string(line[col:col+utf8.RuneCountInString(cell)]) != cell {
						t.Errorf("row %d cell %q is not in column %d (at %d):\n%s", i, cell, c, col, buf.String())
					}
				}
				if strings.HasSuffix(lines[i+2], " ") {
					t.Errorf("row %d has trailing spaces: %q", i, lines[i+2])
				}
			}
		})
	}
}
