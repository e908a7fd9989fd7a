package batch

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/ciel-mlops/ciel/internal/blob"
	"github.com/ciel-mlops/ciel/internal/spec"
)

// driverScript is the entry script of every scoring job: it lays out the
// model as Azure ML does and runs the deployment's scoring script, or
// scores an MLflow model itself (batch_driver.py says how).
//
//go:embed batch_driver.py
var driverScript []byte

// DriverScript is the name the driver has in a scoring job's code.
const DriverScript = "_ciel_batch_driver.py"

// Names of the scoring job's ports.
const (
	inputData  = "input_data"
	inputModel = "model"
)

// scoringJob builds the parallel job that scores an invocation's input
// with a deployment: the deployment's model as the input "model", the data
// as "input_data", results in the output "score", ciel's driver as the
// entry script beside the deployment's code.
func (s *Service) scoringJob(ctx context.Context, d Deployment, in Invocation, inputType string) (*spec.Job, error) {
	sp := d.Spec
	st := sp.Settings
	m := sp.Model
	if m == nil || !strings.HasPrefix(m.Path, "blob:") {
		return nil, invalidf("batch deployment %s has no stored model; create it again", d.Name)
	}
	modelType := spec.TypeCustomModel
	if m.Type == spec.TypeMLflowModel {
		modelType = spec.TypeMLflowModel
	}
	code, err := s.jobCode(ctx, sp.CodeConfiguration)
	if err != nil {
		return nil, err
	}
	env := sp.Environment
	if sp.CodeConfiguration == nil {
		if env, err = s.mlflowEnv(ctx, d); err != nil {
			return nil, err
		}
	}
	args := []string{"--ciel-model", "${{inputs." + inputModel + "}}", "--ciel-output", "${{outputs." + ScoreOutput + "}}"}
	if m.Folder != "" {
		args = append(args, "--ciel-model-folder", m.Folder)
	}
	if c := sp.CodeConfiguration; c != nil {
		args = append(args, "--ciel-scoring-script", c.ScoringScript)
	}
	miniBatch := st.MiniBatchSize
	if in.MiniBatchSize > 0 {
		miniBatch = in.MiniBatchSize
	}
	instances := sp.InstanceCount
	if in.InstanceCount > 0 {
		instances = in.InstanceCount
	}
	fileName := st.OutputFileName
	if in.OutputFileName != "" {
		fileName = in.OutputFileName
	}
	errorThreshold := st.ErrorThreshold
	par := &spec.Parallel{
		InputData:                 "${{inputs." + inputData + "}}",
		MiniBatchSize:             strconv.Itoa(miniBatch),
		InstanceCount:             instances,
		MaxConcurrencyPerInstance: st.MaxConcurrencyPerInstance,
		ErrorThreshold:            &errorThreshold,
		LoggingLevel:              parallelLevel(st.LoggingLevel),
		OutputAction:              st.OutputAction,
		AppendRowFileName:         fileName,
		Task: &spec.ParallelTask{
			Type: spec.ParallelTaskRunFunction, Code: "blob:" + code, EntryScript: DriverScript, Environment: env,
			ProgramArguments: strings.Join(args, " "),
		},
	}
	if st.OutputAction == spec.OutputAppendRow {
		par.Task.AppendRowTo = "${{outputs." + ScoreOutput + "}}"
	}
	return &spec.Job{
		Type:    spec.JobParallel,
		Compute: sp.Compute,
		Inputs: map[string]*spec.InputValue{
			inputData:  {Type: inputType, Path: in.Input},
			inputModel: {Type: modelType, Path: m.Path},
		},
		Outputs:              map[string]*spec.OutputValue{ScoreOutput: {Type: spec.TypeURIFolder, Path: in.OutputPath}},
		EnvironmentVariables: st.EnvironmentVariables,
		Retry:                &spec.RetrySettings{MaxRetries: st.Retry.MaxRetries, TimeoutSeconds: st.Retry.TimeoutSeconds},
		Parallel:             par,
	}, nil
}

// parallelLevel maps a deployment's logging_level to the parallel
// driver's, which has no levels above WARNING.
func parallelLevel(l string) string {
	switch l {
	case "debug":
		return "DEBUG"
	case "warning", "error", "critical":
		return "WARNING"
	}
	return "INFO"
}

// jobCode stores the code of a scoring job: the deployment's code with the
// driver beside it, or the driver alone.
func (s *Service) jobCode(ctx context.Context, c *spec.CodeConfiguration) (string, error) {
	var t blob.Tree
	if c != nil {
		digest, ok := strings.CutPrefix(c.Code, "blob:")
		if !ok {
			return "", invalidf("code_configuration.code %q was not uploaded", c.Code)
		}
		var err error
		if t, err = blob.GetTree(ctx, s.cfg.Blobs, digest); errors.Is(err, blob.ErrNotFound) {
			return "", invalidf("the deployment's code %s is no longer in the datastore; create the deployment again", digest)
		} else if err != nil {
			return "", fmt.Errorf("deployment code: %w", err)
		}
		if slices.ContainsFunc(t.Entries, func(e blob.Entry) bool { return e.Path == DriverScript }) {
			return "", invalidf("the deployment's code has a file named %s, which ciel's batch driver needs; rename it", DriverScript)
		}
	}
	digest, size, err := s.cfg.Blobs.Put(ctx, bytes.NewReader(driverScript))
	if err != nil {
		return "", fmt.Errorf("store the batch driver: %w", err)
	}
	t.Entries = append(slices.Clone(t.Entries), blob.Entry{Path: DriverScript, Digest: digest, Size: size, Mode: blob.ModeFile})
	return blob.PutTree(ctx, s.cfg.Blobs, t) // sorts a copy
}

// mlflowEnv is the environment an MLflow model deployed without a scoring
// script is scored in: the conda.yaml beside the model's MLmodel file, as
// Azure ML builds it.
func (s *Service) mlflowEnv(ctx context.Context, d Deployment) (*spec.EnvRef, error) {
	digest := strings.TrimPrefix(d.Spec.Model.Path, "blob:")
	t, err := blob.GetTree(ctx, s.cfg.Blobs, digest)
	if err != nil {
		return nil, fmt.Errorf("model files: %w", err)
	}
	conda := ""
	for _, e := range t.Entries {
		if path.Base(e.Path) == "MLmodel" && (conda == "" || len(e.Path) < len(conda)) {
			conda = path.Join(path.Dir(e.Path), "conda.yaml")
		}
	}
	i := slices.IndexFunc(t.Entries, func(e blob.Entry) bool { return e.Path == conda })
	if i < 0 {
		return nil, invalidf("batch deployment %s has no scoring script and its MLflow model has no conda.yaml beside MLmodel to build an environment from; give code_configuration and environment", d.Name)
	}
	r, err := s.cfg.Blobs.Open(ctx, t.Entries[i].Digest)
	if err != nil {
		return nil, fmt.Errorf("model conda.yaml: %w", err)
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("model conda.yaml: %w", err)
	}
	return &spec.EnvRef{Inline: &spec.Environment{Name: "mlflow-model-" + d.Name, CondaFile: string(b)}}, nil
}
