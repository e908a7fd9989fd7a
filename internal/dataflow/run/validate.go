package run

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/ciel-mlops/ciel/internal/dataflow/factory"
)

// containerProps is the typeProperties of the activities that hold
// others (ForEach, IfCondition, Switch, Until) and of Filter, kept raw:
// their expressions are evaluated per iteration, branch or item.
type containerProps struct {
	Items        json.RawMessage    `json:"items"`
	IsSequential json.RawMessage    `json:"isSequential"`
	BatchCount   json.RawMessage    `json:"batchCount"`
	Activities   []factory.Activity `json:"activities"`
	Expression   json.RawMessage    `json:"expression"`
	IfTrue       []factory.Activity `json:"ifTrueActivities"`
	IfFalse      []factory.Activity `json:"ifFalseActivities"`
	On           json.RawMessage    `json:"on"`
	Cases        []switchCase       `json:"cases"`
	Default      []factory.Activity `json:"defaultActivities"`
	Timeout      json.RawMessage    `json:"timeout"`
	Condition    json.RawMessage    `json:"condition"`
}

type switchCase struct {
	Value      string             `json:"value"`
	Activities []factory.Activity `json:"activities"`
}

// rawProps are the activity types whose typeProperties are not evaluated
// before they run.
var rawProps = map[string]bool{"ForEach": true, "IfCondition": true, "Switch": true, "Until": true, "Filter": true}

// inner returns the activity lists a container holds.
func (p *containerProps) inner() [][]factory.Activity {
	out := [][]factory.Activity{p.Activities, p.IfTrue, p.IfFalse, p.Default}
	for _, c := range p.Cases {
		out = append(out, c.Activities)
	}
	return out
}

func parseContainer(a factory.Activity) (*containerProps, error) {
	p := &containerProps{}
	if len(bytes.TrimSpace(a.TypeProperties)) == 0 {
		return p, nil
	}
	if err := json.Unmarshal(a.TypeProperties, p); err != nil {
		return nil, invalidf("activity %q (%s): typeProperties: %v", a.Name, a.Type, err)
	}
	return p, nil
}

// validateContainer checks one list of activities and, through them, the
// lists they hold; seen collects names, which are unique in a whole
// pipeline as in ADF.
func (r *Runner) validateContainer(pipeline string, acts []factory.Activity, seen map[string]bool) error {
	index := map[string]int{}
	for i, a := range acts {
		if a.Name == "" {
			return invalidf("pipeline %q: activity %d has no name", pipeline, i+1)
		}
		if seen[a.Name] {
			return invalidf("pipeline %q: two activities are named %q", pipeline, a.Name)
		}
		seen[a.Name] = true
		index[a.Name] = i
		if _, ok := r.handlerFor(a.Type); !ok {
			return invalidf("pipeline %q: activity %q has unknown type %q (known: %s, and the data activities Copy, Lookup, GetMetadata, Delete, Script)",
				pipeline, a.Name, a.Type, strings.Join(controlTypes(), ", "))
		}
	}
	for _, a := range acts {
		for _, d := range a.DependsOn {
			if _, ok := index[d.Activity]; !ok {
				return invalidf("pipeline %q: activity %q depends on %q, which is not an activity beside it", pipeline, a.Name, d.Activity)
			}
			if len(d.DependencyConditions) == 0 {
				return invalidf("pipeline %q: activity %q depends on %q with no dependencyConditions", pipeline, a.Name, d.Activity)
			}
			for _, c := range d.DependencyConditions {
				if !knownCondition(c) {
					return invalidf("pipeline %q: activity %q: unknown dependency condition %q (want Succeeded, Failed, Completed or Skipped)", pipeline, a.Name, c)
				}
			}
		}
		if rawProps[a.Type] {
			p, err := parseContainer(a)
			if err != nil {
				return err
			}
			for _, list := range p.inner() {
				if err := r.validateContainer(pipeline, list, seen); err != nil {
					return err
				}
			}
		}
	}
	if name := cycle(acts, index); name != "" {
		return invalidf("pipeline %q: activity %q depends on itself through dependsOn", pipeline, name)
	}
	return nil
}

func knownCondition(c string) bool {
	for _, k := range []string{factory.DependSucceeded, factory.DependFailed, factory.DependCompleted, factory.DependSkipped} {
		if strings.EqualFold(c, k) {
			return true
		}
	}
	return false
}

// cycle returns an activity on a dependency cycle, "" when there is none.
func cycle(acts []factory.Activity, index map[string]int) string {
	indeg := make([]int, len(acts))
	children := make([][]int, len(acts))
	for i, a := range acts {
		for _, d := range a.DependsOn {
			j := index[d.Activity]
			children[j] = append(children[j], i)
			indeg[i]++
		}
	}
	var queue []int
	for i, n := range indeg {
		if n == 0 {
			queue = append(queue, i)
		}
	}
	done := 0
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		done++
		for _, c := range children[i] {
			if indeg[c]--; indeg[c] == 0 {
				queue = append(queue, c)
			}
		}
	}
	if done == len(acts) {
		return ""
	}
	for i, n := range indeg {
		if n > 0 {
			return acts[i].Name
		}
	}
	return ""
}

func equalFold(a, b string) bool { return strings.EqualFold(a, b) }
