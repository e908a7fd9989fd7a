package registry

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
)

// Keys a search may order by.
var (
	modelOrderKeys   = []string{"name", "creation_timestamp", "last_updated_timestamp"}
	versionOrderKeys = []string{"name", "version_number", "creation_timestamp", "last_updated_timestamp"}
)

// promptTag marks a registered model (or version) that is an MLflow prompt
// rather than a model. The client adds `tags.mlflow.prompt.is_prompt !=
// 'true'` to every model search; MLflow's server reads that as "no
// prompts", including entities that lack the tag.
const promptTag = "mlflow.prompt.is_prompt"

// splitPromptFilter reports whether clauses ask for prompts (is_prompt =
// 'true' or != 'false'); when they do not, it drops the clauses on the
// prompt tag, and the caller leaves prompts out.
func splitPromptFilter(clauses []clause) ([]clause, bool) {
	for _, c := range clauses {
		if c.tag && c.key == promptTag {
			v := strings.ToLower(c.value)
			if c.op == "=" && v == "true" || c.op == "!=" && v == "false" {
				return clauses, true
			}
		}
	}
	rest := clauses[:0:0]
	for _, c := range clauses {
		if !c.tag || c.key != promptTag {
			rest = append(rest, c)
		}
	}
	return rest, false
}

// keep reports whether an entity with tags passes a prompt-aware filter.
func keep(clauses []clause, prompts bool, attr func(string) []string, tags map[string]string) bool {
	if !prompts && strings.EqualFold(tags[promptTag], "true") {
		return false
	}
	return matches(clauses, attr, tags)
}

// millisText is unix milliseconds in text, for filters.
func millisText(ms int64) string { return strconv.FormatInt(ms, 10) }

// SearchModels returns the workspace's registered models that match an
// MLflow filter (name and tags.<key>; "" matches all), ordered by orderBy
// ("name ASC", "last_updated_timestamp DESC", ...) and then by name.
func (s *Service) SearchModels(ctx context.Context, ws, filter string, orderBy []string) ([]Model, error) {
	clauses, err := parseFilter(filter, modelFilterKeys)
	if err != nil {
		return nil, err
	}
	clauses, prompts := splitPromptFilter(clauses)
	order, err := parseOrderBy(orderBy, modelOrderKeys)
	if err != nil {
		return nil, err
	}
	all, err := s.cfg.Store.ListModels(ctx, ws)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, m := range all {
		attr := func(key string) []string {
			switch key {
			case "name":
				return []string{m.Name}
			case "creation_timestamp":
				return []string{millisText(m.CreatedAt.UnixMilli())}
			case "last_updated_timestamp":
				return []string{millisText(m.UpdatedAt.UnixMilli())}
			}
			return nil
		}
		if keep(clauses, prompts, attr, m.Tags) {
			out = append(out, m)
		}
	}
	order = append(order, orderKey{key: "name", asc: true})
	slices.SortStableFunc(out, compareBy(order, func(a, b Model, key string) int {
		switch key {
		case "name":
			return strings.Compare(a.Name, b.Name)
		case "creation_timestamp":
			return a.CreatedAt.Compare(b.CreatedAt)
		case "last_updated_timestamp":
			return a.UpdatedAt.Compare(b.UpdatedAt)
		}
		return 0
	}))
	return out, nil
}

// SearchVersions returns the workspace's model versions that match an
// MLflow filter (name, run_id, source_path, version_number, timestamps,
// tags.<key>), ordered by orderBy and then as MLflow does by default:
// last_updated_timestamp DESC, name ASC, version_number DESC. source_path
// matches both the version's download URI and the source it was
// registered from.
func (s *Service) SearchVersions(ctx context.Context, ws, filter string, orderBy []string) ([]Version, error) {
	clauses, err := parseFilter(filter, versionFilterKeys)
	if err != nil {
		return nil, err
	}
	clauses, prompts := splitPromptFilter(clauses)
	order, err := parseOrderBy(orderBy, versionOrderKeys)
	if err != nil {
		return nil, err
	}
	if len(order) == 0 {
		order = []orderKey{{key: "last_updated_timestamp"}, {key: "name", asc: true}, {key: "version_number"}}
	}
	all, err := s.cfg.Store.ListVersions(ctx, ws, "")
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, v := range all {
		if keep(clauses, prompts, versionAttr(v), v.Tags) {
			out = append(out, v)
		}
	}
	order = append(order, orderKey{key: "name", asc: true}, orderKey{key: "version_number", asc: false})
	slices.SortStableFunc(out, compareBy(order, func(a, b Version, key string) int {
		switch key {
		case "name":
			return strings.Compare(a.Name, b.Name)
		case "version_number":
			return cmp.Compare(a.Version, b.Version)
		case "creation_timestamp":
			return a.CreatedAt.Compare(b.CreatedAt)
		case "last_updated_timestamp":
			return a.UpdatedAt.Compare(b.UpdatedAt)
		}
		return 0
	}))
	return out, nil
}

// compareBy orders two items by each order key in turn, field comparing
// one key ascending.
func compareBy[T any](order []orderKey, field func(a, b T, key string) int) func(a, b T) int {
	return func(a, b T) int {
		for _, o := range order {
			c := field(a, b, o.key)
			if !o.asc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return 0
	}
}

// versionAttr returns the filter attributes of v.
func versionAttr(v Version) func(string) []string {
	return func(key string) []string {
		switch key {
		case "name":
			return []string{v.Name}
		case "run_id":
			return []string{v.RunID}
		case "source_path":
			return []string{v.Source, v.Lineage.Source}
		case "version_number":
			return []string{strconv.Itoa(v.Version)}
		case "creation_timestamp":
			return []string{millisText(v.CreatedAt.UnixMilli())}
		case "last_updated_timestamp":
			return []string{millisText(v.UpdatedAt.UnixMilli())}
		}
		return nil
	}
}
