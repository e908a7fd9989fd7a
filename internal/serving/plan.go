package serving

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/ciel-mlops/ciel/internal/blob"
	"github.com/ciel-mlops/ciel/internal/envs"
	"github.com/ciel-mlops/ciel/internal/envs/curated"
	"github.com/ciel-mlops/ciel/internal/spec"
	"github.com/ciel-mlops/ciel/internal/store"
)

// resolve turns a deployment's spec into a Plan: the environment, the
// model's and code's files, and how the worker loads the model. Problems
// with what the spec names match ErrInvalid or store.ErrNotFound.
func (m *Manager) resolve(ctx context.Context, ws string, d *spec.OnlineDeployment) (*Plan, error) {
	p := &Plan{}
	if err := m.resolveModel(ctx, ws, d, p); err != nil {
		return nil, err
	}
	if c := d.CodeConfiguration; c != nil {
		digest, ok := strings.CutPrefix(c.Code, "blob:")
		if !ok {
			return nil, invalidf("code_configuration.code %q was not uploaded; create deployments with the ciel CLI, which uploads code", c.Code)
		}
		p.CodeDigest, p.Script = digest, c.ScoringScript
		if err := m.checkFile(ctx, digest, c.ScoringScript); err != nil {
			return nil, invalidf("code_configuration.scoring_script %s is not in the code folder", c.ScoringScript)
		}
	} else if !p.MLflow {
		return nil, invalidf("deployment %s has no code_configuration, so its model must be an MLflow model (a folder with an MLmodel file; type: mlflow_model); %s is not", d.Name, orNone(p.ModelLabel))
	}
	return p, m.resolveEnv(ctx, ws, d, p)
}

func orNone(s string) string {
	if s == "" {
		return "there is no model"
	}
	return s
}

