package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ciel-mlops/ciel/internal/api"
	blobs3 "github.com/ciel-mlops/ciel/internal/blob/s3"
)

// `ciel server install-service`: a systemd user unit that runs the local
// server, so endpoints and schedules come back after a reboot without a CLI
// call. It writes the unit and says how to enable it; it never runs
// systemctl itself (that changes the user's session, their call to make).
// A server on an S3 blob store gets the bucket's URL on its command line
// and the keys in a private EnvironmentFile (0600, in CIEL_HOME), never in
// the unit or on a command line, which every user of the machine can read.

// serviceOpts are the options of `ciel server install-service`.
type serviceOpts struct {
	Addr     string
	Blob     string
	UnitName string
	Print    bool
}

// Validate checks the address and the unit name.
func (o *serviceOpts) Validate() error {
	if err := validateAddr(o.Addr); err != nil {
		return err
	}
	if o.UnitName == "" || strings.ContainsAny(o.UnitName, "/\\ \t\n") || strings.HasPrefix(o.UnitName, ".") {
		return fmt.Errorf("--unit-name %q: want a plain name such as ciel", o.UnitName)
	}
	return nil
}

// serviceUnit is what goes into the unit file.
type serviceUnit struct {
	Executable string // absolute
	Home       string // CIEL_HOME, absolute
	Addr       string // host:port the server listens on
	Blob       string // the blob store's URL, without keys; "" for CIEL_HOME/blobs
	EnvFile    string // the EnvironmentFile holding the keys; "" for none
}

// text renders the unit. ExecStart and Environment values are quoted for
// systemd, so a path with spaces, '%' or '$' stays one word.
func (u serviceUnit) text() string {
	var b strings.Builder
	envFileLine, blob := "", ""
	if u.EnvFile != "" {
		envFileLine = "EnvironmentFile=" + systemdQuote(u.EnvFile) + "\n"
	}
	if u.Blob != "" {
		blob = " --blob " + systemdQuote(u.Blob)
	}
	fmt.Fprintf(&b, `[Unit]
Description=ciel MLOps server (CIEL_HOME=%s)
Documentation=https://github.com/ciel-mlops/ciel
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
Environment=%s
%sExecStart=%s server run --addr %s%s
Restart=on-failure
RestartSec=5
# SIGTERM goes to the server, which stops its steps and workers itself;
# what is left after TimeoutStopSec is killed.
KillMode=mixed
TimeoutStopSec=60

[Install]
WantedBy=default.target
`, systemdEscape(u.Home), systemdQuote("CIEL_HOME="+u.Home), envFileLine, systemdQuote(u.Executable), systemdQuote(u.Addr), blob)
	return b.String()
}

// envFileText is the EnvironmentFile of the blob store's keys: one
// KEY="value" line each, \ and " escaped (systemd reads it so, and expands
// nothing in it).
func envFileText(cfg *blobs3.Config) (string, error) {
	var b strings.Builder
	for _, kv := range [][2]string{{blobs3.EnvAccessKeyID, cfg.AccessKeyID}, {blobs3.EnvSecretAccessKey, cfg.SecretAccessKey},
		{blobs3.EnvSessionToken, cfg.SessionToken}} {
		if kv[1] == "" {
			continue
		}
		if strings.ContainsAny(kv[1], "\n\r\x00") {
			return "", fmt.Errorf("install service: %s holds a line break, which an EnvironmentFile cannot", kv[0])
		}
		fmt.Fprintf(&b, "%s=\"%s\"\n", kv[0], strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(kv[1]))
	}
	return b.String(), nil
}

// writePrivate writes data to path, readable by its owner only, whole or
// not at all.
func writePrivate(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".env-*") // 0600
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// systemdEscape escapes the specifiers systemd expands in unit values.
func systemdEscape(s string) string {
	return strings.ReplaceAll(s, "%", "%%")
}

// systemdQuote writes s as one word of an ExecStart or Environment line:
// as it is when it is plain, else in double quotes with \ and " escaped;
// % and $ are doubled so systemd expands neither.
func systemdQuote(s string) string {
	s = strings.ReplaceAll(systemdEscape(s), "$", "$$")
	if s != "" && !strings.ContainsAny(s, " \t\"'\\;") {
		return s
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

type serviceCmd struct{ *base }

// Run writes the unit (or, with --print, only prints it) and the commands
// that enable it.
func (c *serviceCmd) Run(_ context.Context, o *serviceOpts) error {
	u, err := c.unit(o.Addr)
	if err != nil {
		return err
	}
	blob, err := resolveBlob(c.getenv, u.Home, o.Blob)
	if err != nil {
		return err
	}
	env := ""
	if blob != nil {
		u.Blob = blob.URL()
		if env, err = envFileText(blob); err != nil {
			return err
		}
		if env != "" {
			u.EnvFile = filepath.Join(u.Home, o.UnitName+".env")
		}
	}
	text := u.text()
	if o.Print {
		_, err := fmt.Fprint(c.out, text)
		return err
	}
	dir, err := c.userUnitDir()
	if err != nil {
		return err
	}
	if err := c.writeEnvFile(filepath.Join(u.Home, o.UnitName+".env"), env); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("install service: %w", err)
	}
	path := filepath.Join(dir, o.UnitName+".service")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		return fmt.Errorf("install service: %w", err)
	}
	fmt.Fprintf(c.out, "Wrote %s:\n\n%s\n", path, text)
	fmt.Fprintf(c.out, `Enable it now and at every login (stop a server the CLI started first: ciel server stop):
  systemctl --user daemon-reload
  systemctl --user enable --now %[1]s.service
To start it at boot, before anyone logs in:
  loginctl enable-linger $USER
Its log: journalctl --user -u %[1]s
`, o.UnitName)
	return nil
}

