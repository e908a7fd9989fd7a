package factory

import (
	"encoding/json"
	"strings"
)

// requiredTypeProps are the typeProperties each activity type cannot run
// without.
var requiredTypeProps = map[string][]string{
	"Copy":            {"source", "sink"},
	"Lookup":          {"source", "dataset"},
	"GetMetadata":     {"dataset"},
	"Delete":          {"dataset"},
	"Script":          {"scripts"},
	"ForEach":         {"items"},
	"IfCondition":     {"expression"},
	"Switch":          {"on"},
	"Until":           {"expression"},
	"Filter":          {"items", "condition"},
	"Wait":            {"waitTimeInSeconds"},
	"SetVariable":     {"variableName"},
	"AppendVariable":  {"variableName", "value"},
	"ExecutePipeline": {"pipeline"},
	"Fail":            {"message", "errorCode"},
	"WebActivity":     {"url", "method"},
}

// pipelineChecker validates one pipeline's activities, nested ones
// included.
type pipelineChecker struct {
	r  *reporter
	pl *Pipeline
	// names holds every activity name seen (folded: names become keys and
	// folder names, which must not differ only in case) and where.
	names map[string]path
}

func validatePipeline(r *reporter, pl *Pipeline) {
	validateParams(r, props.to("parameters"), pl.Parameters, paramTypes)
	validateParams(r, props.to("variables"), pl.Variables, variableTypes)
	if pl.Concurrency < 0 {
		r.at(props.to("concurrency"), "expected a positive number of runs at once, got %d", pl.Concurrency)
	}
	c := &pipelineChecker{r: r, pl: pl, names: map[string]path{}}
	c.container(pl.Activities, props.to("activities"))
}

// container checks one list of activities: each activity, then the
// dependencies between them, which stay inside the list.
func (c *pipelineChecker) container(acts []Activity, base path) {
	for i := range acts {
		c.activity(&acts[i], base.to(i))
	}
	local := map[string]int{}
	for i, a := range acts {
		if _, dup := local[a.Name]; !dup {
			local[a.Name] = i
		}
	}
	for i, a := range acts {
		for j, d := range a.DependsOn {
			dp := base.to(i, "dependsOn", j)
			switch _, ok := local[d.Activity]; {
			case d.Activity == "":
				c.r.at(dp, `missing "activity" (the name of an activity it waits for)`)
			case d.Activity == a.Name:
				c.r.at(dp.to("activity"), "activity %q depends on itself", a.Name)
			case !ok:
				c.r.at(dp.to("activity"), "no activity %q here to depend on; dependsOn names an activity of the same container (%s)", d.Activity, listNames(acts))
			}
			if len(d.DependencyConditions) == 0 {
				c.r.at(dp, `missing "dependencyConditions"; expected some of %s`, strings.Join(dependencyConditions, ", "))
			}
			for k, cond := range d.DependencyConditions {
				if err := checkType("dependency condition", cond, dependencyConditions); err != nil {
					c.r.at(dp.to("dependencyConditions", k), "%v", err)
				}
			}
		}
	}
	if cycle := findCycle(acts, local); cycle != nil {
		c.r.at(base.to(local[cycle[0]], "dependsOn"), "dependency cycle: %s", strings.Join(cycle, " -> "))
	}
}

