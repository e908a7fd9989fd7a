package spec

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// JobParallel is Azure ML's parallel job: an entry script's run() called on
// mini-batches of one input by many worker processes.
const JobParallel = "parallel"

// Output actions of a parallel job.
const (
	// OutputAppendRow appends what run() returns to the append_row_to
	// output (the default).
	OutputAppendRow = "append_row"
	// OutputSummaryOnly keeps only the counts; run() writes its own outputs.
	OutputSummaryOnly = "summary_only"
)

// ParallelTaskRunFunction is the one task type ciel runs: a Python entry
// script with init() and run(mini_batch).
const ParallelTaskRunFunction = "run_function"

// Parallel is what a parallel job (or a parallel step of a pipeline) says
// beyond a job's inputs and outputs. Its retry_settings are Job.Retry and
// its environment_variables Job.EnvironmentVariables, the keys Azure ML
// shares with command jobs; for a parallel job they apply to each
// mini-batch, not to the whole job.
type Parallel struct {
	// InputData is the ${{inputs.<name>}} binding of the input split into
	// mini-batches.
	InputData string `json:"input_data"`
	// MiniBatchSize is as written: a file count ("10") for a folder of
	// files, an approximate size ("10kb", "1 MB") for tabular data; ""
	// takes the default. ParseMiniBatchSize reads it.
	MiniBatchSize string `json:"mini_batch_size,omitempty"`
	// PartitionKeys, when set, make each distinct combination of these
	// columns of a tabular input one mini-batch, instead of MiniBatchSize.
	PartitionKeys []string `json:"partition_keys,omitempty"`
	// InstanceCount is resources.instance_count; locally, instances are
	// groups of worker processes on this machine. 0 means 1.
	InstanceCount int `json:"instance_count,omitempty"`
	// MaxConcurrencyPerInstance is the worker processes per instance; 0
	// means 1.
	MaxConcurrencyPerInstance int `json:"max_concurrency_per_instance,omitempty"`
	// MiniBatchErrorThreshold is how many failed mini-batches are ignored;
	// nil or -1 ignores them all.
	MiniBatchErrorThreshold *int `json:"mini_batch_error_threshold,omitempty"`
	// ErrorThreshold is how many failed items (files or rows) are ignored;
	// nil or -1 ignores them all.
	ErrorThreshold *int `json:"error_threshold,omitempty"`
	// LoggingLevel is DEBUG, INFO (the default) or WARNING.
	LoggingLevel string `json:"logging_level,omitempty"`
	// OutputAction is append_row (the default) or summary_only.
	OutputAction string `json:"output_action,omitempty"`
	// AppendRowFileName is the file the rows go to when the append_row_to
	// output is a folder; "" is parallel_run_step.txt. No YAML key sets it:
	// it is for callers that build the job, as a batch deployment's
	// output_file_name does.
	AppendRowFileName string        `json:"append_row_file_name,omitempty"`
	Task              *ParallelTask `json:"task,omitempty"`
	Pos               Pos           `json:"pos"`
}

// ParallelTask is a parallel job's task: the code and environment every
// worker runs.
type ParallelTask struct {
	Type string `json:"type"` // run_function
	// Code is the folder holding the entry script: an absolute local path,
	// or blob:sha256:<hex> after upload.
	Code string `json:"code,omitempty"`
	// EntryScript is a path inside Code with init() and run(mini_batch).
	EntryScript string  `json:"entry_script"`
	Environment *EnvRef `json:"environment,omitempty"`
	// ProgramArguments are given to the entry script (sys.argv), with
	// ${{inputs.x}} and ${{outputs.y}} replaced as in a command.
	ProgramArguments string `json:"program_arguments,omitempty"`
	// AppendRowTo is the ${{outputs.<name>}} binding of the output that
	// run()'s results are appended to.
	AppendRowTo string `json:"append_row_to,omitempty"`
	Pos         Pos    `json:"pos"`
}

// loggingLevels and outputActions are the values Azure ML accepts.
var (
	loggingLevels = []string{"DEBUG", "INFO", "WARNING"}
	outputActions = []string{OutputAppendRow, OutputSummaryOnly}
)

