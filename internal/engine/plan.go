package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/ciel-mlops/ciel/internal/blob"
	"github.com/ciel-mlops/ciel/internal/datastore"
	"github.com/ciel-mlops/ciel/internal/spec"
	"github.com/ciel-mlops/ciel/internal/store"
)

// Plan is a job flattened into leaf command steps with every reference
// resolved. It is stored with the job so a restarted server runs exactly what
// was submitted, even if assets changed since.
type Plan struct {
	Type                  string               `json:"type"`
	Steps                 []*PlanStep          `json:"steps"`
	Inputs                map[string]PlanInput `json:"inputs,omitempty"`
	Outputs               map[string]PortRef   `json:"outputs,omitempty"` // job output -> producing step output
	ForceRerun            bool                 `json:"force_rerun,omitempty"`
	ContinueOnStepFailure bool                 `json:"continue_on_step_failure,omitempty"`
	// Warnings are what the job has that Azure ML accepts but ciel ignores
	// (an input its component does not declare), for the submitter.
	Warnings []*spec.Error `json:"warnings,omitempty"`
}

// PlanStep is one command to run.
type PlanStep struct {
	Name      string            `json:"name"`
	Component string            `json:"component,omitempty"`
	Command   string            `json:"command"`
	Code      string            `json:"code,omitempty"` // tree digest
	Env       EnvPlan           `json:"environment"`
	EnvVars   map[string]string `json:"environment_variables,omitempty"`
	Compute   string            `json:"compute"`
	// InstanceType is resources.instance_type: the size of pod a step on
	// a kubernetes compute asks for ("" for the compute's default).
	InstanceType  string                `json:"instance_type,omitempty"`
	Inputs        map[string]PlanInput  `json:"inputs,omitempty"`
	Outputs       map[string]PlanOutput `json:"outputs,omitempty"`
	TimeoutSecs   int                   `json:"timeout,omitempty"`
	MaxRetries    int                   `json:"max_retries,omitempty"`
	Deps          []string              `json:"deps,omitempty"`
	Deterministic bool                  `json:"deterministic"`
	// Sweep, when set, makes the step a sweep: the step is the template of
	// its trials, which the engine adds as steps while it runs.
	Sweep *spec.Sweep `json:"sweep,omitempty"`
	// Parallel is set for the step of a parallel job: its command runs the
	// parallel driver, which is put in place before each attempt.
	Parallel *ParallelConfig `json:"parallel,omitempty"`
	// Distribution is set for a distributed command: its command runs once
	// per process, each with its rank.
	Distribution *DistPlan `json:"distribution,omitempty"`
}

// EnvPlan is a resolved environment.
type EnvPlan struct {
	Name      string `json:"name,omitempty"`
	Version   string `json:"version,omitempty"`
	Image     string `json:"image,omitempty"`
	CondaFile string `json:"conda_file,omitempty"`
	// Notes say how the environment was made concrete (a curated one, a
	// Dockerfile's packages, an image run on the host), for the step log.
	Notes []string `json:"notes,omitempty"`
}

// PlanInput is a resolved input: a literal, a data tree, a data URI read
// when the step starts (a datastore path, a job output, a URL), or an
// upstream output.
type PlanInput struct {
	Type   string  `json:"type,omitempty"`
	Value  *string `json:"value,omitempty"`
	Digest string  `json:"digest,omitempty"`
	URI    string  `json:"uri,omitempty"`
	// Asset is the data asset version the input was resolved to
	// (azureml:name:version, also for azureml:name@latest), for lineage.
	Asset    string   `json:"asset,omitempty"`
	From     *PortRef `json:"from,omitempty"`
	Optional bool     `json:"optional,omitempty"`
	// at is where a literal was written, for type errors at submit.
	at spec.Pos
}

