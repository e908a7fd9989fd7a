// Package api is ciel's HTTP server: the /api/v1 resources, the mapping of
// errors to statuses and JSON bodies, and the wiring of store, blob, envs,
// engine and executor behind them.
package api

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ciel-mlops/ciel/internal/authlimit"
	"github.com/ciel-mlops/ciel/internal/batch"
	blobs3 "github.com/ciel-mlops/ciel/internal/blob/s3"
	"github.com/ciel-mlops/ciel/internal/changefeed"
	"github.com/ciel-mlops/ciel/internal/compute/kube"
	"github.com/ciel-mlops/ciel/internal/compute/local"
	"github.com/ciel-mlops/ciel/internal/engine"
	"github.com/ciel-mlops/ciel/internal/envs"
	"github.com/ciel-mlops/ciel/internal/imagestore"
	"github.com/ciel-mlops/ciel/internal/registry"
	"github.com/ciel-mlops/ciel/internal/schedule"
	"github.com/ciel-mlops/ciel/internal/serving"
	"github.com/ciel-mlops/ciel/internal/tracking"
)

// Config configures a server.
type Config struct {
	// Home is CIEL_HOME: ciel.db, blobs/, envs/, jobs/ live under it.
	Home string
	// Store, when set, is the PostgreSQL URL of the metadata store, which
	// then replaces Home/ciel.db. Servers on several homes may share it:
	// each job runs on one of them, under a lease of JobLease (0 is
	// DefaultJobLease) that another takes over when it ends.
	Store    string
	JobLease time.Duration
	// SQLiteSync is the SQLite file's synchronous setting (sqldb.Config's
	// Synchronous): "" or "full", or "normal".
	SQLiteSync string
	// ReplicaURL, with a Store several servers share, is the URL the
	// others reach this one at (recorded with its heartbeat), to read the
	// live logs of the jobs it runs; "" means the listen address.
	ReplicaURL string
	// BlobS3, when set, is the bucket that holds the blobs (code, data,
	// step outputs, models) instead of Home/blobs.
	BlobS3 *blobs3.Config
	// Addr is the listen address; "" means the address the home's last
	// server listened on, else DefaultAddr. Port 0 picks a free port, which
	// later starts then keep.
	Addr string
	// Token, when set, is required as "Authorization: Bearer <token>".
	Token string
	// MaxUploadBytes bounds the tar body of one POST .../uploads (code
	// and data the CLI sends); 0 is DefaultMaxUploadBytes. Over it is a
	// 413.
	MaxUploadBytes int64
	// MaxArtifactUploadBytes bounds one MLflow artifact PUT or multipart
	// part (tracking.Config.MaxUploadBytes); 0 is
	// tracking.DefaultMaxUploadBytes.
	MaxArtifactUploadBytes int64
	// ArtifactQuotaBytes bounds the MLflow artifacts one workspace holds
	// (tracking.Config.WorkspaceQuotaBytes); 0 sets no quota.
	ArtifactQuotaBytes int64
	// InsecureNoAuth lets a server with no Token listen on an address other
	// machines reach; without it, that refuses to start.
	InsecureNoAuth bool
	// AllowedHosts are Host header values served besides the loopback
	// names and the listen address (guard.Config.AllowedHosts).
	AllowedHosts []string
	// CORSAllowedOrigins are the web origins besides the server's own that
	// may call it from a browser.
	CORSAllowedOrigins []string
	// ExternalURL is the URL clients reach the server at, used in the URLs
	// it hands out; "" means the listen address.
	ExternalURL string
	// MaxJSONBytes bounds an API request body that is not an upload; 0 is
	// guard.DefaultMaxJSONBytes.
	MaxJSONBytes int64
	// MetricsToken, when set, is required by the scoring listener's
	// /metrics instead of Token.
	MetricsToken string
	// Logger receives the server's logs.
	Logger *slog.Logger
	// AccessLog, when set, receives the scoring access log's lines in
	// slog's text format instead of Logger (see serving.Config.AccessLog).
	AccessLog io.Writer
	// Ready, when set, is called with the base URL once the server listens.
	Ready func(url string)
	// ScoringAddr is the online endpoints' scoring listener address; ""
	// keeps the last run's port (or picks a free one on 127.0.0.1).
	ScoringAddr string
}

