package spec

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// azureDeployment is a deployment file as azureml-examples writes them
// (cli/endpoints/online/managed/sample/blue-deployment.yml), with every
// setting ciel reads.
const azureDeployment = `$schema: https://azuremlschemas.azureedge.net/latest/managedOnlineDeployment.schema.json
name: blue
endpoint_name: my-endpoint
model:
  path: ../model-1/model/
code_configuration:
  code: ../model-1/onlinescoring/
  scoring_script: score.py
environment:
  conda_file: ../model-1/environment/conda.yaml
  image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest
instance_type: Standard_DS3_v2
instance_count: 1
request_settings:
  request_timeout_ms: 3000
  max_concurrent_requests_per_instance: 2
  max_queue_wait_ms: 1000
liveness_probe:
  initial_delay: 5
  period: 3
  timeout: 1
  success_threshold: 1
  failure_threshold: 4
readiness_probe:
  period: 2
environment_variables:
  WORKER_COUNT: "2"
scale_settings:
  type: default
app_insights_enabled: true
max_batch_size: 16
max_batch_wait_ms: 4
`

// endpointFiles are the files the deployment names.
func endpointFiles(t *testing.T, extra map[string]string) string {
	t.Helper()
	files := map[string]string{
		"online/blue.yml": azureDeployment,
		"model-1/model/sklearn_regression_model.pkl": "pickle",
		"model-1/onlinescoring/score.py":             "def init(): pass\ndef run(d): return d\n",
		"model-1/environment/conda.yaml":             "dependencies: [python=3.11]\n",
		"model.pkl":                                  "pickle",
	}
	for k, v := range extra {
		files[k] = v
	}
	return writeFiles(t, files)
}

