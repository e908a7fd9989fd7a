package serving

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ciel-mlops/ciel/internal/blob"
	"github.com/ciel-mlops/ciel/internal/envs"
	"github.com/ciel-mlops/ciel/internal/store"
)

// workerScript is worker.py, written under Config.Home when the Manager
// starts.
//
//go:embed worker.py
var workerScript []byte

// EnvBuilder builds the Python environment a deployment's workers run in.
// *envs.Builder implements it.
type EnvBuilder interface {
	// Ensure returns a ready environment, building it on first use and
	// writing build progress to w. It may be called concurrently.
	Ensure(ctx context.Context, s envs.Spec, w io.Writer) (envs.Env, error)
}

// AssetGetter finds registered environments (azureml:name:version).
// store.Store implements it.
type AssetGetter interface {
	// GetAsset returns one version of an asset, the latest when version is
	// ""; errors match store.ErrNotFound when there is none.
	GetAsset(ctx context.Context, ws, kind, name, version string) (store.Asset, error)
}

// ModelSource finds the files of registered models (azureml:name:version).
type ModelSource interface {
	// ModelFiles returns where a model version's files are (the latest
	// version when version is ""). Errors match store.ErrNotFound when
	// there is no such model or version. It may be called concurrently.
	ModelFiles(ctx context.Context, ws, name, version string) (ModelFiles, error)
}

// ModelFiles is a registered model version's files as a deployment sees
// them.
type ModelFiles struct {
	// Dir is the local folder holding them.
	Dir string
	// Folder is what they appear under inside AZUREML_MODEL_DIR ("" for
	// its root), as Azure ML keeps the name of the folder a model was
	// registered from.
	Folder string
	// Label names the version ("azureml:name:3").
	Label string
	// MLflow says the files are an MLflow model.
	MLflow bool
}

// Config configures a Manager.
type Config struct {
	// Home is CIEL_HOME; the Manager keeps files under Home/serving.
	Home string
	// Store keeps endpoints and deployments.
	Store Store
	// Assets resolves registered environments.
	Assets AssetGetter
	// Blobs holds uploaded code and model files.
	Blobs blob.Store
	// Envs builds deployment environments.
	Envs EnvBuilder
	// Models resolves registered models; nil refuses azureml: models.
	Models ModelSource
	// Addr is the scoring listener's address. "" reuses the port of the
	// last run (so scoring URIs survive restarts) or picks a free one on
	// 127.0.0.1.
	Addr string
	// Logger receives the access log and the Manager's own records.
	Logger *slog.Logger
	// AccessLog, when set, receives the access log instead of Logger, as
	// the lines Logger's handler would write were it slog's text handler
	// at level INFO: a server whose Logger writes text to AccessLog saves
	// slog's cost on every scoring request.
	AccessLog io.Writer
	// MetricsToken, when set, is required as a bearer token by /metrics.
	MetricsToken string
	// Clusters runs deployments on kubernetes computes; nil refuses them.
	Clusters Clusters
	// SyncEvery, when set, is how often the Manager reads the Store for
	// what other server replicas sharing it changed (endpoints, keys,
	// traffic, deployments), so every replica's front end serves them;
	// 0 for a server that is the Store's only one.
	SyncEvery time.Duration
	// Replica names this server among replicas, for the logs.
	Replica string
}

// Manager runs a server's online endpoints: it keeps them in the Store,
// provisions deployments, and serves the scoring listener. Its methods may
// be called concurrently.
type Manager struct {
	cfg     Config
	log     *slog.Logger
	dir     string // Home/serving
	script  string // worker.py on disk
	front   *frontEnd
	metrics *metricsRegistry
	files   *fileCache

	ctx    context.Context // ends when the Manager closes
	cancel context.CancelFunc
	wg     sync.WaitGroup // background provisioning

	ln  net.Listener
	hs  *http.Server
	uri string // scoring base URL

	mu   sync.Mutex
	live map[string]*liveEndpoint // by endpoint name
	busy map[string]bool          // deployments being provisioned, by key
	// gone are the endpoints ("endpoint/ws/name") and deployments (by
	// key) being deleted (the zero time) or deleted here, and when: a sync
	// whose read of the store came before brings none of them back.
	gone map[string]time.Time
	logs map[string]*logSink // by deployment key
}

