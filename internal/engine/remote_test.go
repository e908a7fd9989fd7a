package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ciel-mlops/ciel/internal/blob"
	"github.com/ciel-mlops/ciel/internal/compute"
	"github.com/ciel-mlops/ciel/internal/compute/kube"
	"github.com/ciel-mlops/ciel/internal/compute/staging"
	"github.com/ciel-mlops/ciel/internal/engine"
	"github.com/ciel-mlops/ciel/internal/engine/enginetest"
	"github.com/ciel-mlops/ciel/internal/envs"
	"github.com/ciel-mlops/ciel/internal/spec"
	"github.com/ciel-mlops/ciel/internal/store"
)

// elsewhere is a remote executor in this process that behaves as one on
// another machine would: it recreates the step's folder from the blob
// store alone (the engine must not have prepared it), runs the script with
// only the step's own variables, and stores and reports the collected
// folders.
type elsewhere struct {
	blobs blob.Store
	mu    sync.Mutex
	tasks []compute.Task
}

func (x *elsewhere) For(c spec.Compute) (compute.Executor, error) { return x, nil }

func (x *elsewhere) Run(ctx context.Context, t compute.Task) (compute.Result, error) {
	x.mu.Lock()
	x.tasks = append(x.tasks, t)
	x.mu.Unlock()
	if entries, _ := os.ReadDir(t.Stage.Root); len(entries) > 1 {
		// Only std_log.txt: the engine wrote no inputs or code there.
		return compute.Result{}, fmt.Errorf("the engine prepared %s: %v", t.Stage.Root, entries)
	}
	var log bytes.Buffer
	if err := staging.In(ctx, x.blobs, *t.Stage, &log); err != nil {
		return compute.Result{}, err
	}
	cmd := exec.CommandContext(ctx, "/bin/bash", "-c", t.Script)
	cmd.Dir, cmd.Env = t.Dir, append([]string{"PATH=/usr/bin:/bin"}, t.StepEnv...)
	cmd.Stdout, cmd.Stderr = &log, &log
	res := compute.Result{}
	if err := cmd.Run(); err != nil {
		res.ExitCode = cmd.ProcessState.ExitCode()
	}
	if err := os.WriteFile(t.LogPath, log.Bytes(), 0o600); err != nil {
		return res, err
	}
	collected, err := staging.Out(ctx, x.blobs, *t.Stage)
	res.Collected = collected
	return res, err
}

// TestRemoteSteps runs a two-step pipeline with code on a kubernetes
// compute whose executor sees nothing of the engine's disk: the code and
// the upstream output reach the second step through the Stage alone, the
// outputs and ./outputs artifacts come back as digests, and the task names
// the attempt, image and instance type.
func TestRemoteSteps(t *testing.T) {
	t.Parallel()
	x := &elsewhere{}
	stack := enginetest.NewWith(t, func(c *engine.Config) { c.Remote = x })
	x.blobs = stack.Blobs
	ctx := context.Background()
	k8s, _ := json.Marshal(spec.Compute{Name: "k8s", Type: spec.ComputeKubernetes, Kubernetes: &spec.Kubernetes{Namespace: "ml"}})
	if err := stack.Store.PutAsset(ctx, store.Asset{Workspace: "ws", Kind: store.KindCompute, Name: "k8s", Spec: k8s, CreatedAt: time.Now()}, false); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "src"), 0o755)
	os.WriteFile(filepath.Join(dir, "src", "shout.sh"), []byte("tr a-z A-Z < \"$1\" > \"$2\"; echo kept > outputs/note.txt\n"), 0o644)
	j, err := stack.Engine.Submit(ctx, "ws", parse(t, dir, `type: pipeline
settings: {default_compute: azureml:k8s}
outputs: {final: {type: uri_folder}}
jobs:
  a:
    type: command
    environment: {image: python:3.12}
    outputs: {o: {type: uri_folder}}
    command: echo hello > ${{outputs.o}}/w.txt && echo "server env leaked = ${HOME:-no}"
  b:
    type: command
    code: ./src
    environment: {image: python:3.12}
    resources: {instance_type: big}
    inputs: {i: "${{parent.jobs.a.outputs.o}}"}
    outputs: {o: "${{parent.outputs.final}}"}
    command: bash shout.sh ${{inputs.i}}/w.txt ${{outputs.o}}/W.txt
`))
	if err != nil {
		t.Fatal(err)
	}
	stack.Engine.Wait("ws", j.Name)
	got, err := stack.Store.GetJob(ctx, "ws", j.Name)
	if err != nil || got.Status != engine.StatusCompleted {
		steps, _ := stack.Store.ListSteps(ctx, "ws", j.Name)
		t.Fatalf("job %s %v: %+v", got.Status, err, steps)
	}
	out := t.TempDir()
	if err := blob.Materialize(ctx, stack.Blobs, got.Outputs["final"], out, false); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "W.txt")); string(b) != "HELLO\n" {
		t.Errorf("final output %q", b)
	}
	steps, _ := stack.Store.ListSteps(ctx, "ws", j.Name)
	for _, s := range steps {
		if s.Name == "b" && s.Outputs[engine.ArtifactOutputs] == "" {
			t.Errorf("step b's ./outputs artifact was not recorded: %v", s.Outputs)
		}
	}
	if len(x.tasks) != 2 {
		t.Fatalf("%d tasks, want 2", len(x.tasks))
	}
	for _, task := range x.tasks {
		if task.Workspace != "ws" || task.Job != j.Name || task.Attempt != 1 || task.Image != "python:3.12" {
			t.Errorf("task %s: ws %s job %s attempt %d image %s", task.Step, task.Workspace, task.Job, task.Attempt, task.Image)
		}
		for _, kv := range task.StepEnv {
			if strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "PATH=") {
				t.Errorf("task %s: the server's %s in the step's own variables", task.Step, kv)
			}
		}
		if want := map[string]string{"a": "", "b": "big"}[task.Step]; task.InstanceType != want {
			t.Errorf("task %s: instance type %q, want %q", task.Step, task.InstanceType, want)
		}
	}
	logA, _ := os.ReadFile(stack.Engine.StepLogPath("ws", j.Name, "a"))
	if !strings.Contains(string(logA), "server env leaked = no") {
		t.Errorf("step a's log: %s", logA)
	}
}