// parallelFields returns the keys only a parallel job has. retry_settings
// and environment_variables are shared with command jobs and decoded into
// the same Job fields.
func (d *decoder) parallelFields(st *jobState) map[string]fieldFunc {
	j := st.j
	p := &Parallel{Pos: j.Pos}
	j.Parallel = p
	return map[string]fieldFunc{
		"task":                         func(path string, v *yaml.Node) { p.Task = d.parallelTask(path, v) },
		"input_data":                   func(path string, v *yaml.Node) { p.InputData = d.portBinding(path, v, BindInputs) },
		"mini_batch_size":              func(path string, v *yaml.Node) { p.MiniBatchSize = d.miniBatchSize(path, v) },
		"partition_keys":               func(path string, v *yaml.Node) { p.PartitionKeys = d.enum(path, v) },
		"resources":                    func(path string, v *yaml.Node) { p.InstanceCount = d.parallelResources(path, v) },
		"max_concurrency_per_instance": d.positiveInto(&p.MaxConcurrencyPerInstance),
		"mini_batch_error_threshold":   d.thresholdInto(&p.MiniBatchErrorThreshold),
		"error_threshold":              d.thresholdInto(&p.ErrorThreshold),
		"logging_level":                func(path string, v *yaml.Node) { p.LoggingLevel, _ = d.oneOf(path, v, loggingLevels) },
		"output_action":                func(path string, v *yaml.Node) { p.OutputAction, _ = d.oneOf(path, v, outputActions) },
		"environment_variables":        d.mapInto(&j.EnvironmentVariables),
		"retry_settings":               func(path string, v *yaml.Node) { j.Retry = d.retry(path, v) },
	}
}

// parallelTask reads a parallel job's task block.
func (d *decoder) parallelTask(path string, v *yaml.Node) *ParallelTask {
	t := &ParallelTask{Type: ParallelTaskRunFunction, Pos: d.pos(v)}
	var entryNode *yaml.Node
	d.fields(v, path, "a parallel task", map[string]fieldFunc{
		"type": func(p string, n *yaml.Node) {
			s, ok := d.str(p, n)
			if ok && s != ParallelTaskRunFunction {
				d.errorf(n, p, "task type %q is not supported; expected %s (an entry script with init() and run(mini_batch))", s, ParallelTaskRunFunction)
			}
		},
		"code":              func(p string, n *yaml.Node) { t.Code = d.code(p, n) },
		"entry_script":      func(p string, n *yaml.Node) { t.EntryScript, _ = d.str(p, n); entryNode = n },
		"environment":       func(p string, n *yaml.Node) { t.Environment = d.envRef(p, n) },
		"program_arguments": func(p string, n *yaml.Node) { t.ProgramArguments, _ = d.str(p, n) },
		"append_row_to":     func(p string, n *yaml.Node) { t.AppendRowTo = d.portBinding(p, n, BindOutputs) },
	}, nil)
	if d.resolve(v).Kind != yaml.MappingNode {
		return nil
	}
	switch {
	case entryNode == nil:
		d.errorf(v, path, "a parallel task needs entry_script: (a Python file in code with init() and run(mini_batch))")
	case !CheckEntryScript(t.EntryScript):
		d.errorf(entryNode, joinPath(path, "entry_script"), "%q: expected a .py file inside the task's code folder", t.EntryScript)
	}
	if d.lookup(v, "environment") == nil {
		d.errorf(v, path, "a parallel task needs environment: (the Python environment its workers run in)")
	}
	return t
}

// CheckEntryScript reports whether s can name a parallel task's entry
// script: a relative .py path that stays inside the code folder.
func CheckEntryScript(s string) bool {
	if !strings.HasSuffix(s, ".py") || strings.HasPrefix(s, "/") || strings.ContainsAny(s, "\\\x00\n\r") {
		return false
	}
	for _, part := range strings.Split(s, "/") {
		if part == "" || part == "." || part == ".." {
			return false
		}
	}
	return true
}

// CheckFileName reports whether s is a plain file name: one path segment,
// no control characters.
func CheckFileName(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.ContainsAny(s, "/\\") && !hasControl(s)
}

// portBinding reads ${{inputs.<name>}} or ${{outputs.<name>}} (kind says
// which): a reference to one of the job's own ports.
func (d *decoder) portBinding(path string, v *yaml.Node, kind string) string {
	s, ok := d.str(path, v)
	if !ok {
		return ""
	}
	b, err := ParseBinding(strings.TrimSpace(s))
	if err != nil || b.Scope != "" || b.Kind != kind {
		d.errorf(v, path, "expected ${{%s.<name>}} naming one of the job's %s, got %q", kind, kind, s)
		return ""
	}
	return b.String()
}

// miniBatchSize reads mini_batch_size, a string or integer, checked with
// ParseMiniBatchSize.
func (d *decoder) miniBatchSize(path string, v *yaml.Node) string {
	v = d.resolve(v)
	if v.Kind != yaml.ScalarNode || isNull(v) {
		d.errorf(v, path, "expected a file count (\"10\") or a size (\"10kb\", \"1mb\"), got %s", describe(v))
		return ""
	}
	if _, _, err := ParseMiniBatchSize(v.Value); err != nil {
		d.errorf(v, path, "%v", err)
		return ""
	}
	return strings.TrimSpace(v.Value)
}

