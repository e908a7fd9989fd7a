package spec

import (
	"encoding/json"
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// uploadedRef stands for content the CLI uploaded.
const uploadedRef = "blob:sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestCheckSubmittedJobRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		json      string
		wantField string
		wantMsg   string
	}{
		{"output name climbs out", `{"type":"command","command":"echo","outputs":{"../../../../etc":{}}}`, "outputs", `invalid output name "../../../../etc"`},
		{"input name with a slash", `{"type":"command","command":"echo","inputs":{"a/b":{"value":"1"}}}`, "inputs", `invalid input name "a/b"`},
		{"step named ..", `{"type":"pipeline","jobs":{"..":{"type":"command","command":"echo"}}}`, "jobs", `invalid step name ".."`},
		{"nested step with a NUL", `{"type":"pipeline","jobs":{"a":{"type":"pipeline","jobs":{"b\u0000":{"command":"echo"}}}}}`, "jobs.a.jobs", "invalid step name"},
		{"job name with a slash", `{"type":"command","name":"a/b","command":"echo"}`, "name", "invalid name"},
		{"code is a server path", `{"type":"command","command":"echo","code":"/etc"}`, "code", "path on the server's disk"},
		{"code climbs", `{"type":"command","command":"echo","code":"../.."}`, "code", "path on the server's disk"},
		{"code is the root", `{"type":"command","command":"echo","code":"/"}`, "code", "ciel CLI uploads"},
		{"code is a file URL", `{"type":"command","command":"echo","code":"file:///etc"}`, "code", "path on the server's disk"},
		{"code is a bad digest", `{"type":"command","command":"echo","code":"blob:../../etc"}`, "code", "blob:sha256:<64 hex digits>"},
		{"input path on the server", `{"type":"command","command":"cat ${{inputs.d}}","inputs":{"d":{"type":"uri_file","path":"/etc/passwd"}}}`, "inputs.d.path", "path on the server's disk"},
		{"step code on the server", `{"type":"pipeline","jobs":{"a":{"command":"echo","code":"/home"}}}`, "jobs.a.code", "path on the server's disk"},
		{"inline component code", `{"type":"pipeline","jobs":{"a":{"component":{"inline":{"command":"echo","code":"/etc"}}}}}`, "jobs.a.component.code", "path on the server's disk"},
		{"inline component port", `{"type":"pipeline","jobs":{"a":{"component":{"inline":{"command":"echo","outputs":{"..":{"type":"uri_folder"}}}}}}}`, "jobs.a.component.outputs", `invalid output name ".."`},
		{"additional includes", `{"type":"pipeline","jobs":{"a":{"component":{"inline":{"command":"echo","additional_includes":["/etc"]}}}}}`, "jobs.a.component.additional_includes", "ciel CLI"},
		{"build context on the server", `{"type":"command","command":"echo","environment":{"inline":{"build_path":"/etc"}}}`, "environment.inline.build_path", "path on the server's disk"},
		{"NUL in the command", `{"type":"command","command":"echo a\u0000b"}`, "command", "NUL"},
		{"NUL in a step command", `{"type":"pipeline","jobs":{"a":{"command":"echo\u0000"}}}`, "jobs.a.command", "NUL"},
		{"NUL in an input value", `{"type":"command","command":"echo ${{inputs.x}}","inputs":{"x":{"value":"a\u0000"}}}`, "inputs.x.value", "NUL"},
		{"NUL in a variable", `{"type":"command","command":"echo","environment_variables":{"A":"x\u0000"}}`, "environment_variables.A", "NUL"},
		{"= in a variable name", `{"type":"command","command":"echo","environment_variables":{"A=B":"x"}}`, "environment_variables", "invalid variable name"},
		{"newline in the experiment", `{"type":"command","command":"echo","experiment_name":"a\nb"}`, "experiment_name", "control characters"},
		{"output registered under a bad name", `{"type":"command","command":"echo","outputs":{"o":{"name":"../x"}}}`, "outputs.o.name", "invalid name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var j Job
			if err := json.Unmarshal([]byte(tt.json), &j); err != nil {
				t.Fatal(err)
			}
			err := CheckSubmittedJob(&j)
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v (%T), want a *FieldError", err, err)
			}
			if fe.Field != tt.wantField || !strings.Contains(fe.Msg, tt.wantMsg) {
				t.Errorf("got field %q message %q, want field %q with %q", fe.Field, fe.Msg, tt.wantField, tt.wantMsg)
			}
		})
	}
}

