package datastore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ciel-mlops/ciel/internal/blob"
	"github.com/ciel-mlops/ciel/internal/store"
)

// JobOutputs finds the files jobs produced.
type JobOutputs interface {
	// JobOutput returns the tree digest of a job's output; output is what
	// `ciel job download --output-name` takes. Errors match
	// store.ErrNotFound when the job does not exist or has not produced
	// the output.
	JobOutput(ctx context.Context, ws, job, output string) (string, error)
}

// Config configures a Service.
type Config struct {
	Store Store
	Blobs blob.Store
	// Jobs resolves azureml://jobs/... paths; without it they are refused.
	Jobs JobOutputs
	// Open returns the backend of a datastore (by its Type).
	Open func(Datastore) (Backend, error)
	// DefaultRoot holds the folders of the datastores every workspace has:
	// DefaultRoot/<workspace>/<name>.
	DefaultRoot string
	// Home is CIEL_HOME: no local datastore may lie inside it.
	Home string
	// HTTP bounds downloads of http(s) URLs.
	HTTP HTTPConfig
	// Logger receives what cannot be returned.
	Logger *slog.Logger
}

// Service resolves data URIs and keeps datastores. Its methods may be
// called concurrently.
type Service struct {
	cfg Config
	// fetching serialises downloads of one URL, so two jobs asking for it
	// at once download it once; an entry lives while someone holds or
	// waits for it.
	mu       sync.Mutex
	fetching map[string]*urlLock
}

// urlLock is the lock of one URL's download and how many hold or wait
// for it.
type urlLock struct {
	sync.Mutex
	users int
}

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.HTTP = cfg.HTTP.withDefaults()
	return &Service{cfg: cfg, fetching: map[string]*urlLock{}}
}

// DefaultNames are the datastores every Azure ML workspace has; here each
// is a folder under the server's home, and workspaceblobstore is the
// default one.
var DefaultNames = []string{"workspaceblobstore", "workspacefilestore", "workspaceartifactstore", "workspaceworkingdirectory"}

// InvalidError is a datastore definition or a data URI ciel refuses.
type InvalidError struct {
	Field string
	Msg   string
}

func (e *InvalidError) Error() string { return e.Msg }

