package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/ciel-mlops/ciel/internal/datastore"
	"github.com/ciel-mlops/ciel/internal/engine"
	"github.com/ciel-mlops/ciel/internal/registry"
	"github.com/ciel-mlops/ciel/internal/spec"
	"github.com/ciel-mlops/ciel/internal/store"
)

// jobLineage is the registry's view of jobs: the files of a job output and
// what produced them (registry.JobResolver).
type jobLineage struct{ s *server }

var _ registry.JobResolver = jobLineage{}

// jobRecord is a job with its decoded plan and steps by name.
type jobRecord struct {
	job   store.Job
	spec  spec.Job
	plan  engine.Plan
	steps map[string]store.Step
}

func (l jobLineage) load(ctx context.Context, ws, job string) (*jobRecord, error) {
	j, err := l.s.st.GetJob(ctx, ws, job)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("job %q not found in workspace %s: %w", job, ws, store.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	rec := &jobRecord{job: j, steps: map[string]store.Step{}}
	if err := json.Unmarshal(j.Plan, &rec.plan); err != nil {
		return nil, fmt.Errorf("decode plan of job %s: %w", job, err)
	}
	_ = json.Unmarshal(j.Spec, &rec.spec) // only used to name data assets and read the job's origin tags
	steps, err := l.s.st.ListSteps(ctx, ws, job)
	if err != nil {
		return nil, err
	}
	for _, st := range steps {
		rec.steps[st.Name] = st
	}
	return rec, nil
}

// JobOutput returns the tree of a job output and the lineage of the step
// that produced it.
func (l jobLineage) JobOutput(ctx context.Context, ws, job, name string) (string, registry.Lineage, error) {
	rec, err := l.load(ctx, ws, job)
	if err != nil {
		return "", registry.Lineage{}, err
	}
	if name == "artifacts" {
		steps := make([]store.Step, 0, len(rec.steps))
		for _, st := range rec.steps {
			steps = append(steps, st)
		}
		sort.Slice(steps, func(i, j int) bool { return steps[i].Name < steps[j].Name })
		digest, err := l.s.artifactTree(ctx, rec.job, steps)
		lin := registry.Lineage{Job: job, Output: name, Origin: originOf(rec.spec.Tags)}
		if len(rec.plan.Steps) == 1 {
			lin = rec.stepLineage(rec.plan.Steps[0].Name)
			lin.Output = name
			l.origins(ctx, ws, &lin)
		}
		return digest, lin, err
	}
	ref, ok := outputRef(name, &rec.plan)
	digest := ""
	if ok {
		digest = rec.steps[ref.Step].Outputs[ref.Port]
	}
	if digest == "" {
		return "", registry.Lineage{}, fmt.Errorf("job %s has no output %q produced (status %s); outputs: %s: %w",
			job, name, rec.job.Status, strings.Join(outputNames(&rec.plan), ", "), store.ErrNotFound)
	}
	lin := rec.stepLineage(ref.Step)
	lin.Output = name
	l.origins(ctx, ws, &lin)
	return digest, lin, nil
}

// StepLineage returns the lineage of one step of a job.
func (l jobLineage) StepLineage(ctx context.Context, ws, job, step string) (registry.Lineage, error) {
	rec, err := l.load(ctx, ws, job)
	if err != nil {
		return registry.Lineage{}, err
	}
	if _, ok := rec.steps[step]; !ok {
		return registry.Lineage{}, fmt.Errorf("job %s has no step %q: %w", job, step, store.ErrNotFound)
	}
	lin := rec.stepLineage(step)
	l.origins(ctx, ws, &lin)
	return lin, nil
}

// originTags are the prefixes of the tags that say what produced a data
// asset: a Data Factory run (dataflow/mljobs) or a CI run (cli's lineage).
var originTags = []string{"datafactory.", "ci."}

// origins fills in each registered data input's Origin from the tags of
// its data asset version, so a model's lineage reads back through the job
// to the factory or CI run that wrote its data. An asset since deleted
// simply has none.
func (l jobLineage) origins(ctx context.Context, ws string, lin *registry.Lineage) {
	for i := range lin.Inputs {
		ref, ok := strings.CutPrefix(lin.Inputs[i].Asset, "azureml:")
		name, version, found := strings.Cut(ref, ":")
		if !ok || !found || strings.Contains(ref, "://") {
			continue
		}
		a, err := l.s.st.GetAsset(ctx, ws, store.KindData, name, version)
		if err != nil {
			continue
		}
		var d spec.Data
		if json.Unmarshal(a.Spec, &d) != nil {
			continue
		}
		lin.Inputs[i].Origin = originOf(d.Tags)
	}
}

// originOf keeps the tags of tags that name what produced something (see
// originTags); nil when there are none.
func originOf(tags map[string]string) map[string]string {
	var out map[string]string
	for k, v := range tags {
		for _, p := range originTags {
			if strings.HasPrefix(k, p) {
				if out == nil {
					out = map[string]string{}
				}
				out[k] = v
			}
		}
	}
	return out
}

// stepLineage names the step's code and component and the data that
// flowed into it: its own data inputs and, through upstream outputs, those
// of every step before it.
func (rec *jobRecord) stepLineage(step string) registry.Lineage {
	byName := map[string]*engine.PlanStep{}
	for _, ps := range rec.plan.Steps {
		byName[ps.Name] = ps
	}
	lin := registry.Lineage{Job: rec.job.Name, Step: step, Origin: originOf(rec.spec.Tags)}
	if ps := byName[step]; ps != nil {
		lin.Code, lin.Component = ps.Code, ps.Component
	}
	assets := rec.dataAssets()
	seen := map[string]bool{}
	queue := []string{step}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		ps := byName[name]
		if ps == nil || seen[name] {
			continue
		}
		seen[name] = true
		for _, in := range sortedKeys(ps.Inputs) {
			pi := ps.Inputs[in]
			switch {
			case pi.From != nil:
				queue = append(queue, pi.From.Step)
			case pi.Digest != "":
				asset := pi.Asset
				if asset == "" {
					asset = assets[pi.Digest]
				}
				lin.Inputs = append(lin.Inputs, registry.DataInput{Step: name, Input: in, Asset: asset, Digest: pi.Digest})
			case pi.URI != "":
				asset := pi.Asset
				if asset == "" {
					asset = datastore.Display(pi.URI)
				}
				lin.Inputs = append(lin.Inputs, registry.DataInput{Step: name, Input: in, Asset: asset})
			}
		}
	}
	return lin
}

// dataAssets maps the digest of each registered data asset the job names
// (azureml:name:version, at the job or one of its inline steps) to that
// reference.
func (rec *jobRecord) dataAssets() map[string]string {
	out := map[string]string{}
	for name, in := range rec.spec.Inputs {
		if pi, ok := rec.plan.Inputs[name]; ok && in != nil && strings.HasPrefix(in.Path, "azureml:") && pi.Digest != "" {
			out[pi.Digest] = in.Path
		}
	}
	steps := map[string]*engine.PlanStep{}
	for _, ps := range rec.plan.Steps {
		steps[ps.Name] = ps
	}
	var walk func(prefix string, jobs map[string]*spec.Job)
	walk = func(prefix string, jobs map[string]*spec.Job) {
		for name, j := range jobs {
			if j == nil {
				continue
			}
			if ps := steps[prefix+name]; ps != nil {
				for in, v := range j.Inputs {
					if v != nil && strings.HasPrefix(v.Path, "azureml:") && ps.Inputs[in].Digest != "" {
						out[ps.Inputs[in].Digest] = v.Path
					}
				}
			}
			walk(prefix+name+"/", j.Jobs)
		}
	}
	walk("", rec.spec.Jobs)
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
