package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/ciel-mlops/ciel/client"
	"github.com/ciel-mlops/ciel/internal/envs/curated"
)

// registryRoutes serves the azureml registry: ciel's built-in catalogue of
// Azure's curated environments, read-only, as `az ml environment list
// --registry-name azureml` lists them.
func (s *server) registryRoutes(h func(string, handlerFunc)) {
	h("GET /api/v1/registries/{registry}/environments", s.listRegistryEnvironments)
	h("GET /api/v1/registries/{registry}/environments/{name}", s.getRegistryEnvironment)
	h("GET /api/v1/registries/{registry}/environments/{name}/versions/{version}", s.getRegistryEnvironment)
}

// registryEnvironment is the spec of a curated environment as the API shows
// it: the environment fields Azure shows, and what ciel builds from it.
type registryEnvironment struct {
	Description   string                            `json:"description,omitempty"`
	Tags          map[string]string                 `json:"tags,omitempty"`
	Image         string                            `json:"image"`
	OSType        string                            `json:"os_type,omitempty"`
	Python        string                            `json:"python_version"`
	CondaFile     string                            `json:"conda_file"`
	Unpinned      []string                          `json:"unpinned,omitempty"`
	Upgrades      []string                          `json:"upgrades,omitempty"`
	GPU           bool                              `json:"gpu,omitempty"`
	Notes         []string                          `json:"notes,omitempty"`
	Substitutions map[string][]curated.Substitution `json:"substitutions,omitempty"`
	Unresolved    map[string]string                 `json:"unresolved,omitempty"`
	Source        string                            `json:"source"`
}

func (s *server) curatedRegistry(r *http.Request) (*curated.Catalogue, error) {
	if reg := r.PathValue("registry"); reg != curated.Registry {
		return nil, &httpError{status: http.StatusNotFound, code: "NotFound",
			msg: fmt.Sprintf("registry %q not found; ciel has one registry, %s, of Azure's curated environments", reg, curated.Registry)}
	}
	return curated.Default(), nil
}

func (s *server) listRegistryEnvironments(_ http.ResponseWriter, r *http.Request) (any, error) {
	c, err := s.curatedRegistry(r)
	if err != nil {
		return nil, err
	}
	out := make([]client.Asset, 0, len(c.Environments))
	for _, e := range c.Environments {
		a, err := registryAsset(c, e)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

func (s *server) getRegistryEnvironment(_ http.ResponseWriter, r *http.Request) (any, error) {
	c, err := s.curatedRegistry(r)
	if err != nil {
		return nil, err
	}
	name, version := r.PathValue("name"), r.PathValue("version")
	e, ok := c.Get(name)
	if !ok || (version != "" && version != curated.Version && version != "latest") {
		what := name
		if ok {
			what += " version " + version + " (ciel keeps version " + curated.Version + ")"
		}
		return nil, &httpError{status: http.StatusNotFound, code: "NotFound", msg: fmt.Sprintf("environment %s not found in registry %s", what, curated.Registry)}
	}
	return registryAsset(c, e)
}

// registryAsset shows a curated environment as an asset of the registry.
func registryAsset(c *curated.Catalogue, e curated.Environment) (client.Asset, error) {
	spec, err := json.Marshal(registryEnvironment{
		Description: e.Description, Tags: e.Tags, Image: e.Image, OSType: e.OSType, Python: e.Python,
		CondaFile: e.Resolve("").CondaFile, Unpinned: e.Unpinned, Upgrades: e.Upgrades, GPU: e.GPU, Notes: e.Notes,
		Substitutions: e.Substitutions, Unresolved: e.Unresolved,
		Source: fmt.Sprintf("https://github.com/%s/tree/%s/%s", c.Source.Repository, c.Source.Commit, e.Path),
	})
	if err != nil {
		return client.Asset{}, fmt.Errorf("encode curated environment %s: %w", e.Name, err)
	}
	created, _ := time.Parse(time.DateOnly, c.Source.Date)
	return client.Asset{
		Kind: client.KindEnvironment, Name: e.Name, Version: curated.Version, CreatedAt: created, Spec: spec,
		ID: fmt.Sprintf("azureml://registries/%s/environments/%s/versions/%s", curated.Registry, e.Name, curated.Version),
	}, nil
}
