package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The files under testdata/azureml-examples are copied unchanged from
// github.com/Azure/azureml-examples (see its README.md). Each case runs one
// of them through the ciel binary the way its README tells a user to run it
// with az ml: create what the workspace needs, then
// `ciel job create --file <file> --stream` from the file's folder.
//
// What a user's Azure workspace already has is created first, as the user
// would: the compute cluster cpu-cluster, and the curated environment
// sklearn-1.5 that most files name
// (azureml://registries/azureml/environments/sklearn-1.5/labels/latest),
// registered here as the host's Python, which is all these files need.

// examplesDir is the vendored copy, relative to this package.
const examplesDir = "testdata/azureml-examples"

// azCase is one example file run as a user would run it.
type azCase struct {
	name string
	dir  string     // where the user stands, relative to the examples root
	pre  [][]string // ciel commands run first, in dir
	// files are job files the test writes in dir, for component, data and
	// environment files that azureml-examples registers but runs from no
	// job of its own.
	files map[string]string
	file  string   // the job file
	args  []string // more job create flags
	want  []string // lines (or parts) the stream must show
	check func(t *testing.T, e *azEnv, name string)
	skip  func() string // a reason to skip, or ""
}

// workspaceHas is what every case's workspace holds before it starts.
var workspaceHas = [][]string{
	{"compute", "create", "--name", "cpu-cluster", "--type", "amlcompute", "--max-instances", "2"},
	{"environment", "create", "--name", "sklearn-1.5", "--image", "python"},
}

var runIDLine = regexp.MustCompile(`(?m)^RunId: (\S+)$`)

// runAzCases runs the cases on one server, each in a workspace of its own
// (so that no step is reused from another file's run), on a private copy of
// the examples.
func runAzCases(t *testing.T, cases []azCase) {
	root := copyExamples(t)
	shared := newEnv(t)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if c.skip != nil {
				if why := c.skip(); why != "" {
					t.Skip(why)
				}
			}
			e := &azEnv{env: &env{t: t, home: shared.home, dir: filepath.Join(root, filepath.FromSlash(c.dir))}, ws: fmt.Sprintf("ws%02d", i)}
			e.env.ok("workspace", "create", "--name", e.ws, "--resource-group", "rg", "--location", "eastus")
			for name, content := range c.files {
				e.write(name, content)
			}
			for _, args := range append(append([][]string{}, workspaceHas...), c.pre...) {
				e.ok(args...)
			}
			r := e.ok(append([]string{"job", "create", "--file", c.file, "--stream"}, c.args...)...)
			for _, w := range append([]string{"Status: Completed"}, c.want...) {
				if !strings.Contains(r.out, w) {
					t.Errorf("stream lacks %q:\n%s", w, r.out)
				}
			}
			m := runIDLine.FindStringSubmatch(r.out)
			if m == nil {
				t.Fatalf("no RunId in the stream:\n%s", r.out)
			}
			j := e.show(m[1])
			if j.Status != "Completed" {
				t.Fatalf("job %s is %s: %s", m[1], j.Status, j.Error)
			}
			for step, s := range j.Jobs {
				if s.Status != "Completed" || s.ReusedFrom != "" {
					t.Errorf("step %s: %s, reused from %q", step, s.Status, s.ReusedFrom)
				}
			}
			if c.check != nil {
				c.check(t, e, m[1])
			}
		})
	}
}

// azEnv is one case's workspace on the shared server: every command names
// it with -w, as a user with several workspaces would.
type azEnv struct {
	*env
	ws string
}

func (e *azEnv) ok(args ...string) result {
	e.t.Helper()
	return e.env.ok(append(args, "-w", e.ws)...)
}

func (e *azEnv) show(name string) job {
	e.t.Helper()
	r := e.ok("job", "show", "--name", name, "-o", "json")
	var j job
	if err := json.Unmarshal([]byte(r.out), &j); err != nil {
		e.t.Fatalf("job show: %v\n%s", err, r.out)
	}
	return j
}