// ServerInfo is what Home/server.json holds so CLIs find a running server.
type ServerInfo struct {
	URL string `json:"url"`
	PID int    `json:"pid"`
}

// InfoPath is the path of the server.json file under home.
func InfoPath(home string) string { return filepath.Join(home, "server.json") }

// Serve runs the server until ctx is cancelled. It writes Home/server.json
// once listening and removes it on a clean stop. Jobs left unfinished by an
// earlier server resume as it starts.
//
// One home has one server: Serve holds an exclusive lock on the home for its
// whole life and fails with a *HomeInUseError, touching nothing, when
// another server holds it. The home and what Serve creates in it are
// private to the user (0700 folders, 0600 files); an older, looser home is
// tightened first. A taken address is an *AddrInUseError.
func Serve(ctx context.Context, cfg Config) error {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if err := os.MkdirAll(cfg.Home, 0o700); err != nil {
		return fmt.Errorf("create home %s: %w", cfg.Home, err)
	}
	unlock, err := lockHome(cfg.Home)
	if err != nil {
		return err
	}
	defer unlock()
	if err := tightenHome(cfg.Home); err != nil {
		return err
	}
	replica, err := sharedReplica(cfg)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg, replica)
	if err != nil {
		return err
	}
	defer st.Close()
	lease := cmp.Or(cfg.JobLease, DefaultJobLease)
	if replica != "" {
		// Before anything runs: a run of a server with no heartbeat is
		// another server's to close.
		if err := st.Heartbeat(ctx, time.Now().Add(lease), ""); err != nil {
			return err
		}
	}
	blobs, err := openBlobs(ctx, cfg)
	if err != nil {
		return err
	}
	arts, err := openArtifacts(ctx, cfg)
	if err != nil {
		return err
	}
	builder, err := envs.New(envs.Config{Dir: filepath.Join(cfg.Home, "envs"), Logger: cfg.Logger})
	if err != nil {
		return fmt.Errorf("open environments: %w", err)
	}
	ln, err := listen(cfg.Home, cfg.Addr, func(a net.Addr) error { return checkExposure(a, cfg) })
	if err != nil {
		return err
	}
	localURL, base := listenURLs(ln.Addr(), cfg.ExternalURL)
	// Steps reach tracking at the listening address, so the observer is
	// built once it is known.
	obs := tracking.NewObserver(tracking.ObserverConfig{Store: st, BaseURL: localURL, Token: cfg.Token, Logger: cfg.Logger})
	mlflow := tracking.NewHandler(tracking.Config{Store: st, Workspaces: st, Token: cfg.Token, Logger: cfg.Logger, BaseURL: base,
		MaxUploadBytes: cfg.MaxArtifactUploadBytes, WorkspaceQuotaBytes: cfg.ArtifactQuotaBytes,
		ReadOnly:  []string{registry.StorageRoot},
		Artifacts: arts.store, PartsDir: arts.partsDir})
	s := &server{cfg: cfg, st: st, blobs: blobs, arts: arts, base: base, log: cfg.Logger, tracking: mlflow, envs: builder, flows: changefeed.New(),
		attempts: authlimit.New(authlimit.Config{})}
	if s.studio, err = newStudio(cfg, s.attempts); err != nil {
		ln.Close()
		return err
	}
	// The engine reads data paths through the datastore service, which
	// reads job outputs through the server.
	s.initDatastores()
	self, _ := os.Executable()
	kr := kube.NewRunner(kube.Config{Blob: cfg.BlobS3, Binary: self, Logger: cfg.Logger,
		Images: &kube.ImageConfig{Envs: builder, Blobs: blobs, URL: localURL,
			PullToken: imagestore.PullToken(cfg.Token), CacheDir: filepath.Join(cfg.Home, "images")}})
	ecfg := engine.Config{
		Home: cfg.Home, Store: st, Blobs: blobs, Envs: builder, Executor: local.Executor{}, Logger: cfg.Logger,
		Remote:   kr,
		Observer: obs, Data: s.data, // sqldb keeps datastores: never nil
	}
	if replica != "" {
		ecfg.Leases, ecfg.Replica, ecfg.Lease = st, replica, lease
		cfg.Logger.Info("shared metadata store: jobs run under leases", "replica", replica, "lease", lease)
	}
	eng := engine.New(ecfg)
	defer eng.Close()
	s.eng = eng
	stopDataflow, err := s.openDataflow(ctx, st, eng, blobs)
	if err != nil {
		ln.Close()
		return fmt.Errorf("open data factory: %w", err)
	}
	defer stopDataflow()
	if err := s.openCICD(localURL); err != nil {
		ln.Close()
		return err
	}
	if s.serving, err = serving.New(serving.Config{Home: cfg.Home, Store: st, Assets: st, Blobs: blobs, Envs: builder,
		Models: registryModels{s}, Addr: cfg.ScoringAddr, Logger: cfg.Logger, AccessLog: cfg.AccessLog, MetricsToken: metricsToken(cfg), Clusters: kr,
		SyncEvery: servingSync(replica), Replica: replica}); err != nil {
		ln.Close()
		return err
	}
	s.registerWorkspaceCleanups()
	s.batch = batch.New(batch.Config{Store: st, Assets: st, Blobs: blobs, Models: batchModels{s}, Jobs: eng, JobSource: st})
	// Reads and writes of each request are bounded by the guard, per
	// route (streams and uploads may take long, API calls may not); the
	// server bounds headers and idle connections.
	hs := &http.Server{Handler: s.newGuard(ln.Addr().String()).Wrap(s.routes()),
		ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug)}

	if err := eng.Resume(ctx); err != nil {
		ln.Close()
		return err
	}
	if err := s.serving.Start(ctx); err != nil {
		ln.Close()
		return err
	}
	defer func() {
		stop, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.serving.Close(stop); err != nil {
			cfg.Logger.Warn("stop online endpoints", "err", err)
		}
	}()
	// Started after Resume, so that a job a firing recorded just before
	// the last server stopped is started once, by Resume.
	s.schedules = schedule.New(schedule.Config{Store: st.Schedules(), Jobs: eng, Existing: st, Logger: cfg.Logger})
	s.schedules.Start()
	defer s.schedules.Close()
	if s.cicd != nil {
		if err := s.cicd.Start(ctx); err != nil {
			ln.Close()
			return err
		}
		// Runs in progress are canceled and record it before the store
		// closes (deferred earlier, so it runs later).
		defer s.cicd.Close()
	}
	if replica != "" {
		s.replicas = replicaLogs{addrs: st, self: replica, client: newReplicaClient()}
		address := strings.TrimSuffix(cmp.Or(cfg.ReplicaURL, localURL), "/")
		if err := st.Heartbeat(ctx, time.Now().Add(lease), address); err != nil {
			ln.Close()
			return err
		}
		stopKeeping := s.keepReplica(st, lease, address)
		defer stopKeeping()
	}
	info := ServerInfo{URL: localURL, PID: os.Getpid()}
	if err := writeInfo(cfg.Home, info); err != nil {
		ln.Close()
		return err
	}
	defer removeInfo(cfg.Home, info)
	cfg.Logger.Info("ciel server listening", "url", localURL, "external_url", base, "home", cfg.Home)
	if cfg.Ready != nil {
		cfg.Ready(localURL)
	}

	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(shut); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// servingSync is how often a replica's front end reads what the others
// changed: only servers sharing a store have others.
func servingSync(replica string) time.Duration {
	if replica == "" {
		return 0
	}
	return 2 * time.Second
}
