package kube

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	bloblocal "github.com/ciel-mlops/ciel/internal/blob/local"

	"github.com/ciel-mlops/ciel/internal/envs"
	"github.com/ciel-mlops/ciel/internal/spec"
)

func TestRegistryHost(t *testing.T) {
	tests := []struct {
		name, server, computeURL, want string
		wantErr                        bool
	}{
		{"the server's own address", "http://127.0.0.1:7311", "", "127.0.0.1:7311", false},
		{"the compute's server_url wins", "http://127.0.0.1:7311", "http://10.244.0.1:7311/", "10.244.0.1:7311", false},
		{"no address", "", "", "", true},
		{"not a URL", "127.0.0.1:7311", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := spec.Compute{Name: "k8s", Type: spec.ComputeKubernetes, Kubernetes: &spec.Kubernetes{ServerURL: tt.computeURL}}
			got, err := registryHost(tt.server, c)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("registryHost = %q, %v; want %q (error %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestServedImage(t *testing.T) {
	tests := []struct {
		image, host string
		served      bool
	}{
		{"127.0.0.1:7311/ciel/env/abc:env-1", "127.0.0.1:7311", true},
		{"localhost/ciel-kube-test-bash:1", "", false},
		{"python:3.11", "", false},
		{"registry.example/ciel/envoy:1", "", false},
	}
	for _, tt := range tests {
		host, ok := servedImage(tt.image)
		if ok != tt.served || (ok && host != tt.host) {
			t.Errorf("servedImage(%q) = %q, %v", tt.image, host, ok)
		}
	}
}

// TestBuildJobPullSecret: a served image's Job names the pull secret.
func TestBuildJobPullSecret(t *testing.T) {
	job, err := buildJob(testTask(), jobParams{HelperImage: "h", PullSecret: "ciel-pull-x"})
	if err != nil {
		t.Fatal(err)
	}
	ps := job.Spec.Template.Spec.ImagePullSecrets
	if len(ps) != 1 || ps[0].Name != "ciel-pull-x" {
		t.Fatalf("imagePullSecrets %+v", ps)
	}
	job, _ = buildJob(testTask(), jobParams{HelperImage: "h"})
	if len(job.Spec.Template.Spec.ImagePullSecrets) != 0 {
		t.Fatal("a pull secret without one to name")
	}
}

type failingEnvs struct{ called int }

func (f *failingEnvs) Ensure(context.Context, envs.Spec, io.Writer) (envs.Env, error) {
	f.called++
	return envs.Env{}, errors.New("no such package")
}

// TestEnvImage: no conda file keeps the image and builds nothing; a conda
// file without ImageConfig is refused; a failed environment build is the
// error.
func TestEnvImage(t *testing.T) {
	c := spec.Compute{Name: "k8s", Type: spec.ComputeKubernetes, Kubernetes: &spec.Kubernetes{}}
	ctx := context.Background()
	if ref, err := NewRunner(Config{}).EnvImage(ctx, c, envs.Spec{Image: "python:3.11"}, io.Discard); err != nil || ref != "python:3.11" {
		t.Fatalf("image only: %q, %v", ref, err)
	}
	if _, err := NewRunner(Config{}).EnvImage(ctx, c, envs.Spec{CondaFile: "dependencies: [pip]"}, io.Discard); !errors.Is(err, errNoImages) {
		t.Fatalf("no ImageConfig: %v", err)
	}
	store, err := bloblocal.Open(bloblocal.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	f := &failingEnvs{}
	r := NewRunner(Config{Images: &ImageConfig{Envs: f, Blobs: store, URL: "http://127.0.0.1:1"}})
	if _, err := r.EnvImage(ctx, c, envs.Spec{CondaFile: "dependencies: [pip]"}, io.Discard); err == nil || !strings.Contains(err.Error(), "no such package") || f.called != 1 {
		t.Fatalf("failed build: %v (%d builds)", err, f.called)
	}
}
