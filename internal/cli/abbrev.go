package cli

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// expandAbbreviations writes out long flags given by a prefix of their
// name (--f for --file), which az's argument parser accepts and scripts
// written for az use (azureml-examples invoke batch endpoints with
// `--f inputs.yml`). A prefix is expanded only when exactly one flag of
// the command starts with it; anything else is left for cobra to judge.
func expandAbbreviations(root *cobra.Command, args []string) []string {
	cmd, _, err := root.Find(args)
	if err != nil || cmd == nil || cmd.DisableFlagParsing {
		// ciel az parses its own line, and expands it there.
		return args
	}
	// Merge the persistent flags of the command's parents in, as cobra
	// does before it parses.
	cmd.InitDefaultHelpFlag()
	flags := cmd.Flags()
	flags.AddFlagSet(cmd.InheritedFlags())
	out := make([]string, len(args))
	copy(out, args)
	takesValue := false // the argument before was a flag that takes this one as its value
	for i, a := range out {
		if a == "--" {
			break
		}
		isValue := takesValue
		takesValue = false
		name, ok := strings.CutPrefix(a, "--")
		if !ok || name == "" || isValue {
			continue
		}
		name, value, hasValue := strings.Cut(name, "=")
		if f := flags.Lookup(name); f != nil {
			takesValue = !hasValue && f.NoOptDefVal == ""
			continue
		}
		var match *pflag.Flag
		matches := 0
		flags.VisitAll(func(f *pflag.Flag) {
			if strings.HasPrefix(f.Name, name) {
				match, matches = f, matches+1
			}
		})
		if matches != 1 {
			continue
		}
		out[i] = "--" + match.Name
		if hasValue {
			out[i] += "=" + value
		} else {
			takesValue = match.NoOptDefVal == ""
		}
	}
	return out
}
