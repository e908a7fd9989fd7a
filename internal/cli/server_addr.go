package cli

import (
	"context"
	"fmt"
	"net"
	"net/url"

	"github.com/spf13/pflag"

	"github.com/ciel-mlops/ciel/internal/api"
)

// bindAddr binds --addr of `server run` and `server start`.
func bindAddr(fs *pflag.FlagSet, addr *string) {
	fs.StringVar(addr, "addr", "", "listen address host:port (default: the one this CIEL_HOME's server used last, else "+
		api.DefaultAddr+"); port 0 picks a free port, kept for later starts")
}

// validateAddr checks an --addr: "" (the remembered or default address) or
// host:port.
func validateAddr(addr string) error {
	if addr == "" {
		return nil
	}
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
		return usageErrorf("--addr %q: want host:port, e.g. %s", addr, api.DefaultAddr)
	}
	return nil
}

// serverStartOpts are the options of `ciel server start`.
type serverStartOpts struct {
	Addr string
	output
}

// Validate checks the address and the output format.
func (o *serverStartOpts) Validate() error {
	if err := validateAddr(o.Addr); err != nil {
		return err
	}
	return o.output.validate()
}

// checkRunningAddr fails when the local server already answers at another
// address than addr ("" or port 0 accept any).
func (b *base) checkRunningAddr(ctx context.Context, addr string) error {
	if addr == "" {
		return nil
	}
	info, ok, err := b.runningServer(ctx)
	if err != nil || !ok || servesAt(info.URL, addr) {
		return err
	}
	return fmt.Errorf("a ciel server (pid %d) is already running at %s; stop it with ciel server stop to start one on %s",
		info.PID, info.URL, addr)
}

// servesAt reports whether a server at rawURL listens on addr; port 0 in
// addr matches any port.
func servesAt(rawURL, addr string) bool {
	u, err := url.Parse(rawURL)
	if err != nil {
		return false
	}
	wantHost, wantPort, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	return u.Hostname() == wantHost && (wantPort == "0" || u.Port() == wantPort)
}
