package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/ciel-mlops/ciel/internal/api"
	blobs3 "github.com/ciel-mlops/ciel/internal/blob/s3"
	"github.com/ciel-mlops/ciel/internal/logbatch"
	"github.com/ciel-mlops/ciel/internal/store/sqldb"
)

// stopTimeout is how long `server stop` waits for the process to go.
const stopTimeout = 30 * time.Second

func newServerCommand(b *base) *cobra.Command {
	return newGroup("server", "Run, start, stop or check the local ciel server",
		newServerRunCommand(b),
		newServerStartCommand(b),
		newServerStopCommand(b),
		newServerStatusCommand(b),
		newServiceCommand(b),
	)
}

// serverRunOpts are the options of `ciel server run`.
type serverRunOpts struct {
	Addr        string
	Token       string
	ScoringAddr string
	// Blob is the blob store's URL (s3://bucket?endpoint=...); "" means
	// CIEL_BLOB, and with that unset too the folder CIEL_HOME/blobs.
	Blob string
	// Store is the metadata store's PostgreSQL URL; "" means CIEL_STORE,
	// and with that unset too the SQLite file CIEL_HOME/ciel.db.
	Store string
	// JobLease is how long a job stays with a server of a shared store that
	// stopped renewing its lease; 0 means CIEL_JOB_LEASE, else
	// api.DefaultJobLease.
	JobLease time.Duration
	// SQLiteSync is the SQLite file's synchronous setting, full or normal;
	// "" means CIEL_SQLITE_SYNC, else full.
	SQLiteSync string
	// ReplicaURL is the URL the other servers sharing the store reach this
	// one at, to read the live logs of the jobs it runs; "" means the
	// listen address.
	ReplicaURL string
	// exposure holds who may reach the server and how.
	exposure
}

// exposure are the options that say who may reach the server: which Host
// names and web origins it answers, the URL it hands out, and whether it may
// serve other machines with no token.
type exposure struct {
	AllowedHosts       []string
	CORSAllowedOrigins []string
	ExternalURL        string
	InsecureNoAuth     bool
	MetricsToken       string
	// Limits on what one request or workspace may send (bytes; 0 is the
	// server's default).
	MaxBodyBytes, MaxUploadBytes, MaxArtifactBytes, ArtifactQuota int64
}

// validate checks the URL and origins are what a browser would send: a
// scheme and a host, no path.
func (e *exposure) validate() error {
	for flag, v := range map[string]int64{"--max-body-bytes": e.MaxBodyBytes, "--max-upload-bytes": e.MaxUploadBytes,
		"--max-artifact-bytes": e.MaxArtifactBytes, "--artifact-quota-bytes": e.ArtifactQuota} {
		if v < 0 {
			return fmt.Errorf("%s %d: expected a number of bytes, 0 for the default", flag, v)
		}
	}
	if e.ExternalURL != "" {
		if err := checkOrigin(strings.TrimSuffix(e.ExternalURL, "/"), true); err != nil {
			return fmt.Errorf("--external-url %q: %w", e.ExternalURL, err)
		}
	}
	for _, o := range e.CORSAllowedOrigins {
		if o == "*" {
			continue
		}
		if err := checkOrigin(o, false); err != nil {
			return fmt.Errorf("--cors-allowed-origins %q: %w", o, err)
		}
	}
	return nil
}

// checkOrigin checks s is scheme://host[:port], with a path when withPath.
func checkOrigin(s string, withPath bool) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return err
	case u.Scheme != "http" && u.Scheme != "https":
		return errors.New("expected http:// or https://")
	case u.Host == "":
		return errors.New("expected a host")
	case !withPath && (u.Path != "" || u.RawQuery != ""):
		return errors.New("an origin is scheme://host[:port], with no path")
	}
	return nil
}

