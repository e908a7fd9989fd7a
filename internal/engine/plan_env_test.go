package engine_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/blob"
	"github.com/ciel-mlops/ciel/internal/engine"
	"github.com/ciel-mlops/ciel/internal/spec"
	"github.com/ciel-mlops/ciel/internal/store"
)

// planEnv plans a one-step command job with the given environment: line.
func planEnv(t *testing.T, e *engine.Engine, envLine string) (engine.EnvPlan, error) {
	t.Helper()
	j := parse(t, t.TempDir(), "command: echo hi\nenvironment: "+envLine+"\n")
	p, err := e.BuildPlan(context.Background(), "ws", j)
	if err != nil {
		return engine.EnvPlan{}, err
	}
	return p.Steps[0].Env, nil
}

func notesHold(t *testing.T, notes []string, want ...string) {
	t.Helper()
	all := strings.Join(notes, "\n")
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("no note holds %q; notes:\n%s", w, all)
		}
	}
}

// Curated references resolve to ciel's catalogue, for the Python the
// builder will use, unless the workspace has an environment of the name.
func TestPlanCuratedEnvironments(t *testing.T) {
	t.Parallel()
	e, tb := setup(t)
	tests := []struct {
		name, env  string
		wantName   string
		conda      []string // substrings of the conda file
		notes      []string
		errHas     string
		workspace  bool // register a workspace environment named sklearn-1.5 first
		noCurated  bool // the plan is the workspace's, not the catalogue's
		hostPython bool
	}{
		{name: "registry reference", env: "azureml://registries/azureml/environments/sklearn-1.5/labels/latest",
			wantName: "sklearn-1.5", conda: []string{"scikit-learn~=1.5.0", "azureml-core"},
			notes: []string{"curated environment sklearn-1.5 (registry azureml, from Azure/azureml-assets@", "with Azure's pins"}},
		{name: "workspace name form", env: "azureml:AzureML-lightgbm-3.3@latest",
			wantName: "lightgbm-3.3", conda: []string{"lightgbm>=4.6.0"}},
		{name: "older name", env: "azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu@latest",
			wantName: "sklearn-1.0", notes: []string{"sklearn-1.0-ubuntu20.04-py38-cpu is an older name of sklearn-1.0"}},
		{name: "unknown curated name", env: "azureml:AzureML-Tutorial@latest",
			errHas: `no such curated environment "Tutorial" in registry azureml; the catalogue has: `},
		{name: "another registry is the workspace's business", env: "azureml://registries/myreg/environments/x/labels/latest",
			errHas: "environment x@latest not found in workspace ws"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := planEnv(t, e, tt.env)
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("err = %v, want one holding %q", err, tt.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != tt.wantName || got.Version != "1" || !strings.HasPrefix(got.Image, "mcr.microsoft.com/azureml/curated/"+tt.wantName) {
				t.Errorf("env = %s:%s image %s, want %s:1", got.Name, got.Version, got.Image, tt.wantName)
			}
			for _, c := range tt.conda {
				if !strings.Contains(got.CondaFile, c) {
					t.Errorf("conda file lacks %q:\n%s", c, got.CondaFile)
				}
			}
			notesHold(t, got.Notes, tt.notes...)
		})
	}

	// A workspace environment of the same name stands in for the curated one.
	env, _ := json.Marshal(spec.Environment{Name: "sklearn-1.5", Image: "python:3.11"})
	if err := tb.st.PutAsset(context.Background(), store.Asset{Workspace: "ws", Kind: store.KindEnvironment, Name: "sklearn-1.5", Version: "1", Spec: env, CreatedAt: time.Now()}, true); err != nil {
		t.Fatal(err)
	}
	got, err := planEnv(t, e, "azureml://registries/azureml/environments/sklearn-1.5/labels/latest")
	if err != nil {
		t.Fatal(err)
	}
	if got.CondaFile != "" || got.Image != "python:3.11" {
		t.Errorf("workspace environment not used: %+v", got)
	}
	notesHold(t, got.Notes, "environment sklearn-1.5:1 of workspace ws stands in for the curated azureml://registries/azureml/environments/sklearn-1.5/labels/latest",
		"names image python:3.11; local compute runs it on the host Python")
}

// The Python of a curated plan is the one the builder would use, and a
// different one from Azure's is a note.
func TestPlanCuratedPython(t *testing.T) {
	t.Parallel()
	e, _ := setup(t)
	got, err := planEnv(t, e, "azureml://registries/azureml/environments/sklearn-1.5/labels/latest")
	if err != nil {
		t.Fatal(err)
	}
	var py string
	for _, l := range strings.Split(got.CondaFile, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "- python="); ok {
			py = v
		}
	}
	if py == "" {
		t.Fatalf("no python in:\n%s", got.CondaFile)
	}
	if py != "3.10" {
		notesHold(t, got.Notes, "curated env sklearn-1.5: python 3.10 -> "+py)
	}
	if py == "3.11" { // numpy 1.22 has no wheel for 3.11
		notesHold(t, got.Notes, "curated env sklearn-1.5: numpy~=1.22.0 -> numpy==", "no wheel for Python 3.11")
	}
}

// An environment built from a Docker context becomes what its Dockerfile
// installs; one naming only an image runs on the host and says so.
func TestPlanDockerContextEnvironments(t *testing.T) {
	t.Parallel()
	e, tb := setup(t)
	ctxDir := t.TempDir()
	os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte("FROM python:3.11-slim\nCOPY requirements.txt .\nRUN apt-get update && pip install --no-cache-dir -r requirements.txt 'six==1.16.0'\n"), 0o644)
	os.WriteFile(filepath.Join(ctxDir, "requirements.txt"), []byte("packaging==24.1\n"), 0o644)
	os.WriteFile(filepath.Join(ctxDir, "other.Dockerfile"), []byte("FROM ubuntu\nRUN apt-get install -y curl\n"), 0o644)
	digest, err := blob.IngestDir(context.Background(), tb.blobs, ctxDir)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, env string
		conda     []string
		notes     []string
		errHas    string
	}{
		{name: "Dockerfile pip lines", env: "{name: ctx-env, build: {path: blob:" + digest + "}}",
			conda: []string{"packaging==24.1", "six==1.16.0"},
			notes: []string{"environment ctx-env is built from a Docker context; local compute runs it in a virtualenv", "base image python:3.11-slim is not pulled",
				"environment ctx-env: Dockerfile: RUN commands not run on the host: apt-get update"}},
		{name: "a Dockerfile that installs nothing", env: "{name: ctx-env, build: {path: blob:" + digest + ", dockerfile_path: other.Dockerfile}}",
			notes: []string{"installs no Python package ciel can follow; local compute runs it on the host Python", "apt-get install"}},
		{name: "missing Dockerfile", env: "{name: ctx-env, build: {path: blob:" + digest + ", dockerfile_path: nope/Dockerfile}}",
			errHas: "nope/Dockerfile is not in the build context"},
		{name: "image only", env: "{image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04}",
			notes: []string{"environment (inline) names image mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04; local compute runs it on the host Python"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := planEnv(t, e, tt.env)
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("err = %v, want one holding %q", err, tt.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range tt.conda {
				if !strings.Contains(got.CondaFile, c) {
					t.Errorf("conda file lacks %q:\n%s", c, got.CondaFile)
				}
			}
			if len(tt.conda) == 0 && got.CondaFile != "" {
				t.Errorf("conda file for a host-run environment:\n%s", got.CondaFile)
			}
			notesHold(t, got.Notes, tt.notes...)
		})
	}
}
