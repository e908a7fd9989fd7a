package spec

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// batchFiles writes a deployment's folder: a model, code and a conda file,
// plus the extra files given, and returns it.
func batchFiles(t *testing.T, extra map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"model/model.pkl":         "pickle",
		"code/batch_driver.py":    "def init(): pass\ndef run(mini_batch): return mini_batch\n",
		"environment/conda.yaml":  "dependencies: [python=3.11]\n",
		"mlflow-model/MLmodel":    "flavors: {}\n",
		"mlflow-model/conda.yaml": "dependencies: [python=3.11]\n",
	}
	for k, v := range extra {
		files[k] = v
	}
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// azureBatchDeployment is azureml-examples' heart-classifier deployment
// with a scoring script (deployment-custom/deployment.yml), settings
// nested as the newer schema writes them.
const azureBatchDeployment = `$schema: https://azuremlschemas.azureedge.net/latest/modelBatchDeployment.schema.json
endpoint_name: heart-classifier-batch
name: classifier-xgboost-custom
description: A heart condition classifier based on XGBoost
type: model
model: azureml:heart-classifier-mlflow@latest
environment:
  name: batch-mlflow-xgboost
  image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest
  conda_file: environment/conda.yaml
code_configuration:
  code: code
  scoring_script: batch_driver.py
compute: azureml:batch-cluster
resources:
  instance_count: 2
settings:
  max_concurrency_per_instance: 2
  mini_batch_size: 2
  output_action: append_row
  output_file_name: predictions.csv
  retry_settings:
    max_retries: 3
    timeout: 300
  error_threshold: -1
  logging_level: info
`

func TestParseBatchDeployment(t *testing.T) {
	t.Parallel()
	dir := batchFiles(t, nil)
	tests := []struct {
		name string
		yaml string
		want BatchSettings
		// check looks at the rest of the deployment.
		check func(t *testing.T, d *BatchDeployment)
	}{
		{"nested settings", azureBatchDeployment, BatchSettings{
			MaxConcurrencyPerInstance: 2, MiniBatchSize: 2, OutputAction: OutputAppendRow, OutputFileName: "predictions.csv",
			Retry: BatchRetrySettings{MaxRetries: 3, TimeoutSeconds: 300}, ErrorThreshold: -1, LoggingLevel: "info",
		}, func(t *testing.T, d *BatchDeployment) {
			if d.Model.Ref != "azureml:heart-classifier-mlflow@latest" || d.Compute != "batch-cluster" || d.InstanceCount != 2 {
				t.Errorf("model %+v compute %q instances %d", d.Model, d.Compute, d.InstanceCount)
			}
			if d.CodeConfiguration.ScoringScript != "batch_driver.py" || d.CodeConfiguration.Code != filepath.Join(dir, "code") {
				t.Errorf("code %+v", d.CodeConfiguration)
			}
		}},
		{"older top-level settings", `name: old-style
endpoint_name: ep1
model: {name: m, path: model}
code_configuration: {code: code, scoring_script: batch_driver.py}
environment: {image: python}
mini_batch_size: 5
max_concurrency_per_instance: 3
output_action: summary_only
retry_settings: {max_retries: 0}
error_threshold: 10
logging_level: WARNING
environment_variables: {A: "1"}
`, BatchSettings{
			MaxConcurrencyPerInstance: 3, MiniBatchSize: 5, OutputAction: OutputSummaryOnly,
			Retry: BatchRetrySettings{MaxRetries: 0, TimeoutSeconds: DefaultBatchTimeout}, ErrorThreshold: 10,
			LoggingLevel: "warning", EnvironmentVariables: map[string]string{"A": "1"},
		}, func(t *testing.T, d *BatchDeployment) {
			if d.Model.Folder != "model" || d.InstanceCount != 1 {
				t.Errorf("model %+v, instances %d", d.Model, d.InstanceCount)
			}
		}},
		{"defaults for an MLflow model", "name: mlflow-dpl\nendpoint_name: ep1\nmodel: {path: mlflow-model, type: mlflow_model}\n",
			BatchSettings{
				MaxConcurrencyPerInstance: 1, MiniBatchSize: DefaultMiniBatchSize, OutputAction: OutputAppendRow,
				OutputFileName: DefaultOutputFileName, Retry: BatchRetrySettings{MaxRetries: 3, TimeoutSeconds: 30},
				ErrorThreshold: -1, LoggingLevel: "info",
			}, func(t *testing.T, d *BatchDeployment) {
				if d.CodeConfiguration != nil || d.Environment != nil || d.Type != BatchDeploymentModel {
					t.Errorf("no-code deployment: %+v", d)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := ParseBatchDeployment(filepath.Join(dir, "dep.yml"), []byte(tt.yaml), Options{})
			if err != nil {
				t.Fatal(err)
			}
			got := d.Settings
			got.Pos, got.set = Pos{}, nil
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("settings\n got %+v\nwant %+v", got, tt.want)
			}
			if err := CheckBatchDeployment(d); err != nil {
				t.Errorf("a parsed deployment fails CheckBatchDeployment: %v", err)
			}
			tt.check(t, d)
		})
	}
}

