// Package cli is ciel's command line: the cobra command tree, one file per
// noun, shaped like Azure ML CLI v2 (`az ml job create --file ...` becomes
// `ciel job create --file ...`). Every command reaches the server only through
// the public client package; the only thing cli starts itself is the local
// server process (see autostart.go).
//
// cli is not a library for other packages: its only exported names are what
// cmd/ciel needs to build, run and exit.
package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ciel-mlops/ciel/internal/api"
)

// Exit codes of the ciel command.
const (
	// ExitFailure is a runtime error, a failed or canceled job.
	ExitFailure = 1
	// ExitUsage is a usage or validation error: bad flags, a bad spec file.
	ExitUsage = 2
	// ExitInterrupted is an interrupt (Ctrl-C) while following a job; the
	// job itself keeps running.
	ExitInterrupted = 130
)

// ExitError is an error that asks the process to exit with Code. main
// prints Err (when there is one) and exits with Code.
type ExitError struct {
	Code int
	Err  error
}

// Error returns the wrapped error's message, or "exit status N".
func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

// Unwrap returns the wrapped error.
func (e *ExitError) Unwrap() error { return e.Err }

// ExitCode returns the code the process should exit with for err: 0 for
// nil, the Code of an *ExitError in its chain, and ExitFailure otherwise.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return ExitFailure
}

// usageError marks err as a usage or validation error (exit code 2).
func usageError(err error) error {
	if err == nil {
		return nil
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return err
	}
	return &ExitError{Code: ExitUsage, Err: err}
}

// usageErrorf is usageError(fmt.Errorf(...)).
func usageErrorf(format string, args ...any) error {
	return usageError(fmt.Errorf(format, args...))
}

// Config configures the command tree NewRoot builds. Zero fields take the
// process's own (os.Args, os.Stdin, os.Getenv, ...), so main passes
// Config{} and tests inject what they capture.
type Config struct {
	// Args are the command line arguments without the program name.
	Args []string
	// Stdin, Stdout and Stderr are where commands read and write.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Getenv reads CIEL_HOME, CIEL_URL, CIEL_TOKEN, CIEL_BLOB and the S3
	// keys.
	Getenv func(string) string
	// Executable is the binary started as `<Executable> server run` when
	// no server is running; it defaults to this process's own.
	Executable string
	// Serve runs the server for `ciel server run`; it defaults to api.Serve.
	Serve func(ctx context.Context, cfg api.Config) error
	// Version and Commit are the release and commit this binary was built
	// from (main's -X main.version=... -X main.commit=...); "" falls back
	// to what Go recorded in the binary.
	Version, Commit string
}

// base is what every command shares: where to write, the environment, and
// the way to the server. Commands embed it.
type base struct {
	in          io.Reader
	out, errOut io.Writer
	home        string // CIEL_HOME
	homeErr     error  // why home is unknown, if it is
	url, token  string // CIEL_URL, CIEL_TOKEN
	executable  string
	serve       func(ctx context.Context, cfg api.Config) error
	// ci holds the lineage tags of a command run inside a pipeline job
	// (lineage.go).
	ci map[string]string
	// envDefaults are defaults set in the environment, as az reads them
	// (AZURE_DEFAULTS_WORKSPACE, ...); they win over the config file's.
	envDefaults defaultValues
	// getenv reads the environment (HOME, XDG_CONFIG_HOME for
	// install-service).
	getenv func(string) string
}

func newBase(cfg Config) *base {
	b := &base{in: cfg.Stdin, out: cfg.Stdout, errOut: cfg.Stderr, executable: cfg.Executable, serve: cfg.Serve}
	if b.in == nil {
		b.in = os.Stdin
	}
	if b.out == nil {
		b.out = os.Stdout
	}
	if b.errOut == nil {
		b.errOut = os.Stderr
	}
	if b.serve == nil {
		b.serve = api.Serve
	}
	getenv := cfg.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	b.getenv = getenv
	b.url, b.token = strings.TrimSpace(getenv("CIEL_URL")), getenv("CIEL_TOKEN")
	b.home = getenv("CIEL_HOME")
	b.ci = ciTags(getenv)
	b.envDefaults = envDefaults(getenv)
	if b.home == "" {
		dir, err := os.UserHomeDir()
		if err != nil {
			b.homeErr = fmt.Errorf("find home directory (set CIEL_HOME): %w", err)
		} else {
			b.home = filepath.Join(dir, ".ciel")
		}
	} else if abs, err := filepath.Abs(b.home); err == nil {
		b.home = abs
	}
	return b
}

// cielHome returns CIEL_HOME, or why it is unknown.
func (b *base) cielHome() (string, error) {
	return b.home, b.homeErr
}