func (e *exposure) bind(fs *pflag.FlagSet) {
	fs.StringSliceVar(&e.AllowedHosts, "allowed-hosts", nil,
		"Host names the server answers besides localhost and its listen address (e.g. ciel.example.com,*.corp; * for any)")
	fs.StringSliceVar(&e.CORSAllowedOrigins, "cors-allowed-origins", nil,
		"web origins besides the server's own that may call the API from a browser (e.g. https://app.example.com)")
	fs.StringVar(&e.ExternalURL, "external-url", "", "the URL clients reach the server at, for the URLs it hands out (default: the listen address)")
	fs.BoolVar(&e.InsecureNoAuth, "insecure-no-auth", false,
		"allow listening on a non-loopback address with no token (only behind a proxy that authenticates)")
	fs.StringVar(&e.MetricsToken, "metrics-token", "", "bearer token for the scoring listener's /metrics (default: the API token)")
	fs.Int64Var(&e.MaxBodyBytes, "max-body-bytes", 0, "largest API request body that is not an upload (default 8 MiB)")
	fs.Int64Var(&e.MaxUploadBytes, "max-upload-bytes", 0, "largest code or data upload from the CLI (default 10 GiB)")
	fs.Int64Var(&e.MaxArtifactBytes, "max-artifact-bytes", 0, "largest MLflow artifact file or multipart part (default 5 GiB)")
	fs.Int64Var(&e.ArtifactQuota, "artifact-quota-bytes", 0, "most bytes of MLflow artifacts one workspace may hold (default: no quota)")
}

// Validate checks the address, when given, is host:port.
func (o *serverRunOpts) Validate() error {
	if err := validateAddr(o.Addr); err != nil {
		return err
	}
	if o.JobLease != 0 && o.JobLease < time.Second {
		return fmt.Errorf("--job-lease %s: want at least 1s, such as 15s", o.JobLease)
	}
	if err := sqldb.CheckSynchronous(o.SQLiteSync); err != nil {
		return fmt.Errorf("--sqlite-sync: %w", err)
	}
	if o.ReplicaURL != "" {
		if err := checkOrigin(strings.TrimSuffix(o.ReplicaURL, "/"), true); err != nil {
			return fmt.Errorf("--replica-url %q: %w", o.ReplicaURL, err)
		}
	}
	return o.exposure.validate()
}

type serverRunCmd struct{ *base }

