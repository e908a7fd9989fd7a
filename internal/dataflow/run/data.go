package run

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/ciel-mlops/ciel/internal/dataflow/activity"
	"github.com/ciel-mlops/ciel/internal/dataflow/expr"
	"github.com/ciel-mlops/ciel/internal/dataflow/factory"
)

// runData runs a data activity (Copy, Lookup, GetMetadata, Delete,
// Script) with its datasets and linked service resolved: its inputs and
// outputs (or, for Lookup, GetMetadata and Delete, the dataset its
// typeProperties name, which becomes its only input) and its own
// linkedServiceName (Script).
func (ex *execution) runData(ctx context.Context, c *call, f activity.Func) (any, error) {
	call := activity.Call{Name: c.act.Name, Type: c.act.Type, TypeProperties: c.props}
	s := c.scope()
	for _, ref := range c.act.Inputs {
		ds, err := ex.datasetFromRef(ctx, ref, s)
		if err != nil {
			return nil, err
		}
		call.Inputs = append(call.Inputs, ds)
	}
	for _, ref := range c.act.Outputs {
		ds, err := ex.datasetFromRef(ctx, ref, s)
		if err != nil {
			return nil, err
		}
		call.Outputs = append(call.Outputs, ds)
	}
	if m, ok := c.props["dataset"].(map[string]any); ok && len(call.Inputs) == 0 {
		name, _ := m["referenceName"].(string)
		params, _ := m["parameters"].(map[string]any)
		ds, err := ex.resolveDataset(ctx, name, params)
		if err != nil {
			return nil, err
		}
		call.Inputs = append(call.Inputs, ds)
	}
	if ref := c.act.LinkedServiceName; ref != nil {
		params, err := ex.evalParams(ref.Parameters, s)
		if err != nil {
			return nil, fmt.Errorf("linked service %s parameters: %w", ref.ReferenceName, err)
		}
		ls, err := ex.resolveLinkedService(ctx, ref.ReferenceName, params)
		if err != nil {
			return nil, err
		}
		call.LinkedService = &ls
	}
	out, err := f(ctx, ex.env(), call)
	if out == nil {
		return nil, err
	}
	return out, err
}

