package registry

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/ciel-mlops/ciel/internal/artifacts"
	"github.com/ciel-mlops/ciel/internal/blob"
	"github.com/ciel-mlops/ciel/internal/datastore"
	"github.com/ciel-mlops/ciel/internal/store"
)

// JobResolver finds what ciel jobs produced. The API server implements it:
// it knows jobs, their plans and their steps.
type JobResolver interface {
	// JobOutput returns the tree digest of a job's output and the lineage
	// of the step that produced it. name is what `ciel job download
	// --output-name` takes: a pipeline output, "step.output", an output
	// name unique among the steps, or "artifacts" (what the steps wrote to
	// ./outputs and ./logs). Errors match store.ErrNotFound when the job
	// does not exist or has not produced the output.
	JobOutput(ctx context.Context, ws, job, name string) (digest string, lin Lineage, err error)
	// StepLineage returns the lineage of a job's step: its code, component
	// and the data that flowed into it. Errors match store.ErrNotFound
	// when the job or step does not exist.
	StepLineage(ctx context.Context, ws, job, step string) (Lineage, error)
}

// Tracking is what the registry needs from experiment tracking to take
// files from runs and from MLflow 3 logged models.
type Tracking interface {
	// RunArtifactURI returns a run's artifact root, an mlflow-artifacts:
	// URI. Errors match store.ErrNotFound when ws has no such run.
	RunArtifactURI(ctx context.Context, ws, runID string) (string, error)
	// LoggedModel returns where a logged model's files are (an
	// mlflow-artifacts: URI) and the run that logged it ("" when none).
	// Errors match store.ErrNotFound when ws has no such model.
	LoggedModel(ctx context.Context, ws, modelID string) (artifactURI, runID string, err error)
}

// StepRuns is implemented by a Tracking that knows which run tracked a job
// step; lineage then names the run of the step that produced a version.
type StepRuns interface {
	// StepRunID returns the run of a job's step, or "" when none.
	StepRunID(ctx context.Context, ws, job, step string) (string, error)
}

// RunModels is implemented by a Tracking that knows the MLflow 3 logged
// models a run produced; runs:/<run_id>/<name> then also means the model
// named name that the run logged, as mlflow.register_model takes it.
type RunModels interface {
	// RunLoggedModel returns the ID of the logged model named name that
	// the run produced (the one at the highest step when several), or an
	// error matching store.ErrNotFound.
	RunLoggedModel(ctx context.Context, ws, runID, name string) (string, error)
}

// RunOrigins is implemented by a Tracking that knows which job step a run
// tracked; lineage of a version registered from a run then names the job,
// step, code and data.
type RunOrigins interface {
	// RunStep returns the job and step a run tracked, or "" and "" when it
	// tracked none (a run started from a laptop).
	RunStep(ctx context.Context, ws, runID string) (job, step string, err error)
}

// resolved is a source turned into files.
type resolved struct {
	digest  string // tree of the files
	folder  string // what they appear under in AZUREML_MODEL_DIR (Version.Folder)
	lineage Lineage
	runID   string
	modelID string
}

// sourceForms is what the error for an unknown source lists.
const sourceForms = "azureml://jobs/<job>/outputs/<output>[/paths/<path>], azureml://datastores/<datastore>/paths/<path>, " +
	"http(s)://<url>, runs:/<run_id>/<path>, " +
	"models:/<name>/<version>, models:/<name>@<alias>, models:/<model_id>, mlflow-artifacts:/<path>, " +
	"or a local path (uploaded by the CLI)"

