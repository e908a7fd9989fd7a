package serving

import (
	"bytes"
	"context"
	"encoding/json"

	"strings"

	"gopkg.in/yaml.v3"

	"github.com/ciel-mlops/ciel/internal/spec"
)

// maxSets bounds the overrides of one SetDeployment.
const maxSets = 64

// SetDeployment changes a deployment's stored spec by path=value overrides
// (as `--set` does to a file: instance_count=3,
// request_settings.request_timeout_ms=5000, environment_variables.K=v)
// and updates it as UpdateDeployment does: what `az ml online-deployment
// update --name --endpoint-name --set` does without a file. Only the keys
// of a deployment's settings can be set; a path that names none, or a
// value of the wrong type, is refused with ErrInvalid.
func (m *Manager) SetDeployment(ctx context.Context, ws, endpoint, name string, sets []string) (Deployment, error) {
	if len(sets) == 0 || len(sets) > maxSets {
		return Deployment{}, invalidf("give 1 to %d path=value overrides", maxSets)
	}
	d, err := m.GetDeployment(ctx, ws, endpoint, name)
	if err != nil {
		return Deployment{}, err
	}
	s, err := applySets(d.Spec, sets)
	if err != nil {
		return Deployment{}, err
	}
	return m.UpdateDeployment(ctx, ws, endpoint, &s)
}

// applySets applies path=value overrides to a spec through its JSON form,
// refusing unknown keys and wrongly typed values.
func applySets(s spec.OnlineDeployment, sets []string) (spec.OnlineDeployment, error) {
	raw, err := json.Marshal(s)
	if err != nil {
		return s, err
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return s, err
	}
	for _, set := range sets {
		path, value, ok := strings.Cut(set, "=")
		keys := strings.Split(path, ".")
		if !ok || path == "" || len(keys) > 4 || keys[0] == "name" || keys[0] == "endpoint_name" || keys[0] == "file" || keys[0] == "pos" {
			return s, invalidf("--set %q: expected path=value with a path to one of the deployment's settings (instance_count=3)", set)
		}
		var v any
		if err := yaml.Unmarshal([]byte(value), &v); err != nil {
			return s, invalidf("--set %q: the value is not a YAML scalar: %v", set, err)
		}
		node := doc
		for _, k := range keys[:len(keys)-1] {
			next, ok := node[k].(map[string]any)
			if !ok {
				next = map[string]any{}
				node[k] = next
			}
			node = next
		}
		node[keys[len(keys)-1]] = v
	}
	raw, err = json.Marshal(doc)
	if err != nil {
		return s, err
	}
	var out spec.OnlineDeployment
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		return s, invalidf("--set: %v", strings.TrimPrefix(err.Error(), "json: "))
	}
	return out, nil
}