// PlanOutput is a declared output, and where it goes besides the blob
// store once produced: a datastore path (Path) and a data asset version
// (AssetName, AssetVersion; "" is the next version). Named is the output
// name the job gave those settings under (a pipeline output's, or the
// step's own).
type PlanOutput struct {
	Type         string `json:"type"`
	Named        string `json:"named,omitempty"`
	Path         string `json:"path,omitempty"`
	AssetName    string `json:"asset_name,omitempty"`
	AssetVersion string `json:"asset_version,omitempty"`
}

// PortRef names one output of one leaf step.
type PortRef struct {
	Step string `json:"step"`
	Port string `json:"port"`
}

// commandStep is the name of the single step of a command job.
const commandStep = "main"

// planner resolves a submitted job against a workspace.
type planner struct {
	ctx   context.Context
	st    store.Store
	blobs blob.Store
	data  DataPaths
	envs  EnvBuilder // for the Python a curated environment is resolved for; may be nil
	ws    string
	plan  *Plan
	// defaultCompute is the pipeline's settings.default_compute or the job's
	// compute.
	defaultCompute string
	// defaultDatastore is what ${{default_datastore}} in an output path
	// names: settings.default_datastore, else Azure's workspaceblobstore.
	defaultDatastore string
	// badValues are the literal inputs that do not fit their declaration,
	// all reported together once the plan is built.
	badValues spec.ErrorList
	// computesFound are the computes the plan found, so a wide pipeline's
	// steps look each one up once.
	computesFound map[string]bool
}

// buildPlan flattens and resolves job.
func (e *Engine) buildPlan(ctx context.Context, ws string, job *spec.Job) (*Plan, error) {
	p := &planner{ctx: ctx, st: e.cfg.Store, blobs: e.cfg.Blobs, data: e.cfg.Data, envs: e.cfg.Envs, ws: ws, plan: &Plan{Type: job.Type}}
	if job.Type == "" {
		job.Type = spec.JobCommand
		if len(job.Jobs) > 0 {
			job.Type = spec.JobPipeline
		}
		p.plan.Type = job.Type
	}
	p.defaultCompute = job.Compute
	p.defaultDatastore = "workspaceblobstore"
	if s := job.Settings; s != nil {
		if ds := strings.TrimPrefix(s.DefaultDatastore, "azureml:"); ds != "" {
			p.defaultDatastore = ds
		}
		if s.DefaultCompute != "" {
			p.defaultCompute = s.DefaultCompute
		}
		p.plan.ForceRerun = s.ForceRerun != nil && *s.ForceRerun
		p.plan.ContinueOnStepFailure = s.ContinueOnStepFailure != nil && *s.ContinueOnStepFailure
	}
	inputs, err := p.jobInputs(job.Inputs)
	if err != nil {
		return nil, err
	}
	p.plan.Inputs = inputs
	switch job.Type {
	case spec.JobCommand:
		// Azure ML reuses pipeline steps, never a standalone command job.
		p.plan.ForceRerun = true
		comp := componentOfCommand(job)
		outs, err := p.addCommand(commandStep, job, comp, inputs, job.Compute)
		if err != nil {
			return nil, err
		}
		p.plan.Outputs = outs
		if err := p.outputSettings(job.Outputs, outs); err != nil {
			return nil, err
		}
	case spec.JobSweep:
		outs, err := p.addStandaloneSweep(job)
		if err != nil {
			return nil, err
		}
		p.plan.Outputs = outs
		if err := p.outputSettings(job.Outputs, outs); err != nil {
			return nil, err
		}
	case spec.JobParallel:
		// As a command job: one step, run every time.
		p.plan.ForceRerun = true
		outs, err := p.addParallel(commandStep, job, nil, inputs, job.Compute)
		if err != nil {
			return nil, err
		}
		p.plan.Outputs = outs
		if err := p.outputSettings(job.Outputs, outs); err != nil {
			return nil, err
		}
	case spec.JobPipeline:
		outTypes := map[string]string{}
		for name, o := range job.Outputs {
			outTypes[name] = o.Type
		}
		outs, err := p.addPipeline("", job.Jobs, inputs, outTypes)
		if err != nil {
			return nil, err
		}
		p.plan.Outputs = outs
		if err := p.outputSettings(job.Outputs, outs); err != nil {
			return nil, err
		}
	default:
		return nil, spec.Errorf(job.Pos, "job type %q is not supported (expected command or pipeline)", job.Type)
	}
	if len(p.plan.Steps) == 0 {
		return nil, spec.Errorf(job.Pos, "pipeline has no steps")
	}
	if len(p.badValues) > 0 {
		return nil, p.badValues
	}
	return p.plan, nil
}