func listNames(acts []Activity) string {
	names := make([]string, 0, len(acts))
	for _, a := range acts {
		names = append(names, a.Name)
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func (c *pipelineChecker) activity(a *Activity, p path) {
	r := c.r
	if a.Name == "" {
		r.at(p, `missing "name"`)
	} else if err := CheckActivityName(a.Name); err != nil {
		r.at(p.to("name"), "%v", err)
	} else if prev, dup := c.names[strings.ToLower(a.Name)]; dup {
		r.at(p.to("name"), "activity name %q is used twice (also at %s); Data Factory wants activity names unique across the whole pipeline, nested ones included", a.Name, prev)
	} else {
		c.names[strings.ToLower(a.Name)] = p
	}
	if err := checkType("activity", a.Type, activityTypes); err != nil {
		if a.Type == "" {
			r.at(p, `missing "type"; expected an activity type: %s`, strings.Join(activityTypes, ", "))
		} else {
			r.at(p.to("type"), "%v", err)
		}
		return
	}
	switch a.State {
	case "", "Active", "Inactive":
	default:
		r.at(p.to("state"), "expected Active or Inactive, got %q", a.State)
	}
	switch a.OnInactiveMarkAs {
	case "", DependSucceeded, DependFailed, DependSkipped:
	default:
		r.at(p.to("onInactiveMarkAs"), "expected Succeeded, Failed or Skipped, got %q", a.OnInactiveMarkAs)
	}
	for i := range a.Inputs {
		validateRef(r, p.to("inputs", i), &a.Inputs[i], KindDataset)
	}
	for i := range a.Outputs {
		validateRef(r, p.to("outputs", i), &a.Outputs[i], KindDataset)
	}
	if a.LinkedServiceName != nil {
		validateRef(r, p.to("linkedServiceName"), a.LinkedServiceName, KindLinkedService)
	}
	if a.Policy != nil && a.Policy.RetryIntervalInSeconds < 0 {
		r.at(p.to("policy", "retryIntervalInSeconds"), "expected a number of seconds >= 0, got %d", a.Policy.RetryIntervalInSeconds)
	}
	c.typeProperties(a, p)
}

// typeProperties checks what each activity type needs in its
// typeProperties, and walks into control activities.
func (c *pipelineChecker) typeProperties(a *Activity, p path) {
	r, tpPath := c.r, p.to("typeProperties")
	tp := objectProps(r, tpPath, a.TypeProperties)
	for _, k := range requiredTypeProps[a.Type] {
		if _, ok := tp[k]; !ok {
			r.at(tpPath, "%s needs %q", a.Type, k)
		}
	}
	switch a.Type {
	case "Copy":
		if len(a.Inputs) != 1 || len(a.Outputs) != 1 {
			r.at(p, "a Copy activity has one input and one output dataset; it has %d and %d", len(a.Inputs), len(a.Outputs))
		}
	case "Script":
		if a.LinkedServiceName == nil {
			r.at(p, `a Script activity needs "linkedServiceName" (the database it runs on)`)
		}
	case "SetVariable", "AppendVariable":
		c.variableName(a, tp, tpPath)
	}
	for _, f := range []struct {
		name string
		want Kind
	}{{"dataset", KindDataset}, {"pipeline", KindPipeline}} {
		name, want := f.name, f.want
		if raw, ok := tp[name]; ok {
			var ref Reference
			if err := remarshal(raw, &ref); err != nil {
				r.at(tpPath.to(name), `expected {"referenceName": ..., "type": %q}`, refTypes[want])
			} else {
				validateRef(r, tpPath.to(name), &ref, want)
			}
		}
	}
	nested, err := a.Nested()
	if err != nil {
		r.at(tpPath, "%v", err)
		return
	}
	for _, cont := range nested {
		c.container(cont.Activities, tpPath.to(cont.steps...))
	}
}

// variableName checks that SetVariable and AppendVariable name a declared
// variable (SetVariable may instead set the pipeline's return value).
func (c *pipelineChecker) variableName(a *Activity, tp map[string]any, tpPath path) {
	name, ok := tp["variableName"].(string)
	if !ok {
		if _, present := tp["variableName"]; present {
			c.r.at(tpPath.to("variableName"), "expected a variable's name")
		}
		return
	}
	if sys, _ := tp["setSystemVariable"].(bool); sys && a.Type == "SetVariable" {
		return
	}
	if _, declared := c.pl.Variables[name]; !declared {
		c.r.at(tpPath.to("variableName"), "no variable %q in the pipeline's \"variables\" (%s)", name, strings.Join(sortedKeys(c.pl.Variables), ", "))
	}
}

func remarshal(v any, into any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, into)
}

// findCycle returns the names along a dependency cycle among acts
// (first name repeated at the end), or nil.
func findCycle(acts []Activity, index map[string]int) []string {
	const (
		unseen = iota
		onStack
		done
	)
	state := make([]int, len(acts))
	var stack []string
	var visit func(i int) []string
	visit = func(i int) []string {
		state[i] = onStack
		stack = append(stack, acts[i].Name)
		for _, d := range acts[i].DependsOn {
			j, ok := index[d.Activity]
			if !ok || j == i {
				continue
			}
			switch state[j] {
			case onStack:
				for k, n := range stack {
					if n == acts[j].Name {
						return append(append([]string(nil), stack[k:]...), acts[j].Name)
					}
				}
			case unseen:
				if c := visit(j); c != nil {
					return c
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[i] = done
		return nil
	}
	for i := range acts {
		if state[i] == unseen {
			if c := visit(i); c != nil {
				return c
			}
		}
	}
	return nil
}
