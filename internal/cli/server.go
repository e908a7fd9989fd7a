package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ciel-mlops/ciel/internal/api"
)

// stopTimeout is how long `server stop` waits for the process to go.
const stopTimeout = 30 * time.Second

func newServerCommand(b *base) *cobra.Command {
	return newGroup("server", "Run, start, stop or check the local ciel server",
		newServerRunCommand(b),
		newServerStartCommand(b),
		newServerStopCommand(b),
		newServerStatusCommand(b),
	)
}

// serverRunOpts are the options of `ciel server run`.
type serverRunOpts struct {
	Addr        string
	Token       string
	ScoringAddr string
}

// Validate checks the address, when given, is host:port.
func (o *serverRunOpts) Validate() error {
	return validateAddr(o.Addr)
}

type serverRunCmd struct{ *base }

// Run serves in the foreground until SIGINT or SIGTERM.
func (c *serverRunCmd) Run(ctx context.Context, o *serverRunOpts) error {
	home, err := c.cielHome()
	if err != nil {
		return err
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
	logger := slog.New(slog.NewTextHandler(c.errOut, nil))
	err = c.serve(ctx, api.Config{
		Home:   home,
		Addr:   o.Addr,
		Token:  token,
		Logger: logger,
		// Online endpoints' scoring listener: "" keeps the last port.
		ScoringAddr: o.ScoringAddr,
		Ready: func(url string) {
			fmt.Fprintf(c.out, "ciel server listening on %s (CIEL_HOME=%s)\n", url, home)
		},
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("server: %w", err)
	}
	return nil
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