// resolveModel fills the model part of p.
func (m *Manager) resolveModel(ctx context.Context, ws string, d *spec.OnlineDeployment, p *Plan) error {
	md := d.Model
	if md == nil {
		return nil
	}
	var mlflow bool
	switch {
	case md.Ref != "":
		if m.cfg.Models == nil {
			return invalidf("model %s: this server has no model registry", md.Ref)
		}
		name, version := splitRef(strings.TrimPrefix(md.Ref, "azureml:"))
		mf, err := m.cfg.Models.ModelFiles(ctx, ws, name, version)
		if errors.Is(err, store.ErrNotFound) {
			return &kindError{kind: store.ErrNotFound, msg: fmt.Sprintf("model %s not found in workspace %s; register it with: ciel model create --name %s --path <path>", md.Ref, ws, name)}
		}
		if err != nil {
			return fmt.Errorf("model %s: %w", md.Ref, err)
		}
		digest, err := blob.IngestDir(ctx, m.cfg.Blobs, mf.Dir)
		if err != nil {
			return fmt.Errorf("model %s: %w", md.Ref, err)
		}
		p.ModelDigest, p.ModelFolder, p.ModelLabel, mlflow = digest, mf.Folder, mf.Label, mf.MLflow
	case strings.HasPrefix(md.Path, "blob:"):
		p.ModelDigest, p.ModelFolder = strings.TrimPrefix(md.Path, "blob:"), md.Folder
		p.ModelLabel = "local path " + orDefault(md.Folder, "(a file)")
		if md.Name != "" {
			p.ModelLabel = "azureml:" + md.Name + ":" + orDefault(md.Version, "1")
		}
	default:
		return invalidf("model path %q was not uploaded; create deployments with the ciel CLI, which uploads the model", md.Path)
	}
	if p.ModelFolder != "" && (strings.ContainsAny(p.ModelFolder, `/\`) || p.ModelFolder == "." || p.ModelFolder == "..") {
		return invalidf("model folder %q: expected a folder name", p.ModelFolder)
	}
	if !mlflow {
		mlflow = m.checkFile(ctx, p.ModelDigest, "MLmodel") == nil
	}
	if md.Type == spec.TypeMLflowModel && !mlflow {
		return invalidf("model %s is type mlflow_model but has no MLmodel file", p.ModelLabel)
	}
	if mlflow && d.CodeConfiguration == nil {
		p.MLflow, p.MLflowPath = true, p.ModelFolder
	}
	return nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// splitRef splits "name:version", "name@label" (the latest) or "name".
func splitRef(ref string) (name, version string) {
	if i := strings.LastIndex(ref, "@"); i >= 0 {
		return ref[:i], ""
	}
	if i := strings.Index(ref, ":"); i >= 0 {
		return ref[:i], ref[i+1:]
	}
	return ref, ""
}

// envRefName understands azureml:name:version, azureml:name@latest and
// azureml://registries/<r>/environments/<name>/(labels/<l>|versions/<v>),
// the last resolved by name in the workspace, as jobs do.
func envRefName(ref string) (name, version string) {
	if rest, ok := strings.CutPrefix(ref, "azureml://"); ok {
		parts := strings.Split(rest, "/")
		for i := 0; i+1 < len(parts); i++ {
			if parts[i] == "environments" {
				if i+3 < len(parts) && parts[i+2] == "versions" {
					return parts[i+1], parts[i+3]
				}
				return parts[i+1], ""
			}
		}
		return rest, ""
	}
	return splitRef(strings.TrimPrefix(ref, "azureml:"))
}

// resolveEnv fills the environment part of p: the deployment's, or for an
// MLflow model without one, the model's own conda.yaml.
func (m *Manager) resolveEnv(ctx context.Context, ws string, d *spec.OnlineDeployment, p *Plan) error {
	e := d.Environment
	switch {
	case e != nil && e.Inline != nil:
		p.EnvImage, p.EnvCondaFile, p.EnvLabel = e.Inline.Image, e.Inline.CondaFile, "inline environment"
	case e != nil:
		name, version := envRefName(e.Ref)
		a, err := m.cfg.Assets.GetAsset(ctx, ws, store.KindEnvironment, name, version)
		if cref, ok := curated.ParseRef(e.Ref); ok && errors.Is(err, store.ErrNotFound) {
			return m.curatedEnv(ctx, cref, p)
		}
		if errors.Is(err, store.ErrNotFound) {
			return &kindError{kind: store.ErrNotFound, msg: fmt.Sprintf("environment %s not found in workspace %s; create it with: ciel environment create --file <env.yml>", e.Ref, ws)}
		}
		if err != nil {
			return fmt.Errorf("environment %s: %w", e.Ref, err)
		}
		var env spec.Environment
		if err := json.Unmarshal(a.Spec, &env); err != nil {
			return fmt.Errorf("decode environment %s: %w", e.Ref, err)
		}
		p.EnvImage, p.EnvCondaFile, p.EnvLabel = env.Image, env.CondaFile, "azureml:"+name+":"+a.Version
	case p.MLflow:
		conda, err := m.readFile(ctx, p.ModelDigest, "conda.yaml") // the tree's root is the model's folder
		if err != nil {
			return invalidf("deployment %s has no environment and its MLflow model has no conda.yaml; give an environment with mlflow in it", d.Name)
		}
		p.EnvCondaFile, p.EnvLabel = string(conda), "the MLflow model's conda.yaml"
	default:
		p.EnvLabel = "the host's python3"
	}
	return nil
}

// treeEntry finds a file in a tree.
func (m *Manager) treeEntry(ctx context.Context, digest, name string) (blob.Entry, error) {
	if digest == "" {
		return blob.Entry{}, store.ErrNotFound
	}
	t, err := blob.GetTree(ctx, m.cfg.Blobs, digest)
	if err != nil {
		return blob.Entry{}, err
	}
	for _, e := range t.Entries {
		if e.Path == name {
			return e, nil
		}
	}
	return blob.Entry{}, store.ErrNotFound
}

// checkFile reports whether a tree holds a file.
func (m *Manager) checkFile(ctx context.Context, digest, name string) error {
	_, err := m.treeEntry(ctx, digest, name)
	return err
}

// readFile returns a file of a tree (at most 16 MiB).
func (m *Manager) readFile(ctx context.Context, digest, name string) ([]byte, error) {
	e, err := m.treeEntry(ctx, digest, name)
	if err != nil {
		return nil, err
	}
	r, err := m.cfg.Blobs.Open(ctx, e.Digest)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(io.LimitReader(r, 16<<20))
}

// curatedEnv fills the environment part of p from ciel's catalogue of
// Azure's curated environments, for the Python the builder will use.
func (m *Manager) curatedEnv(ctx context.Context, ref curated.Ref, p *Plan) error {
	c, err := curated.Default().Lookup(ref)
	if err != nil {
		return &kindError{kind: store.ErrNotFound, msg: err.Error()}
	}
	python := ""
	if pc, ok := m.cfg.Envs.(interface {
		PythonFor(ctx context.Context, dependency string) (string, error)
	}); ok {
		if python, err = pc.PythonFor(ctx, "python="+c.Python); err != nil {
			return fmt.Errorf("curated environment %s: %w", c.Name, err)
		}
	}
	r := c.Resolve(python)
	p.EnvImage, p.EnvCondaFile, p.EnvLabel = c.Image, r.CondaFile, "curated environment "+c.Name+" (registry "+curated.Registry+")"
	if c.Note != "" {
		p.EnvNotes = append(p.EnvNotes, c.Note)
	}
	p.EnvNotes = append(p.EnvNotes, r.Notes...)
	return nil
}

// prepare builds what a plan's workers need: the environment, the code and
// model files on disk, and the process environment.
func (m *Manager) prepare(ctx context.Context, d *Deployment, p *Plan, logs *logSink) (launch, error) {
	logs.printf("[ciel] environment: %s", p.EnvLabel)
	for _, n := range p.EnvNotes {
		logs.printf("[ciel] environment: %s", n)
	}
	env, err := m.cfg.Envs.Ensure(ctx, envs.Spec{Image: p.EnvImage, CondaFile: p.EnvCondaFile}, logs.writer("[env] "))
	if err != nil {
		return launch{}, fmt.Errorf("build environment %s: %w", p.EnvLabel, err)
	}
	for _, n := range env.Notes {
		logs.printf("[ciel] environment: %s", n)
	}
	l := launch{python: env.Python, script: m.script, dir: m.dir}
	modelDir := filepath.Join(m.dir, "files", "empty-model")
	if p.ModelDigest != "" {
		if modelDir, err = m.files.tree(ctx, "models", p.ModelDigest, p.ModelFolder); err != nil {
			return launch{}, fmt.Errorf("model files: %w", err)
		}
	} else if err := os.MkdirAll(modelDir, 0o700); err != nil {
		return launch{}, err
	}
	codeDir := ""
	if p.CodeDigest != "" {
		if codeDir, err = m.files.tree(ctx, "code", p.CodeDigest, ""); err != nil {
			return launch{}, fmt.Errorf("code files: %w", err)
		}
	}
	var vars []string
	l.dir, vars = workerVars(d, p, modelDir, codeDir)
	l.env = append(withoutSecrets(env.Environ(os.Environ())), vars...)
	return l, nil
}

// workerVars are the variables a worker of d runs with, given where the
// model's and code's files are (codeDir "" for none), and its working
// folder: the code's, or for an MLflow model, the model's.
func workerVars(d *Deployment, p *Plan, modelDir, codeDir string) (dir string, vars []string) {
	vars = []string{"AZUREML_MODEL_DIR=" + modelDir, "PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1"}
	if codeDir != "" {
		dir = codeDir
		vars = append(vars, "CIEL_WORKER_MODE=script", "CIEL_SCORING_SCRIPT="+path.Join(codeDir, p.Script),
			"AZUREML_ENTRY_SCRIPT="+p.Script, "AML_APP_ROOT="+codeDir)
	} else {
		dir = modelDir
		vars = append(vars, "CIEL_WORKER_MODE=mlflow", "CIEL_MLFLOW_MODEL="+path.Join(modelDir, p.MLflowPath))
	}
	vars = append(vars, "AZUREML_ENDPOINT_NAME="+d.Endpoint, "AZUREML_DEPLOYMENT_NAME="+d.Name)
	for _, k := range slices.Sorted(maps.Keys(d.Spec.EnvironmentVariables)) {
		vars = append(vars, k+"="+d.Spec.EnvironmentVariables[k])
	}
	return dir, vars
}

// withoutSecrets drops the server's own secrets from a worker's
// environment.
func withoutSecrets(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, "CIEL_TOKEN=") {
			out = append(out, kv)
		}
	}
	return out
}

// fileCache materializes trees of files (code, models) once each, read-only,
// under dir, for every worker that needs them.
type fileCache struct {
	blobs blob.Store
	dir   string
	mu    sync.Mutex // one materialization at a time: they are rare
}

// tree returns a folder holding the files of digest: directly, or under
// folder inside it when folder is set.
func (c *fileCache) tree(ctx context.Context, kind, digest, folder string) (string, error) {
	hexDigest := strings.TrimPrefix(digest, "sha256:")
	name := hexDigest
	if folder != "" {
		name += "-" + folder
	}
	root := filepath.Join(c.dir, kind, name)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := os.Stat(root); err == nil {
		return root, nil
	}
	if err := os.MkdirAll(filepath.Dir(root), 0o700); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(root), name+".tmp-")
	if err != nil {
		return "", err
	}
	target := tmp
	if folder != "" {
		target = filepath.Join(tmp, folder)
	}
	if err := blob.Materialize(ctx, c.blobs, digest, target, true); err != nil {
		_ = blob.RemoveMaterialized(tmp)
		return "", err
	}
	if err := os.Rename(tmp, root); err != nil {
		_ = blob.RemoveMaterialized(tmp)
		return "", err
	}
	return root, nil
}