// componentOfCommand turns an inline command job or step into the component
// it implies: its inputs and outputs are declared by the values given.
func componentOfCommand(j *spec.Job) *spec.Component {
	c := &spec.Component{
		Type: spec.JobCommand, Command: j.Command, Code: j.Code, Environment: j.Environment,
		EnvironmentVariables: j.EnvironmentVariables, Distribution: j.Distribution, Inputs: map[string]*spec.InputDecl{},
		Outputs: map[string]*spec.OutputDecl{}, File: j.File, Pos: j.Pos,
	}
	for name, in := range j.Inputs {
		t := in.Type
		if t == "" {
			t = in.Kind
		}
		c.Inputs[name] = &spec.InputDecl{Type: t, Optional: in.Optional, Pos: in.Pos}
	}
	for name, out := range j.Outputs {
		t := out.Type
		if t == "" {
			t = spec.TypeURIFolder
		}
		c.Outputs[name] = &spec.OutputDecl{Type: t, Pos: out.Pos}
	}
	return c
}

// jobInputs resolves the values a top-level job gives its inputs.
func (p *planner) jobInputs(in map[string]*spec.InputValue) (map[string]PlanInput, error) {
	out := map[string]PlanInput{}
	for name, v := range in {
		if v.Binding != "" {
			return nil, spec.Errorf(v.Pos, "inputs.%s: a top-level job cannot bind %s; give a value or a path", name, v.Binding)
		}
		pi, err := p.value(name, v)
		if err != nil {
			return nil, err
		}
		if pi != nil {
			out[name] = *pi
		}
	}
	return out, nil
}

// value resolves a literal or a data path; nil means "not given".
func (p *planner) value(name string, v *spec.InputValue) (*PlanInput, error) {
	switch {
	case v.Value != nil:
		return &PlanInput{Type: v.Kind, Value: v.Value, Optional: v.Optional, at: v.Pos}, nil
	case v.Path != "":
		if u, err := datastore.ParseURI(v.Path); err == nil && u.Kind == datastore.KindURL && v.Mode == spec.ModeDirect {
			// Direct mode hands the job the URL itself, as Azure ML does:
			// the job reads it, ciel neither downloads nor caches it. A
			// URL ParseURI refuses goes on to dataPath, which reports it.
			path := v.Path
			return &PlanInput{Type: orDefault(v.Type, spec.TypeURIFolder), Value: &path, Optional: v.Optional, at: v.Pos}, nil
		}
		ref, err := p.dataPath(v.Path, v.Pos, "inputs."+name)
		if err != nil {
			return nil, err
		}
		t := v.Type
		if t == "" {
			t = spec.TypeURIFolder
		}
		return &PlanInput{Type: t, Digest: ref.digest, URI: ref.uri, Asset: ref.asset, Optional: v.Optional}, nil
	}
	return nil, nil
}

// dataRef is a resolved data path: a tree digest, or a data URI read when
// the step starts.
type dataRef struct {
	digest string
	uri    string
	asset  string // azureml:name:version when a data asset named it
}

