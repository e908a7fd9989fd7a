package cli

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/client"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update if the change is intended)\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func sampleJob() client.Job {
	created := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	start, end := created.Add(time.Second), created.Add(42*time.Second)
	exit0 := 0
	return client.Job{
		Name: "quiet_river_7", ID: "/workspaces/ml/jobs/quiet_river_7", Type: "pipeline",
		DisplayName: "train: iris", ExperimentName: "iris", Status: "Completed",
		Tags:            map[string]string{"team": "ml", "version": "0.10"},
		CreationContext: client.CreationContext{CreatedAt: created, CreatedBy: "local"},
		StartTime:       &start, EndTime: &end,
		Inputs:   map[string]any{"learning_rate": "0.10", "epochs": 3, "note": "line one\nline two"},
		Outputs:  map[string]client.JobOutput{"model": {Type: "uri_folder", Digest: "sha256:abc"}},
		Settings: map[string]any{},
		Jobs: map[string]*client.Step{
			"prep":  {Name: "prep", Status: "Completed", ReusedFrom: "old_job/prep", StartTime: &start},
			"train": {Name: "train", Status: "Completed", ExitCode: &exit0, StartTime: &end},
		},
		Services: map[string]client.Service{"Studio": {Endpoint: "http://127.0.0.1:8765/jobs/quiet_river_7"}},
	}
}

func sampleAsset(t *testing.T) client.Asset {
	t.Helper()
	raw, err := json.Marshal(map[string]any{
		"name": "iris", "version": "2", "type": "uri_file", "path": "blob:sha256:0123",
		"description": "the iris data", "pos": map[string]any{"file": "/src/data.yml", "line": 1, "col": 1},
		"tags": map[string]any{"pos": "kept: not a position"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return client.Asset{
		Kind: "data", Name: "iris", Version: "2", ID: "azureml:iris:2",
		CreatedAt: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC), Spec: raw,
	}
}

func TestPrint(t *testing.T) {
	t.Parallel()
	job := sampleJob()
	view, err := assetView(sampleAsset(t))
	if err != nil {
		t.Fatal(err)
	}
	workspaces := []client.Workspace{
		{Name: "ml", ResourceGroup: "rg", Location: "eastus", DisplayName: "ML\tteam", CreatedAt: job.CreationContext.CreatedAt},
		{Name: "scratch"},
	}
	tests := []struct {
		name  string
		v     any
		table func() *textTable
	}{
		{"job", job, jobTable(job)},
		{"data", view, dataKind.table(view)},
		{"workspaces", workspaces, workspaceTable(workspaces...)},
		{"empty_list", []client.Job{}, jobTable()},
	}
	for _, tt := range tests {
		for _, format := range []string{formatJSON, formatYAML, formatTable} {
			t.Run(tt.name+"_"+format, func(t *testing.T) {
				t.Parallel()
				var buf bytes.Buffer
				o := output{Format: format}
				if err := o.print(&buf, tt.v, tt.table); err != nil {
					t.Fatal(err)
				}
				golden(t, filepath.Join("printer", tt.name+"."+format), buf.Bytes())
			})
		}
	}
}

func TestSummary(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	writeSummary(&buf, sampleJob())
	golden(t, "summary.txt", buf.Bytes())
}