// Run serves in the foreground until SIGINT or SIGTERM.
func (c *serverRunCmd) Run(ctx context.Context, o *serverRunOpts) error {
	home, err := c.cielHome()
	if err != nil {
		return err
	}
	blobS3, err := c.blobStore(home, o.Blob)
	if err != nil {
		return err
	}
	metadata, err := c.metadataStore(home, o.Store)
	if err != nil {
		return err
	}
	lease := o.JobLease
	if v := c.getenv("CIEL_JOB_LEASE"); lease == 0 && v != "" {
		if lease, err = time.ParseDuration(v); err != nil || lease < time.Second {
			return usageError(fmt.Errorf("CIEL_JOB_LEASE %q: want a duration of at least 1s, such as 15s", v))
		}
	}
	sqliteSync := o.SQLiteSync
	if sqliteSync != "" && metadata != "" {
		return usageError(fmt.Errorf("--sqlite-sync %s: this server keeps its metadata in PostgreSQL, not the SQLite file", sqliteSync))
	}
	if sqliteSync == "" {
		sqliteSync = strings.TrimSpace(c.getenv("CIEL_SQLITE_SYNC"))
		if err := sqldb.CheckSynchronous(sqliteSync); err != nil {
			return usageError(fmt.Errorf("CIEL_SQLITE_SYNC: %w", err))
		}
	}
	// What the server, and the steps, environments and workers it starts,
	// create is the user's alone: CIEL_HOME holds endpoint keys, and the
	// server runs steps as this user, so no one else needs to read them.
	syscall.Umask(0o077)
	if err := os.MkdirAll(home, 0o700); err != nil {
		return fmt.Errorf("create CIEL_HOME: %w", err)
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	token := o.Token
	if token == "" {
		token = c.token
	}
	// Info lines (one per scoring request) are written in batches; warnings
	// and errors at once.
	logw := logbatch.New(c.errOut)
	defer logw.Close()
	logger := slog.New(logbatch.Handler{Handler: slog.NewTextHandler(logw, nil), W: logw})
	err = c.serve(ctx, api.Config{
		Home:       home,
		Addr:       o.Addr,
		Token:      token,
		BlobS3:     blobS3,
		Store:      metadata,
		JobLease:   lease,
		SQLiteSync: sqliteSync,
		ReplicaURL: o.ReplicaURL,
		Logger:     logger,
		AccessLog:  logw, // logger's text, formatted by the scoring front end
		// Online endpoints' scoring listener: "" keeps the last port.
		ScoringAddr:            o.ScoringAddr,
		AllowedHosts:           o.AllowedHosts,
		CORSAllowedOrigins:     o.CORSAllowedOrigins,
		ExternalURL:            o.ExternalURL,
		InsecureNoAuth:         o.InsecureNoAuth,
		MetricsToken:           o.MetricsToken,
		MaxJSONBytes:           o.MaxBodyBytes,
		MaxUploadBytes:         o.MaxUploadBytes,
		MaxArtifactUploadBytes: o.MaxArtifactBytes,
		ArtifactQuotaBytes:     o.ArtifactQuota,
		Ready: func(url string) {
			fmt.Fprintf(c.out, "ciel server listening on %s (CIEL_HOME=%s)\n", url, home)
		},
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		return err // Serve's errors say what failed and what to do
	}
	return nil
}

// blobStore returns the bucket the server keeps its blobs in: raw, else
// CIEL_BLOB, else the one home's last server used (as the address is
// remembered, so an autostarted server finds it); nil for the local
// folder. Keys come from the environment.
func (c *serverRunCmd) blobStore(home, raw string) (*blobs3.Config, error) {
	return resolveBlob(c.getenv, home, raw)
}

// resolveBlob is serverRunCmd.blobStore, for every command that starts or
// describes a server.
func resolveBlob(getenv func(string) string, home, raw string) (*blobs3.Config, error) {
	if raw == "" {
		raw = strings.TrimSpace(getenv("CIEL_BLOB"))
	}
	if raw == "" {
		raw = api.HomeBlob(home)
	}
	if raw == "" {
		return nil, nil
	}
	cfg, err := blobs3.ParseURL(raw, getenv)
	if err != nil {
		return nil, usageError(err)
	}
	return &cfg, nil
}

// metadataStore returns the PostgreSQL URL of the metadata store: raw,
// else CIEL_STORE, else the one the home's last server used; "" for the
// SQLite file CIEL_HOME/ciel.db.
func (c *serverRunCmd) metadataStore(home, raw string) (string, error) {
	if raw == "" {
		raw = strings.TrimSpace(c.getenv("CIEL_STORE"))
	}
	if raw == "" {
		return api.HomeStore(home), nil
	}
	if raw == "sqlite" {
		return "", nil
	}
	if !strings.HasPrefix(raw, "postgres://") && !strings.HasPrefix(raw, "postgresql://") {
		return "", usageError(fmt.Errorf("--store: want postgres://USER@HOST[:PORT]/DATABASE[?...] (or sqlite, the file CIEL_HOME/ciel.db)"))
	}
	return raw, nil
}

func newServerRunCommand(b *base) *cobra.Command {
	opts := &serverRunOpts{}
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the server in the foreground (Ctrl-C stops it)",
		RunE:  runE(b, &serverRunCmd{b}, opts),
	}
	bindAddr(cmd.Flags(), &opts.Addr)
	cmd.Flags().StringVar(&opts.Token, "token", "", "require this bearer token (default: CIEL_TOKEN)")
	cmd.Flags().StringVar(&opts.ScoringAddr, "scoring-addr", "", "online endpoints' scoring address (default: the last run's port on 127.0.0.1)")
	cmd.Flags().StringVar(&opts.Store, "store", "",
		"metadata store: postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=...] (PGPASSWORD and ~/.pgpass work too), "+
			"or sqlite (default: CIEL_STORE, else the store CIEL_HOME's last server used, else the file CIEL_HOME/ciel.db)")
	cmd.Flags().DurationVar(&opts.JobLease, "job-lease", 0,
		"with a PostgreSQL --store that several servers share: how long a job stays with a server that stopped renewing "+
			"its lease before another takes it over (default: CIEL_JOB_LEASE, else 15s)")
	cmd.Flags().StringVar(&opts.SQLiteSync, "sqlite-sync", "",
		"with the SQLite file: full fsyncs every commit, so no acknowledged write is lost even to a power cut; normal fsyncs "+
			"only at WAL checkpoints, faster: a killed server still loses nothing, but a power cut or OS crash may lose the last "+
			"writes (default: CIEL_SQLITE_SYNC, else full)")
	cmd.Flags().StringVar(&opts.ReplicaURL, "replica-url", "",
		"with a PostgreSQL --store that several servers share: the URL the others reach this one at, to serve the live logs of "+
			"the jobs it runs (default: the listen address)")
	cmd.Flags().StringVar(&opts.Blob, "blob", "",
		"blob store: s3://BUCKET?endpoint=http(s)://HOST:PORT[&prefix=P&region=R&public_endpoint=URL], keys from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "+
			"(default: CIEL_BLOB, else the store CIEL_HOME's last server used, else the folder CIEL_HOME/blobs)")
	opts.exposure.bind(cmd.Flags())
	return cmd
}

// serverStatus is what `server start` and `server status` print.
type serverStatus struct {
	Running bool   `json:"running"`
	URL     string `json:"url,omitempty"`
	PID     int    `json:"pid,omitempty"`
	Home    string `json:"home"`
}

func (s serverStatus) table() *textTable {
	t := newTable("Running", "URL", "PID", "Home")
	pid := ""
	if s.PID != 0 {
		pid = fmt.Sprint(s.PID)
	}
	t.Row(fmt.Sprint(s.Running), s.URL, pid, s.Home)
	return t
}

// serverOpts are the options of `server start`, `stop` and `status`.
type serverOpts struct {
	output
}

// Validate checks the output format.
func (o *serverOpts) Validate() error { return o.output.validate() }

type serverStartCmd struct{ *base }

// Run starts the local server in the background unless one answers; a
// server already running elsewhere than --addr is an error.
func (c *serverStartCmd) Run(ctx context.Context, o *serverStartOpts) error {
	if err := c.checkRunningAddr(ctx, o.Addr); err != nil {
		return err
	}
	info, err := c.ensureServer(ctx, o.Addr)
	if err != nil {
		return err
	}
	home, _ := c.cielHome()
	s := serverStatus{Running: true, URL: info.URL, PID: info.PID, Home: home}
	return o.print(c.out, s, s.table)
}

type serverStatusCmd struct{ *base }

// Run prints whether the local server answers.
func (c *serverStatusCmd) Run(ctx context.Context, o *serverOpts) error {
	info, ok, err := c.runningServer(ctx)
	if err != nil {
		return err
	}
	home, _ := c.cielHome()
	s := serverStatus{Running: ok, Home: home}
	if ok {
		s.URL, s.PID = info.URL, info.PID
	}
	return o.print(c.out, s, s.table)
}

type serverStopCmd struct{ *base }

// Run sends SIGTERM to the local server and waits until it is gone. It
// signals only a server that answers, so a stale server.json never gets an
// unrelated process killed.
func (c *serverStopCmd) Run(ctx context.Context, o *serverOpts) error {
	info, ok, err := c.runningServer(ctx)
	if err != nil {
		return err
	}
	if !ok {
		if info.PID != 0 && processAlive(info.PID) {
			return fmt.Errorf("the server at %s does not answer; if pid %d is ciel, stop it with kill %d", info.URL, info.PID, info.PID)
		}
		fmt.Fprintln(c.out, "no local ciel server is running")
		return nil
	}
	if info.PID <= 0 {
		return fmt.Errorf("server.json has no pid for the server at %s", info.URL)
	}
	if err := syscall.Kill(info.PID, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stop server (pid %d): %w", info.PID, err)
	}
	deadline := time.Now().Add(stopTimeout)
	for processAlive(info.PID) {
		if time.Now().After(deadline) {
			return fmt.Errorf("server (pid %d) still running %s after SIGTERM", info.PID, stopTimeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	fmt.Fprintf(c.out, "stopped ciel server (pid %d)\n", info.PID)
	return nil
}

// processAlive reports whether pid is a live process (signal 0 reaches it).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func newServerStartCommand(b *base) *cobra.Command {
	opts := &serverStartOpts{}
	cmd := &cobra.Command{
		Use:   "start",
		Short: "Start the local server in the background (commands do this on demand)",
		RunE:  runE(b, &serverStartCmd{b}, opts),
	}
	bindAddr(cmd.Flags(), &opts.Addr)
	opts.output.bind(cmd.Flags(), formatTable)
	return cmd
}

func newServerStopCommand(b *base) *cobra.Command {
	opts := &serverOpts{output: output{Format: formatTable}}
	return &cobra.Command{Use: "stop", Short: "Stop the local server", RunE: runE(b, &serverStopCmd{b}, opts)}
}

func newServerStatusCommand(b *base) *cobra.Command {
	opts := &serverOpts{}
	cmd := &cobra.Command{Use: "status", Short: "Say whether the local server is running", RunE: runE(b, &serverStatusCmd{b}, opts)}
	opts.output.bind(cmd.Flags(), formatTable)
	return cmd
}