func TestParseOnlineDeploymentGolden(t *testing.T) {
	t.Parallel()
	dir := endpointFiles(t, nil)
	d, err := ParseOnlineDeploymentFile(filepath.Join(dir, "online/blue.yml"), Options{Sets: []string{"instance_count=3"}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(bytes.ReplaceAll(got, []byte(dir), []byte("$DIR")), '\n')
	path := filepath.Join("testdata", "endpoint", "blue.golden.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("parsed deployment differs from %s (run with -update if intended):\n%s", path, got)
	}
}

func TestParseOnlineDeploymentModels(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, model       string
		ref, path, folder string
		typ               string
	}{
		{name: "registered", model: "azureml:bc-model:3", ref: "azureml:bc-model:3"},
		{name: "latest", model: "azureml:bc-model@latest", ref: "azureml:bc-model@latest"},
		{name: "local folder", model: "./model-1/model", path: "model-1/model", folder: "model"},
		{name: "local file", model: "model.pkl", path: "model.pkl"},
		{name: "inline", model: "\n  path: ../model-1/model/\n  type: mlflow_model\n  name: m", path: "model-1/model", folder: "model", typ: TypeMLflowModel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			yaml := "name: blue\nmodel: " + tt.model + "\n"
			if tt.name == "inline" {
				yaml = "name: blue\nmodel:" + tt.model + "\n"
			}
			dir := endpointFiles(t, map[string]string{"d/dep.yml": yaml})
			file := filepath.Join(dir, "d/dep.yml")
			if tt.name == "local folder" || tt.name == "local file" {
				file = filepath.Join(dir, "dep.yml")
				if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			d, err := ParseOnlineDeploymentFile(file, Options{})
			if err != nil {
				t.Fatal(err)
			}
			m := d.Model
			wantPath := ""
			if tt.path != "" {
				wantPath = filepath.Join(dir, tt.path)
			}
			if m.Ref != tt.ref || m.Path != wantPath || m.Folder != tt.folder || m.Type != tt.typ {
				t.Fatalf("model = %+v", m)
			}
		})
	}
}

func TestParseOnlineDeploymentErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"no name", "endpoint_name: my-endpoint\n", []string{"d.yml:1:1: an online deployment needs name:"}},
		{"bad name", "name: b_1\n", []string{`d.yml:1:7: name: invalid deployment name "b_1": expected 3 to 32 letters`}},
		{"registry model", "name: blue\nmodel: azureml://registries/azureml/models/x/versions/1\n",
			[]string{"d.yml:2:8: model: model \"azureml://registries/azureml/models/x/versions/1\": registry references are not served locally"}},
		{"inline model without path", "name: blue\nmodel: {name: m, version: 1}\n", []string{"d.yml:2:8: model: an inline model needs path:"}},
		{"missing model path", "name: blue\nmodel: ./nope\n", []string{"d.yml:2:8: model: ./nope does not exist"}},
		{"remote model", "name: blue\nmodel: {path: https://x/y}\n", []string{`d.yml:2:15: model.path: model path "https://x/y": only local paths`}},
		{"code without script", "name: blue\ncode_configuration: {code: ./}\n", []string{"d.yml:2:21: code_configuration needs scoring_script:"}},
		{"script outside code", "name: blue\ncode_configuration: {code: ./, scoring_script: ../x.py}\n",
			[]string{`d.yml:2:48: code_configuration.scoring_script: "../x.py" must be a path inside the code folder`}},
		{"script missing", "name: blue\ncode_configuration: {code: ./, scoring_script: score.py}\n",
			[]string{"d.yml:2:48: code_configuration.scoring_script: score.py is not a file in the code folder"}},
		{"numbers out of range", "name: blue\ninstance_count: 100\nmax_batch_size: -1\nrequest_settings: {request_timeout_ms: 0}\nliveness_probe: {period: 0}\n", []string{
			"d.yml:2:17: instance_count: expected an integer from 1 to 64, got 100",
			"d.yml:3:17: max_batch_size: expected an integer from 0 to 1024, got -1",
			"d.yml:4:40: request_settings.request_timeout_ms: expected an integer from 1 to 3600000, got 0",
			"d.yml:5:26: liveness_probe.period: expected an integer from 1 to 3600, got 0",
		}},
		{"unknown key", "name: blue\ninstances: 2\n", []string{`d.yml:2:1: unknown key "instances" in an online deployment; known keys: $schema, code_configuration`}},
		{"bad type", "name: blue\ntype: serverless\n", []string{`d.yml:2:7: type: unknown value "serverless"; expected one of managed, kubernetes`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := writeFiles(t, map[string]string{"d.yml": tt.yaml})
			d, err := ParseOnlineDeploymentFile(filepath.Join(dir, "d.yml"), Options{})
			if err == nil {
				t.Fatalf("parsed without error: %+v", d)
			}
			checkErrors(t, dir, err, tt.want)
		})
	}
}

