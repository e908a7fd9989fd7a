package engine

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"

	"github.com/ciel-mlops/ciel/internal/blob"
	"github.com/ciel-mlops/ciel/internal/spec"
)

// A parallel job (Azure ML's type: parallel) is planned as one leaf step
// whose command runs a Python driver ciel embeds: in the step's environment
// it splits the input into mini-batches, runs
// instance_count x max_concurrency_per_instance worker processes that each
// import the entry script and call init() once, then run(mini_batch) per
// batch with retries and a timeout, counts failures against the thresholds,
// appends what run() returns to the append_row_to output and writes a
// summary. The step is otherwise an ordinary step: an MLflow run, its log
// streamed, its outputs collected, reused when nothing changed.

//go:embed parallel_driver.py parallel_mltable.py
var parallelDriverFS embed.FS

// parallelDriverFiles are the embedded files, written beside each other.
var parallelDriverFiles = []string{"parallel_driver.py", "parallel_mltable.py"}

// ParallelConfigEnv is the environment variable through which a parallel
// step's command gives the driver its ParallelConfig, as JSON. A variable,
// not an argument, so no value is ever shell text.
const ParallelConfigEnv = "CIEL_PARALLEL_CONFIG"

// parallelDriverEnv holds the path of the driver script when the step runs.
const parallelDriverEnv = "CIEL_PARALLEL_DRIVER"

// ParallelConfig is what the driver of one parallel step needs, beyond the
// entry script's arguments. It is stored with the plan step.
type ParallelConfig struct {
	// EntryScript is the path, inside the step's code, of the Python file
	// with init() and run(mini_batch).
	EntryScript string `json:"entry_script"`
	// InputType is the type of the input split into mini-batches:
	// uri_folder (its files), uri_file (one file) or mltable (rows of a
	// table, or files when the MLTable has no read transformation).
	InputType string `json:"input_type"`
	// MiniBatchSize is as the user wrote it ("" for the default): a file
	// count, or a size for tabular data.
	MiniBatchSize string   `json:"mini_batch_size,omitempty"`
	PartitionKeys []string `json:"partition_keys,omitempty"`
	// Workers is instance_count x max_concurrency_per_instance;
	// WorkersPerInstance groups them into instances for the log.
	Workers            int `json:"workers"`
	WorkersPerInstance int `json:"workers_per_instance"`
	// MaxRetries and TimeoutSeconds apply to each mini-batch.
	MaxRetries     int `json:"max_retries"`
	TimeoutSeconds int `json:"timeout"`
	// MiniBatchErrorThreshold and ErrorThreshold fail the step once more
	// mini-batches or items failed; -1 ignores failures.
	MiniBatchErrorThreshold int    `json:"mini_batch_error_threshold"`
	ErrorThreshold          int    `json:"error_threshold"`
	LoggingLevel            string `json:"logging_level"`
	OutputAction            string `json:"output_action"`
	// AppendRowFileName is the file the rows go to when the append_row_to
	// output is a folder ("" for parallel_run_step.txt).
	AppendRowFileName string `json:"append_row_file_name,omitempty"`
	// Driver identifies the driver's code, so that a changed driver makes
	// a different reuse key.
	Driver string `json:"driver"`
}

// ParallelTask is a parallel task as its caller gives it: the parallel job
// planner, or anything else that runs an entry script over mini-batches (a
// batch endpoint invocation).
type ParallelTask struct {
	// InputData names the step input to split.
	InputData string
	// AppendRowTo names the step output rows go to; "" appends nowhere.
	AppendRowTo string
	// ProgramArguments go to the entry script as sys.argv, with
	// ${{inputs.x}} and ${{outputs.y}} placeholders as in a command.
	ProgramArguments string
	Config           ParallelConfig
}

