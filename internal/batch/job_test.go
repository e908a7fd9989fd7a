package batch

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ciel-mlops/ciel/internal/blob"
	bloblocal "github.com/ciel-mlops/ciel/internal/blob/local"
	"github.com/ciel-mlops/ciel/internal/spec"
)

// putTree stores files as a tree and returns "blob:<digest>".
func putTree(t *testing.T, s blob.Store, files map[string]string) string {
	t.Helper()
	ctx := context.Background()
	var tr blob.Tree
	for name, content := range files {
		d, n, err := s.Put(ctx, strings.NewReader(content))
		if err != nil {
			t.Fatal(err)
		}
		tr.Entries = append(tr.Entries, blob.Entry{Path: name, Digest: d, Size: n, Mode: blob.ModeFile})
	}
	d, err := blob.PutTree(ctx, s, tr)
	if err != nil {
		t.Fatal(err)
	}
	return "blob:" + d
}

// deployment is a scoring-script deployment with the settings a file
// without any gets.
func deployment(code, model string) Deployment {
	return Deployment{Name: "blue", Endpoint: "scorer", Spec: spec.BatchDeployment{
		Name: "blue", EndpointName: "scorer", InstanceCount: 2, Compute: "cpu",
		Model:             &spec.DeploymentModel{Path: model, Folder: "model"},
		CodeConfiguration: &spec.CodeConfiguration{Code: code, ScoringScript: "src/score.py"},
		Environment:       &spec.EnvRef{Ref: "azureml:env:1"},
		Settings: spec.BatchSettings{
			MaxConcurrencyPerInstance: 3, MiniBatchSize: 10, OutputAction: spec.OutputAppendRow, OutputFileName: "predictions.csv",
			Retry: spec.BatchRetrySettings{MaxRetries: 3, TimeoutSeconds: 30}, ErrorThreshold: -1, LoggingLevel: "error",
			EnvironmentVariables: map[string]string{"A": "1"},
		},
	}}
}

func TestScoringJob(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	blobs, err := bloblocal.Open(bloblocal.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{Blobs: blobs})
	code := putTree(t, blobs, map[string]string{"src/score.py": "def run(b): return b\n"})
	model := putTree(t, blobs, map[string]string{"factor.txt": "2"})
	mlflowModel := putTree(t, blobs, map[string]string{"MLmodel": "flavors: {}\n", "conda.yaml": "dependencies: [python=3.11]\n", "model.pkl": "x"})

	t.Run("script", func(t *testing.T) {
		j, err := s.scoringJob(ctx, deployment(code, model), Invocation{Input: "blob:sha256:00", MiniBatchSize: 4, OutputFileName: "out.csv"}, spec.TypeURIFile)
		if err != nil {
			t.Fatal(err)
		}
		p := j.Parallel
		if j.Type != spec.JobParallel || j.Compute != "cpu" || p.MiniBatchSize != "4" || p.InstanceCount != 2 || p.MaxConcurrencyPerInstance != 3 ||
			p.AppendRowFileName != "out.csv" || p.LoggingLevel != "WARNING" || *p.ErrorThreshold != -1 || p.Task.AppendRowTo != "${{outputs.score}}" {
			t.Errorf("parallel %+v task %+v", p, p.Task)
		}
		if in := j.Inputs["input_data"]; in.Type != spec.TypeURIFile || in.Path != "blob:sha256:00" {
			t.Errorf("input_data %+v", in)
		}
		if in := j.Inputs["model"]; in.Type != spec.TypeCustomModel || in.Path != model {
			t.Errorf("model %+v", in)
		}
		want := "--ciel-model ${{inputs.model}} --ciel-output ${{outputs.score}} --ciel-model-folder model --ciel-scoring-script src/score.py"
		if p.Task.ProgramArguments != want || p.Task.EntryScript != DriverScript || p.Task.Environment.Ref != "azureml:env:1" {
			t.Errorf("task %+v", p.Task)
		}
		if j.Retry.MaxRetries != 3 || j.Retry.TimeoutSeconds != 30 || j.EnvironmentVariables["A"] != "1" {
			t.Errorf("retry %+v env %v", j.Retry, j.EnvironmentVariables)
		}
		// The code is the deployment's with the driver beside it.
		tr, err := blob.GetTree(ctx, blobs, strings.TrimPrefix(p.Task.Code, "blob:"))
		if err != nil || len(tr.Entries) != 2 || tr.Entries[0].Path != DriverScript || tr.Entries[1].Path != "src/score.py" {
			t.Fatalf("code tree %+v, %v", tr, err)
		}
		r, _ := blobs.Open(ctx, tr.Entries[0].Digest)
		defer r.Close()
		var got bytes.Buffer
		got.ReadFrom(r)
		if !bytes.Equal(got.Bytes(), driverScript) {
			t.Errorf("the driver in the code is not batch_driver.py")
		}
	})

	t.Run("mlflow", func(t *testing.T) {
		d := deployment("", mlflowModel)
		d.Spec.CodeConfiguration, d.Spec.Environment, d.Spec.Model.Type = nil, nil, spec.TypeMLflowModel
		d.Spec.Settings.OutputAction, d.Spec.Settings.OutputFileName = spec.OutputSummaryOnly, ""
		j, err := s.scoringJob(ctx, d, Invocation{Input: "azureml:x@latest", InstanceCount: 5}, spec.TypeURIFolder)
		if err != nil {
			t.Fatal(err)
		}
		p := j.Parallel
		if strings.Contains(p.Task.ProgramArguments, "--ciel-scoring-script") || p.Task.AppendRowTo != "" || p.InstanceCount != 5 {
			t.Errorf("task %+v, instances %d", p.Task, p.InstanceCount)
		}
		if env := p.Task.Environment; env == nil || env.Inline == nil || env.Inline.CondaFile != "dependencies: [python=3.11]\n" {
			t.Errorf("environment %+v", env)
		}
		if j.Inputs["model"].Type != spec.TypeMLflowModel {
			t.Errorf("model input %+v", j.Inputs["model"])
		}
	})

	t.Run("refusals", func(t *testing.T) {
		clash := putTree(t, blobs, map[string]string{"src/score.py": "x", DriverScript: "mine"})
		noConda := putTree(t, blobs, map[string]string{"MLmodel": "flavors: {}\n"})
		mlflow := deployment("", noConda)
		mlflow.Spec.CodeConfiguration, mlflow.Spec.Environment = nil, nil
		for _, c := range []struct {
			name string
			d    Deployment
			want string
		}{
			{"driver name taken", deployment(clash, model), "has a file named " + DriverScript},
			{"code gone", deployment("blob:sha256:"+strings.Repeat("0", 64), model), "no longer in the datastore"},
			{"no conda.yaml", mlflow, "no conda.yaml beside MLmodel"},
		} {
			_, err := s.scoringJob(ctx, c.d, Invocation{Input: "blob:x"}, spec.TypeURIFolder)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: %v, want ErrInvalid with %q", c.name, err, c.want)
			}
		}
	})
}