// resolve turns a source URI into the tree of files a version is made of.
//
// folder names an uploaded folder (a blob: source); the other sources
// imply theirs: the last segment of the path named, or "" for one file.
func (s *Service) resolve(ctx context.Context, ws, source, folder string) (resolved, error) {
	var (
		r   resolved
		err error
	)
	switch {
	case source == "":
		return r, invalid("a source path is required (" + sourceForms + ")")
	case strings.HasPrefix(source, "blob:"):
		if err := checkFolder(folder); err != nil {
			return r, err
		}
		r.folder = folder
		r.digest, err = s.uploaded(ctx, strings.TrimPrefix(source, "blob:"))
	case strings.HasPrefix(source, "azureml://jobs/"):
		r, err = s.fromJob(ctx, ws, source)
	case datastore.IsDataURI(source):
		r, err = s.fromRemote(ctx, ws, source)
	case strings.HasPrefix(source, "runs:/"):
		r, err = s.fromRun(ctx, ws, source)
	case strings.HasPrefix(source, "models:/"):
		r, err = s.fromModels(ctx, ws, source)
	case strings.HasPrefix(source, "mlflow-artifacts:"):
		var rel string
		if rel, err = artifacts.Rel(source); err == nil {
			var dir bool
			if r.digest, dir, err = s.ingestArtifacts(ctx, ws, rel, source); dir {
				r.folder = path.Base(rel)
			}
		}
	default:
		return r, invalid(fmt.Sprintf("source %q: expected %s", source, sourceForms))
	}
	if err != nil {
		return r, err
	}
	if r.lineage.Job == "" && r.runID != "" {
		r.lineage = s.runLineage(ctx, ws, r.runID)
	}
	r.lineage.Source, r.lineage.Digest = datastore.Display(source), r.digest // a URL without its token
	if r.lineage.RunID == "" {
		r.lineage.RunID = r.runID
	}
	return r, nil
}

// runLineage returns the lineage of the job step a run tracked, when the
// run tracked one; lineage is best effort, so failures leave it empty.
func (s *Service) runLineage(ctx context.Context, ws, runID string) Lineage {
	ro, ok := s.cfg.Tracking.(RunOrigins)
	if !ok || s.cfg.Jobs == nil {
		return Lineage{}
	}
	job, step, err := ro.RunStep(ctx, ws, runID)
	if err != nil || job == "" || step == "" {
		return Lineage{}
	}
	lin, err := s.cfg.Jobs.StepLineage(ctx, ws, job, step)
	if err != nil {
		s.cfg.Logger.Debug("lineage of run", "run", runID, "job", job, "step", step, "err", err)
		return Lineage{}
	}
	return lin
}

// uploaded checks an uploaded tree is in the datastore.
func (s *Service) uploaded(ctx context.Context, digest string) (string, error) {
	if _, err := blob.ParseDigest(digest); err != nil {
		return "", invalid(fmt.Sprintf("source blob:%s: %v", digest, err))
	}
	ok, err := s.cfg.Blobs.Has(ctx, digest)
	if err != nil {
		return "", fmt.Errorf("look up uploaded files %s: %w", digest, err)
	}
	if !ok {
		return "", notFound(fmt.Sprintf("uploaded files %s are not in the datastore; upload them again", digest))
	}
	return digest, nil
}

// fromJob resolves azureml://jobs/<job>/outputs/<output>[/paths/<path>].
func (s *Service) fromJob(ctx context.Context, ws, source string) (resolved, error) {
	var r resolved
	rest := strings.TrimPrefix(source, "azureml://jobs/")
	job, rest, ok := strings.Cut(rest, "/outputs/")
	output, sub, _ := strings.Cut(rest, "/paths/")
	output = strings.TrimSuffix(output, "/")
	if !ok || job == "" || output == "" || strings.Contains(output, "/") {
		return r, invalid(fmt.Sprintf("source %q: expected azureml://jobs/<job>/outputs/<output> or azureml://jobs/<job>/outputs/artifacts/paths/<path>", source))
	}
	if s.cfg.Jobs == nil {
		return r, invalid("this server cannot resolve job outputs")
	}
	digest, lin, err := s.cfg.Jobs.JobOutput(ctx, ws, job, output)
	if err != nil {
		return r, fmt.Errorf("source %s: %w", source, err)
	}
	r.folder = output
	if sub = strings.Trim(sub, "/"); sub != "" {
		var dir bool
		if digest, dir, err = s.subtree(ctx, digest, sub); err != nil {
			return r, fmt.Errorf("source %s: %w", source, err)
		}
		r.folder = ""
		if dir {
			r.folder = path.Base(sub)
		}
	}
	if lin.RunID == "" && lin.Step != "" {
		if sr, ok := s.cfg.Tracking.(StepRuns); ok {
			if id, err := sr.StepRunID(ctx, ws, lin.Job, lin.Step); err == nil {
				lin.RunID = id
			}
		}
	}
	r.digest, r.lineage, r.runID = digest, lin, lin.RunID
	return r, nil
}