func TestCheckSubmittedJobAccepts(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		`{"type":"command","name":"my_job-1.2","command":"python train.py --x ${{inputs.x}}\n\techo done","code":"` + uploadedRef + `",
		  "display_name":"a command job is one run","experiment_name":"/Shared/exp 1",
		  "inputs":{"x":{"value":"0.10"},"data_in":{"type":"uri_folder","path":"azureml:iris:1"},"web":{"type":"uri_file","path":"https://example.com/a.csv"}},
		  "outputs":{"model_out":{"name":"my-model","version":"2"},"artifacts":{}},
		  "environment":{"inline":{"image":"python:3.12","build_path":"` + uploadedRef + `"}},
		  "environment_variables":{"A":"x=y"}}`,
		`{"type":"pipeline","jobs":{"prep_step":{"component":{"ref":"azureml:prep:1"}},
		  "train-2":{"type":"pipeline","jobs":{"_inner":{"command":"echo"}}},
		  "score":{"component":{"inline":{"name":"score","version":"0.1.0","command":"echo","code":"azureml:code:1","inputs":{"x":{"type":"string","default":"a"}}}}}}}`,
	} {
		var j Job
		if err := json.Unmarshal([]byte(s), &j); err != nil {
			t.Fatal(err)
		}
		if err := CheckSubmittedJob(&j); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
}

func TestCheckSubmittedAssets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		check     func() error
		wantField string
	}{
		{"data path on the server", func() error { return CheckSubmittedData(&Data{Name: "d", Path: "/etc/passwd"}) }, "path"},
		{"data name climbs", func() error { return CheckSubmittedData(&Data{Name: "..", Path: uploadedRef}) }, "name"},
		{"data version with a slash", func() error { return CheckSubmittedData(&Data{Name: "d", Version: "1/../2", Path: uploadedRef}) }, "version"},
		{"environment build context", func() error { return CheckSubmittedEnvironment(&Environment{Name: "e", BuildPath: "../.."}) }, "build_path"},
		{"environment without a name", func() error { return CheckSubmittedEnvironment(&Environment{Image: "x"}) }, "name"},
		{"component code", func() error { return CheckSubmittedComponent(&Component{Name: "c", Command: "echo", Code: "/"}) }, "code"},
		{"component step", func() error {
			return CheckSubmittedComponent(&Component{Name: "c", Type: JobPipeline, Jobs: map[string]*Job{"a/b": {}}})
		}, "jobs"},
		{"compute name", func() error { return CheckSubmittedCompute(&Compute{Name: "a b"}) }, "name"},
		{"deployment name", func() error { return CheckSubmittedDeployment(&OnlineDeployment{Name: "../x"}) }, "name"},
		{"deployment code", func() error {
			return CheckSubmittedDeployment(&OnlineDeployment{Name: "blue", CodeConfiguration: &CodeConfiguration{Code: "/etc", ScoringScript: "s.py"}})
		}, "code_configuration.code"},
		{"deployment scoring script climbs", func() error {
			return CheckSubmittedDeployment(&OnlineDeployment{Name: "blue", CodeConfiguration: &CodeConfiguration{Code: uploadedRef, ScoringScript: "../s.py"}})
		}, "code_configuration.scoring_script"},
		{"deployment model path", func() error {
			return CheckSubmittedDeployment(&OnlineDeployment{Name: "blue", Model: &DeploymentModel{Path: "/srv/model"}})
		}, "model.path"},
		{"deployment model folder", func() error {
			return CheckSubmittedDeployment(&OnlineDeployment{Name: "blue", Model: &DeploymentModel{Path: uploadedRef, Folder: "a/.."}})
		}, "model.folder"},
		{"deployment variable", func() error {
			return CheckSubmittedDeployment(&OnlineDeployment{Name: "blue", Model: &DeploymentModel{Ref: "azureml:m:1"}, EnvironmentVariables: map[string]string{"X": "\x00"}})
		}, "environment_variables.X"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var fe *FieldError
			if err := tt.check(); !errors.As(err, &fe) || fe.Field != tt.wantField {
				t.Errorf("error %v, want a *FieldError for %q", err, tt.wantField)
			}
		})
	}
	ok := []error{
		CheckSubmittedData(&Data{Name: "iris", Version: "1.0", Path: uploadedRef}),
		CheckSubmittedEnvironment(&Environment{Name: "sk", Version: "3", Image: "python:3.12"}),
		CheckSubmittedCompute(&Compute{Name: "cpu-cluster"}),
		CheckSubmittedDeployment(&OnlineDeployment{Name: "blue", Model: &DeploymentModel{Path: uploadedRef, Folder: "model"},
			CodeConfiguration: &CodeConfiguration{Code: uploadedRef, ScoringScript: "onlinescoring/score.py"}}),
	}
	for i, err := range ok {
		if err != nil {
			t.Errorf("valid asset %d: %v", i, err)
		}
	}
}

