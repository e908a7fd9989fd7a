package cli

import "strings"

// ciEnv maps the lineage tags a command adds, when it runs inside a pipeline
// job, to the variables ciel's agent (and Azure's) sets for every step.
var ciEnv = []struct{ tag, env string }{
	{"ci.pipeline", "BUILD_DEFINITIONNAME"},
	{"ci.run", "BUILD_BUILDID"},
	{"ci.repository", "BUILD_REPOSITORY_NAME"},
	{"ci.branch", "BUILD_SOURCEBRANCH"},
	{"ci.commit", "BUILD_SOURCEVERSION"},
}

// ciTags returns the tags that record which pipeline run and commit a job,
// model or deployment came from, read from the environment of a pipeline
// step (TF_BUILD=True); nil outside one.
func ciTags(getenv func(string) string) map[string]string {
	if !strings.EqualFold(getenv("TF_BUILD"), "true") {
		return nil
	}
	tags := map[string]string{}
	for _, c := range ciEnv {
		if v := strings.TrimSpace(getenv(c.env)); v != "" {
			tags[c.tag] = v
		}
	}
	if len(tags) == 0 {
		return nil
	}
	return tags
}

// withLineage returns tags with the lineage tags added; a tag the user set
// is kept as it is.
func (b *base) withLineage(tags map[string]string) map[string]string {
	if len(b.ci) == 0 {
		return tags
	}
	if tags == nil {
		tags = map[string]string{}
	}
	for k, v := range b.ci {
		if _, ok := tags[k]; !ok {
			tags[k] = v
		}
	}
	return tags
}
