package factory

import (
	"encoding/json"
	"sort"
	"strings"
)

// Validate checks a resource built in code the way Parse checks a file's:
// names, types, references' shape, activity dependencies. Errors carry
// paths but no positions.
func Validate(res Resource) error {
	r := &reporter{}
	validate(r, res)
	return r.errs.Err()
}

func validate(r *reporter, res Resource) {
	if err := CheckName(res.ResourceKind(), res.ResourceName()); err != nil {
		r.at(path{"name"}, "%v", err)
	}
	switch x := res.(type) {
	case *LinkedService:
		validateLinkedService(r, x)
	case *Dataset:
		validateDataset(r, x)
	case *Pipeline:
		validatePipeline(r, x)
	case *Trigger:
		validateTrigger(r, x)
	}
}

var props = path{"properties"}

func validateLinkedService(r *reporter, ls *LinkedService) {
	if err := checkType("linked service", ls.Type, linkedServiceTypes); err != nil {
		r.at(props.to("type"), "%v", err)
	}
	validateParams(r, props.to("parameters"), ls.Parameters, paramTypes)
	tp := objectProps(r, props.to("typeProperties"), ls.TypeProperties)
	for _, ref := range secretRefs(tp) {
		if ref.store == "" {
			r.at(ref.path, `a key vault secret needs "store": {"referenceName": <an AzureKeyVault linked service>, "type": "LinkedServiceReference"}`)
		}
	}
}

func validateDataset(r *reporter, ds *Dataset) {
	if err := checkType("dataset", ds.Type, datasetTypes); err != nil {
		r.at(props.to("type"), "%v", err)
	}
	validateRef(r, props.to("linkedServiceName"), &ds.LinkedServiceName, KindLinkedService)
	validateParams(r, props.to("parameters"), ds.Parameters, paramTypes)
	objectProps(r, props.to("typeProperties"), ds.TypeProperties)
}

func validateTrigger(r *reporter, t *Trigger) {
	if err := checkType("trigger", t.Type, triggerTypes); err != nil {
		r.at(props.to("type"), "%v", err)
	}
	switch t.RuntimeState {
	case "", "Started", "Stopped":
	default:
		r.at(props.to("runtimeState"), "expected Started or Stopped, got %q", t.RuntimeState)
	}
	if t.Type == "TumblingWindowTrigger" && len(t.Pipelines) != 1 {
		r.at(props, `a tumbling window trigger starts exactly one pipeline ("pipeline": {"pipelineReference": ...}); it names %d`, len(t.Pipelines))
	}
	// A tumbling window trigger's one pipeline was written as "pipeline".
	_, single := r.doc.Lookup("properties", "pipeline")
	for i := range t.Pipelines {
		field := props.to("pipelines", i)
		if single {
			field = props.to("pipeline")
		}
		validateRef(r, field.to("pipelineReference"), &t.Pipelines[i].PipelineReference, KindPipeline)
	}
	tp := objectProps(r, props.to("typeProperties"), t.TypeProperties)
	if tp == nil {
		r.at(props, `missing "typeProperties"`)
		return
	}
	var freq []string
	freqPath := props.to("typeProperties")
	switch t.Type {
	case "ScheduleTrigger":
		rec, _ := tp["recurrence"].(map[string]any)
		if rec == nil {
			r.at(freqPath, `missing "recurrence" {"frequency": ..., "interval": ...}`)
			return
		}
		tp, freqPath, freq = rec, freqPath.to("recurrence"), []string{"Minute", "Hour", "Day", "Week", "Month"}
	case "TumblingWindowTrigger":
		freq = []string{"Minute", "Hour", "Month"}
		if _, ok := tp["startTime"]; !ok {
			r.at(freqPath, `missing "startTime"`)
		}
	case "BlobEventsTrigger":
		if ev, ok := tp["events"].([]any); !ok || len(ev) == 0 {
			r.at(freqPath, `missing "events": ["Microsoft.Storage.BlobCreated" and/or "Microsoft.Storage.BlobDeleted"]`)
		}
		return
	default:
		return
	}
	if f, ok := tp["frequency"].(string); !ok || !oneOfFold(f, freq) {
		r.at(freqPath.to("frequency"), "expected a frequency: %s", strings.Join(freq, ", "))
	}
	if _, ok := tp["interval"]; !ok {
		r.at(freqPath, `missing "interval"`)
	}
}

// objectProps checks that raw typeProperties are an object and decodes
// them; nil when absent or not an object.
func objectProps(r *reporter, p path, raw json.RawMessage) map[string]any {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		r.at(p, "expected an object")
		return nil
	}
	return m
}

func validateParams(r *reporter, p path, params map[string]ParamSpec, known []string) {
	for _, name := range sortedKeys(params) {
		if strings.TrimSpace(name) == "" || strings.ContainsAny(name, forbiddenNameChars) || hasControl(name) {
			r.at(p.to(name), "invalid name %q", name)
		}
		if !oneOfFold(params[name].Type, known) {
			r.at(p.to(name, "type"), "expected one of %s, got %q", strings.Join(known, ", "), params[name].Type)
		}
	}
}

func hasControl(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// refTypes is the "type" each kind of reference carries.
var refTypes = map[Kind]string{
	KindLinkedService: "LinkedServiceReference",
	KindDataset:       "DatasetReference",
	KindPipeline:      "PipelineReference",
}

func validateRef(r *reporter, p path, ref *Reference, kind Kind) {
	if ref.ReferenceName == "" {
		r.at(p, `missing "referenceName" (the %s's name)`, kindNoun(kind))
	} else if err := CheckName(kind, ref.ReferenceName); err != nil {
		r.at(p.to("referenceName"), "%v", err)
	}
	if ref.Type != "" && ref.Type != refTypes[kind] {
		r.at(p.to("type"), "expected %q, got %q", refTypes[kind], ref.Type)
	}
}

// secretRef is an AzureKeyVaultSecret value inside typeProperties.
type secretRef struct {
	path  path
	store string
}

// secretRefs finds the key vault secrets a linked service's type
// properties use, wherever they sit ({"type": "AzureKeyVaultSecret",
// "store": {"referenceName": ...}, "secretName": ...}).
func secretRefs(tp map[string]any) []secretRef {
	var out []secretRef
	var find func(v any, p path)
	find = func(v any, p path) {
		switch x := v.(type) {
		case map[string]any:
			if t, _ := x["type"].(string); t == "AzureKeyVaultSecret" {
				store, _ := x["store"].(map[string]any)
				name, _ := store["referenceName"].(string)
				out = append(out, secretRef{path: p, store: name})
				return
			}
			for _, k := range sortedKeys(x) {
				find(x[k], p.to(k))
			}
		case []any:
			for i, e := range x {
				find(e, p.to(i))
			}
		}
	}
	find(tp, props.to("typeProperties"))
	return out
}
