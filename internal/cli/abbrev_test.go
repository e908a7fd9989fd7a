package cli

import (
	"slices"
	"testing"

	"github.com/spf13/cobra"
)

func TestExpandAbbreviations(t *testing.T) {
	root := &cobra.Command{Use: "ciel"}
	root.PersistentFlags().String("workspace-name", "", "")
	invoke := &cobra.Command{Use: "invoke", Run: func(*cobra.Command, []string) {}}
	f := invoke.Flags()
	f.StringP("file", "f", "", "")
	f.String("name", "", "")
	f.Bool("no-wait", false, "")
	f.StringArray("set", nil, "")
	root.AddCommand(&cobra.Command{Use: "batch-endpoint"})
	root.Commands()[0].AddCommand(invoke)
	tests := []struct{ in, want []string }{
		// az's parser takes a unique prefix; azureml-examples write --f.
		{[]string{"batch-endpoint", "invoke", "-n", "x", "--f", "inputs.yml"}, []string{"batch-endpoint", "invoke", "-n", "x", "--file", "inputs.yml"}},
		{[]string{"batch-endpoint", "invoke", "--f=in.yml", "--work", "w"}, []string{"batch-endpoint", "invoke", "--file=in.yml", "--workspace-name", "w"}},
		// --n is --name or --no-wait: left for cobra to refuse.
		{[]string{"batch-endpoint", "invoke", "--n", "x"}, []string{"batch-endpoint", "invoke", "--n", "x"}},
		// A flag's value is never expanded, nor what follows --.
		{[]string{"batch-endpoint", "invoke", "--set", "--f", "--fi"}, []string{"batch-endpoint", "invoke", "--set", "--f", "--file"}},
		{[]string{"batch-endpoint", "invoke", "--no-w", "--f", "a", "--", "--f"}, []string{"batch-endpoint", "invoke", "--no-wait", "--file", "a", "--", "--f"}},
		// Whole names and short flags stay as they are.
		{[]string{"batch-endpoint", "invoke", "--file", "a", "-f", "b"}, []string{"batch-endpoint", "invoke", "--file", "a", "-f", "b"}},
		{[]string{"nope", "--f"}, []string{"nope", "--f"}},
	}
	for _, tt := range tests {
		if got := expandAbbreviations(root, slices.Clone(tt.in)); !slices.Equal(got, tt.want) {
			t.Errorf("%q:\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}