// TestParsedFilesPassSubmittedCheck checks that what the CLI sends for every
// job, component, environment and data file in the repository (parsed, its
// local paths uploaded) passes the API's check.
func TestParsedFilesPassSubmittedCheck(t *testing.T) {
	t.Parallel()
	roots := []string{"testdata", "../../examples", "../../e2e/testdata"}
	checked := 0
	for _, root := range roots {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || (filepath.Ext(p) != ".yml" && filepath.Ext(p) != ".yaml") {
				return err
			}
			var check error
			if j, err := ParseJobFile(p, Options{}); err == nil {
				uploadJob(j)
				check = CheckSubmittedJob(j)
			} else if c, err := ParseComponentFile(p, Options{}); err == nil {
				uploadComponent(c)
				check = CheckSubmittedComponent(c)
			} else if e, err := ParseEnvironmentFile(p, Options{}); err == nil && e.Name != "" {
				uploadEnvironment(e)
				check = CheckSubmittedEnvironment(e)
			} else if d, err := ParseDataFile(p, Options{}); err == nil {
				d.Path = uploaded(d.Path)
				check = CheckSubmittedData(d)
			} else {
				return nil
			}
			checked++
			if check != nil {
				t.Errorf("%s: %v", p, check)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if checked < 40 {
		t.Errorf("checked %d files; the walk missed the test data", checked)
	}
}

// uploaded replaces a local path as the CLI's upload does.
func uploaded(p string) string {
	if p == "" || strings.HasPrefix(p, "azureml:") || strings.HasPrefix(p, "blob:") || strings.Contains(p, "://") {
		return p
	}
	return uploadedRef
}

func uploadJob(j *Job) {
	if j == nil {
		return
	}
	j.Code = uploaded(j.Code)
	uploadEnvRef(j.Environment)
	if p := j.Parallel; p != nil && p.Task != nil {
		p.Task.Code = uploaded(p.Task.Code)
		uploadEnvRef(p.Task.Environment)
	}
	for _, in := range j.Inputs {
		in.Path = uploaded(in.Path)
	}
	if j.Component != nil {
		uploadComponent(j.Component.Inline)
	}
	for _, s := range j.Jobs {
		uploadJob(s)
	}
}

func uploadComponent(c *Component) {
	if c == nil {
		return
	}
	if len(c.AdditionalIncludes) > 0 {
		c.Code, c.AdditionalIncludes = uploadedRef, nil
	}
	c.Code = uploaded(c.Code)
	uploadEnvRef(c.Environment)
	for _, s := range c.Jobs {
		uploadJob(s)
	}
}

func uploadEnvRef(e *EnvRef) {
	if e != nil {
		uploadEnvironment(e.Inline)
	}
}

func uploadEnvironment(e *Environment) {
	if e != nil {
		e.BuildPath = uploaded(e.BuildPath)
	}
}
