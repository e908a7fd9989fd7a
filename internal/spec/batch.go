package spec

import (
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// Batch endpoint auth mode: Azure ML's batch endpoints take Microsoft Entra
// tokens only; locally the server's own token stands in for one.
const AuthAADToken = "aad_token"

// Batch deployment types: a model scored by a parallel job, or a pipeline
// component run as a pipeline job.
const (
	BatchDeploymentModel    = "model"
	BatchDeploymentPipeline = "pipeline"
)

// Defaults of a batch deployment's settings, Azure ML's.
const (
	DefaultMiniBatchSize  = 10
	DefaultOutputFileName = "predictions.csv"
	DefaultBatchRetries   = 3
	DefaultBatchTimeout   = 30 // seconds a mini-batch may run
)

// Limits of the batch deployment files.
const (
	// MaxMiniBatchSize bounds mini_batch_size (files per run() call).
	MaxMiniBatchSize = 1_000_000
	// MaxBatchConcurrency bounds max_concurrency_per_instance: each is a
	// local worker process.
	MaxBatchConcurrency = 64
	// MaxBatchRetries bounds retry_settings.max_retries.
	MaxBatchRetries = 100
	// MaxBatchTimeout bounds retry_settings.timeout (seconds, a day).
	MaxBatchTimeout = 86_400
)

// batchLoggingLevels are the logging_level values Azure ML takes.
var batchLoggingLevels = []string{"debug", "info", "warning", "error", "critical"}

// BatchEndpoint is an Azure ML batch endpoint file (batchEndpoint schema):
// a name and the deployment that runs when an invocation names none.
type BatchEndpoint struct {
	Schema      string            `json:"$schema,omitempty"`
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	// AuthMode is AuthAADToken, the only mode batch endpoints have.
	AuthMode string `json:"auth_mode,omitempty"`
	// DefaultDeployment is defaults.deployment_name.
	DefaultDeployment string `json:"default_deployment,omitempty"`
	File              string `json:"file,omitempty"`
	Pos               Pos    `json:"pos"`
}

// BatchRetrySettings say how often a failed or timed-out mini-batch is
// tried again, and how long one may run.
type BatchRetrySettings struct {
	MaxRetries     int `json:"max_retries"`
	TimeoutSeconds int `json:"timeout"`
}

// BatchSettings are how a model deployment scores: mini-batch size,
// parallelism, retries, error tolerance and where results go. Azure ML's
// newer schema nests them under settings:, the older one puts them at the
// top of the file; both are read into this.
type BatchSettings struct {
	MaxConcurrencyPerInstance int                 `json:"max_concurrency_per_instance"`
	MiniBatchSize             int                 `json:"mini_batch_size"`
	OutputAction              string              `json:"output_action"`
	OutputFileName            string              `json:"output_file_name,omitempty"`
	Retry                     BatchRetrySettings  `json:"retry_settings"`
	ErrorThreshold            int                 `json:"error_threshold"`
	LoggingLevel              string              `json:"logging_level,omitempty"`
	EnvironmentVariables      map[string]string   `json:"environment_variables,omitempty"`
	Pos                       Pos                 `json:"pos"`
	set                       map[string]struct{} // keys given, to catch one given twice
}

// BatchDeployment is an Azure ML batch deployment file: a model deployment
// (modelBatchDeployment schema: a model, optionally a scoring script with
// init() and run(mini_batch), an environment and BatchSettings) or a
// pipeline component deployment (pipelineComponentBatchDeployment).
type BatchDeployment struct {
	Schema       string            `json:"$schema,omitempty"`
	Name         string            `json:"name"`
	EndpointName string            `json:"endpoint_name,omitempty"`
	Description  string            `json:"description,omitempty"`
	Tags         map[string]string `json:"tags,omitempty"`
	// Type is BatchDeploymentModel (the default) or
	// BatchDeploymentPipeline.
	Type              string             `json:"type,omitempty"`
	Model             *DeploymentModel   `json:"model,omitempty"`
	CodeConfiguration *CodeConfiguration `json:"code_configuration,omitempty"`
	Environment       *EnvRef            `json:"environment,omitempty"`
	Compute           string             `json:"compute,omitempty"`
	InstanceCount     int                `json:"instance_count,omitempty"`
	Settings          BatchSettings      `json:"settings"`
	// Pipeline component deployments: the component to run (a registered
	// one, or a component file, uploaded), or JobDefinition, the name of a
	// pipeline job whose definition becomes the component; and the
	// settings of the pipeline jobs invocations start.
	Component        *ComponentRef `json:"component,omitempty"`
	JobDefinition    string        `json:"job_definition,omitempty"`
	PipelineSettings *Settings     `json:"pipeline_settings,omitempty"`
	File             string        `json:"file,omitempty"`
	Pos              Pos           `json:"pos"`
}

// ParseBatchEndpointFile reads and parses a batch endpoint file.
func ParseBatchEndpointFile(path string, opts Options) (*BatchEndpoint, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read endpoint file: %w", err)
	}
	return ParseBatchEndpoint(path, data, opts)
}