// writeEnvFile writes the keys' EnvironmentFile at path (0600, in the
// private CIEL_HOME), or removes a stale one when there are no keys.
func (c *serviceCmd) writeEnvFile(path, env string) error {
	if env == "" {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("install service: remove the old keys file: %w", err)
		}
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("install service: %w", err)
	}
	if err := writePrivate(path, []byte(env)); err != nil {
		return fmt.Errorf("install service: write the blob store's keys: %w", err)
	}
	fmt.Fprintf(c.out, "Wrote %s: the blob store's keys, readable by you only.\n", path)
	return nil
}

// unit describes the service for this CIEL_HOME: this binary, run with the
// address given, else the one the home's server used last (so endpoint
// and tracking URLs handed out before stay valid), else the default.
func (c *serviceCmd) unit(addr string) (serviceUnit, error) {
	home, err := c.cielHome()
	if err != nil {
		return serviceUnit{}, err
	}
	exe := c.executable
	if exe == "" {
		if exe, err = os.Executable(); err != nil {
			return serviceUnit{}, fmt.Errorf("install service: find this executable: %w", err)
		}
	}
	if exe, err = filepath.Abs(exe); err != nil {
		return serviceUnit{}, fmt.Errorf("install service: %w", err)
	}
	if addr == "" {
		addr = api.HomeAddr(home)
	}
	for what, v := range map[string]string{"the ciel executable's path": exe, "CIEL_HOME": home} {
		if strings.ContainsAny(v, "\n\r") {
			return serviceUnit{}, fmt.Errorf("install service: %s %q holds a line break, which a unit file cannot", what, v)
		}
	}
	return serviceUnit{Executable: exe, Home: home, Addr: addr}, nil
}

// userUnitDir is systemd's folder of user units:
// $XDG_CONFIG_HOME/systemd/user, else ~/.config/systemd/user.
func (c *serviceCmd) userUnitDir() (string, error) {
	if x := c.getenv("XDG_CONFIG_HOME"); filepath.IsAbs(x) {
		return filepath.Join(x, "systemd", "user"), nil
	}
	home := c.getenv("HOME")
	if home == "" {
		var err error
		if home, err = os.UserHomeDir(); err != nil {
			return "", fmt.Errorf("install service: find the home directory: %w", err)
		}
	}
	if !filepath.IsAbs(home) {
		return "", errors.New("install service: HOME is not an absolute path")
	}
	return filepath.Join(home, ".config", "systemd", "user"), nil
}

func newServiceCommand(b *base) *cobra.Command {
	opts := &serviceOpts{}
	cmd := &cobra.Command{
		Use:   "install-service",
		Short: "Write a systemd user unit that runs the server, so endpoints and schedules come back after a reboot",
		Long: `Write ~/.config/systemd/user/ciel.service (under $XDG_CONFIG_HOME when set): a
systemd user unit that runs 'ciel server run' for this CIEL_HOME at its
stable address, restarted on failure. It prints the unit and the commands
that enable it; it does not run systemctl. --print only prints the unit.
A server on an S3 blob store (--blob, CIEL_BLOB or the one CIEL_HOME's last
server used) gets the bucket's URL on its command line and the keys, read
from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY now, in a private
EnvironmentFile (CIEL_HOME/<unit-name>.env, mode 0600), never in the unit.`,
		Example: `  ciel server install-service
  systemctl --user enable --now ciel.service
  CIEL_HOME=/srv/ciel ciel server install-service --unit-name ciel-team --addr 127.0.0.1:7400
  ciel server install-service --print > ciel.service`,
		RunE: runE(b, &serviceCmd{b}, opts),
	}
	f := cmd.Flags()
	f.StringVar(&opts.Addr, "addr", "", "listen address host:port (default: the one this CIEL_HOME's server used last, else "+api.DefaultAddr+")")
	f.StringVar(&opts.UnitName, "unit-name", "ciel", "unit name: <name>.service")
	f.StringVar(&opts.Blob, "blob", "", "the server's blob store, as for server run (default: CIEL_BLOB, else the one CIEL_HOME's "+
		"last server used); its keys (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) go to a private EnvironmentFile")
	f.BoolVar(&opts.Print, "print", false, "print the unit to stdout and write nothing")
	return cmd
}