// ParallelCommand returns the command (a template with ${{inputs.x}} and
// ${{outputs.y}} placeholders, as a command job's) and the environment
// variables of a step that runs task. The step must have the input
// task.InputData and the output task.AppendRowTo, and its PlanStep.Parallel
// set to &task.Config, so that the driver is put in place when it runs.
func ParallelCommand(task ParallelTask) (command string, env map[string]string, err error) {
	c := task.Config
	if !spec.CheckEntryScript(c.EntryScript) {
		return "", nil, fmt.Errorf("entry script %q: expected a .py file inside the code folder", c.EntryScript)
	}
	if !spec.IsPortName(task.InputData) || (task.AppendRowTo != "" && !spec.IsPortName(task.AppendRowTo)) {
		return "", nil, fmt.Errorf("input %q, output %q: expected port names", task.InputData, task.AppendRowTo)
	}
	if c.Workers < 1 || c.WorkersPerInstance < 1 {
		return "", nil, fmt.Errorf("workers %d, per instance %d: expected 1 or more", c.Workers, c.WorkersPerInstance)
	}
	if c.MiniBatchSize != "" {
		if _, _, err := spec.ParseMiniBatchSize(c.MiniBatchSize); err != nil {
			return "", nil, err
		}
	}
	if c.AppendRowFileName != "" && !spec.CheckFileName(c.AppendRowFileName) {
		return "", nil, fmt.Errorf("append_row_file_name %q: expected a file name", c.AppendRowFileName)
	}
	c.Driver = parallelDriverDigest()
	cfg, err := json.Marshal(c)
	if err != nil {
		return "", nil, fmt.Errorf("encode parallel config: %w", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `python3 "$%s" --input-data ${{inputs.%s}}`, parallelDriverEnv, task.InputData)
	if task.AppendRowTo != "" {
		fmt.Fprintf(&b, " --append-row-to ${{outputs.%s}}", task.AppendRowTo)
	}
	b.WriteString(" --")
	if args := strings.TrimSpace(task.ProgramArguments); args != "" {
		b.WriteString(" " + args)
	}
	return b.String(), map[string]string{ParallelConfigEnv: string(cfg)}, nil
}

// parallelDriverDigest is a short hash of the embedded driver's files.
func parallelDriverDigest() string {
	h := sha256.New()
	for _, name := range parallelDriverFiles {
		b, _ := parallelDriverFS.ReadFile(name)
		fmt.Fprintf(h, "%s %d\n", name, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// installParallelDriver writes the driver's files into dir/parallel (a
// folder of the step's own, outside its working directory, so the user's
// code is left as it was) and returns the path of the script to run.
func installParallelDriver(dir string) (string, error) {
	target := filepath.Join(dir, "parallel")
	if err := os.MkdirAll(target, 0o700); err != nil {
		return "", fmt.Errorf("install parallel driver: %w", err)
	}
	for _, name := range parallelDriverFiles {
		b, err := fs.ReadFile(parallelDriverFS, name)
		if err != nil {
			return "", fmt.Errorf("install parallel driver: %w", err)
		}
		if err := os.WriteFile(filepath.Join(target, name), b, 0o600); err != nil {
			return "", fmt.Errorf("install parallel driver: %w", err)
		}
	}
	return filepath.Join(target, parallelDriverFiles[0]), nil
}

// parallelDriverTree stores the driver's files in s as a tree, for a step
// on another machine to materialise beside its working directory, and
// returns the tree's digest. Files already stored cost a Has each.
func parallelDriverTree(ctx context.Context, s blob.Store) (string, error) {
	var t blob.Tree
	for _, name := range parallelDriverFiles {
		b, err := fs.ReadFile(parallelDriverFS, name)
		if err != nil {
			return "", fmt.Errorf("parallel driver: %w", err)
		}
		d, n, err := s.Put(ctx, bytes.NewReader(b))
		if err != nil {
			return "", fmt.Errorf("store parallel driver: %w", err)
		}
		t.Entries = append(t.Entries, blob.Entry{Path: name, Digest: d, Size: n, Mode: blob.ModeFile})
	}
	return blob.PutTree(ctx, s, t)
}

// addParallel adds the leaf step of a parallel job or step and returns its
// outputs; comp is the step's component: the parallel component it runs,
// or its inline form. Its mini-batch retries and timeout are the driver's;
// the step itself runs once.
func (p *planner) addParallel(name string, step *spec.Job, comp *spec.Component, inputs map[string]PlanInput, compute string) (map[string]PortRef, error) {
	base := componentOfCommand(step)
	if step.Component != nil {
		switch {
		case comp == nil:
			return nil, spec.Errorf(step.Component.Pos, "step %s: a parallel job runs a parallel component only as a pipeline step", name)
		case comp.Type != spec.JobParallel:
			label := "its component"
			if comp.Name != "" {
				label = "component " + refLabel(comp.Name, comp.Version)
			}
			return nil, spec.Errorf(step.Component.Pos, "step %s: a parallel step runs a parallel component; %s is a %s component", name, label, comp.Type)
		}
		step, base = parallelStepOf(step, comp), comp
	}
	par := step.Parallel
	if par == nil || par.Task == nil {
		return nil, spec.Errorf(step.Pos, "step %s: a parallel job needs task:", name)
	}
	task, err := parallelTaskOf(name, step, inputs)
	if err != nil {
		return nil, err
	}
	cmd, env, err := ParallelCommand(task)
	if err != nil {
		return nil, spec.Errorf(par.Pos, "step %s: %v", name, err)
	}
	run := *base
	run.Command, run.Code, run.Environment = cmd, par.Task.Code, par.Task.Environment
	run.EnvironmentVariables = map[string]string{}
	maps.Copy(run.EnvironmentVariables, step.EnvironmentVariables)
	maps.Copy(run.EnvironmentVariables, env)
	once := *step
	once.Retry, once.Limits, once.Component = nil, nil, nil
	outs, err := p.addCommand(name, &once, &run, inputs, compute)
	if err != nil {
		return nil, err
	}
	cfg := task.Config
	p.plan.Steps[len(p.plan.Steps)-1].Parallel = &cfg
	return outs, nil
}

// parallelStepOf is a step that runs the parallel component comp as an
// inline parallel step would say it: the component's settings, overridden
// by those the step gives (Azure ML lets a pipeline's parallel node set
// its own resources, mini_batch_size, retry_settings, thresholds, ...).
func parallelStepOf(step *spec.Job, comp *spec.Component) *spec.Job {
	m := *step
	var p spec.Parallel
	if comp.Parallel != nil {
		p = *comp.Parallel
	}
	if o := step.Parallel; o != nil {
		p.Task = cmp.Or(o.Task, p.Task)
		p.InputData = cmp.Or(o.InputData, p.InputData)
		p.MiniBatchSize = cmp.Or(o.MiniBatchSize, p.MiniBatchSize)
		p.InstanceCount = cmp.Or(o.InstanceCount, p.InstanceCount)
		p.MaxConcurrencyPerInstance = cmp.Or(o.MaxConcurrencyPerInstance, p.MaxConcurrencyPerInstance)
		p.MiniBatchErrorThreshold = cmp.Or(o.MiniBatchErrorThreshold, p.MiniBatchErrorThreshold)
		p.ErrorThreshold = cmp.Or(o.ErrorThreshold, p.ErrorThreshold)
		p.LoggingLevel = cmp.Or(o.LoggingLevel, p.LoggingLevel)
		p.OutputAction = cmp.Or(o.OutputAction, p.OutputAction)
		p.AppendRowFileName = cmp.Or(o.AppendRowFileName, p.AppendRowFileName)
		if len(o.PartitionKeys) > 0 {
			p.PartitionKeys = o.PartitionKeys
		}
	}
	if r := step.Resources; r != nil && r.InstanceCount > 0 {
		// A step written without type: parallel reads resources as a
		// command's.
		p.InstanceCount = r.InstanceCount
	}
	m.Parallel = &p
	m.Retry = cmp.Or(step.Retry, comp.Retry)
	m.EnvironmentVariables = map[string]string{}
	maps.Copy(m.EnvironmentVariables, comp.EnvironmentVariables)
	maps.Copy(m.EnvironmentVariables, step.EnvironmentVariables)
	return &m
}

// parallelTaskOf turns what a parallel job says into the task its step
// runs, with Azure ML's defaults.
func parallelTaskOf(name string, step *spec.Job, inputs map[string]PlanInput) (ParallelTask, error) {
	par := step.Parallel
	in, err := spec.ParseBinding(par.InputData)
	if err != nil {
		return ParallelTask{}, spec.Errorf(par.Pos, "step %s: input_data: %v", name, err)
	}
	data, ok := inputs[in.Port]
	switch {
	case !ok:
		return ParallelTask{}, spec.Errorf(par.Pos, "step %s: input_data names input %q, which is not given", name, in.Port)
	case data.Value != nil:
		return ParallelTask{}, spec.Errorf(par.Pos, "step %s: input_data names input %q, a literal value; it needs data (uri_folder, uri_file or mltable)", name, in.Port)
	}
	cfg := ParallelConfig{
		EntryScript: par.Task.EntryScript, InputType: orDefault(data.Type, spec.TypeURIFolder),
		MiniBatchSize: par.MiniBatchSize, PartitionKeys: par.PartitionKeys,
		WorkersPerInstance: max(par.MaxConcurrencyPerInstance, 1),
		// Azure ML's defaults: two retries of a mini-batch, a minute each.
		MaxRetries: 2, TimeoutSeconds: 60,
		MiniBatchErrorThreshold: -1, ErrorThreshold: -1,
		LoggingLevel: orDefault(par.LoggingLevel, "INFO"), OutputAction: orDefault(par.OutputAction, spec.OutputAppendRow),
		AppendRowFileName: par.AppendRowFileName,
	}
	cfg.Workers = max(par.InstanceCount, 1) * cfg.WorkersPerInstance
	if r := step.Retry; r != nil {
		cfg.MaxRetries = r.MaxRetries
		if r.TimeoutSeconds > 0 {
			cfg.TimeoutSeconds = r.TimeoutSeconds
		}
	}
	if t := par.MiniBatchErrorThreshold; t != nil {
		cfg.MiniBatchErrorThreshold = *t
	}
	if t := par.ErrorThreshold; t != nil {
		cfg.ErrorThreshold = *t
	}
	switch cfg.InputType {
	case spec.TypeURIFolder, spec.TypeURIFile, spec.TypeMLTable:
	default:
		return ParallelTask{}, spec.Errorf(par.Pos, "step %s: input_data is a %s input; expected uri_folder, uri_file or mltable", name, cfg.InputType)
	}
	task := ParallelTask{InputData: in.Port, ProgramArguments: par.Task.ProgramArguments, Config: cfg}
	if par.Task.AppendRowTo != "" {
		out, err := spec.ParseBinding(par.Task.AppendRowTo)
		if err != nil {
			return ParallelTask{}, spec.Errorf(par.Task.Pos, "step %s: append_row_to: %v", name, err)
		}
		task.AppendRowTo = out.Port
	}
	return task, nil
}