// RemoteData reads datastore paths and URLs (datastore.Service).
type RemoteData interface {
	// Fetch returns the files at uri as a tree of the blob store.
	Fetch(ctx context.Context, ws, uri string) (datastore.Resolved, error)
}

// fromRemote resolves azureml://datastores/<ds>/paths/<p> and http(s)
// URLs; a folder appears under its last path segment.
func (s *Service) fromRemote(ctx context.Context, ws, source string) (resolved, error) {
	var r resolved
	if s.cfg.Data == nil {
		return r, invalid("this server cannot read " + source)
	}
	res, err := s.cfg.Data.Fetch(ctx, ws, source)
	if err != nil {
		var ie *datastore.InvalidError
		if errors.As(err, &ie) {
			return r, invalid(ie.Msg)
		}
		return r, fmt.Errorf("source %s: %w", source, err)
	}
	if res.Digest == blob.EmptyTreeDigest {
		return r, invalid(fmt.Sprintf("source %s: no files there", source))
	}
	r.digest = res.Digest
	if u, err := datastore.ParseURI(source); err == nil && res.Dir && u.Path != "" {
		r.folder = path.Base(u.Path)
	}
	return r, nil
}

// fromRun resolves runs:/<run_id>/<path> to files under the run's
// artifact root.
func (s *Service) fromRun(ctx context.Context, ws, source string) (resolved, error) {
	var r resolved
	runID, sub, _ := strings.Cut(strings.TrimLeft(strings.TrimPrefix(source, "runs:"), "/"), "/")
	if runID == "" {
		return r, invalid(fmt.Sprintf("source %q: expected runs:/<run_id>/<path>", source))
	}
	if s.cfg.Tracking == nil {
		return r, invalid("this server has no experiment tracking to resolve " + source)
	}
	root, err := s.cfg.Tracking.RunArtifactURI(ctx, ws, runID)
	if err != nil {
		return r, fmt.Errorf("source %s: %w", source, err)
	}
	rel, err := artifacts.Rel(root)
	if err != nil {
		return r, fmt.Errorf("source %s: artifact root of run %s: %w", source, runID, err)
	}
	if sub = strings.Trim(sub, "/"); sub != "" {
		// The path stays below the run's root: path.Join would resolve
		// "../.." into another run's files.
		if _, err := artifacts.Clean(sub); err != nil {
			return r, invalid(fmt.Sprintf("source %q: %v", source, err))
		}
		rel = path.Join(rel, sub)
	}
	r.runID = runID
	var dir bool
	r.digest, dir, err = s.ingestArtifacts(ctx, ws, rel, source)
	if dir && sub != "" {
		r.folder = path.Base(sub)
	}
	if rm, ok := s.cfg.Tracking.(RunModels); ok && isNotFound(err) && sub != "" && !strings.Contains(sub, "/") {
		// No run artifacts there: the run may have logged a model by that
		// name (MLflow 3 keeps logged models apart from run artifacts).
		id, merr := rm.RunLoggedModel(ctx, ws, runID, sub)
		if merr != nil {
			return r, err
		}
		lm, lerr := s.fromModels(ctx, ws, "models:/"+id)
		if lerr != nil {
			return r, lerr
		}
		lm.runID, lm.folder = runID, sub
		return lm, nil
	}
	return r, err
}