// parallelResources reads resources, of which a parallel job uses
// instance_count; Azure ML's other resource keys are accepted.
func (d *decoder) parallelResources(path string, v *yaml.Node) int {
	n := 0
	if isNull(v) {
		return 0
	}
	d.fields(v, path, "resources", map[string]fieldFunc{
		"instance_count": d.positiveInto(&n),
	}, []string{"instance_type", "properties", "shm_size", "docker_args", "max_instance_count", "locations"})
	return n
}

// positiveInto returns a handler storing a whole number >= 1 in dst.
func (d *decoder) positiveInto(dst *int) fieldFunc {
	return func(path string, v *yaml.Node) {
		i, ok := d.integer(path, v)
		if !ok {
			return
		}
		if i < 1 {
			d.errorf(v, path, "expected a number >= 1, got %d", i)
			return
		}
		*dst = i
	}
}

// thresholdInto returns a handler storing an error threshold, -1 or more,
// in dst.
func (d *decoder) thresholdInto(dst **int) fieldFunc {
	return func(path string, v *yaml.Node) {
		i, ok := d.integer(path, v)
		if !ok {
			return
		}
		if i < -1 {
			d.errorf(v, path, "expected -1 (ignore every failure) or a number >= 0, got %d", i)
			return
		}
		*dst = &i
	}
}

// checkParallel checks what a parallel job needs once all its keys are
// read. A step that runs a parallel component takes its task and
// input_data from the component, which was checked on its own; what the
// step says beside them overrides the component's.
func (d *decoder) checkParallel(st *jobState, n *yaml.Node, path string) {
	j := st.j
	if st.step && d.lookup(n, "component") != nil {
		d.checkWorkers(j.Parallel, n, path)
		return
	}
	d.checkParallelSettings(j.Parallel, n, path, parallelPorts{
		inputs: keySet(j.Inputs), outputs: keySet(j.Outputs),
		literal: func(name string) bool { in := j.Inputs[name]; return in != nil && in.Value != nil },
	})
}

// parallelPorts are the ports a parallel job's or component's settings may
// name.
type parallelPorts struct {
	inputs, outputs map[string]bool
	// literal reports whether an input in inputs is a literal value (a
	// number, a string), which cannot be split into mini-batches.
	literal func(name string) bool
	// declared is set for a component: its program arguments may name only
	// declared ports (see commandPorts).
	declared bool
}

// checkParallelSettings checks a parallel job's or component's settings,
// whose mapping is n: a task, an input_data naming one of its data inputs,
// an append_row_to naming one of its outputs, program arguments that use
// only its ports, a worker count ciel runs.
func (d *decoder) checkParallelSettings(p *Parallel, n *yaml.Node, path string, ports parallelPorts) {
	what := "job"
	if ports.declared {
		what = "component"
	}
	if d.lookup(n, "task") == nil {
		d.errorf(n, path, "a parallel %s needs task: (type run_function, code, entry_script, environment)", what)
	}
	if in := d.lookup(n, "input_data"); in == nil {
		d.errorf(n, path, "a parallel %s needs input_data: ${{inputs.<name>}} (the input split into mini-batches)", what)
	} else if b, err := ParseBinding(p.InputData); err == nil {
		switch {
		case !ports.inputs[b.Port]:
			d.errorf(in, joinPath(path, "input_data"), "no input %q in this %s (inputs: %s)", b.Port, what, nameList(ports.inputs))
		case ports.literal(b.Port):
			d.errorf(in, joinPath(path, "input_data"), "input %q is a literal value; input_data needs data (uri_folder, uri_file or mltable)", b.Port)
		}
	}
	d.checkWorkers(p, n, path)
	if p.Task == nil {
		return
	}
	task := d.lookup(n, "task")
	if b, err := ParseBinding(p.Task.AppendRowTo); err == nil && !ports.outputs[b.Port] {
		d.errorf(d.lookup(task, "append_row_to"), joinPath(path, "task.append_row_to"), "no output %q in this %s (outputs: %s)", b.Port, what, nameList(ports.outputs))
	} else if err == nil && p.OutputAction == OutputSummaryOnly {
		d.errorf(d.lookup(task, "append_row_to"), joinPath(path, "task.append_row_to"), "output_action is summary_only, which appends no rows; remove append_row_to or use append_row")
	}
	if args := d.lookup(task, "program_arguments"); args != nil {
		d.checkCommand(joinPath(path, "task.program_arguments"), args, p.Task.ProgramArguments, commandPorts{
			inputs: ports.inputs, outputs: ports.outputs, declared: ports.declared,
		})
	}
}