func TestParseOnlineEndpoint(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{
		"ep.yml": "$schema: https://azuremlschemas.azureedge.net/latest/managedOnlineEndpoint.schema.json\nname: my-endpoint\n" +
			"auth_mode: aml_token\ndescription: d\ntags: {team: ml}\ntraffic: {blue: 90, green: 10}\nmirror_traffic: {red: 20}\n" +
			"identity: {type: system_assigned}\npublic_network_access: enabled\n",
	})
	e, err := ParseOnlineEndpointFile(filepath.Join(dir, "ep.yml"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if e.Name != "my-endpoint" || e.AuthMode != AuthAMLToken || e.Traffic["blue"] != 90 || e.Traffic["green"] != 10 ||
		e.MirrorTraffic["red"] != 20 || e.Tags["team"] != "ml" || e.Description != "d" {
		t.Fatalf("got %+v", e)
	}
}

func TestParseOnlineEndpointErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"no name", "auth_mode: key\n", []string{"e.yml:1:1: an online endpoint needs name:"}},
		{"short name", "name: ep\n", []string{`e.yml:1:7: name: invalid endpoint name "ep"`}},
		{"aad", "name: my-ep\nauth_mode: aad_token\n", []string{"e.yml:2:12: auth_mode: aad_token needs Microsoft Entra ID"}},
		{"unknown auth", "name: my-ep\nauth_mode: basic\n", []string{`e.yml:2:12: auth_mode: unknown value "basic"; expected key or aml_token`}},
		{"traffic sum", "name: my-ep\ntraffic: {blue: 60, green: 30}\n", []string{"e.yml:2:10: traffic: percents add up to 90; they must add up to 100 (or 0)"}},
		{"traffic range", "name: my-ep\ntraffic: {blue: 120}\n", []string{"e.yml:2:17: traffic.blue: expected a percent from 0 to 100, got 120"}},
		{"traffic not a number", "name: my-ep\ntraffic: {blue: all}\n", []string{"e.yml:2:17: traffic.blue: expected an integer, got a string"}},
		{"mirror too much", "name: my-ep\nmirror_traffic: {green: 60}\n", []string{"e.yml:2:25: mirror_traffic.green: expected a percent from 0 to 50, got 60"}},
		{"mirror live", "name: my-ep\ntraffic: {blue: 100}\nmirror_traffic: {blue: 10}\n",
			[]string{"e.yml:3:17: mirror_traffic.blue: deployment blue gets live traffic"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := writeFiles(t, map[string]string{"e.yml": tt.yaml})
			e, err := ParseOnlineEndpointFile(filepath.Join(dir, "e.yml"), Options{})
			if err == nil {
				t.Fatalf("parsed without error: %+v", e)
			}
			checkErrors(t, dir, err, tt.want)
		})
	}
}

func TestParseTraffic(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    map[string]int
		wantErr string
	}{
		{in: "blue=90 green=10", want: map[string]int{"blue": 90, "green": 10}},
		{in: "blue=90,green=10", want: map[string]int{"blue": 90, "green": 10}},
		{in: "  blue=100  ", want: map[string]int{"blue": 100}},
		{in: "", want: map[string]int{}},
		{in: "blue", wantErr: "expected <deployment>=<percent>"},
		{in: "=10", wantErr: "expected <deployment>=<percent>"},
		{in: "blue=ninety", wantErr: "whole number"},
		{in: "blue=10.5", wantErr: "whole number"},
		{in: "blue=50 blue=50", wantErr: "given twice"},
	}
	for _, tt := range tests {
		got, err := ParseTraffic(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseTraffic(%q) = %v, %v; want error %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || len(got) != len(tt.want) {
			t.Errorf("ParseTraffic(%q) = %v, %v", tt.in, got, err)
			continue
		}
		for k, v := range tt.want {
			if got[k] != v {
				t.Errorf("ParseTraffic(%q)[%s] = %d, want %d", tt.in, k, got[k], v)
			}
		}
	}
}

// FuzzParseOnlineDeployment checks that no input makes the parsers panic or
// return both a result and an error.
func FuzzParseOnlineDeployment(f *testing.F) {
	f.Add([]byte(azureDeployment))
	f.Add([]byte("name: blue\nmodel: {path: x, type: mlflow_model}\nliveness_probe: {period: 1}\n"))
	f.Add([]byte("name: my-ep\ntraffic: {a: 50, b: 50}\nmirror_traffic: {c: 10}\n"))
	f.Add([]byte("<<: {name: x}\nmodel: &m [*m]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file := filepath.Join("testdata", "fuzz.yml")
		d, err := ParseOnlineDeployment(file, data, Options{})
		if (d == nil) == (err == nil) {
			t.Fatalf("ParseOnlineDeployment returned %v and %v", d != nil, err)
		}
		e, err := ParseOnlineEndpoint(file, data, Options{})
		if (e == nil) == (err == nil) {
			t.Fatalf("ParseOnlineEndpoint returned %v and %v", e != nil, err)
		}
	})
}