// dataPath resolves a data path: an uploaded tree (blob:sha256:...), a
// registered data asset (azureml:name:version or azureml:name@latest), a
// data URI (azureml://datastores/..., azureml://jobs/..., http(s)://...,
// checked now and read when the step starts), or a path on the server's
// own disk.
func (p *planner) dataPath(path string, pos spec.Pos, field string) (dataRef, error) {
	switch {
	case strings.HasPrefix(path, "blob:"):
		d := strings.TrimPrefix(path, "blob:")
		if ok, err := p.blobs.Has(p.ctx, d); err != nil || !ok {
			return dataRef{}, spec.Errorf(pos, "%s: uploaded content %s is not in the datastore; upload it again", field, d)
		}
		return dataRef{digest: d}, nil
	case datastore.IsDataURI(path):
		return p.dataURI(path, pos, field)
	case strings.HasPrefix(path, "azureml://"):
		return dataRef{}, spec.Errorf(pos, "%s: %q is not a data path ciel reads; expected azureml://datastores/<datastore>/paths/<path>, azureml://jobs/<job>/outputs/<output> or azureml:<name>:<version>", field, path)
	case strings.HasPrefix(path, "azureml:"):
		return p.dataAsset(path, pos, field)
	case strings.Contains(path, "://"):
		return dataRef{}, spec.Errorf(pos, "%s: remote path %q cannot be read here; expected http(s)://, azureml:// or a local path", field, path)
	default:
		if _, err := os.Stat(path); err != nil {
			return dataRef{}, spec.Errorf(pos, "%s: path %s does not exist", field, path)
		}
		d, err := ingestPath(p.ctx, p.blobs, path)
		if err != nil {
			return dataRef{}, fmt.Errorf("%s: upload %s: %w", field, path, err)
		}
		return dataRef{digest: d}, nil
	}
}

// dataURI checks a data URI now; its files are read when the step starts.
func (p *planner) dataURI(uri string, pos spec.Pos, field string) (dataRef, error) {
	if p.data == nil {
		return dataRef{}, spec.Errorf(pos, "%s: data URI %q cannot be read by this server", field, uri)
	}
	if err := p.data.Check(p.ctx, p.ws, uri, false); err != nil {
		return dataRef{}, spec.Errorf(pos, "%s: %v", field, err)
	}
	return dataRef{uri: uri}, nil
}

// dataAsset resolves a registered data asset to its files, or to the data
// URI it was registered with.
func (p *planner) dataAsset(path string, pos spec.Pos, field string) (dataRef, error) {
	name, version := splitRef(strings.TrimPrefix(path, "azureml:"))
	a, err := p.st.GetAsset(p.ctx, p.ws, store.KindData, name, version)
	if errors.Is(err, store.ErrNotFound) {
		return dataRef{}, spec.Errorf(pos, "%s: data asset %s not found in workspace %s; create it with: ciel data create --name %s --version %s --type uri_file --path <path>",
			field, refLabel(name, version), p.ws, name, orDefault(version, "1"))
	}
	if err != nil {
		return dataRef{}, err
	}
	var d spec.Data
	if err := json.Unmarshal(a.Spec, &d); err != nil {
		return dataRef{}, fmt.Errorf("decode data asset %s: %w", name, err)
	}
	asset := "azureml:" + a.Name + ":" + a.Version
	if datastore.IsDataURI(d.Path) {
		ref, err := p.dataURI(d.Path, pos, field)
		ref.asset = asset
		return ref, err
	}
	return dataRef{digest: strings.TrimPrefix(d.Path, "blob:"), asset: asset}, nil
}

func ingestPath(ctx context.Context, s blob.Store, path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if fi.IsDir() {
		return blob.IngestDir(ctx, s, path)
	}
	return blob.IngestFile(ctx, s, path)
}

// splitRef splits "name:version", "name@latest" or "name".
func splitRef(ref string) (name, version string) {
	if i := strings.LastIndex(ref, "@"); i >= 0 {
		return ref[:i], "" // @latest and any label: newest
	}
	if i := strings.Index(ref, ":"); i >= 0 {
		return ref[:i], ref[i+1:]
	}
	return ref, ""
}

func refLabel(name, version string) string {
	if version == "" {
		return name + "@latest"
	}
	return name + ":" + version
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// sortedKeys returns the keys of m in order, so plans are deterministic.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
