package dataflow

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/ciel-mlops/ciel/internal/dataflow/factory"
)

// validate checks what the service itself requires of a document, beyond
// its JSON shape: a name, a type ciel can reach, unique activity names. It
// returns the properties with a linked service's type spelled as ciel
// knows it.
func validate(d Document) error {
	if err := CheckName(kindNoun(d.Kind), d.Name); err != nil {
		return at(d, err)
	}
	var head struct {
		Type              string             `json:"type"`
		LinkedServiceName *factory.Reference `json:"linkedServiceName"`
		Activities        []factory.Activity `json:"activities"`
	}
	if err := json.Unmarshal(d.Properties, &head); err != nil {
		return at(d, invalid("properties", "properties: %v", err))
	}
	switch d.Kind {
	case factory.KindLinkedService:
		if head.Type == "" {
			return at(d, invalid("properties.type", "linked service %q has no properties.type; ciel reaches %s", d.Name, strings.Join(linkedServiceTypes, ", ")))
		}
		if _, ok := linkedServiceType(head.Type); !ok {
			return at(d, invalid("properties.type", "linked service %q: type %q is not one ciel can reach; it reaches %s", d.Name, head.Type, strings.Join(linkedServiceTypes, ", ")))
		}
	case factory.KindDataset:
		if head.Type == "" {
			return at(d, invalid("properties.type", "dataset %q has no properties.type (DelimitedText, Parquet, Json, PostgreSqlV2Table, ...)", d.Name))
		}
		if head.LinkedServiceName == nil || head.LinkedServiceName.ReferenceName == "" {
			return at(d, invalid("properties.linkedServiceName", "dataset %q has no properties.linkedServiceName.referenceName: the linked service it reads", d.Name))
		}
	case factory.KindPipeline:
		return at(d, checkActivities("properties.activities", head.Activities))
	case factory.KindTrigger:
		if head.Type == "" {
			return at(d, invalid("properties.type", "trigger %q has no properties.type (ScheduleTrigger, TumblingWindowTrigger, BlobEventsTrigger)", d.Name))
		}
	}
	return nil
}

// checkActivities checks that each activity has a name and a type and that
// names are unique in the pipeline (ADF's rule, across nested activities
// too, since activity('name') reaches any of them).
func checkActivities(field string, acts []factory.Activity) error {
	seen := map[string]bool{}
	var walk func(field string, acts []factory.Activity) error
	walk = func(field string, acts []factory.Activity) error {
		for i, a := range acts {
			f := fmt.Sprintf("%s[%d]", field, i)
			switch {
			case a.Name == "":
				return invalid(f+".name", "%s has no name", f)
			case a.Type == "":
				return invalid(f+".type", "activity %q has no type", a.Name)
			case seen[strings.ToLower(a.Name)]:
				return invalid(f+".name", "two activities are named %q; activity names are unique in a pipeline", a.Name)
			}
			seen[strings.ToLower(a.Name)] = true
			for key, inner := range nestedActivities(a.TypeProperties) {
				if err := walk(f+".typeProperties."+key, inner); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return walk(field, acts)
}

// nestedActivities returns the activity lists a control activity holds:
// ForEach's and Until's "activities", IfCondition's "ifTrueActivities" and
// "ifFalseActivities", Switch's cases and "defaultActivities".
func nestedActivities(tp json.RawMessage) map[string][]factory.Activity {
	var m struct {
		Activities        []factory.Activity `json:"activities"`
		IfTrueActivities  []factory.Activity `json:"ifTrueActivities"`
		IfFalseActivities []factory.Activity `json:"ifFalseActivities"`
		DefaultActivities []factory.Activity `json:"defaultActivities"`
		Cases             []struct {
			Activities []factory.Activity `json:"activities"`
		} `json:"cases"`
	}
	if len(tp) == 0 || json.Unmarshal(tp, &m) != nil {
		return nil
	}
	out := map[string][]factory.Activity{}
	for k, v := range map[string][]factory.Activity{"activities": m.Activities, "ifTrueActivities": m.IfTrueActivities,
		"ifFalseActivities": m.IfFalseActivities, "defaultActivities": m.DefaultActivities} {
		if len(v) > 0 {
			out[k] = v
		}
	}
	for i, c := range m.Cases {
		out[fmt.Sprintf("cases[%d].activities", i)] = c.Activities
	}
	return out
}

// at places a validation error in its document's file, when it has one.
func at(d Document, err error) error {
	if err == nil || d.File == "" {
		return err
	}
	if ie, ok := err.(*InvalidError); ok {
		return &InvalidError{Field: ie.Field, Msg: d.File + ": " + ie.Msg}
	}
	return fmt.Errorf("%s: %w", d.File, err)
}

// referenceKinds maps a reference's "type" to the kind it names.
var referenceKinds = map[string]factory.Kind{
	"LinkedServiceReference": factory.KindLinkedService,
	"DatasetReference":       factory.KindDataset,
	"PipelineReference":      factory.KindPipeline,
	"TriggerReference":       factory.KindTrigger,
}

// references returns the resources a document names: every object in its
// properties with a "referenceName" and a reference "type" (a dataset's
// linked service, an activity's datasets, an ExecutePipeline's pipeline, a
// trigger's pipelines, a key vault secret's store), and a
// "linkedServiceName" even without a type. A referenceName that is an
// expression is resolved only when the pipeline runs, so it is not one.
func references(d Document) []Ref {
	var v any
	if json.Unmarshal(d.Properties, &v) != nil {
		return nil
	}
	var out []Ref
	var walk func(key string, v any)
	walk = func(key string, v any) {
		switch x := v.(type) {
		case map[string]any:
			if name, ok := x["referenceName"].(string); ok && name != "" && !strings.HasPrefix(name, "@") {
				typ, _ := x["type"].(string)
				kind, ok := referenceKinds[typ]
				if !ok && key == "linkedServiceName" {
					kind, ok = factory.KindLinkedService, true
				}
				if ok {
					out = append(out, Ref{Kind: kind, Name: name})
				}
			}
			for k, c := range x {
				walk(k, c)
			}
		case []any:
			for _, c := range x {
				walk(key, c)
			}
		}
	}
	walk("", v)
	slices.SortFunc(out, func(a, b Ref) int { return strings.Compare(string(a.Kind)+"/"+a.Name, string(b.Kind)+"/"+b.Name) })
	return slices.CompactFunc(out, func(a, b Ref) bool { return a.Kind == b.Kind && strings.EqualFold(a.Name, b.Name) })
}
