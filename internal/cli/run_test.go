package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/client"
)

func TestRunTables(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	a := client.Run{RunID: "aaaaaaaa11111111", RunName: "prep", Status: "FINISHED", StartTime: &start,
		Metrics: map[string]float64{"rows": 150}, Params: map[string]string{"seed": "1"}}
	b := client.Run{RunID: "bbbbbbbb22222222", RunName: "train", Status: "FAILED",
		Metrics: map[string]float64{"acc": 0.9512345678}, Params: map[string]string{"seed": "2", "lr": "0.1"}}
	tests := []struct {
		name  string
		table *textTable
		want  string
	}{
		{"list", runTable(a, b)(), `
Run ID            Name   Status    Started               Metrics       Params
----------------  -----  --------  --------------------  ------------  --------------
aaaaaaaa11111111  prep   FINISHED  2026-01-02T03:04:05Z  rows=150      seed=1
bbbbbbbb22222222  train  FAILED                          acc=0.951235  lr=0.1, seed=2
`},
		{"compare", compareTable([]client.Run{a, b}), `
              prep (aaaaaaaa)       train (bbbbbbbb)
------------  --------------------  ----------------
status        FINISHED              FAILED
start_time    2026-01-02T03:04:05Z  -
params.lr     -                     0.1
params.seed   1                     2
metrics.acc   -                     0.951235
metrics.rows  150                   -
`},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		if err := tt.table.write(&buf); err != nil {
			t.Fatal(err)
		}
		if got, want := buf.String(), strings.TrimPrefix(tt.want, "\n"); got != want {
			t.Errorf("%s table:\n%s\nwant:\n%s", tt.name, got, want)
		}
	}
}

func TestRunOptionsValidate(t *testing.T) {
	t.Parallel()
	ws := scope{Workspace: "w"}
	js := output{Format: formatJSON}
	tests := []struct {
		name string
		opts validator
		want string
	}{
		{"list without experiment", &runListOpts{scope: ws, output: js}, "--experiment is required"},
		{"show without run", &runShowOpts{scope: ws, output: js}, "--run-id is required"},
		{"compare one run", &runCompareOpts{scope: ws, RunIDs: []string{"a"}, output: js}, "at least two runs"},
	}
	for _, tt := range tests {
		err := tt.opts.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
}
