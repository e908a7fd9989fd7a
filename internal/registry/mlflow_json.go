package registry

import (
	"maps"
	"slices"
	"strconv"
)

// The JSON shapes of MLflow's registry entities (model_registry.proto as
// the client parses it). Timestamps are unix milliseconds.

// mlTag is a tag.
type mlTag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// mlAlias is a registered model's alias.
type mlAlias struct {
	Alias   string `json:"alias"`
	Version string `json:"version"`
}

// mlRegisteredModel is a RegisteredModel.
type mlRegisteredModel struct {
	Name                 string           `json:"name"`
	CreationTimestamp    int64            `json:"creation_timestamp"`
	LastUpdatedTimestamp int64            `json:"last_updated_timestamp"`
	Description          string           `json:"description,omitempty"`
	LatestVersions       []mlModelVersion `json:"latest_versions,omitempty"`
	Tags                 []mlTag          `json:"tags,omitempty"`
	Aliases              []mlAlias        `json:"aliases,omitempty"`
}

// mlModelVersion is a ModelVersion.
type mlModelVersion struct {
	Name                 string   `json:"name"`
	Version              string   `json:"version"`
	CreationTimestamp    int64    `json:"creation_timestamp"`
	LastUpdatedTimestamp int64    `json:"last_updated_timestamp"`
	CurrentStage         string   `json:"current_stage"`
	Description          string   `json:"description,omitempty"`
	Source               string   `json:"source,omitempty"`
	RunID                string   `json:"run_id,omitempty"`
	Status               string   `json:"status"`
	StatusMessage        string   `json:"status_message,omitempty"`
	Tags                 []mlTag  `json:"tags,omitempty"`
	RunLink              string   `json:"run_link,omitempty"`
	Aliases              []string `json:"aliases,omitempty"`
	ModelID              string   `json:"model_id,omitempty"`
}

func mlTags(tags map[string]string) []mlTag {
	out := make([]mlTag, 0, len(tags))
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		out = append(out, mlTag{Key: k, Value: tags[k]})
	}
	return out
}

func toMLVersion(v Version) mlModelVersion {
	return mlModelVersion{
		Name: v.Name, Version: strconv.Itoa(v.Version),
		CreationTimestamp: v.CreatedAt.UnixMilli(), LastUpdatedTimestamp: v.UpdatedAt.UnixMilli(),
		CurrentStage: v.Stage, Description: v.Description, Source: v.Source, RunID: v.RunID,
		Status: v.Status, StatusMessage: v.StatusMessage, Tags: mlTags(v.Tags), Aliases: v.Aliases,
		ModelID: v.ModelID,
	}
}

func toMLVersions(vs []Version) []mlModelVersion {
	out := make([]mlModelVersion, 0, len(vs))
	for _, v := range vs {
		out = append(out, toMLVersion(v))
	}
	return out
}

// toMLModel shapes m with its latest version in each stage, taken from
// versions (the model's, in version order).
func toMLModel(m Model, versions []Version) mlRegisteredModel {
	out := mlRegisteredModel{
		Name: m.Name, CreationTimestamp: m.CreatedAt.UnixMilli(), LastUpdatedTimestamp: m.UpdatedAt.UnixMilli(),
		Description: m.Description, Tags: mlTags(m.Tags),
		LatestVersions: toMLVersions(latestPerStage(versions, nil)),
	}
	for _, a := range slices.Sorted(maps.Keys(m.Aliases)) {
		out.Aliases = append(out.Aliases, mlAlias{Alias: a, Version: strconv.Itoa(m.Aliases[a])})
	}
	return out
}

// latestPerStage returns the highest-numbered version in each stage (of
// stages, or of every stage when stages is empty), ordered by version.
func latestPerStage(versions []Version, stages []string) []Version {
	latest := map[string]Version{}
	for _, v := range versions {
		if len(stages) > 0 && !slices.Contains(stages, v.Stage) {
			continue
		}
		if cur, ok := latest[v.Stage]; !ok || v.Version > cur.Version {
			latest[v.Stage] = v
		}
	}
	out := slices.Collect(maps.Values(latest))
	slices.SortFunc(out, func(a, b Version) int { return a.Version - b.Version })
	return out
}
