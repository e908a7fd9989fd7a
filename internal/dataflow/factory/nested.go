package factory

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// Container is one list of activities a control activity holds: a
// ForEach's or an Until's "activities", an IfCondition's
// "ifTrueActivities" or "ifFalseActivities", a Switch case's
// "activities" or its "defaultActivities". dependsOn reaches only
// activities of the same container.
type Container struct {
	// Field is where the list sits in typeProperties: "activities",
	// "ifTrueActivities", "cases[1].activities", "defaultActivities".
	Field string
	// Case is the Switch case's value (for "cases[i].activities").
	Case       string
	Activities []Activity
	steps      []any // Field as path steps
}

// The typeProperties of the control activities, as far as they hold
// activities.
type (
	forEachProps struct {
		Activities []Activity `json:"activities"`
	}
	untilProps struct {
		Activities []Activity `json:"activities"`
	}
	ifConditionProps struct {
		IfTrueActivities  []Activity `json:"ifTrueActivities"`
		IfFalseActivities []Activity `json:"ifFalseActivities"`
	}
	switchProps struct {
		Cases             []switchCase `json:"cases"`
		DefaultActivities []Activity   `json:"defaultActivities"`
	}
	switchCase struct {
		Value      string     `json:"value"`
		Activities []Activity `json:"activities"`
	}
)

// controlProps maps each control activity type to (a pointer to) its
// typeProperties' Go type, for type checking.
var controlProps = map[string]any{
	"ForEach":     (*forEachProps)(nil),
	"Until":       (*untilProps)(nil),
	"IfCondition": (*ifConditionProps)(nil),
	"Switch":      (*switchProps)(nil),
}

// Nested returns the lists of activities a control activity holds, in
// the order Data Factory's JSON has them; none for other activities. It
// fails only when typeProperties does not decode (a parsed and validated
// Activity always does).
func (a *Activity) Nested() ([]Container, error) {
	if _, ok := controlProps[a.Type]; !ok || len(a.TypeProperties) == 0 {
		return nil, nil
	}
	var out []Container
	add := func(field string, acts []Activity, steps ...any) {
		out = append(out, Container{Field: field, Activities: acts, steps: steps})
	}
	var err error
	switch a.Type {
	case "ForEach":
		var tp forEachProps
		if err = json.Unmarshal(a.TypeProperties, &tp); err == nil {
			add("activities", tp.Activities, "activities")
		}
	case "Until":
		var tp untilProps
		if err = json.Unmarshal(a.TypeProperties, &tp); err == nil {
			add("activities", tp.Activities, "activities")
		}
	case "IfCondition":
		var tp ifConditionProps
		if err = json.Unmarshal(a.TypeProperties, &tp); err == nil {
			add("ifTrueActivities", tp.IfTrueActivities, "ifTrueActivities")
			add("ifFalseActivities", tp.IfFalseActivities, "ifFalseActivities")
		}
	case "Switch":
		var tp switchProps
		if err = json.Unmarshal(a.TypeProperties, &tp); err == nil {
			for i, c := range tp.Cases {
				add("cases["+strconv.Itoa(i)+"].activities", c.Activities, "cases", i, "activities")
				out[len(out)-1].Case = c.Value
			}
			add("defaultActivities", tp.DefaultActivities, "defaultActivities")
		}
	}
	if err != nil {
		return nil, fmt.Errorf("activity %q: typeProperties: %w", a.Name, err)
	}
	return out, nil
}

// Walk calls fn for every activity of acts and every activity nested in
// them, parents before children, with the activity's path from acts
// ("[0].typeProperties.activities[1]"). It stops at fn's first error.
func Walk(acts []Activity, fn func(where string, a *Activity) error) error {
	return walk(acts, nil, func(p path, a *Activity) error { return fn(p.String(), a) })
}

func walk(acts []Activity, base path, fn func(p path, a *Activity) error) error {
	for i := range acts {
		a := &acts[i]
		ap := base.to(i)
		if err := fn(ap, a); err != nil {
			return err
		}
		nested, err := a.Nested()
		if err != nil {
			return err
		}
		for _, c := range nested {
			if err := walk(c.Activities, ap.to("typeProperties").to(c.steps...), fn); err != nil {
				return err
			}
		}
	}
	return nil
}
