package api

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/ciel-mlops/ciel/client"
	"github.com/ciel-mlops/ciel/internal/cicd"
	"github.com/ciel-mlops/ciel/internal/spec"
)

// fromRun reports whether tags are the lineage tags of run r, which the
// CLI adds to what a pipeline step creates (internal/cli/lineage.go).
func fromRun(tags map[string]string, r cicd.Run) bool {
	return tags["ci.run"] == strconv.FormatInt(r.ID, 10) && tags["ci.pipeline"] == r.Pipeline
}

// runCreated lists the jobs, model versions, endpoints and deployments a
// run's steps created, found by their lineage tags. A kind that cannot be
// listed is left out rather than failing the run's view.
func (s *server) runCreated(ctx context.Context, r cicd.Run) []client.RunCreated {
	var out []client.RunCreated
	if jobs, err := s.st.ListJobs(ctx, r.Workspace, true); err == nil {
		for _, j := range jobs {
			var sj spec.Job
			if json.Unmarshal(j.Spec, &sj) == nil && fromRun(sj.Tags, r) {
				out = append(out, client.RunCreated{Kind: "job", Name: j.Name})
			}
		}
	}
	if s.registry != nil {
		filter := fmt.Sprintf("tags.`ci.run` = '%d'", r.ID)
		if versions, err := s.registry.SearchVersions(ctx, r.Workspace, filter, nil); err == nil {
			for _, v := range versions {
				if fromRun(v.Tags, r) {
					out = append(out, client.RunCreated{Kind: "model", Name: v.Name, Version: strconv.Itoa(v.Version)})
				}
			}
		}
	}
	if s.serving != nil {
		if eps, err := s.serving.ListEndpoints(ctx, r.Workspace); err == nil {
			for _, e := range eps {
				if fromRun(e.Tags, r) {
					out = append(out, client.RunCreated{Kind: "online-endpoint", Name: e.Name})
				}
				deps, err := s.serving.ListDeployments(ctx, r.Workspace, e.Name)
				if err != nil {
					continue
				}
				for _, d := range deps {
					if fromRun(d.Spec.Tags, r) {
						out = append(out, client.RunCreated{Kind: "online-deployment", Name: e.Name + "/" + d.Name})
					}
				}
			}
		}
	}
	return out
}