func invalid(field, format string, args ...any) error {
	return &InvalidError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Resolved is the files a data URI names, as a tree of the blob store.
type Resolved struct {
	Digest string
	// Dir says the URI names a folder (else one file, the tree's only
	// entry).
	Dir bool
}

// Get returns a datastore of ws, the defaults included; errors match
// store.ErrNotFound when there is none.
func (s *Service) Get(ctx context.Context, ws, name string) (Datastore, error) {
	if slices.Contains(DefaultNames, name) {
		if _, err := s.cfg.Store.ListDatastores(ctx, ws); err != nil {
			return Datastore{}, err // the workspace must exist
		}
		return s.defaultStore(ws, name), nil
	}
	ds, err := s.cfg.Store.GetDatastore(ctx, ws, name)
	if errors.Is(err, store.ErrNotFound) {
		return ds, fmt.Errorf("datastore %q not found in workspace %s; create it with: ciel datastore create --file <datastore.yml>: %w", name, ws, store.ErrNotFound)
	}
	return ds, err
}

// List returns the datastores of ws by name, the defaults first.
func (s *Service) List(ctx context.Context, ws string) ([]Datastore, error) {
	list, err := s.cfg.Store.ListDatastores(ctx, ws)
	if err != nil {
		return nil, err
	}
	out := make([]Datastore, 0, len(list)+len(DefaultNames))
	for _, n := range DefaultNames {
		out = append(out, s.defaultStore(ws, n))
	}
	return append(out, list...), nil
}

func (s *Service) defaultStore(ws, name string) Datastore {
	return Datastore{Workspace: ws, Name: name, Type: TypeLocal, Default: true,
		Path:        filepath.Join(s.cfg.DefaultRoot, ws, name),
		Description: "Azure ML's default datastore of the workspace: a folder under the server's home"}
}

// Put checks ds and creates or replaces it.
func (s *Service) Put(ctx context.Context, ds Datastore) (Datastore, error) {
	if err := s.check(&ds); err != nil {
		return ds, err
	}
	if ds.CreatedAt.IsZero() {
		ds.CreatedAt = time.Now().UTC()
	}
	if err := s.cfg.Store.PutDatastore(ctx, ds); err != nil {
		return ds, err
	}
	return s.cfg.Store.GetDatastore(ctx, ds.Workspace, ds.Name)
}

// Delete removes a datastore; the defaults cannot be removed.
func (s *Service) Delete(ctx context.Context, ws, name string) error {
	if slices.Contains(DefaultNames, name) {
		return invalid("name", "%s is a default datastore of every workspace; it cannot be deleted", name)
	}
	return s.cfg.Store.DeleteDatastore(ctx, ws, name)
}

// Check reports whether uri is a data path ws can read (write: a datastore
// path an output can be written to), without reading any file: the URI is
// well formed, its datastore exists and the path stays inside it, or the
// job output it names was produced. Errors are *InvalidError or match
// store.ErrNotFound.
func (s *Service) Check(ctx context.Context, ws, uri string, write bool) error {
	u, err := s.parse(ws, uri)
	if err != nil {
		return err
	}
	if write && u.Kind != KindDatastore {
		return invalid("path", "output path %q: expected azureml://datastores/<datastore>/paths/<path>", uri)
	}
	switch u.Kind {
	case KindDatastore:
		ds, err := s.Get(ctx, ws, u.Datastore)
		if err != nil {
			return err
		}
		if ds.Type == TypeLocal {
			return checkLocal(ds, u.Path)
		}
	case KindJobOutput:
		_, err := s.jobOutput(ctx, ws, u)
		return err
	}
	return nil
}

// checkLocal refuses a path of a local datastore that leads out of its
// folder through a link: the longest part of it that exists is resolved
// and must stay inside. A path that does not exist yet passes.
func checkLocal(ds Datastore, p string) error {
	root, err := filepath.EvalSymlinks(ds.Path)
	if err != nil {
		return nil // created on first use (defaults) or reported when read
	}
	for q := p; q != "" && q != "."; q = path.Dir(q) {
		real, err := filepath.EvalSymlinks(filepath.Join(root, filepath.FromSlash(q)))
		if err != nil {
			continue
		}
		if real != root && !strings.HasPrefix(real, root+string(filepath.Separator)) {
			return invalid("path", "path %q of datastore %s leads out of its folder (through a link): %v", p, ds.Name, ErrEscape)
		}
		return nil
	}
	return nil
}

// parse parses uri and checks a long form names ws.
func (s *Service) parse(ws, uri string) (URI, error) {
	u, err := ParseURI(uri)
	if err != nil {
		return u, invalid("path", "%v", err)
	}
	if u.Workspace != "" && u.Workspace != ws {
		return u, invalid("path", "%s names workspace %s, not %s", uri, u.Workspace, ws)
	}
	return u, nil
}

// Fetch returns the files uri names as a tree of the blob store: a
// datastore path is read, a job output looked up, a URL downloaded once
// (see HTTPConfig).
func (s *Service) Fetch(ctx context.Context, ws, uri string) (Resolved, error) {
	u, err := s.parse(ws, uri)
	if err != nil {
		return Resolved{}, err
	}
	switch u.Kind {
	case KindDatastore:
		b, _, err := s.backend(ctx, ws, u.Datastore)
		if err != nil {
			return Resolved{}, err
		}
		d, dir, err := b.Read(ctx, s.cfg.Blobs, u.Path)
		if err != nil {
			return Resolved{}, fmt.Errorf("read %s: %w", uri, err)
		}
		return Resolved{Digest: d, Dir: dir}, nil
	case KindJobOutput:
		return s.jobOutput(ctx, ws, u)
	}
	return s.fetchURL(ctx, u.URL)
}

// Write puts the files of the tree digest at uri, a datastore path: under
// it as a folder, or, with asFile, the tree's one file at it.
func (s *Service) Write(ctx context.Context, ws, uri, digest string, asFile bool) error {
	u, err := s.parse(ws, uri)
	if err != nil {
		return err
	}
	if u.Kind != KindDatastore {
		return invalid("path", "output path %q: expected azureml://datastores/<datastore>/paths/<path>", uri)
	}
	b, _, err := s.backend(ctx, ws, u.Datastore)
	if err != nil {
		return err
	}
	if err := b.Write(ctx, s.cfg.Blobs, u.Path, digest, asFile); err != nil {
		return fmt.Errorf("write %s: %w", uri, err)
	}
	return nil
}

// backend opens the backend of a datastore; a default one's folder is made
// on first use.
func (s *Service) backend(ctx context.Context, ws, name string) (Backend, Datastore, error) {
	ds, err := s.Get(ctx, ws, name)
	if err != nil {
		return nil, ds, err
	}
	if ds.Default {
		if err := os.MkdirAll(ds.Path, 0o700); err != nil {
			return nil, ds, fmt.Errorf("create folder of datastore %s: %w", name, err)
		}
	}
	if s.cfg.Open == nil {
		return nil, ds, invalid("path", "this server cannot open datastores")
	}
	b, err := s.cfg.Open(ds)
	if err != nil {
		return nil, ds, fmt.Errorf("open datastore %s: %w", name, err)
	}
	return b, ds, nil
}

// jobOutput resolves azureml://jobs/<job>/outputs/<o>[/paths/<p>].
func (s *Service) jobOutput(ctx context.Context, ws string, u URI) (Resolved, error) {
	if s.cfg.Jobs == nil {
		return Resolved{}, invalid("path", "this server cannot resolve job outputs")
	}
	d, err := s.cfg.Jobs.JobOutput(ctx, ws, u.Job, u.Output)
	if err != nil {
		return Resolved{}, err
	}
	if u.Path == "" {
		return Resolved{Digest: d, Dir: true}, nil
	}
	return subtree(ctx, s.cfg.Blobs, d, u.Path)
}

// subtree returns the files under p in the tree digest, or a tree holding
// just the file p.
func subtree(ctx context.Context, blobs blob.Store, digest, p string) (Resolved, error) {
	t, err := blob.GetTree(ctx, blobs, digest)
	if err != nil {
		return Resolved{}, fmt.Errorf("read output files: %w", err)
	}
	var out blob.Tree
	dir := true
	for _, e := range t.Entries {
		switch {
		case e.Path == p:
			e.Path, dir = path.Base(p), false
			out.Entries = append(out.Entries, e)
		case strings.HasPrefix(e.Path, p+"/"):
			e.Path = strings.TrimPrefix(e.Path, p+"/")
			out.Entries = append(out.Entries, e)
		}
	}
	if len(out.Entries) == 0 {
		return Resolved{}, fmt.Errorf("no files under path %q of the output: %w", p, store.ErrNotFound)
	}
	d, err := blob.PutTree(ctx, blobs, out)
	return Resolved{Digest: d, Dir: dir}, err
}

// lockURL takes the lock of one URL's download; the returned function
// gives it back.
func (s *Service) lockURL(key string) func() {
	s.mu.Lock()
	l, ok := s.fetching[key]
	if !ok {
		l = &urlLock{}
		s.fetching[key] = l
	}
	l.users++
	s.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		s.mu.Lock()
		if l.users--; l.users == 0 {
			delete(s.fetching, key)
		}
		s.mu.Unlock()
	}
}

// httpClient is the client downloads use.
func (s *Service) httpClient() *http.Client { return s.cfg.HTTP.Client }