// New returns a Manager; Start brings it up.
func New(cfg Config) (*Manager, error) {
	if cfg.Home == "" || cfg.Store == nil || cfg.Blobs == nil || cfg.Envs == nil || cfg.Assets == nil {
		return nil, errors.New("serving: Config needs Home, Store, Assets, Blobs and Envs")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dir := filepath.Join(cfg.Home, "serving")
	ctx, cancel := context.WithCancel(context.Background())
	metrics := newMetricsRegistry()
	front := newFrontEnd(metrics, log)
	front.metricsToken = cfg.MetricsToken
	if cfg.AccessLog != nil {
		front.lines = newAccessWriter(cfg.AccessLog)
	}
	return &Manager{
		cfg: cfg, log: log, dir: dir, metrics: metrics, front: front,
		files: &fileCache{blobs: cfg.Blobs, dir: filepath.Join(dir, "files")},
		ctx:   ctx, cancel: cancel,
		live: map[string]*liveEndpoint{}, busy: map[string]bool{}, logs: map[string]*logSink{},
		gone: map[string]time.Time{},
	}, nil
}

// Start opens the scoring listener and brings back the endpoints and
// deployments in the Store; deployments come up in the background.
func (m *Manager) Start(ctx context.Context) error {
	if err := os.MkdirAll(m.dir, 0o700); err != nil {
		return fmt.Errorf("start serving: %w", err)
	}
	sum := sha256.Sum256(workerScript)
	m.script = filepath.Join(m.dir, "worker-"+hex.EncodeToString(sum[:6])+".py")
	if err := writeFileAtomic(m.script, workerScript); err != nil {
		return fmt.Errorf("start serving: %w", err)
	}
	ln, err := m.listen()
	if err != nil {
		return err
	}
	m.ln = ln
	m.uri = "http://" + scoringHost(ln.Addr())
	m.hs = &http.Server{Handler: m.front, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() {
		if err := m.hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.log.Error("serving: scoring listener stopped", "err", err)
		}
	}()
	m.log.Info("serving: scoring listener up", "url", m.uri)
	if err := m.restore(ctx); err != nil {
		return err
	}
	if m.cfg.SyncEvery > 0 {
		m.wg.Add(1)
		go m.syncLoop()
	}
	return nil
}

// replica names this server in logs.
func (m *Manager) replica() string {
	if m.cfg.Replica == "" {
		return "server started"
	}
	return "replica " + m.cfg.Replica
}

// ScoringURL returns the scoring listener's base URL.
func (m *Manager) ScoringURL() string { return m.uri }

// scoringState is what Home/serving/scoring.json remembers.
type scoringState struct {
	Addr string `json:"addr"`
}

// listen opens the scoring listener: Config.Addr, else the last run's
// address, else a free port; and remembers the address.
func (m *Manager) listen() (net.Listener, error) {
	statePath := filepath.Join(m.dir, "scoring.json")
	addr := m.cfg.Addr
	if addr == "" {
		var st scoringState
		if b, err := os.ReadFile(statePath); err == nil && json.Unmarshal(b, &st) == nil && st.Addr != "" {
			if ln, err := net.Listen("tcp", st.Addr); err == nil {
				return ln, nil
			}
			m.log.Warn("serving: the last scoring address is taken; scoring URIs change", "addr", st.Addr)
		}
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("scoring listener on %s: %w", addr, err)
	}
	b, _ := json.Marshal(scoringState{Addr: ln.Addr().String()})
	if err := writeFileAtomic(statePath, b); err != nil {
		m.log.Warn("serving: cannot remember the scoring address", "err", err)
	}
	return ln, nil
}

// scoringHost names a listener's address for URLs: an unspecified host
// (0.0.0.0, ::) becomes 127.0.0.1.
func scoringHost(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// Close stops taking requests, lets the workers finish what they hold
// (until ctx ends) and stops them. Deployments stay in the Store.
func (m *Manager) Close(ctx context.Context) error {
	var err error
	if m.hs != nil {
		err = m.hs.Shutdown(ctx)
	}
	m.cancel()
	m.mu.Lock()
	var gens []runner
	for _, ep := range m.live {
		for _, p := range ep.pools {
			if g := p.running(); g != nil {
				gens = append(gens, g)
			}
		}
	}
	m.mu.Unlock()
	var wg sync.WaitGroup
	for _, g := range gens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g.drain(ctx)
		}()
	}
	wg.Wait()
	m.wg.Wait()
	m.front.mirrors.Wait()
	m.mu.Lock()
	for _, l := range m.logs {
		l.close()
	}
	m.mu.Unlock()
	if errors.Is(err, context.DeadlineExceeded) {
		err = nil
	}
	return err
}

// depKey names a deployment in the Manager's maps.
func depKey(ws, endpoint, name string) string { return ws + "/" + endpoint + "/" + name }

// logFor returns a deployment's log, opening it.
func (m *Manager) logFor(ws, endpoint, name string) (*logSink, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := depKey(ws, endpoint, name)
	if l, ok := m.logs[k]; ok {
		return l, nil
	}
	l, err := openLog(m.logPath(ws, endpoint, name))
	if err != nil {
		return nil, err
	}
	m.logs[k] = l
	return l, nil
}

// logPath is where a deployment's log lives.
func (m *Manager) logPath(ws, endpoint, name string) string {
	return filepath.Join(m.dir, "logs", ws, endpoint, name+".log")
}

// writeFileAtomic writes data to path through a temporary file.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
