package spec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseModel(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "model"), 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "model.yml")
	tests := []struct {
		name, yaml string
		opts       Options
		want       Model  // fields compared: Name, Version, Path, Type, Description
		wantErr    string // substring; "" for none
	}{
		{"local folder", "name: iris\nversion: 2\npath: model\ntype: custom_model\ndescription: d\ntags: {a: b}\n", Options{},
			Model{Name: "iris", Version: "2", Path: filepath.Join(dir, "model"), Type: "custom_model", Description: "d"}, ""},
		{"job output kept", "name: iris\npath: azureml://jobs/j1/outputs/model\n", Options{},
			Model{Name: "iris", Path: "azureml://jobs/j1/outputs/model"}, ""},
		{"runs uri kept", "name: iris\npath: runs:/abc/model\ntype: mlflow_model\n", Options{},
			Model{Name: "iris", Path: "runs:/abc/model", Type: "mlflow_model"}, ""},
		{"set version", "name: iris\npath: model\n", Options{Sets: []string{"version=7"}},
			Model{Name: "iris", Version: "7", Path: filepath.Join(dir, "model")}, ""},
		{"placeholder name with --name", "name: <model_name>\npath: model\n",
			Options{Fields: []Field{{Flag: "--name", Key: "name", Value: "iris"}}},
			Model{Name: "iris", Path: filepath.Join(dir, "model")}, ""},
		{"flag wins over --set", "name: iris\npath: model\n",
			Options{Sets: []string{"version=3"}, Fields: []Field{{Flag: "--version", Key: "version", Value: "4"}}},
			Model{Name: "iris", Version: "4", Path: filepath.Join(dir, "model")}, ""},
		{"placeholder without flag", "name: <model_name>\npath: model\n", Options{}, Model{}, "model.yml:1:7: name: invalid \"<model_name>\""},
		{"bad version", "name: iris\nversion: one\npath: model\n", Options{}, Model{}, "model.yml:2:10: version: invalid version \"one\""},
		{"bad flag names the flag", "name: iris\npath: model\n",
			Options{Fields: []Field{{Flag: "--version", Key: "version", Value: "0"}}}, Model{}, "--version 0"},
		{"missing path", "name: iris\n", Options{}, Model{}, "a model needs path:"},
		{"missing local path", "name: iris\npath: nope\n", Options{}, Model{}, "nope does not exist"},
		{"bad type", "name: iris\npath: model\ntype: triton_model\n", Options{}, Model{}, "type:"},
		{"unknown key", "name: iris\npath: model\nfoo: 1\n", Options{}, Model{}, "foo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := ParseModel(file, []byte(tt.yaml), tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := Model{Name: m.Name, Version: m.Version, Path: m.Path, Type: m.Type, Description: m.Description}
			if got.Name != tt.want.Name || got.Version != tt.want.Version || got.Path != tt.want.Path ||
				got.Type != tt.want.Type || got.Description != tt.want.Description {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestFieldsOverrideBeforeChecks checks flag values are in place before the
// file is checked: the azureml-examples endpoint and deployment files keep
// placeholders and get the names from the command line.
func TestFieldsOverrideBeforeChecks(t *testing.T) {
	t.Parallel()
	ep := "name: <endpoint_name>\nauth_mode: key\n"
	if _, err := ParseOnlineEndpoint("endpoint.yml", []byte(ep), Options{}); err == nil {
		t.Fatal("a placeholder endpoint name parsed without --name")
	}
	e, err := ParseOnlineEndpoint("endpoint.yml", []byte(ep), Options{Fields: []Field{{Flag: "--name", Key: "name", Value: "my-endpoint"}}})
	if err != nil || e.Name != "my-endpoint" {
		t.Fatalf("with --name: %+v, %v", e, err)
	}
	_, err = ParseOnlineEndpoint("endpoint.yml", []byte(ep), Options{Fields: []Field{{Flag: "--name", Key: "name", Value: "x"}}})
	if err == nil || !strings.Contains(err.Error(), "--name x") {
		t.Errorf("a bad --name: err %v, want it to name the flag", err)
	}
	job := "name: <job_name>\ncommand: echo hi\nenvironment: azureml:py:1\n"
	j, err := ParseJob("job.yml", []byte(job), Options{Sets: []string{"name=from_set"}, Fields: []Field{{Flag: "--name", Key: "name", Value: "from_flag"}}})
	if err != nil || j.Name != "from_flag" {
		t.Fatalf("job --name over --set: %+v, %v", j, err)
	}
	j, err = ParseJob("job.yml", []byte(job), Options{Sets: []string{"name=from_set"}, Fields: []Field{{Flag: "--name", Key: "name"}}})
	if err != nil || j.Name != "from_set" {
		t.Fatalf("an empty flag must leave --set alone: %+v, %v", j, err)
	}
}

// FuzzParseModel checks that no input makes ParseModel panic or return
// both a model and an error.
func FuzzParseModel(f *testing.F) {
	f.Add([]byte("name: iris\nversion: 1\npath: azureml://jobs/j/outputs/model\ntype: mlflow_model\n"))
	f.Add([]byte("name: <n>\npath: .\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseModel(filepath.Join("testdata", "fuzz.yml"), data, Options{Fields: []Field{{Flag: "--version", Key: "version", Value: "2"}}})
		if (m == nil) == (err == nil) {
			t.Fatalf("ParseModel returned model %v and error %v", m != nil, err)
		}
	})
}