// fromModels resolves models:/<name>/<version>, models:/<name>@<alias>,
// models:/<name>/latest (a registered version) and models:/<model_id> (an
// MLflow 3 logged model).
func (s *Service) fromModels(ctx context.Context, ws, source string) (resolved, error) {
	var r resolved
	ref := strings.Trim(strings.TrimPrefix(source, "models:"), "/")
	name, ver, hasVer := strings.Cut(ref, "/")
	if at := strings.LastIndex(name, "@"); at > 0 && !hasVer {
		v, err := s.VersionByAlias(ctx, ws, name[:at], name[at+1:])
		if err != nil {
			return r, err
		}
		return s.fromVersion(v)
	}
	if hasVer {
		var v Version
		var err error
		if ver == "latest" {
			v, err = s.LatestVersion(ctx, ws, name)
		} else {
			n, perr := strconv.Atoi(ver)
			if perr != nil {
				return r, invalid(fmt.Sprintf("source %q: version %q is not a number", source, ver))
			}
			v, err = s.GetVersion(ctx, ws, name, n)
		}
		if err != nil {
			return r, err
		}
		return s.fromVersion(v)
	}
	if s.cfg.Tracking == nil {
		return r, invalid("this server has no experiment tracking to resolve " + source)
	}
	uri, runID, err := s.cfg.Tracking.LoggedModel(ctx, ws, name)
	if err != nil {
		return r, fmt.Errorf("source %s: %w", source, err)
	}
	rel, err := artifacts.Rel(uri)
	if err != nil {
		return r, fmt.Errorf("source %s: location of logged model %s: %w", source, name, err)
	}
	r.modelID, r.runID = name, runID
	r.digest, _, err = s.ingestArtifacts(ctx, ws, rel, source)
	return r, err
}

// fromVersion takes the files of a registered version.
func (s *Service) fromVersion(v Version) (resolved, error) {
	if v.Status != StatusReady || v.Lineage.Digest == "" {
		return resolved{}, invalid(fmt.Sprintf("version %d of model %q is %s, not READY", v.Version, v.Name, v.Status))
	}
	lin := v.Lineage
	lin.Source = ""
	return resolved{digest: v.Lineage.Digest, folder: v.Folder, lineage: lin, runID: v.RunID, modelID: v.ModelID}, nil
}

// ingestArtifacts stores the files at rel in the workspace's artifact root
// (a folder or one file) and returns their tree, and whether rel is a
// folder.
func (s *Service) ingestArtifacts(ctx context.Context, ws, rel, source string) (string, bool, error) {
	root, ok := s.localRoot()
	if !ok {
		return s.ingestStored(ctx, ws, rel, source)
	}
	dir, err := root.Path(ws, rel)
	if err != nil {
		return "", false, invalid(fmt.Sprintf("source %q: %v", source, err))
	}
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, notFound(fmt.Sprintf("source %s: no artifacts at %s", source, rel))
	}
	if err != nil {
		return "", false, fmt.Errorf("source %s: %w", source, err)
	}
	var digest string
	if fi.IsDir() {
		digest, err = blob.IngestDir(ctx, s.cfg.Blobs, dir)
	} else {
		digest, err = blob.IngestFile(ctx, s.cfg.Blobs, dir)
	}
	if err != nil {
		return "", false, fmt.Errorf("source %s: copy files: %w", source, err)
	}
	if digest == blob.EmptyTreeDigest {
		return "", false, invalid(fmt.Sprintf("source %s: folder %s has no files", source, rel))
	}
	return digest, fi.IsDir(), nil
}

// subtree returns the tree of the files under sub in the tree digest, or
// a tree holding just the file sub when sub is a file, and whether sub is
// a folder.
func (s *Service) subtree(ctx context.Context, digest, sub string) (string, bool, error) {
	t, err := blob.GetTree(ctx, s.cfg.Blobs, digest)
	if err != nil {
		return "", false, fmt.Errorf("read output files: %w", err)
	}
	var out blob.Tree
	dir := true
	for _, e := range t.Entries {
		switch {
		case e.Path == sub:
			e.Path, dir = path.Base(sub), false
			out.Entries = append(out.Entries, e)
		case strings.HasPrefix(e.Path, sub+"/"):
			e.Path = strings.TrimPrefix(e.Path, sub+"/")
			out.Entries = append(out.Entries, e)
		}
	}
	if len(out.Entries) == 0 {
		return "", false, notFound(fmt.Sprintf("no files under path %q", sub))
	}
	d, err := blob.PutTree(ctx, s.cfg.Blobs, out)
	return d, dir, err
}

// checkFolder checks the folder name given with an upload: one path
// segment, as the base name of the folder a client uploaded.
func checkFolder(folder string) error {
	if folder == "" {
		return nil
	}
	if len(folder) > 255 || folder == "." || folder == ".." || strings.ContainsAny(folder, "/\\\x00") {
		return invalid(fmt.Sprintf("folder %q: expected the name of the uploaded folder, one path segment", folder))
	}
	return nil
}

// isNotFound reports whether err means the thing named does not exist.
func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
