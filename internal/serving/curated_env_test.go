package serving

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/ciel-mlops/ciel/internal/envs"
	"github.com/ciel-mlops/ciel/internal/spec"
	"github.com/ciel-mlops/ciel/internal/store"
)

// noAssets is a workspace with no environments.
type noAssets struct{}

func (noAssets) GetAsset(context.Context, string, string, string, string) (store.Asset, error) {
	return store.Asset{}, store.ErrNotFound
}

// py311Envs builds nothing and would build with Python 3.11.
type py311Envs struct{}

func (py311Envs) Ensure(context.Context, envs.Spec, io.Writer) (envs.Env, error) {
	return envs.Env{}, errors.New("not built in this test")
}

func (py311Envs) PythonFor(context.Context, string) (string, error) { return "3.11", nil }

// A deployment naming a curated environment gets it from the catalogue, for
// the Python the builder would use, with the notes saying how.
func TestResolveCuratedEnvironment(t *testing.T) {
	t.Parallel()
	m := &Manager{cfg: Config{Assets: noAssets{}, Envs: py311Envs{}}}
	for _, ref := range []string{"azureml:AzureML-minimal-ubuntu22.04-py311-cpu-inference@latest",
		"azureml://registries/azureml/environments/minimal-py311-inference/labels/latest"} {
		var p Plan
		d := &spec.OnlineDeployment{Name: "blue", Environment: &spec.EnvRef{Ref: ref}}
		if err := m.resolveEnv(context.Background(), "ws", d, &p); err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		if p.EnvLabel != "curated environment minimal-py311-inference (registry azureml)" ||
			!strings.Contains(p.EnvCondaFile, "python=3.11") || !strings.Contains(p.EnvCondaFile, "azureml-inference-server-http") {
			t.Errorf("%s: label %q, conda file:\n%s", ref, p.EnvLabel, p.EnvCondaFile)
		}
		if !strings.Contains(strings.Join(p.EnvNotes, "\n"), "newest release of azureml-inference-server-http") {
			t.Errorf("%s: notes %q", ref, p.EnvNotes)
		}
	}
	var p Plan
	d := &spec.OnlineDeployment{Name: "blue", Environment: &spec.EnvRef{Ref: "azureml:AzureML-NoSuch@latest"}}
	if err := m.resolveEnv(context.Background(), "ws", d, &p); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown curated environment: err = %v, want store.ErrNotFound", err)
	}
}
