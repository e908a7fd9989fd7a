package cli

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestFlagsOverrideBeforeValidation runs every create and update command's
// file reading on files that keep placeholders where the azureml-examples
// files do (`endpoint_name: <endpoint_name>`, `name: <name>`): with the
// name on the command line (or in --set) each parses, and the flag wins
// over the file and over --set; without it each fails naming the field.
func TestFlagsOverrideBeforeValidation(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"model/model.pkl": "w",
		"src/score.py":    "def init(): pass\ndef run(raw): return raw\n",
		"data/iris.csv":   "a,b\n",
		"conda.yml":       "dependencies:\n  - pip:\n    - numpy\n",
		"job.yml":         "name: <job_name>\ncommand: echo hi\nenvironment: azureml:py:1\nexperiment_name: <experiment>\n",
		"component.yml":   "name: <component_name>\nversion: <version>\ntype: command\ncommand: echo hi\nenvironment: azureml:py:1\n",
		"env.yml":         "name: <env_name>\nversion: <v>\nimage: python:3.12-slim\n",
		"data.yml":        "name: <data_name>\nversion: 1\ntype: uri_file\npath: <path>\n",
		"compute.yml":     "name: <compute_name>\ntype: amlcompute\nmax_instances: 2\n",
		"endpoint.yml":    "name: <endpoint_name>\nauth_mode: key\n",
		"blue-deployment.yml": "$schema: https://azuremlschemas.azureedge.net/latest/managedOnlineDeployment.schema.json\n" +
			"name: <deployment_name>\nendpoint_name: <endpoint_name>\nmodel:\n  path: model\n" +
			"code_configuration:\n  code: src\n  scoring_script: score.py\n" +
			"environment:\n  conda_file: conda.yml\n  image: python:3.12-slim\ninstance_type: Standard_DS2_v2\ninstance_count: 1\n",
		"model.yml": "name: <model_name>\nversion: 1\npath: model\ntype: custom_model\n",
	})
	f := func(name string) string { return filepath.Join(dir, name) }
	csv := f("data/iris.csv")
	tests := []struct {
		name    string
		parse   func() (got string, err error) // got: the overridden fields, joined by " "
		want    string
		wantErr string // without the flags: the error names this
	}{
		{"job", func() (string, error) {
			j, err := (&jobCreateOpts{File: f("job.yml"), Name: "my_job", ExperimentName: "exp", Sets: []string{"name=from_set"}}).job()
			if err != nil {
				return "", err
			}
			return j.Name + " " + j.ExperimentName, nil
		}, "my_job exp", "name: invalid \"<job_name>\""},
		{"component", func() (string, error) {
			c, err := (&componentCreateOpts{File: f("component.yml"), Name: "train", Version: "2"}).component()
			if err != nil {
				return "", err
			}
			return c.Name + " " + c.Version, nil
		}, "train 2", "name: invalid \"<component_name>\""},
		{"environment", func() (string, error) {
			e, err := (&environmentCreateOpts{File: f("env.yml"), Sets: []string{"name=py", "version=3"}}).environment()
			if err != nil {
				return "", err
			}
			return e.Name + " " + e.Version, nil
		}, "py 3", "name: invalid \"<env_name>\""},
		{"data", func() (string, error) {
			d, err := (&dataCreateOpts{File: f("data.yml"), Name: "iris", Path: csv}).data()
			if err != nil {
				return "", err
			}
			return d.Name + " " + d.Path, nil
		}, "iris " + csv, "<path> does not exist"},
		{"compute", func() (string, error) {
			c, err := (&computeCreateOpts{File: f("compute.yml"), Name: "cpu"}).compute()
			if err != nil {
				return "", err
			}
			return c.Name, nil
		}, "cpu", "name: invalid \"<compute_name>\""},
		{"online-endpoint create", func() (string, error) {
			e, err := (&endpointCreateOpts{File: f("endpoint.yml"), Name: "my-endpoint"}).endpoint()
			if err != nil {
				return "", err
			}
			return e.Name, nil
		}, "my-endpoint", "invalid endpoint name \"<endpoint_name>\""},
		{"online-endpoint update", func() (string, error) {
			name, _, err := (&endpointUpdateOpts{File: f("endpoint.yml"), Name: "my-endpoint"}).update()
			return name, err
		}, "my-endpoint", "invalid endpoint name \"<endpoint_name>\""},
		{"online-deployment", func() (string, error) {
			d, err := (&deploymentFileOpts{File: f("blue-deployment.yml"), Name: "blue", EndpointName: "my-endpoint",
				Sets: []string{"endpoint_name=from-set"}}).deployment()
			if err != nil {
				return "", err
			}
			return d.Name + " " + d.EndpointName, nil
		}, "blue my-endpoint", "invalid deployment name \"<deployment_name>\""},
		{"model", func() (string, error) {
			m, _, err := (&modelCreateOpts{File: f("model.yml"), Name: "iris", Sets: []string{"version=4"}}).model()
			if err != nil {
				return "", err
			}
			return m.Name + " " + m.Version + " " + m.Path, nil
		}, "iris 4 " + f("model"), "name: invalid \"<model_name>\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.parse()
			if err != nil {
				t.Fatalf("with the flags: %v", err)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}

	// Without the flags the placeholders are refused, naming the field.
	bare := map[string]func() error{
		"job":                    func() error { _, err := (&jobCreateOpts{File: f("job.yml")}).job(); return err },
		"component":              func() error { _, err := (&componentCreateOpts{File: f("component.yml")}).component(); return err },
		"environment":            func() error { _, err := (&environmentCreateOpts{File: f("env.yml")}).environment(); return err },
		"data":                   func() error { _, err := (&dataCreateOpts{File: f("data.yml")}).data(); return err },
		"compute":                func() error { _, err := (&computeCreateOpts{File: f("compute.yml")}).compute(); return err },
		"online-endpoint create": func() error { _, err := (&endpointCreateOpts{File: f("endpoint.yml")}).endpoint(); return err },
		"online-endpoint update": func() error { _, _, err := (&endpointUpdateOpts{File: f("endpoint.yml")}).update(); return err },
		"online-deployment":      func() error { _, err := (&deploymentFileOpts{File: f("blue-deployment.yml")}).deployment(); return err },
		"model":                  func() error { _, _, err := (&modelCreateOpts{File: f("model.yml")}).model(); return err },
	}
	for _, tt := range tests {
		err := bare[tt.name]()
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) || ExitCode(err) != ExitUsage {
			t.Errorf("%s without flags: err %v (exit %d), want a usage error containing %q", tt.name, err, ExitCode(err), tt.wantErr)
		}
	}
}