// ParseBatchEndpoint parses an Azure ML batch endpoint
// (batchEndpoint.schema.json).
func ParseBatchEndpoint(file string, data []byte, opts Options) (*BatchEndpoint, error) {
	var e *BatchEndpoint
	err := parseAsset(file, data, opts, func(d *decoder, root *yaml.Node) {
		e = d.batchEndpoint(root)
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// ParseBatchDeploymentFile reads and parses a batch deployment file.
func ParseBatchDeploymentFile(path string, opts Options) (*BatchDeployment, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read deployment file: %w", err)
	}
	return ParseBatchDeployment(path, data, opts)
}

// ParseBatchDeployment parses an Azure ML batch deployment. Local paths
// (model, code, conda file) are resolved against file's folder and must
// exist; the scoring script must exist inside a local code folder. Settings
// left out take Azure ML's defaults.
func ParseBatchDeployment(file string, data []byte, opts Options) (*BatchDeployment, error) {
	var dep *BatchDeployment
	err := parseAsset(file, data, opts, func(d *decoder, root *yaml.Node) {
		dep = d.batchDeployment(root)
	})
	if err != nil {
		return nil, err
	}
	return dep, nil
}

// batchEndpoint decodes a batch endpoint file.
func (d *decoder) batchEndpoint(n *yaml.Node) *BatchEndpoint {
	e := &BatchEndpoint{File: d.abs, Pos: d.pos(n), AuthMode: AuthAADToken}
	d.fields(n, "", "a batch endpoint", map[string]fieldFunc{
		"$schema":     d.strInto(&e.Schema),
		"name":        d.endpointNameInto("endpoint", &e.Name),
		"description": d.strInto(&e.Description),
		"tags":        d.mapInto(&e.Tags),
		"auth_mode": func(p string, v *yaml.Node) {
			if s, ok := d.str(p, v); ok && s != AuthAADToken {
				d.errorf(v, p, "unknown value %q; batch endpoints take aad_token only (ciel checks its own token instead)", s)
			}
		},
		"defaults": func(p string, v *yaml.Node) {
			d.fields(v, p, "defaults", map[string]fieldFunc{
				"deployment_name": d.endpointNameInto("deployment", &e.DefaultDeployment),
			}, nil)
		},
	}, endpointIgnored)
	d.require(n, "a batch endpoint", "name")
	return e
}

// batchDeploymentIgnored are batch deployment keys Azure ML accepts that
// mean nothing locally.
var batchDeploymentIgnored = []string{
	"properties", "id", "provisioning_state", "creation_context", "identity",
}

// batchDeployment decodes a batch deployment file.
func (d *decoder) batchDeployment(n *yaml.Node) *BatchDeployment {
	dep := &BatchDeployment{File: d.abs, Pos: d.pos(n), Type: BatchDeploymentModel}
	if t := d.lookup(n, "type"); t != nil && t.Kind == yaml.ScalarNode && t.Value == BatchDeploymentPipeline {
		d.batchPipelineDeployment(n, dep)
		return dep
	}
	dep.Settings.Pos = d.pos(n)
	known := d.batchDeploymentHead(dep)
	known["type"] = func(p string, v *yaml.Node) { d.batchType(p, v) }
	known["model"] = func(p string, v *yaml.Node) { dep.Model = d.deploymentModel(p, v) }
	known["code_configuration"] = func(p string, v *yaml.Node) { dep.CodeConfiguration = d.codeConfiguration(p, v) }
	known["environment"] = func(p string, v *yaml.Node) { dep.Environment = d.envRef(p, v) }
	known["compute"] = func(p string, v *yaml.Node) { dep.Compute = d.computeName(p, v) }
	known["resources"] = func(p string, v *yaml.Node) {
		d.fields(v, p, "resources", map[string]fieldFunc{
			"instance_count": func(k string, x *yaml.Node) { dep.InstanceCount = d.intInRange(k, x, 1, MaxInstanceCount) },
		}, []string{"instance_type", "properties", "shm_size", "docker_args", "locations"})
	}
	known["settings"] = func(p string, v *yaml.Node) {
		if dep.Settings.Pos = d.pos(v); !isNull(v) {
			d.fields(v, p, "settings", d.batchSettingFields(&dep.Settings), nil)
		}
	}
	// The schema before settings: put these at the top.
	known["code_path"] = func(p string, v *yaml.Node) {
		d.errorf(v, p, "code_path is an old name; use code_configuration: {code, scoring_script}")
	}
	known["scoring_script"] = func(p string, v *yaml.Node) { d.errorf(v, p, "use code_configuration: {code, scoring_script}") }
	for k, h := range d.batchSettingFields(&dep.Settings) {
		known[k] = h
	}
	d.fields(n, "", "a batch deployment", known, batchDeploymentIgnored)
	d.require(n, "a batch deployment", "name")
	if dep.Model == nil && d.lookup(n, "model") == nil {
		d.errorf(n, "", "a model batch deployment needs model: (azureml:<name>:<version>, azureml:<name>@latest, or a path)")
	}
	d.batchDefaults(n, dep)
	return dep
}

// batchDeploymentHead returns the handlers of the keys every batch
// deployment has, model or pipeline: its schema, names, description and
// tags.
func (d *decoder) batchDeploymentHead(dep *BatchDeployment) map[string]fieldFunc {
	return map[string]fieldFunc{
		"$schema":       d.strInto(&dep.Schema),
		"name":          d.endpointNameInto("deployment", &dep.Name),
		"endpoint_name": d.endpointNameInto("endpoint", &dep.EndpointName),
		"description":   d.strInto(&dep.Description),
		"tags":          d.mapInto(&dep.Tags),
	}
}

// batchType reads type: (pipeline deployments are decoded apart).
func (d *decoder) batchType(path string, v *yaml.Node) {
	if s, ok := d.str(path, v); ok && s != BatchDeploymentModel && s != BatchDeploymentPipeline {
		d.errorf(v, path, "unknown value %q; expected model or pipeline", s)
	}
}

// batchSettingFields returns the handlers of the settings keys, for
// settings: and for the top of the file (the older schema). A key given in
// both places is an error.
func (d *decoder) batchSettingFields(s *BatchSettings) map[string]fieldFunc {
	once := func(h fieldFunc) fieldFunc {
		return func(p string, v *yaml.Node) {
			key := p[strings.LastIndex(p, ".")+1:]
			if s.set == nil {
				s.set = map[string]struct{}{}
			}
			if _, dup := s.set[key]; dup {
				d.errorf(v, p, "%s is given both at the top of the file and under settings; give it once", key)
				return
			}
			s.set[key] = struct{}{}
			h(p, v)
		}
	}
	return map[string]fieldFunc{
		"max_concurrency_per_instance": once(func(p string, v *yaml.Node) {
			s.MaxConcurrencyPerInstance = d.intInRange(p, v, 1, MaxBatchConcurrency)
		}),
		"mini_batch_size": once(func(p string, v *yaml.Node) { s.MiniBatchSize = d.intInRange(p, v, 1, MaxMiniBatchSize) }),
		"output_action": once(func(p string, v *yaml.Node) {
			s.OutputAction, _ = d.oneOf(p, v, []string{OutputAppendRow, OutputSummaryOnly})
		}),
		"output_file_name": once(func(p string, v *yaml.Node) { s.OutputFileName = d.outputFileName(p, v) }),
		"retry_settings":   once(func(p string, v *yaml.Node) { d.batchRetry(p, v, &s.Retry) }),
		"error_threshold": once(func(p string, v *yaml.Node) {
			s.ErrorThreshold = d.intInRange(p, v, -1, MaxMiniBatchSize)
		}),
		"logging_level": once(func(p string, v *yaml.Node) {
			if l, ok := d.str(p, v); ok {
				if !contains(batchLoggingLevels, strings.ToLower(l)) {
					d.errorf(v, p, "unknown value %q; expected one of %s", l, strings.Join(batchLoggingLevels, ", "))
				}
				s.LoggingLevel = strings.ToLower(l)
			}
		}),
		"environment_variables": once(d.mapInto(&s.EnvironmentVariables)),
	}
}

// outputFileName reads output_file_name: a plain file name, since it names
// a file in the job's output folder.
func (d *decoder) outputFileName(path string, v *yaml.Node) string {
	s, ok := d.str(path, v)
	if !ok {
		return ""
	}
	if err := CheckOutputFileName(s); err != nil {
		d.errorf(v, path, "%v", err)
		return ""
	}
	return s
}

// CheckOutputFileName reports why s cannot be a batch deployment's
// output_file_name: it must be one file name, no folder.
func CheckOutputFileName(s string) error {
	if !CheckFileName(s) || len(s) > 255 {
		return fmt.Errorf("output_file_name %q: expected a file name such as predictions.csv, without folders", s)
	}
	return nil
}

// batchRetry reads retry_settings: {max_retries, timeout}.
func (d *decoder) batchRetry(path string, v *yaml.Node, r *BatchRetrySettings) {
	r.MaxRetries, r.TimeoutSeconds = -1, 0
	d.fields(v, path, "retry_settings", map[string]fieldFunc{
		"max_retries": func(p string, n *yaml.Node) { r.MaxRetries = d.intInRange(p, n, 0, MaxBatchRetries) },
		"timeout":     func(p string, n *yaml.Node) { r.TimeoutSeconds = d.intInRange(p, n, 1, MaxBatchTimeout) },
	}, nil)
}

// batchDefaults fills the settings left out with Azure ML's defaults and
// checks what depends on several keys.
func (d *decoder) batchDefaults(n *yaml.Node, dep *BatchDeployment) {
	s := &dep.Settings
	_, retryGiven := s.set["retry_settings"]
	if !retryGiven || s.Retry.MaxRetries < 0 {
		s.Retry.MaxRetries = DefaultBatchRetries
	}
	if s.Retry.TimeoutSeconds == 0 {
		s.Retry.TimeoutSeconds = DefaultBatchTimeout
	}
	if s.MaxConcurrencyPerInstance == 0 {
		s.MaxConcurrencyPerInstance = 1
	}
	if s.MiniBatchSize == 0 {
		s.MiniBatchSize = DefaultMiniBatchSize
	}
	if s.OutputAction == "" {
		s.OutputAction = OutputAppendRow
	}
	if _, given := s.set["error_threshold"]; !given {
		s.ErrorThreshold = -1
	}
	if s.LoggingLevel == "" {
		s.LoggingLevel = "info"
	}
	if dep.InstanceCount == 0 {
		dep.InstanceCount = 1
	}
	switch {
	case s.OutputAction == OutputAppendRow && s.OutputFileName == "":
		s.OutputFileName = DefaultOutputFileName
	case s.OutputAction == OutputSummaryOnly && s.OutputFileName != "":
		d.errorAt(s.Pos, "settings.output_file_name", "output_file_name is for output_action: append_row; summary_only writes no file")
	}
	if w := dep.InstanceCount * s.MaxConcurrencyPerInstance; w > maxParallelWorkers {
		d.errorAt(s.Pos, "settings.max_concurrency_per_instance", "resources.instance_count x max_concurrency_per_instance is %d x %d; ciel runs at most %d worker processes for one job",
			dep.InstanceCount, s.MaxConcurrencyPerInstance, maxParallelWorkers)
	}
	if dep.CodeConfiguration == nil && dep.Environment != nil {
		d.errorf(d.lookup(n, "environment"), "environment", "a deployment without code_configuration scores an MLflow model in the model's own environment; give code_configuration too, or leave environment out")
	}
	if dep.CodeConfiguration != nil && dep.Environment == nil {
		d.errorf(d.lookup(n, "code_configuration"), "code_configuration", "a deployment with a scoring script needs environment: (azureml:<name>:<version> or an inline one)")
	}
}

// CheckBatchDeployment checks a batch deployment that arrived decoded
// (over the API, not from a file): names, settings in range, a scoring
// script inside its code folder. The parser checks the same for files.
func CheckBatchDeployment(dep *BatchDeployment) error {
	if err := CheckEndpointName("deployment", dep.Name); err != nil {
		return err
	}
	if err := CheckEndpointName("endpoint", dep.EndpointName); err != nil {
		return err
	}
	if dep.Type == BatchDeploymentPipeline {
		return checkBatchPipeline(dep)
	}
	s := dep.Settings
	switch {
	case dep.Type != "" && dep.Type != BatchDeploymentModel:
		return fmt.Errorf("type %q: expected model or pipeline", dep.Type)
	case dep.InstanceCount < 1 || dep.InstanceCount > MaxInstanceCount:
		return fmt.Errorf("resources.instance_count %d: expected 1 to %d", dep.InstanceCount, MaxInstanceCount)
	case dep.InstanceCount*s.MaxConcurrencyPerInstance > maxParallelWorkers:
		return fmt.Errorf("resources.instance_count x settings.max_concurrency_per_instance is %d x %d; ciel runs at most %d worker processes for one job",
			dep.InstanceCount, s.MaxConcurrencyPerInstance, maxParallelWorkers)
	case s.MiniBatchSize < 1 || s.MiniBatchSize > MaxMiniBatchSize:
		return fmt.Errorf("settings.mini_batch_size %d: expected 1 to %d", s.MiniBatchSize, MaxMiniBatchSize)
	case s.MaxConcurrencyPerInstance < 1 || s.MaxConcurrencyPerInstance > MaxBatchConcurrency:
		return fmt.Errorf("settings.max_concurrency_per_instance %d: expected 1 to %d", s.MaxConcurrencyPerInstance, MaxBatchConcurrency)
	case s.Retry.MaxRetries < 0 || s.Retry.MaxRetries > MaxBatchRetries:
		return fmt.Errorf("settings.retry_settings.max_retries %d: expected 0 to %d", s.Retry.MaxRetries, MaxBatchRetries)
	case s.Retry.TimeoutSeconds < 1 || s.Retry.TimeoutSeconds > MaxBatchTimeout:
		return fmt.Errorf("settings.retry_settings.timeout %d: expected 1 to %d seconds", s.Retry.TimeoutSeconds, MaxBatchTimeout)
	case s.ErrorThreshold < -1:
		return fmt.Errorf("settings.error_threshold %d: expected -1 (no limit) or more", s.ErrorThreshold)
	case s.OutputAction != OutputAppendRow && s.OutputAction != OutputSummaryOnly:
		return fmt.Errorf("settings.output_action %q: expected %s or %s", s.OutputAction, OutputAppendRow, OutputSummaryOnly)
	case s.LoggingLevel != "" && !contains(batchLoggingLevels, s.LoggingLevel):
		return fmt.Errorf("settings.logging_level %q: expected one of %s", s.LoggingLevel, strings.Join(batchLoggingLevels, ", "))
	}
	if s.OutputAction == OutputAppendRow {
		if err := CheckOutputFileName(s.OutputFileName); err != nil {
			return fmt.Errorf("settings.%w", err)
		}
	}
	for k := range s.EnvironmentVariables {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return fmt.Errorf("settings.environment_variables: invalid name %q", k)
		}
	}
	if c := dep.CodeConfiguration; c != nil && !CheckEntryScript(c.ScoringScript) {
		return fmt.Errorf("code_configuration.scoring_script %q: expected a .py file inside the code folder", c.ScoringScript)
	}
	if m := dep.Model; m != nil && m.Folder != "" && (strings.ContainsAny(m.Folder, `/\`+"\x00") || m.Folder == "." || m.Folder == "..") {
		return fmt.Errorf("model folder %q: expected a folder name", m.Folder)
	}
	return nil
}
