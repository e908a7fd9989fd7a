package factory

import (
	"encoding/json"
	"sort"
	"strings"
)

// Exists reports whether a resource of kind and name exists outside the
// factory being checked (in the store it is imported into). Names are
// case-insensitive.
type Exists func(kind Kind, name string) bool

// ref is one reference from a resource to another, and where it is
// written.
type ref struct {
	kind Kind
	name string
	path path
}

// Check checks the references between the factory's resources: a
// dataset's linked service, a key vault secret's store, an activity's
// datasets, linked service and executed pipeline, a trigger's pipelines.
// Each must name a resource of the factory or one exists reports (nil:
// none outside). Errors are placed at the reference in the file of the
// resource that holds it.
func (f *Factory) Check(exists Exists) error {
	byName := map[Kind]map[string]Resource{}
	for _, res := range f.all() {
		k := res.ResourceKind()
		if byName[k] == nil {
			byName[k] = map[string]Resource{}
		}
		byName[k][strings.ToLower(res.ResourceName())] = res
	}
	var errs ErrorList
	for _, res := range f.all() {
		s := f.src[res]
		r := &reporter{file: s.file, doc: s.doc}
		refs, err := refsOf(res)
		if err != nil {
			r.at(nil, "%v", err)
		}
		for _, rf := range refs {
			if _, single := s.doc.Lookup("properties", "pipeline"); single && rf.kind == KindPipeline && res.ResourceKind() == KindTrigger {
				rf.path = props.to("pipeline", "pipelineReference", "referenceName")
			}
			target, ok := byName[rf.kind][strings.ToLower(rf.name)]
			switch {
			case ok && isSecretStore(rf) && target.(*LinkedService).Type != "AzureKeyVault":
				r.at(rf.path, "linked service %q is %s, not an AzureKeyVault to hold secrets", rf.name, target.(*LinkedService).Type)
			case ok:
			case exists != nil && exists(rf.kind, rf.name):
			default:
				r.at(rf.path, "no %s %q%s", kindNoun(rf.kind), rf.name, f.have(rf.kind))
			}
		}
		errs = append(errs, r.errs...)
		if len(errs) >= maxErrors {
			break
		}
	}
	return errs.Err()
}

// have lists the names of kind the factory holds, for messages.
func (f *Factory) have(kind Kind) string {
	var names []string
	for _, res := range f.all() {
		if res.ResourceKind() == kind {
			names = append(names, res.ResourceName())
		}
	}
	if len(names) == 0 {
		return ""
	}
	if len(names) > 20 {
		names = append(names[:20], "...")
	}
	return " (there are: " + strings.Join(names, ", ") + ")"
}

func isSecretStore(rf ref) bool {
	return rf.kind == KindLinkedService && len(rf.path) > 1 && rf.path[len(rf.path)-2] == "store"
}

func (f *Factory) all() []Resource {
	var out []Resource
	for _, x := range f.LinkedServices {
		out = append(out, x)
	}
	for _, x := range f.Datasets {
		out = append(out, x)
	}
	for _, x := range f.Pipelines {
		out = append(out, x)
	}
	for _, x := range f.Triggers {
		out = append(out, x)
	}
	return out
}

// refsOf lists what a resource refers to.
func refsOf(res Resource) ([]ref, error) {
	var out []ref
	switch x := res.(type) {
	case *LinkedService:
		var tp map[string]any
		if len(x.TypeProperties) > 0 {
			_ = json.Unmarshal(x.TypeProperties, &tp) // validated as an object
		}
		for _, s := range secretRefs(tp) {
			out = append(out, ref{KindLinkedService, s.store, s.path.to("store", "referenceName")})
		}
	case *Dataset:
		out = append(out, ref{KindLinkedService, x.LinkedServiceName.ReferenceName, props.to("linkedServiceName", "referenceName")})
	case *Pipeline:
		err := walk(x.Activities, props.to("activities"), func(p path, a *Activity) error {
			out = append(out, activityRefs(a, p)...)
			return nil
		})
		if err != nil {
			return out, err
		}
	case *Trigger:
		for i, tp := range x.Pipelines {
			out = append(out, ref{KindPipeline, tp.PipelineReference.ReferenceName, props.to("pipelines", i, "pipelineReference", "referenceName")})
		}
	}
	return out, nil
}

// activityRefs lists what one activity refers to.
func activityRefs(a *Activity, p path) []ref {
	var out []ref
	for i, in := range a.Inputs {
		out = append(out, ref{KindDataset, in.ReferenceName, p.to("inputs", i, "referenceName")})
	}
	for i, o := range a.Outputs {
		out = append(out, ref{KindDataset, o.ReferenceName, p.to("outputs", i, "referenceName")})
	}
	if a.LinkedServiceName != nil {
		out = append(out, ref{KindLinkedService, a.LinkedServiceName.ReferenceName, p.to("linkedServiceName", "referenceName")})
	}
	var tp struct {
		Dataset  *Reference `json:"dataset"`
		Pipeline *Reference `json:"pipeline"`
	}
	if len(a.TypeProperties) > 0 && json.Unmarshal(a.TypeProperties, &tp) == nil {
		if tp.Dataset != nil {
			out = append(out, ref{KindDataset, tp.Dataset.ReferenceName, p.to("typeProperties", "dataset", "referenceName")})
		}
		if tp.Pipeline != nil && a.Type == "ExecutePipeline" {
			out = append(out, ref{KindPipeline, tp.Pipeline.ReferenceName, p.to("typeProperties", "pipeline", "referenceName")})
		}
	}
	return out
}

// Sort puts each list in dependency order, names breaking ties: key
// vaults first among linked services, and a pipeline after the pipelines
// it executes (pipelines that execute each other in a cycle keep name
// order).
func (f *Factory) Sort() {
	sort.SliceStable(f.LinkedServices, func(i, j int) bool {
		a, b := f.LinkedServices[i], f.LinkedServices[j]
		if ka, kb := a.Type == "AzureKeyVault", b.Type == "AzureKeyVault"; ka != kb {
			return ka
		}
		return a.Name < b.Name
	})
	sort.SliceStable(f.Datasets, func(i, j int) bool { return f.Datasets[i].Name < f.Datasets[j].Name })
	sort.SliceStable(f.Triggers, func(i, j int) bool { return f.Triggers[i].Name < f.Triggers[j].Name })
	f.Pipelines = sortPipelines(f.Pipelines)
}

func sortPipelines(pls []*Pipeline) []*Pipeline {
	sort.SliceStable(pls, func(i, j int) bool { return pls[i].Name < pls[j].Name })
	index := map[string]int{}
	for i, p := range pls {
		index[strings.ToLower(p.Name)] = i
	}
	calls := make([][]int, len(pls))
	for i, p := range pls {
		refs, _ := refsOf(p)
		for _, rf := range refs {
			if j, ok := index[strings.ToLower(rf.name)]; ok && rf.kind == KindPipeline && j != i {
				calls[i] = append(calls[i], j)
			}
		}
	}
	out := make([]*Pipeline, 0, len(pls))
	state := make([]int, len(pls)) // 0 unseen, 1 visiting, 2 placed
	var place func(i int)
	place = func(i int) {
		if state[i] != 0 {
			return // placed, or a cycle: leave it where name order puts it
		}
		state[i] = 1
		for _, j := range calls[i] {
			place(j)
		}
		state[i] = 2
		out = append(out, pls[i])
	}
	for i := range pls {
		place(i)
	}
	return out
}
