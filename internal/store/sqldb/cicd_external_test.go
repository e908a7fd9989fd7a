package sqldb

import (
	"reflect"
	"testing"

	"github.com/ciel-mlops/ciel/internal/cicd"
)

func TestCICDExternalPipelines(t *testing.T) {
	t.Parallel()
	c, _ := openCICD(t)
	ctx := t.Context()
	mustPipeline(t, c, "ws", "hosted")
	ext := cicd.Pipeline{Workspace: "ws2", Name: "ext", Repository: "ext-ext", YAMLPath: "azure-pipelines.yml",
		RepositoryURL: "https://u:tok@example.com/app.git", DefaultBranch: "dev", WebhookSecret: "abc123"}
	ext, err := c.CreatePipeline(ctx, ext)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.GetPipeline(ctx, "ws2", "ext")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, ext) {
		t.Errorf("GetPipeline = %+v, want %+v", got, ext)
	}
	list, err := c.ListExternalPipelines(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Name != "ext" || list[0].WebhookSecret != "abc123" {
		t.Errorf("ListExternalPipelines = %+v, want only ws2/ext", list)
	}
}