// NewRoot builds the `ciel` command tree. Errors come back from Execute
// unprinted (SilenceErrors); main prints them and exits with ExitCode(err).
func NewRoot(cfg Config) *cobra.Command {
	b := newBase(cfg)
	root := &cobra.Command{
		Use:   "ciel",
		Short: "Run Azure ML CLI v2 jobs, pipelines and assets on your own machine",
		Long: `ciel runs Azure ML CLI v2 files locally: the nouns, verbs, flags and YAML
are those of 'az ml', so 'az ml job create --file pipeline.yml --stream'
becomes 'ciel job create --file pipeline.yml --stream'.

Environment:
  CIEL_HOME   where the local server keeps its state (default ~/.ciel)
  CIEL_URL    use the shared server at this URL instead of a local one
  CIEL_TOKEN  bearer token for that server
  CIEL_BLOB   the blob store 'ciel server run' uses (s3://bucket?endpoint=...;
              default: the folder CIEL_HOME/blobs)
  CIEL_STORE  the metadata store 'ciel server run' uses (postgres://...;
              default: the SQLite file CIEL_HOME/ciel.db)`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.ArbitraryArgs,
		RunE:          groupRunE,
	}
	root.SetIn(b.in)
	root.SetOut(b.out)
	root.SetErr(b.errOut)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError(err) })
	root.AddCommand(
		newWorkspaceCommand(b),
		newConfigureCommand(b),
		newComputeCommand(b),
		newDataCommand(b),
		newDatastoreCommand(b),
		newEnvironmentCommand(b),
		newComponentCommand(b),
		newJobCommand(b),
		newScheduleCommand(b),
		newRunCommand(b),
		newModelCommand(b),
		newExperimentCommand(b),
		newEndpointCommand(b),
		newDeploymentCommand(b),
		newBatchEndpointCommand(b),
		newBatchDeploymentCommand(b),
		newReposCommand(b),
		newPipelinesCommand(b),
		newDataFactoryCommand(b),
		newAzCommand(b, cfg),
		newServerCommand(b),
		newStudioCommand(b),
		newVersionCommand(b, cfg.Version, cfg.Commit),
		newStepCommand(b),
		newServingCommand(b),
	)
	args := cfg.Args
	if args == nil {
		args = os.Args[1:]
	}
	root.SetArgs(expandAbbreviations(root, expandMultiValueFlags(args)))
	return root
}

// newGroup returns a command that only holds subcommands: run bare it
// prints its help; run with an unknown subcommand it is a usage error.
func newGroup(use, short string, subs ...*cobra.Command) *cobra.Command {
	g := &cobra.Command{Use: use, Short: short, Args: cobra.ArbitraryArgs, RunE: groupRunE}
	g.AddCommand(subs...)
	return g
}

func groupRunE(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErrorf("unknown command %q for %q; see '%s --help'", args[0], cmd.CommandPath(), cmd.CommandPath())
	}
	return cmd.Help()
}

// validator is what every command's options implement.
type validator interface {
	// Validate reports the first problem with the options as given; it does
	// no I/O.
	Validate() error
}

// defaultsTaker is implemented by options that fall back to the values set
// with `ciel configure --defaults` (the workspace scope does).
type defaultsTaker interface {
	applyDefaults(d defaultValues)
}

// runner is a command body: Run does the work for validated options and
// writes to the writers its base holds.
type runner[O validator] interface {
	Run(ctx context.Context, opts O) error
}

// runE turns a runner into a cobra RunE: apply configured defaults, validate
// (failures are usage errors), run, and translate errors for the user.
func runE[O validator](b *base, r runner[O], opts O) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			return usageErrorf("unexpected argument %q (every value is given with a flag, e.g. --name)", args[0])
		}
		if dt, ok := any(opts).(defaultsTaker); ok {
			d, err := b.loadDefaults()
			if err != nil {
				return err
			}
			maps.Copy(d, b.envDefaults)
			dt.applyDefaults(d)
		}
		if err := opts.Validate(); err != nil {
			return usageError(err)
		}
		return b.explain(r.Run(cmd.Context(), opts))
	}
}

// isMultiValueFlag reports whether a flag takes several space-separated
// values like az's nargs flags: `--set a=1 b=2` is `--set a=1 --set b=2`.
func isMultiValueFlag(name string) bool {
	switch name {
	case "--set", "--tags", "--defaults", "--traffic", "--mirror-traffic", "--parameters", "--variables":
		return true
	}
	return false
}

// expandMultiValueFlags rewrites az-style multi-value flags into repeated
// flags cobra understands. After such a flag, every following word that does
// not start with "-" and holds a "=" is another value of it.
func expandMultiValueFlags(args []string) []string {
	out := make([]string, 0, len(args))
	current := "" // the multi-value flag being continued
	needValue := false
	for i, a := range args {
		switch {
		case a == "--":
			return append(out, args[i:]...)
		case needValue:
			out = append(out, a)
			needValue = false
		case strings.HasPrefix(a, "-"):
			name, _, hasValue := strings.Cut(a, "=")
			current, needValue = "", false
			if isMultiValueFlag(name) {
				current, needValue = name, !hasValue
			}
			out = append(out, a)
		case current != "" && strings.Contains(a, "="):
			out = append(out, current, a)
		default:
			out = append(out, a)
			current = ""
		}
	}
	return out
}

// confirm asks question on w and reads the answer from r: "y" or "yes"
// confirms. No answer at all (stdin closed) is a usage error telling to pass
// --yes.
func confirm(r io.Reader, w io.Writer, question string) (bool, error) {
	fmt.Fprintf(w, "%s (y/n): ", question)
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && line == "" {
		fmt.Fprintln(w)
		return false, usageErrorf("no answer on stdin; pass --yes to confirm")
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}