// imager is elsewhere that builds images of conda environments, as
// kube.Executor does: it records the spec and names an image.
type imager struct {
	elsewhere
	specs []envs.Spec
}

func (x *imager) For(c spec.Compute) (compute.Executor, error) { return x, nil }

func (x *imager) EnvImage(ctx context.Context, s envs.Spec, log io.Writer) (string, error) {
	x.mu.Lock()
	x.specs = append(x.specs, s)
	x.mu.Unlock()
	fmt.Fprintln(log, "built an image")
	return "127.0.0.1:1/ciel/env/built:1", nil
}

// TestRemoteStepImage: a step on a kubernetes compute runs in its
// environment's image:, or in the image the executor builds of its conda
// file; with a conda file and an executor that cannot build images
// it fails saying so and never reaches the executor.
func TestRemoteStepImage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, env string
		build     bool   // the executor builds images
		wantImage string // "" when the step must fail
		wantErr   string
	}{
		{"conda file, executor cannot build", "{conda_file: conda.yml}", false, "", "cannot build images"},
		{"conda file", "{conda_file: conda.yml}", true, "127.0.0.1:1/ciel/env/built:1", ""},
		{"conda file and image", "{image: python, conda_file: conda.yml}", true, "127.0.0.1:1/ciel/env/built:1", ""},
		{"image only", "{image: localhost/bash:1}", true, "localhost/bash:1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			x := &imager{}
			var remote engine.RemoteExecutors = x
			if !tt.build {
				remote = &x.elsewhere
			}
			stack := enginetest.NewWith(t, func(c *engine.Config) { c.Remote = remote })
			x.blobs = stack.Blobs
			ctx := context.Background()
			k8s, _ := json.Marshal(spec.Compute{Name: "k8s", Type: spec.ComputeKubernetes})
			stack.Store.PutAsset(ctx, store.Asset{Workspace: "ws", Kind: store.KindCompute, Name: "k8s", Spec: k8s, CreatedAt: time.Now()}, false)
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "conda.yml"), []byte("dependencies: [python=3.11]\n"), 0o644)
			j, err := stack.Engine.Submit(ctx, "ws", parse(t, dir, "type: command\ncompute: azureml:k8s\nenvironment: "+tt.env+"\ncommand: echo hi\n"))
			if err != nil {
				t.Fatal(err)
			}
			stack.Engine.Wait("ws", j.Name)
			got, _ := stack.Store.GetJob(ctx, "ws", j.Name)
			steps, _ := stack.Store.ListSteps(ctx, "ws", j.Name)
			if len(steps) != 1 {
				t.Fatalf("steps %+v", steps)
			}
			if tt.wantImage == "" {
				if got.Status != engine.StatusFailed || !strings.Contains(steps[0].Error, tt.wantErr) || len(x.tasks) != 0 {
					t.Errorf("status %s, error %q, %d tasks", got.Status, steps[0].Error, len(x.tasks))
				}
				return
			}
			if len(x.tasks) != 1 || x.tasks[0].Image != tt.wantImage {
				t.Fatalf("status %s, error %q, tasks %+v", got.Status, steps[0].Error, x.tasks)
			}
			if strings.Contains(tt.env, "conda") && (len(x.specs) != 1 || !strings.Contains(x.specs[0].CondaFile, "python=3.11")) {
				t.Errorf("EnvImage got %+v", x.specs)
			}
		})
	}
}

// TestComputeKubeNeedsS3: on a server whose blob store is a local folder,
// a step on a kubernetes compute fails saying the server needs an S3 one.
func TestComputeKubeNeedsS3(t *testing.T) {
	t.Parallel()
	stack := enginetest.NewWith(t, func(c *engine.Config) { c.Remote = kube.NewRunner(kube.Config{}) })
	ctx := context.Background()
	k8s, _ := json.Marshal(spec.Compute{Name: "k8s", Type: spec.ComputeKubernetes})
	stack.Store.PutAsset(ctx, store.Asset{Workspace: "ws", Kind: store.KindCompute, Name: "k8s", Spec: k8s, CreatedAt: time.Now()}, false)
	j, err := stack.Engine.Submit(ctx, "ws", parse(t, t.TempDir(), "type: command\ncompute: azureml:k8s\nenvironment: {image: python:3.12}\ncommand: echo hi\n"))
	if err != nil {
		t.Fatal(err)
	}
	stack.Engine.Wait("ws", j.Name)
	steps, _ := stack.Store.ListSteps(ctx, "ws", j.Name)
	if len(steps) != 1 || steps[0].Status != engine.StatusFailed || !strings.Contains(steps[0].Error, "start the server with --blob s3://") {
		t.Errorf("steps %+v", steps)
	}
}