// evalParams evaluates a reference's parameter values in s.
func (ex *execution) evalParams(raw map[string]json.RawMessage, s *expr.Scope) (map[string]any, error) {
	out := make(map[string]any, len(raw))
	for k, v := range raw {
		x, err := ex.r.evalRaw(v, s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		out[k] = x
	}
	return out, nil
}

func (ex *execution) datasetFromRef(ctx context.Context, ref factory.Reference, s *expr.Scope) (activity.Dataset, error) {
	params, err := ex.evalParams(ref.Parameters, s)
	if err != nil {
		return activity.Dataset{}, fmt.Errorf("dataset %s parameters: %w", ref.ReferenceName, err)
	}
	return ex.resolveDataset(ctx, ref.ReferenceName, params)
}

// resolveDataset binds a dataset's parameters, evaluates its
// typeProperties with dataset() bound to them, and resolves its linked
// service, whose parameters are evaluated in the dataset's scope.
func (ex *execution) resolveDataset(ctx context.Context, name string, params map[string]any) (activity.Dataset, error) {
	ws := ex.run.Workspace
	ds, err := ex.r.cfg.Resources.Dataset(ctx, ws, name)
	if err != nil {
		return activity.Dataset{}, userError("DatasetNotFound", "dataset %q: %v", name, err)
	}
	bound, err := bindParams(ds.Parameters, params, fmt.Sprintf("dataset %q", name))
	if err != nil {
		return activity.Dataset{}, paramErr(err)
	}
	s := &expr.Scope{Dataset: bound, Now: ex.r.cfg.Now}
	props, err := ex.r.evalProps(ds.TypeProperties, s)
	if err != nil {
		return activity.Dataset{}, fmt.Errorf("dataset %q: %w", name, err)
	}
	out := activity.Dataset{Name: ds.Name, Type: ds.Type, Properties: props}
	for _, raw := range []json.RawMessage{ds.Schema, ds.Structure} {
		if v, err := ex.r.evalRaw(raw, s); err == nil {
			if list, ok := v.([]any); ok && len(list) > 0 {
				out.Schema = list
				break
			}
		}
	}
	lsParams, err := ex.evalParams(ds.LinkedServiceName.Parameters, s)
	if err != nil {
		return activity.Dataset{}, fmt.Errorf("dataset %q: linked service parameters: %w", name, err)
	}
	out.LinkedService, err = ex.resolveLinkedService(ctx, ds.LinkedServiceName.ReferenceName, lsParams)
	if err != nil {
		return activity.Dataset{}, fmt.Errorf("dataset %q: %w", name, err)
	}
	return out, nil
}

// resolveLinkedService binds a linked service's parameters, evaluates its
// typeProperties with linkedService() bound, and fills in its secrets.
func (ex *execution) resolveLinkedService(ctx context.Context, name string, params map[string]any) (activity.LinkedService, error) {
	ws := ex.run.Workspace
	ls, err := ex.r.cfg.Resources.LinkedService(ctx, ws, name)
	if err != nil {
		return activity.LinkedService{}, userError("LinkedServiceNotFound", "linked service %q: %v", name, err)
	}
	bound, err := bindParams(ls.Parameters, params, fmt.Sprintf("linked service %q", name))
	if err != nil {
		return activity.LinkedService{}, paramErr(err)
	}
	props, err := ex.r.evalProps(ls.TypeProperties, &expr.Scope{LinkedService: bound, Now: ex.r.cfg.Now})
	if err != nil {
		return activity.LinkedService{}, fmt.Errorf("linked service %q: %w", name, err)
	}
	resolved, err := ex.resolveSecrets(ctx, props)
	if err != nil {
		return activity.LinkedService{}, fmt.Errorf("linked service %q: %w", name, err)
	}
	m, _ := resolved.(map[string]any)
	return activity.LinkedService{Name: ls.Name, Type: ls.Type, Properties: m}, nil
}

func paramErr(err error) error {
	var inv *InvalidError
	if errors.As(err, &inv) {
		return userError("InvalidParameter", "%s", inv.Msg)
	}
	return err
}

// resolveSecrets replaces every secret object in v with its value: a
// SecureString's value, an AzureKeyVaultSecret's secret from Secrets.
func (ex *execution) resolveSecrets(ctx context.Context, v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		typ, _ := x["type"].(string)
		switch {
		case strings.EqualFold(typ, "SecureString"):
			s, _ := x["value"].(string)
			return s, nil
		case strings.EqualFold(typ, "AzureKeyVaultSecret"):
			return ex.keyVaultSecret(ctx, x)
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			r, err := ex.resolveSecrets(ctx, e)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			r, err := ex.resolveSecrets(ctx, e)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
	return v, nil
}

func (ex *execution) keyVaultSecret(ctx context.Context, ref map[string]any) (string, error) {
	st, _ := ref["store"].(map[string]any)
	vault, _ := st["referenceName"].(string)
	name, _ := ref["secretName"].(string)
	version, _ := ref["secretVersion"].(string)
	if vault == "" || name == "" {
		return "", userError("InvalidSecretReference", "an AzureKeyVaultSecret needs store.referenceName and secretName")
	}
	if ex.r.cfg.Secrets == nil {
		return "", userError("SecretsUnavailable", "secret %q of key vault %q: this server keeps no secrets", name, vault)
	}
	v, err := ex.r.cfg.Secrets.Secret(ctx, ex.run.Workspace, vault, name, version)
	if err != nil {
		return "", userError("SecretNotFound", "secret %q of key vault %q: %v (set it with ciel data-factory secret set)", name, vault, err)
	}
	return v, nil
}
