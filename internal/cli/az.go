package cli

import (
	"bytes"
	"context"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// azMLNouns are the `az ml` nouns ciel's az carries out; each is the ciel
// command of the same name, so `az ml job show -n x` runs `ciel job show -n x`.
var azMLNouns = []string{
	"job", "environment", "data", "datastore", "compute", "component", "model",
	"online-endpoint", "online-deployment", "batch-endpoint", "batch-deployment", "workspace", "schedule",
}

// azCommandOpts are the words and flags of one `ciel az ...` line, with az's
// global flags taken out of it.
type azCommandOpts struct {
	azGlobals
	Words []string // the command path: "ml", "job", "create"
	Rest  []string // what follows it, passed on as it is
	Help  bool
}

// Validate checks the global flags; which commands are carried out is
// decided by Run.
func (o *azCommandOpts) Validate() error {
	return o.azGlobals.validate()
}

// azCmd runs one az command line: the `az ml` ones, and `az configure`,
// through ciel's own command tree in-process; the account, login, version
// and extension ones answer locally, as a logged-in az with the ml
// extension would.
type azCmd struct {
	*base
	cfg Config // the Config the outer root was built with, for the inner ones
}

func newAzCommand(b *base, cfg Config) *cobra.Command {
	c := &azCmd{base: b, cfg: cfg}
	cmd := &cobra.Command{
		Use:   "az",
		Short: "Carry out the az (Azure CLI) commands ML pipelines use, with ciel",
		Long: `ciel az carries out the 'az' commands that ML pipelines run, against ciel's own
server and workspace: an 'az' on PATH inside pipeline steps is this command.

Carried out:
  az ml job create|show|list|stream|cancel|download|archive|restore
  az ml environment|data|compute|component|model|workspace|schedule <verb>
  az ml online-endpoint|online-deployment|batch-endpoint|batch-deployment <verb>
  az datafactory <noun> <verb> (ciel data-factory's)
  az configure --defaults group=<rg> workspace=<ws>
  az account show|list|set, az login, az logout, az version
  az extension add|update|show -n ml, az extension list

Global flags, anywhere on the line: --query <JMESPath>,
-o/--output json|jsonc|tsv|table|yaml|yamlc|none, -g/--resource-group,
-w/--workspace-name, --subscription (recorded only), --only-show-errors,
--debug, --verbose. Any other az command fails (exit 2) naming it.`,
		Example: `  ciel az ml job create -f pipeline.yml --set inputs.lr=0.1 --query name -o tsv
  ciel az ml job show -n $RUN_ID --query status -o tsv
  ciel az account show --query id -o tsv`,
		DisableFlagParsing: true,
		Args:               cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := parseAzLine(args)
			if err != nil {
				return usageError(err)
			}
			if opts.Help && len(opts.Words) == 0 || len(opts.Words) == 0 && len(opts.Rest) == 0 {
				return cmd.Help()
			}
			if err := opts.Validate(); err != nil {
				return usageError(err)
			}
			return c.Run(cmd.Context(), opts)
		},
	}
	return cmd
}

// parseAzLine takes az's global flags out of args and splits the rest into
// the command's words and what follows them.
func parseAzLine(args []string) (*azCommandOpts, error) {
	o := &azCommandOpts{}
	rest, err := o.azGlobals.take(args)
	if err != nil {
		return nil, err
	}
	i := 0
	for i < len(rest) && !strings.HasPrefix(rest[i], "-") {
		i++
	}
	o.Words, o.Rest = rest[:i], rest[i:]
	o.Help = slices.Contains(o.Rest, "-h") || slices.Contains(o.Rest, "--help")
	return o, nil
}

// Run carries out the command the words name, or fails naming it.
func (c *azCmd) Run(ctx context.Context, o *azCommandOpts) error {
	w := o.Words
	switch {
	case len(w) >= 3 && w[0] == "ml" && slices.Contains(azMLNouns, w[1]):
		return c.runCiel(ctx, o, w[1:3], append(slices.Clone(w[3:]), o.Rest...))
	case len(w) >= 3 && w[0] == "datafactory":
		// az datafactory <noun> <verb> is ciel data-factory's.
		return c.runCiel(ctx, o, []string{"data-factory", w[1], w[2]}, append(slices.Clone(w[3:]), o.Rest...))
	case len(w) == 1 && w[0] == "configure":
		return c.runCiel(ctx, o, w[:1], o.Rest)
	}
	if handled, err := c.runLocal(ctx, o); handled {
		return err
	}
	return unsupportedAz(o.Words)
}

// unsupportedAz is the error for an az command ciel does not carry out.
func unsupportedAz(words []string) error {
	return usageErrorf("ciel's az does not carry out `az %s`; it carries out az ml job|environment|data|compute|component|model|"+
		"online-endpoint|online-deployment|workspace commands, az configure, az account show|list|set, az login, az logout, "+
		"az version and az extension add|update|show|list for ml (see `ciel az --help`)", strings.Join(words, " "))
}

// root builds a fresh ciel command tree for args, writing to out.
func (c *azCmd) root(args []string, out io.Writer) *cobra.Command {
	cfg := c.cfg
	cfg.Args, cfg.Stdin, cfg.Stdout, cfg.Stderr = args, c.in, out, c.errOut
	return NewRoot(cfg)
}

// runCiel runs `ciel <path...> <rest...>` in-process. The global -w and -g
// go to the command when it takes them. A command with -o/--output runs
// with -o json and its output is queried and printed the az way; one
// without it (or that follows a job live with --stream) writes straight
// through, unless a --query asks for its JSON.
func (c *azCmd) runCiel(ctx context.Context, o *azCommandOpts, path, rest []string) error {
	probe, _, err := c.root(path, io.Discard).Find(path)
	if err != nil || probe.Name() != path[len(path)-1] || probe.HasSubCommands() {
		return unsupportedAz(o.Words)
	}
	args := append(slices.Clone(path), rest...)
	fs := probe.Flags()
	for _, f := range []struct{ flag, value string }{
		{"workspace-name", o.Workspace}, {"resource-group", o.Group},
	} {
		if f.value != "" && fs.Lookup(f.flag) != nil {
			args = append(args, "--"+f.flag, f.value)
		}
	}
	_ = fs.Parse(expandMultiValueFlags(rest)) // only to see --stream; the run parses afresh
	streaming := fs.Lookup("stream") != nil && fs.Lookup("stream").Changed
	// A command whose -o has no default (invoke) prints its answer as it
	// came unless asked otherwise; az passes that through, as before.
	hasOutput := fs.Lookup("output") != nil && fs.Lookup("output").DefValue != ""
	if o.Help || streaming || !hasOutput && o.Query == "" {
		return c.root(args, c.out).ExecuteContext(ctx)
	}
	if hasOutput {
		args = append(args, "--output", formatJSON)
	}
	var buf bytes.Buffer
	if err := c.root(args, &buf).ExecuteContext(ctx); err != nil {
		return err
	}
	return o.azGlobals.printRaw(c.out, buf.Bytes())
}
