package mljobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"time"

	"github.com/ciel-mlops/ciel/internal/dataflow/run"
	"github.com/ciel-mlops/ciel/internal/datastore"
	"github.com/ciel-mlops/ciel/internal/spec"
	"github.com/ciel-mlops/ciel/internal/store"
)

// RegisterData registers a data asset version at a datastore path or job
// output, as `ciel data create --path azureml://...` does, tagged with
// the factory run that asked for it. With no version it takes one more
// than the highest numeric version. The path is checked now and read when
// a job uses the asset, as Azure ML does.
func (m *Jobs) RegisterData(ctx context.Context, ws string, req run.DataRequest) (map[string]any, error) {
	d := spec.Data{Name: req.Name, Version: req.Version, Type: req.Type, Path: req.Path, Description: req.Description}
	switch d.Type {
	case "":
		d.Type = spec.TypeURIFolder
	case spec.TypeURIFile, spec.TypeURIFolder, spec.TypeMLTable:
	default:
		return nil, fmt.Errorf("type %q: expected uri_file, uri_folder or mltable", d.Type)
	}
	if !datastore.IsDataURI(d.Path) {
		return nil, fmt.Errorf("path %q: expected azureml://datastores/<datastore>/paths/<path> or azureml://jobs/<job>/outputs/<output>", d.Path)
	}
	if err := spec.CheckSubmittedData(&d); err != nil {
		return nil, err
	}
	if err := m.cfg.Data.Check(ctx, ws, d.Path, false); err != nil {
		return nil, fmt.Errorf("path %s: %w", d.Path, err)
	}
	if d.Description == "" {
		d.Description = fmt.Sprintf("Registered by data factory pipeline %s, run %s, activity %s", req.PipelineName, req.FactoryRunID, req.ActivityName)
	}
	d.Tags = maps.Clone(req.Tags)
	if d.Tags == nil {
		d.Tags = map[string]string{}
	}
	maps.Copy(d.Tags, originTags(req.Origin))
	// Two runs registering the next version at once: the loser takes the
	// one after.
	for try := 0; ; try++ {
		if req.Version == "" {
			v, err := m.nextVersion(ctx, ws, d.Name)
			if err != nil {
				return nil, err
			}
			d.Version = v
		}
		body, err := json.Marshal(d)
		if err != nil {
			return nil, err
		}
		a := store.Asset{Workspace: ws, Kind: store.KindData, Name: d.Name, Version: d.Version, Spec: body, CreatedAt: time.Now().UTC()}
		err = m.cfg.Store.PutAsset(ctx, a, false)
		if errors.Is(err, store.ErrConflict) && req.Version == "" && try < 3 {
			continue
		}
		if errors.Is(err, store.ErrConflict) {
			return nil, fmt.Errorf("data %s version %s already exists with different content; give a new version", d.Name, d.Version)
		}
		if err != nil {
			return nil, fmt.Errorf("register data %s: %w", d.Name, err)
		}
		return map[string]any{"name": d.Name, "version": d.Version, "type": d.Type, "path": d.Path,
			"id": "azureml:" + d.Name + ":" + d.Version}, nil
	}
}

// nextVersion is one more than the highest numeric version of data name,
// or "1".
func (m *Jobs) nextVersion(ctx context.Context, ws, name string) (string, error) {
	list, err := m.cfg.Store.ListAssets(ctx, ws, store.KindData, name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	top := 0
	for _, a := range list {
		if n, err := strconv.Atoi(a.Version); err == nil && n > top {
			top = n
		}
	}
	return strconv.Itoa(top + 1), nil
}
