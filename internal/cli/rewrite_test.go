package cli

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/ciel-mlops/ciel/internal/spec"
)

// fakeUploads records uploads and answers "blob:sha256:<n>-<base name>".
type fakeUploads struct {
	mu    sync.Mutex
	paths []string
}

func (f *fakeUploads) upload(_ context.Context, p string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.paths = append(f.paths, p)
	return "blob:sha256:" + filepath.Base(p), nil
}

// pipelineLiteral is a pipeline with a command step, a step whose inline
// component names code, and a step running an inline pipeline component
// whose own step has an inline component and a local data input.
func pipelineLiteral(root string) *spec.Job {
	p := func(name string) string { return filepath.Join(root, name) }
	return &spec.Job{
		Type: spec.JobPipeline,
		Inputs: map[string]*spec.InputValue{
			"raw":    {Type: spec.TypeURIFolder, Path: p("data")},
			"remote": {Type: spec.TypeURIFile, Path: "azureml:iris:1"},
			"lr":     {Value: new("0.1"), Kind: "number"},
		},
		Jobs: map[string]*spec.Job{
			"prep": {Type: spec.JobCommand, Code: p("src"), Command: "python prep.py",
				Environment: &spec.EnvRef{Inline: &spec.Environment{Image: "python:3.12", BuildPath: p("docker")}}},
			"train": {Type: spec.JobCommand, Component: &spec.ComponentRef{Inline: &spec.Component{
				Type: "command", Code: p("train"), Command: "python train.py"}}},
			"registered": {Component: &spec.ComponentRef{Ref: "azureml:score:1"}},
			"nested": {Component: &spec.ComponentRef{Inline: &spec.Component{
				Type: "pipeline",
				Jobs: map[string]*spec.Job{
					"inner": {
						Inputs: map[string]*spec.InputValue{
							"data": {Type: spec.TypeURIFolder, Path: p("data")}, // same as the pipeline's: sent once
							"prev": {Binding: "${{parent.inputs.x}}"},
						},
						Component: &spec.ComponentRef{Inline: &spec.Component{Type: "command", Code: p("inner")}},
					},
				},
			}}},
		},
	}
}

func TestPathRewriter(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"data/x.csv": "1", "src/prep.py": "", "docker/Dockerfile": "", "train/train.py": "", "inner/i.py": "",
	})
	job := pipelineLiteral(root)
	up := &fakeUploads{}
	if err := newPathRewriter(up.upload).job(t.Context(), job); err != nil {
		t.Fatal(err)
	}
	wantUploads := []string{"data", "inner", "src", "docker", "train"} // stable order, data once
	var got []string
	for _, p := range up.paths {
		got = append(got, strings.TrimPrefix(p, root+string(filepath.Separator)))
	}
	if !slices.Equal(got, wantUploads) {
		t.Errorf("uploaded %q, want %q", got, wantUploads)
	}
	nested := job.Jobs["nested"].Component.Inline.Jobs["inner"]
	checks := map[string]string{
		"inputs.raw":                  job.Inputs["raw"].Path,
		"inputs.remote":               job.Inputs["remote"].Path,
		"jobs.prep.code":              job.Jobs["prep"].Code,
		"jobs.prep.environment.build": job.Jobs["prep"].Environment.Inline.BuildPath,
		"jobs.train.component.code":   job.Jobs["train"].Component.Inline.Code,
		"jobs.nested...inner.code":    nested.Component.Inline.Code,
		"jobs.nested...inner.data":    nested.Inputs["data"].Path,
		"jobs.nested...inner.prev":    nested.Inputs["prev"].Binding,
	}
	want := map[string]string{
		"inputs.raw":                  "blob:sha256:data",
		"inputs.remote":               "azureml:iris:1",
		"jobs.prep.code":              "blob:sha256:src",
		"jobs.prep.environment.build": "blob:sha256:docker",
		"jobs.train.component.code":   "blob:sha256:train",
		"jobs.nested...inner.code":    "blob:sha256:inner",
		"jobs.nested...inner.data":    "blob:sha256:data",
		"jobs.nested...inner.prev":    "${{parent.inputs.x}}",
	}
	for k, w := range want {
		if checks[k] != w {
			t.Errorf("%s = %q, want %q", k, checks[k], w)
		}
	}
}