// Default mini-batch sizes, those of Azure ML's ParallelRunStep: ten files
// of a folder, or one megabyte of tabular data.
const (
	DefaultMiniBatchFiles = 10
	DefaultMiniBatchBytes = 1 << 20
)

// sizeUnits are the units a tabular mini_batch_size may carry, in bytes.
var sizeUnits = map[string]int64{
	"": 1, "b": 1, "kb": 1 << 10, "k": 1 << 10, "mb": 1 << 20, "m": 1 << 20, "gb": 1 << 30, "g": 1 << 30,
}

// ParseMiniBatchSize reads a mini_batch_size: a whole number, read as a
// file count for a folder of files and as bytes for tabular data, or a
// number with a unit (kb, mb, gb, any case, space allowed: "10kb",
// "1 MB"), which only tabular data takes. n is the number times its unit;
// hasUnit says a unit was written.
func ParseMiniBatchSize(s string) (n int64, hasUnit bool, err error) {
	t := strings.ToLower(strings.TrimSpace(s))
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	num, unit := t[:i], strings.TrimSpace(t[i:])
	mult, ok := sizeUnits[unit]
	if num == "" || !ok {
		return 0, false, fmt.Errorf("invalid mini_batch_size %q: expected a file count (\"10\") or a size with kb, mb or gb (\"10kb\", \"1 MB\")", s)
	}
	v, perr := strconv.ParseInt(num, 10, 64)
	if perr != nil || v < 1 || v > math.MaxInt64/mult {
		return 0, false, fmt.Errorf("invalid mini_batch_size %q: expected a number from 1 up", s)
	}
	return v * mult, unit != "", nil
}

// parallel checks what a parallel job sent over the API says: its task's
// code is uploaded, its entry script stays inside it, and its settings are
// ones the parser would have accepted.
func (c *submitChecker) parallel(path string, p *Parallel) {
	if p == nil {
		return
	}
	if p.Task != nil {
		c.uploaded(joinPath(path, "task.code"), p.Task.Code)
		c.envRef(joinPath(path, "task.environment"), p.Task.Environment)
		if !CheckEntryScript(p.Task.EntryScript) {
			c.fail(joinPath(path, "task.entry_script"), "%q: expected a .py file inside the task's code folder", p.Task.EntryScript)
		}
		c.text(joinPath(path, "task.program_arguments"), p.Task.ProgramArguments)
	}
	if p.MiniBatchSize != "" {
		if _, _, err := ParseMiniBatchSize(p.MiniBatchSize); err != nil {
			c.fail(joinPath(path, "mini_batch_size"), "%v", err)
		}
	}
	if p.LoggingLevel != "" && !contains(loggingLevels, p.LoggingLevel) {
		c.fail(joinPath(path, "logging_level"), "%q: expected one of %s", p.LoggingLevel, strings.Join(loggingLevels, ", "))
	}
	if p.OutputAction != "" && !contains(outputActions, p.OutputAction) {
		c.fail(joinPath(path, "output_action"), "%q: expected one of %s", p.OutputAction, strings.Join(outputActions, ", "))
	}
	for _, k := range p.PartitionKeys {
		c.text(joinPath(path, "partition_keys"), k)
	}
	if f := p.AppendRowFileName; f != "" && !CheckFileName(f) {
		c.fail(joinPath(path, "append_row_file_name"), "%q: expected a file name, one path segment", f)
	}
	if !workersInBounds(p) {
		c.fail(joinPath(path, "resources.instance_count"), "instance_count x max_concurrency_per_instance must be 1 to %d", maxParallelWorkers)
	}
}

// checkWorkers reports, at n, a worker count ciel does not run.
func (d *decoder) checkWorkers(p *Parallel, n *yaml.Node, path string) {
	if !workersInBounds(p) {
		d.errorf(n, path, "resources.instance_count x max_concurrency_per_instance is %d x %d; ciel runs at most %d worker processes for one job",
			max(p.InstanceCount, 1), max(p.MaxConcurrencyPerInstance, 1), maxParallelWorkers)
	}
}

// workersInBounds reports whether p asks for 1 to maxParallelWorkers
// worker processes.
func workersInBounds(p *Parallel) bool {
	i, m := max(p.InstanceCount, 1), max(p.MaxConcurrencyPerInstance, 1)
	return p.InstanceCount >= 0 && p.MaxConcurrencyPerInstance >= 0 && i <= maxParallelWorkers && m <= maxParallelWorkers && i*m <= maxParallelWorkers
}

// maxParallelWorkers bounds the worker processes one parallel job starts on
// this machine.
const maxParallelWorkers = 256