func TestParseBatchDeploymentErrors(t *testing.T) {
	t.Parallel()
	dir := batchFiles(t, nil)
	const head = "name: dpl\nendpoint_name: ep1\n"
	const script = "code_configuration: {code: code, scoring_script: batch_driver.py}\nenvironment: {image: python}\n"
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"mini batch of 0", head + "model: model\n" + script + "settings:\n  mini_batch_size: 0\n",
			[]string{"dep.yml:7:20: settings.mini_batch_size: expected an integer from 1 to 1000000, got 0"}},
		{"unknown output action", head + "model: model\n" + script + "settings: {output_action: append}\n",
			[]string{"dep.yml:6:27: settings.output_action: unknown value \"append\"; expected one of append_row, summary_only"}},
		{"output file with a folder", head + "model: model\n" + script + "output_file_name: ../x.csv\n",
			[]string{"dep.yml:6:19: output_file_name: output_file_name \"../x.csv\": expected a file name"}},
		{"setting given twice", head + "model: model\n" + script + "mini_batch_size: 2\nsettings: {mini_batch_size: 3}\n",
			[]string{"dep.yml:7:29: settings.mini_batch_size: mini_batch_size is given both at the top of the file and under settings"}},
		{"no model", head + script, []string{"dep.yml:1:1: a model batch deployment needs model:"}},
		{"script without environment", head + "model: model\ncode_configuration: {code: code, scoring_script: batch_driver.py}\n",
			[]string{"dep.yml:4:21: code_configuration: a deployment with a scoring script needs environment:"}},
		{"environment without script", head + "model: model\nenvironment: {image: python}\n",
			[]string{"dep.yml:4:14: environment: a deployment without code_configuration scores an MLflow model"}},
		{"missing script", head + "model: model\nenvironment: {image: python}\ncode_configuration: {code: code, scoring_script: nope.py}\n",
			[]string{"dep.yml:5:50: code_configuration.scoring_script: nope.py is not a file in the code folder"}},
		{"bad name", "name: 1dpl\nendpoint_name: ep1\nmodel: model\n" + script,
			[]string{"dep.yml:1:7: name: invalid deployment name \"1dpl\""}},
		{"summary only with a file", head + "model: model\n" + script + "settings: {output_action: summary_only, output_file_name: p.csv}\n",
			[]string{"dep.yml:6:11: settings.output_file_name: output_file_name is for output_action: append_row"}},
		{"unknown key", head + "model: model\n" + script + "mini_batch: 3\n",
			[]string{"dep.yml:6:1: unknown key \"mini_batch\" in a batch deployment"}},
		{"bad retry", head + "model: model\n" + script + "settings: {retry_settings: {max_retries: -1, timeout: 0}}\n",
			[]string{"settings.retry_settings.max_retries: expected an integer from 0 to 100, got -1",
				"settings.retry_settings.timeout: expected an integer from 1 to 86400, got 0"}},
		{"too many workers", head + "model: model\n" + script + "resources: {instance_count: 64}\nsettings: {max_concurrency_per_instance: 8}\n",
			[]string{"dep.yml:7:11: settings.max_concurrency_per_instance: resources.instance_count x max_concurrency_per_instance is 64 x 8; ciel runs at most 256"}},
		{"logging level", head + "model: model\n" + script + "logging_level: loud\n",
			[]string{"dep.yml:6:16: logging_level: unknown value \"loud\"; expected one of debug, info, warning, error, critical"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseBatchDeployment(filepath.Join(dir, "dep.yml"), []byte(tt.yaml), Options{})
			if err == nil {
				t.Fatalf("no error; want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestParseBatchEndpoint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml, want, wantDefault string
	}{
		{"azureml-examples", "$schema: https://azuremlschemas.azureedge.net/latest/batchEndpoint.schema.json\nname: heart-classifier-batch\ndescription: d\nauth_mode: aad_token", "", ""},
		{"defaults", "name: ep1\ndefaults:\n  deployment_name: blue\n", "", "blue"},
		{"key auth", "name: ep1\nauth_mode: key\n", "ep.yml:2:12: auth_mode: unknown value \"key\"; batch endpoints take aad_token only", ""},
		{"no name", "description: x\n", "ep.yml:1:1: a batch endpoint needs name", ""},
		{"bad default", "name: ep1\ndefaults: {deployment_name: a_b}\n", "ep.yml:2:29: defaults.deployment_name: invalid deployment name \"a_b\"", ""},
		{"traffic", "name: ep1\ntraffic: {blue: 100}\n", "ep.yml:2:1: unknown key \"traffic\" in a batch endpoint", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := ParseBatchEndpoint("ep.yml", []byte(tt.yaml), Options{})
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("error %v; want %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if e.AuthMode != AuthAADToken || e.DefaultDeployment != tt.wantDefault {
				t.Errorf("auth %q default %q", e.AuthMode, e.DefaultDeployment)
			}
		})
	}
}

func TestCheckBatchDeployment(t *testing.T) {
	t.Parallel()
	good := func() *BatchDeployment {
		return &BatchDeployment{Name: "dpl", EndpointName: "ep1", InstanceCount: 1, Settings: BatchSettings{
			MaxConcurrencyPerInstance: 1, MiniBatchSize: 1, OutputAction: OutputAppendRow, OutputFileName: "p.csv",
			Retry: BatchRetrySettings{MaxRetries: 1, TimeoutSeconds: 1}, ErrorThreshold: -1,
		}}
	}
	if err := CheckBatchDeployment(good()); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		change func(*BatchDeployment)
		want   string
	}{
		{"output file escapes", func(d *BatchDeployment) { d.Settings.OutputFileName = "../../etc/x" }, "expected a file name"},
		{"no output file", func(d *BatchDeployment) { d.Settings.OutputFileName = "" }, "expected a file name"},
		{"script escapes", func(d *BatchDeployment) {
			d.CodeConfiguration = &CodeConfiguration{Code: "blob:x", ScoringScript: "../x.py"}
		}, "scoring_script"},
		{"model folder escapes", func(d *BatchDeployment) { d.Model = &DeploymentModel{Path: "blob:x", Folder: ".."} }, "model folder"},
		{"zero mini-batch", func(d *BatchDeployment) { d.Settings.MiniBatchSize = 0 }, "mini_batch_size"},
		{"bad env var", func(d *BatchDeployment) { d.Settings.EnvironmentVariables = map[string]string{"A=B": "1"} }, "environment_variables"},
		{"pipeline without a component", func(d *BatchDeployment) { d.Type = BatchDeploymentPipeline }, "needs one of component and job_definition"},
		{"unknown type", func(d *BatchDeployment) { d.Type = "flow" }, "expected model or pipeline"},
		{"bad name", func(d *BatchDeployment) { d.Name = "../x" }, "invalid deployment name"},
		{"too many workers", func(d *BatchDeployment) { d.InstanceCount, d.Settings.MaxConcurrencyPerInstance = 64, 64 }, "at most 256 worker processes"},
	}
	for _, tt := range tests {
		d := good()
		tt.change(d)
		if err := CheckBatchDeployment(d); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error with %q", tt.name, err, tt.want)
		}
	}
}

func FuzzParseBatchDeployment(f *testing.F) {
	f.Add([]byte(azureBatchDeployment))
	f.Add([]byte("name: a\nendpoint_name: b\nmodel: {path: x}\nsettings: {mini_batch_size: 2}\n"))
	f.Add([]byte("name: ep\ndefaults: {deployment_name: x}\n"))
	f.Add([]byte("name: a\nendpoint_name: b\ntype: pipeline\ncomponent: azureml:c@latest\nsettings: {default_compute: x}\n"))
	f.Add([]byte("name: a\nendpoint_name: b\ntype: pipeline\njob_definition: azureml:j\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		if d, err := ParseBatchDeployment(filepath.Join(dir, "d.yml"), data, Options{}); err == nil {
			if err := CheckBatchDeployment(d); err != nil && d.Model != nil {
				// Parsed deployments pass the API's check, except for
				// what only the server resolves.
				if !strings.Contains(err.Error(), "scoring_script") {
					t.Errorf("parsed, then refused: %v", err)
				}
			}
		}
		_, _ = ParseBatchEndpoint("e.yml", data, Options{})
	})
}