func TestPathRewriterMissingPath(t *testing.T) {
	t.Parallel()
	job := &spec.Job{Type: spec.JobCommand, Code: filepath.Join(t.TempDir(), "nope"),
		Pos: spec.Pos{File: "job.yml", Line: 3, Col: 1}}
	up := &fakeUploads{}
	err := newPathRewriter(up.upload).job(t.Context(), job)
	if ExitCode(err) != ExitUsage || !strings.HasPrefix(err.Error(), "job.yml:3:1: code:") {
		t.Fatalf("err = %v (code %d), want a usage error at job.yml:3:1", err, ExitCode(err))
	}
	if len(up.paths) != 0 {
		t.Errorf("uploaded %q for a missing path", up.paths)
	}
}

func TestPathRewriterUploadError(t *testing.T) {
	t.Parallel()
	boom := errors.New("disk full")
	job := &spec.Job{Type: spec.JobCommand, Code: t.TempDir()}
	err := newPathRewriter(func(context.Context, string) (string, error) { return "", boom }).job(t.Context(), job)
	if !errors.Is(err, boom) || ExitCode(err) != ExitFailure {
		t.Fatalf("err = %v, want it to wrap %v with exit code 1", err, boom)
	}
}

// snapshotUploads records, for each upload, the files of the tar that
// would be sent, before the staging folder is gone.
type snapshotUploads struct {
	trees []map[string]string
}

func (s *snapshotUploads) upload(t *testing.T) uploadFunc {
	return func(_ context.Context, p string) (string, error) {
		var buf bytes.Buffer
		if err := writeTar(&buf, p); err != nil {
			return "", err
		}
		s.trees = append(s.trees, tarFiles(t, &buf))
		return "blob:sha256:" + strconv.Itoa(len(s.trees)), nil
	}
}

func TestPathRewriterAdditionalIncludes(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"comp/src/main.py":              "from common.helper import f",
		"comp/src/.amlignore":           "big/\n",
		"comp/src/big/blob":             "large",
		"common/helper.py":              "def f(): pass",
		"common/__pycache__/helper.pyc": "x",
		"shared/util.py":                "u",
		"clash/main.py":                 "other",
	})
	p := func(name string) string { return filepath.Join(root, filepath.FromSlash(name)) }
	if err := os.Symlink(p("common"), p("linked")); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		comp      spec.Component
		wantFiles map[string]string
		wantErr   string
	}{
		{name: "folder and file merged at the root",
			comp: spec.Component{Code: p("comp/src"), AdditionalIncludes: []string{p("common"), p("shared/util.py")}},
			wantFiles: map[string]string{
				"main.py": "from common.helper import f", ".amlignore": "big/\n",
				"common/helper.py": "def f(): pass", "util.py": "u",
			}},
		{name: "linked folder included by its link's name",
			comp:      spec.Component{AdditionalIncludes: []string{p("linked")}},
			wantFiles: map[string]string{"linked/helper.py": "def f(): pass"}},
		{name: "no code: the includes alone",
			comp:      spec.Component{AdditionalIncludes: []string{p("shared/util.py")}},
			wantFiles: map[string]string{"util.py": "u"}},
		{name: "single-file code",
			comp:      spec.Component{Code: p("shared/util.py"), AdditionalIncludes: []string{p("common")}},
			wantFiles: map[string]string{"util.py": "u", "common/helper.py": "def f(): pass"}},
		{name: "include colliding with the code",
			comp:    spec.Component{Code: p("comp/src"), AdditionalIncludes: []string{p("clash/main.py")}},
			wantErr: "the code already has main.py"},
		{name: "registered code",
			comp:    spec.Component{Code: "azureml:code:1", AdditionalIncludes: []string{p("common")}},
			wantErr: "additional_includes need a local code folder"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			up := &snapshotUploads{}
			c := tc.comp
			err := newPathRewriter(up.upload(t)).component(t.Context(), &c)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || ExitCode(err) != ExitUsage {
					t.Fatalf("err = %v, want a usage error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(up.trees) != 1 || c.Code != "blob:sha256:1" || c.AdditionalIncludes != nil {
				t.Fatalf("uploads %d, code %q, includes %q: want one upload replacing both", len(up.trees), c.Code, c.AdditionalIncludes)
			}
			if !maps.Equal(up.trees[0], tc.wantFiles) {
				t.Errorf("snapshot = %v, want %v", up.trees[0], tc.wantFiles)
			}
		})
	}
}