// copyExamples copies the vendored files to a folder of the test's own, so
// that nothing a run leaves behind can change them.
func copyExamples(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(examplesDir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(examplesDir, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// downloaded downloads one named output (or, with output "", every
// artifact) of job and returns the folder it landed in.
func downloaded(t *testing.T, e *azEnv, job, output string) string {
	t.Helper()
	dst := t.TempDir()
	if output == "" {
		e.ok("job", "download", "--name", job, "--all", "--download-path", dst)
		return filepath.Join(dst, "artifacts")
	}
	e.ok("job", "download", "--name", job, "--output-name", output, "--download-path", dst)
	return filepath.Join(dst, "named-outputs", output)
}

// fileHas fails unless the file at path holds want.
func fileHas(t *testing.T, path, want string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(b), want) {
		t.Errorf("%s = %q, %v; want it to hold %q", path, b, err, want)
	}
}

// globHas fails unless exactly one file matches pattern and it holds want.
func globHas(t *testing.T, pattern, want string) {
	t.Helper()
	m, _ := filepath.Glob(pattern)
	if len(m) != 1 {
		t.Errorf("%d files match %s, want 1", len(m), pattern)
		return
	}
	fileHas(t, m[0], want)
}

// noPandas is a reason to skip a file whose script imports pandas when the
// host's Python, standing in for sklearn-1.5, has none.
func noPandas() string {
	if exec.Command("python", "-c", "import pandas").Run() != nil {
		return "the host's python has no pandas (sklearn-1.5 stands in as the host's python)"
	}
	return ""
}

const basicsDir = "cli/jobs/basics"

// cli/jobs/basics: command jobs and inline pipelines.
func TestAzureMLExamplesBasics(t *testing.T) {
	t.Parallel()
	runAzCases(t, []azCase{
		{name: "hello-world", dir: basicsDir, file: "hello-world.yml", want: []string{"\nhello world\n"}},
		{name: "hello-world-input", dir: basicsDir, file: "hello-world-input.yml", want: []string{"\nhello world\n42\n"}},
		{name: "hello-world-env-var", dir: basicsDir, file: "hello-world-env-var.yml", want: []string{"\nhello world\n"}},
		{name: "hello-world-org", dir: basicsDir, file: "hello-world-org.yml", want: []string{"\nhello world\n"},
			check: func(t *testing.T, e *azEnv, name string) {
				r := e.ok("job", "show", "--name", name, "-o", "json")
				for _, w := range []string{`"display_name": "hello-world-example"`, `"experiment_name": "hello-world-example"`, `"hello": "world"`, "Markdown is supported"} {
					if !strings.Contains(r.out, w) {
						t.Errorf("job show lacks %s:\n%s", w, r.out)
					}
				}
			}},
		// ./outputs is there when the command starts, and kept as artifacts.
		{name: "hello-world-output", dir: basicsDir, file: "hello-world-output.yml",
			check: func(t *testing.T, e *azEnv, name string) {
				fileHas(t, filepath.Join(downloaded(t, e, name, ""), "outputs", "helloworld.txt"), "hello world")
			}},
		{name: "hello-world-output-data", dir: basicsDir, file: "hello-world-output-data.yml",
			check: func(t *testing.T, e *azEnv, name string) {
				fileHas(t, filepath.Join(downloaded(t, e, name, "hello_output"), "helloworld.txt"), "hello world")
			}},
		{name: "hello-code", dir: basicsDir, file: "hello-code.yml", want: []string{"\nhello-iris.py\n", "\nhello-sweep.py\n"}},
		{name: "hello-model-as-input", dir: basicsDir, file: "hello-model-as-input.yml", want: []string{"\nMLmodel\n", "\nmodel.pkl\n"}},
		// Its data asset is the one 4d_data_input's README has the user create.
		{name: "hello-data-uri-folder", dir: basicsDir, file: "hello-data-uri-folder.yml",
			pre:  [][]string{{"data", "create", "--file", "../pipelines-with-components/basics/4d_data_input/data.yml"}},
			want: []string{"\nsample.csv\n"}},
		{name: "hello-dataset", dir: basicsDir, file: "hello-dataset.yml",
			pre:  [][]string{{"data", "create", "--name", "sampledata", "--version", "1", "--type", "uri_folder", "--path", "../../assets/data/sample-data"}},
			want: []string{"\ntitanic.csv\n"}},
		// The file reads iris.csv from a public URL; a local CSV replaces it.
		{name: "hello-iris-file", dir: basicsDir, file: "hello-iris-file.yml", skip: noPandas,
			args: []string{"--set", "inputs.iris_csv.path=../../assets/data/sample-data/titanic.csv"},
			want: []string{"--iris-csv: ", "PassengerId"}},
		{name: "hello-pipeline", dir: basicsDir, file: "hello-pipeline.yml", want: []string{"[hello_job] hello\n", "[world_job] world\n"}},
		{name: "hello-pipeline-serverless", dir: basicsDir, file: "hello-pipeline-serverless.yml", want: []string{"[hello_job] hello\n", "[world_job] world\n"}},
		{name: "hello-pipeline-io", dir: basicsDir, file: "hello-pipeline-io.yml", want: []string{"[hello_job] hello\n", "[world_job] world\n"}},
		{name: "hello-pipeline-io-serverless", dir: basicsDir, file: "hello-pipeline-io-serverless.yml", want: []string{"[world_job] world\n"}},
		// "echo 202204190 &" runs in the background: a step ends when its
		// shell does, so that line may or may not make it.
		{name: "hello-pipeline-settings", dir: basicsDir, file: "hello-pipeline-settings.yml",
			want: []string{"[hello_job] hello\n", "[world_job] hello\n"}},
		{name: "hello-pipeline-abc", dir: basicsDir, file: "hello-pipeline-abc.yml",
			want: []string{"[a] hello hello world\n", "/world_input/world.txt\n"}},
		{name: "hello-pipeline-abc-serverless", dir: basicsDir, file: "hello-pipeline-abc-serverless.yml",
			want: []string{"[a] hello hello world\n"}},
		// The default "artifacts" output carries what hello_job wrote to ./outputs.
		{name: "hello-pipeline-default-artifacts", dir: basicsDir, file: "hello-pipeline-default-artifacts.yml",
			want: []string{"[hello_job] hello\n", "[world_job] world\n"}},
		{name: "hello-pipeline-default-artifacts-serverless", dir: basicsDir, file: "hello-pipeline-default-artifacts-serverless.yml",
			want: []string{"[world_job] world\n"}},
		// Outputs at a datastore path: kept in the local datastore.
		{name: "hello-pipeline-customize-output-folder", dir: basicsDir, file: "hello-pipeline-customize-output-folder.yml",
			want: []string{"[hello_world] hello\n"}},
		{name: "hello-pipeline-customize-output-file", dir: basicsDir, file: "hello-pipeline-customize-output-file.yml",
			want: []string{"[hello_world] hello\n"},
			check: func(t *testing.T, e *azEnv, name string) {
				globHas(t, filepath.Join(downloaded(t, e, name, "output"), "*"), "world")
			}},
	})
}

const pwcDir = "cli/jobs/pipelines-with-components/basics/"

// cli/jobs/pipelines-with-components: component files, registered
// components, data assets, environments and pipeline components.
func TestAzureMLExamplesPipelinesWithComponents(t *testing.T) {
	t.Parallel()
	trainScoreEval := []string{
		"[train_job] hello training world...\n", "[train_job] Max epocs: 20\n", "[train_job] Learning rate: 1.8\n",
		"[train_job] reading file: sample1.csv ...\n",
		"[score_job] Model:  This is a dummy model with id: ", "[evaluate_job] hello evaluation world...\n",
	}
	evalReport := func(t *testing.T, e *azEnv, name string) {
		fileHas(t, filepath.Join(downloaded(t, e, name, "pipeline_job_evaluation_report"), "eval_result.txt"), "Eval done at")
	}
	registered := [][]string{
		{"component", "create", "--file", "train.yml"},
		{"component", "create", "--file", "score.yml"},
		{"component", "create", "--file", "eval.yml"},
	}
	runAzCases(t, []azCase{
		{name: "1a_e2e_local_components", dir: pwcDir + "1a_e2e_local_components", file: "pipeline.yml",
			want: trainScoreEval, check: evalReport},
		{name: "1b_e2e_registered_components", dir: pwcDir + "1b_e2e_registered_components", file: "pipeline.yml",
			pre: registered, want: trainScoreEval, check: evalReport},
		{name: "1b_e2e_registered_components serverless", dir: pwcDir + "1b_e2e_registered_components", file: "pipeline-serverless.yml",
			pre: registered, want: trainScoreEval, check: evalReport},
		{name: "2a_basic_component", dir: pwcDir + "2a_basic_component", file: "pipeline.yml",
			want: []string{"[hello_python_world_job] Hello Python World\n"}},
		{name: "2b_component_with_input_output", dir: pwcDir + "2b_component_with_input_output", file: "pipeline.yml",
			want: []string{"[hello_python_world_job] sample_input_string: hello_python_world_default\n", "reading file: sample.csv ..."},
			check: func(t *testing.T, e *azEnv, name string) {
				globHas(t, filepath.Join(downloaded(t, e, name, "pipeline_sample_output_data"), "file-*.txt"), "Logging date time: ")
			}},
		{name: "3a_basic_pipeline", dir: pwcDir + "3a_basic_pipeline", file: "pipeline.yml",
			want: []string{"[component_a] I'm component A :-)\n", "[component_b] I'm component B :-)\n", "[component_c] I'm component C :-)\n"}},
		{name: "3b_pipeline_with_data", dir: pwcDir + "3b_pipeline_with_data", file: "pipeline.yml",
			want: []string{"[component_a] reading file: sample.csv ...\n", "[component_c] Logging date time: "},
			check: func(t *testing.T, e *azEnv, name string) {
				globHas(t, filepath.Join(downloaded(t, e, name, "final_pipeline_output"), "file-*.txt"), "Logging date time: ")
			}},
		{name: "4a_local_data_input", dir: pwcDir + "4a_local_data_input", file: "pipeline.yml",
			want: []string{"[hello_python_world_job] sample_input_string: Hello_Pipeline_World\n"}},
		// The input is a file at a web URL; the copy the example ships replaces it.
		{name: "4c_web_url_input", dir: pwcDir + "4c_web_url_input", file: "pipeline.yml",
			args: []string{"--set", "jobs.hello_python_world_job.inputs.sample_input_data.path=./data/sample.csv"},
			want: []string{"[hello_python_world_job] sample_input_string: Hello_Pipeline_World\n", `[hello_python_world_job] "May",  0.1,`}},
		{name: "4d_data_input", dir: pwcDir + "4d_data_input", file: "pipeline.yml",
			pre:  [][]string{{"data", "create", "--file", "data.yml"}},
			want: []string{"[python_hello_step] ['sample.csv']\n", "[python_world_step] sample_input_string: Pipeline_World\n"}},
		{name: "5a_env_public_docker_image", dir: pwcDir + "5a_env_public_docker_image", file: "pipeline.yml",
			want: []string{"[hello_python_world_job] Hello Python World\n"}},
		{name: "5b_env_registered", dir: pwcDir + "5b_env_registered", file: "pipeline.yml",
			want: []string{"[hello_python_world_job] Hello Python World\n"}},
		// The one case that builds an environment: python=3.8 and pyjokes
		// from PyPI, with uv.
		{name: "5c_env_conda_file", dir: pwcDir + "5c_env_conda_file", file: "pipeline.yml",
			skip: func() string {
				if testing.Short() {
					return "builds a conda environment"
				}
				if _, err := exec.LookPath("uv"); err != nil && exec.Command("python3", "-m", "venv", "--help").Run() != nil {
					return "neither uv nor python3 -m venv available"
				}
				return ""
			},
			want: []string{"[hello_python_world_job] I tell a new joke each time you run me.", "[hello_python_world_job] How was it??\n"}},
		{name: "pipeline_with_train_eval_pipeline_component",
			dir:  "cli/jobs/pipelines-with-components/pipeline_with_pipeline_component/pipeline_with_train_eval_pipeline_component",
			file: "pipeline.yml",
			want: []string{
				"[train_and_evaluate_model1/train_job] Learning rate: 0.1\n", "[train_and_evaluate_model2/train_job] Learning rate: 0.01\n",
				"[train_and_evaluate_model1/evaluate_job] hello evaluation world...\n", "[compare] Best model path: ",
			},
			check: func(t *testing.T, e *azEnv, name string) {
				fileHas(t, filepath.Join(downloaded(t, e, name, "pipeline_job_best_model"), "model"), "Model #1: ")
				fileHas(t, filepath.Join(downloaded(t, e, name, "pipeline_job_best_result"), "result"), "Evaluation #2: ")
			}},
	})
}

// cli/assets: component, data and environment files, registered with
// `ciel <noun> create --file` as their READMEs say, then used by a job.
func TestAzureMLExamplesAssets(t *testing.T) {
	t.Parallel()
	runAzCases(t, []azCase{
		// Optional inputs: max_epocs is left out, so its $[[...]] block is
		// dropped; learning_rate and learning_rate_schedule take defaults.
		{name: "component/train.yml optional inputs", dir: "cli/assets/component",
			pre: [][]string{{"component", "create", "--file", "train.yml"}},
			files: map[string]string{"ciel-train-job.yml": `type: pipeline
jobs:
  train:
    component: azureml:train_data_component_cli@latest
    inputs:
      training_data: {type: uri_folder, path: ../data/sample-data}
`},
			file: "ciel-train-job.yml",
			want: []string{"[train] Max epochs: None\n", "[train] Learning rate: 0.01\n", "[train] Learning rate: time-based\n", "[train] reading file: titanic.csv ...\n"}},
		{name: "component/pipeline.yml pipeline component", dir: "cli/assets/component",
			pre: [][]string{{"component", "create", "--file", "pipeline.yml"}},
			files: map[string]string{"ciel-pipeline-job.yml": `type: pipeline
jobs:
  inner:
    type: pipeline
    component: azureml:inline_job_pipeline_component@latest
`},
			file: "ciel-pipeline-job.yml",
			want: []string{"[inner/hello_job] hello\n", "[inner/world_job] world\n"}},
		// additional_includes: common_src joins the code snapshot.
		{name: "component/component_additional_includes.yml registered", dir: "cli/assets/component",
			pre: [][]string{{"component", "create", "--file", "component_additional_includes.yml"}},
			files: map[string]string{"ciel-includes-job.yml": `type: pipeline
jobs:
  c:
    component: azureml:component_additional_include_cli@latest
`},
			file: "ciel-includes-job.yml",
			want: []string{"[c] Hello from helper_function\n"}},
		{name: "component/component_additional_includes.yml from a file", dir: "cli/assets/component",
			files: map[string]string{"ciel-includes-file-job.yml": `type: pipeline
jobs:
  c:
    component: ./component_additional_includes.yml
`},
			file: "ciel-includes-file-job.yml",
			want: []string{"[c] Hello from helper_function\n"}},
		{name: "data/local-*.yml", dir: "cli/assets/data",
			pre: [][]string{
				{"data", "create", "--file", "local-file.yml"},
				{"data", "create", "--file", "local-folder.yml"},
				{"data", "create", "--file", "local-mltable.yml"},
			},
			files: map[string]string{"ciel-data-job.yml": `command: >-
  head -1 ${{inputs.file}} && ls ${{inputs.folder}} && ls ${{inputs.table}}
inputs:
  file: {type: uri_file, path: azureml:local-file-example-titanic@latest}
  folder: {type: uri_folder, path: azureml:local-folder-example-titanic@latest}
  table: {type: mltable, path: azureml:local-mltable-example-titanic@latest}
`},
			file: "ciel-data-job.yml",
			want: []string{"\nPassengerId,Survived,Pclass,", "\ntitanic.csv\n", "\nMLTable\n"}},
		// An image alone runs on the host's Python; the pydata conda file of
		// the second environment is registered, not built.
		{name: "environment/docker-image*.yml", dir: "cli/assets/environment",
			pre: [][]string{
				{"environment", "create", "--file", "docker-image.yml"},
				{"environment", "create", "--file", "docker-image-plus-conda.yaml"},
			},
			files: map[string]string{"ciel-env-job.yml": `command: python -c "print('image env ok')"
environment: azureml:docker-image-example@latest
`},
			file: "ciel-env-job.yml",
			want: []string{"\nimage env ok\n"},
			check: func(t *testing.T, e *azEnv, name string) {
				r := e.ok("environment", "show", "--name", "docker-image-plus-conda-example", "--version", "1", "-o", "json")
				if !strings.Contains(r.out, "scikit-learn==0.24.2") {
					t.Errorf("environment lacks its conda file:\n%s", r.out)
				}
			}},
	})
}
