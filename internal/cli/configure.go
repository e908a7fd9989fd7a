package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// defaultValues are the values set with `ciel configure --defaults`, by name:
// "workspace", "group" and "location", like `az configure --defaults`.
type defaultValues map[string]string

// defaultKeys are the names `configure --defaults` accepts.
var defaultKeys = []string{"workspace", "group", "location"}

// configFile is CIEL_HOME/config.json.
type configFile struct {
	Defaults defaultValues `json:"defaults,omitempty"`
}

func (b *base) configPath() (string, error) {
	home, err := b.cielHome()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, "config.json"), nil
}

// envDefaults returns the defaults the environment sets, under az's names
// for them (az maps config key defaults.workspace to
// AZURE_DEFAULTS_WORKSPACE); a pipeline job gets its workspace this way.
func envDefaults(getenv func(string) string) defaultValues {
	d := defaultValues{}
	for key, env := range map[string]string{"workspace": "AZURE_DEFAULTS_WORKSPACE", "group": "AZURE_DEFAULTS_GROUP",
		"location": "AZURE_DEFAULTS_LOCATION"} {
		if v := strings.TrimSpace(getenv(env)); v != "" {
			d[key] = v
		}
	}
	return d
}

// loadDefaults reads the configured defaults; a missing file means none.
func (b *base) loadDefaults() (defaultValues, error) {
	path, err := b.configPath()
	if err != nil {
		return nil, err
	}
	return readDefaults(path)
}

func readDefaults(path string) (defaultValues, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return defaultValues{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	var cf configFile
	if err := json.Unmarshal(raw, &cf); err != nil {
		return nil, fmt.Errorf("read config %s: %w", path, err)
	}
	if cf.Defaults == nil {
		cf.Defaults = defaultValues{}
	}
	return cf.Defaults, nil
}

// writeDefaults replaces the config file atomically (write, then rename).
func writeDefaults(path string, d defaultValues) error {
	raw, err := json.MarshalIndent(configFile{Defaults: d}, "", "  ")
	if err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".config-*.json")
	if err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(raw, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("write config: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	return nil
}

// scope is the workspace a command works in: -w/--workspace-name and
// -g/--resource-group, falling back to the configured defaults. The
// resource group is only recorded; locally workspaces are unique by name.
type scope struct {
	Workspace     string
	ResourceGroup string
}

func (s *scope) bind(fs *pflag.FlagSet) {
	fs.StringVarP(&s.Workspace, "workspace-name", "w", "", "workspace (default: the one set with ciel configure --defaults workspace=<name>)")
	fs.StringVarP(&s.ResourceGroup, "resource-group", "g", "", "resource group, recorded only (default: ciel configure --defaults group=<name>)")
}

func (s *scope) applyDefaults(d defaultValues) {
	if s.Workspace == "" {
		s.Workspace = d["workspace"]
	}
	if s.ResourceGroup == "" {
		s.ResourceGroup = d["group"]
	}
}

func (s *scope) validate() error {
	if s.Workspace == "" {
		return errors.New("no workspace given: pass --workspace-name/-w, or set a default with `ciel configure --defaults workspace=<name>`")
	}
	return nil
}

// parseKeyValues parses k=v words (for --defaults, --tags); flag names the
// flag in errors.
func parseKeyValues(flag string, words []string) (map[string]string, error) {
	out := make(map[string]string, len(words))
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("%s: %q is not key=value", flag, w)
		}
		out[strings.TrimSpace(k)] = v
	}
	return out, nil
}

// configureOpts are the options of `ciel configure`.
type configureOpts struct {
	Defaults     []string
	ListDefaults bool
	output
}

// Validate checks exactly one action is asked for and its values.
func (o *configureOpts) Validate() error {
	if (len(o.Defaults) > 0) == o.ListDefaults {
		return errors.New("give either --defaults key=value ... or --list-defaults")
	}
	kv, err := parseKeyValues("--defaults", o.Defaults)
	if err != nil {
		return err
	}
	for k := range kv {
		if !slices.Contains(defaultKeys, k) {
			return fmt.Errorf("--defaults: unknown key %q (known: %s)", k, strings.Join(defaultKeys, ", "))
		}
	}
	return o.output.validate()
}

type configureCmd struct{ *base }

// defaultEntry is one line of --list-defaults, shaped like az's.
type defaultEntry struct {
	Name   string `json:"name"`
	Source string `json:"source"`
	Value  string `json:"value"`
}

// Run sets defaults (an empty value removes one) or lists them.
func (c *configureCmd) Run(_ context.Context, o *configureOpts) error {
	path, err := c.configPath()
	if err != nil {
		return err
	}
	d, err := readDefaults(path)
	if err != nil {
		return err
	}
	if o.ListDefaults {
		entries := []defaultEntry{}
		for _, k := range defaultKeys {
			if v, ok := d[k]; ok {
				entries = append(entries, defaultEntry{Name: k, Source: path, Value: v})
			}
		}
		return o.print(c.out, entries, func() *textTable {
			t := newTable("Name", "Source", "Value")
			for _, e := range entries {
				t.Row(e.Name, e.Source, e.Value)
			}
			return t
		})
	}
	kv, _ := parseKeyValues("--defaults", o.Defaults) // validated
	for k, v := range kv {
		if v == "" {
			delete(d, k)
		} else {
			d[k] = v
		}
	}
	return writeDefaults(path, d)
}

func newConfigureCommand(b *base) *cobra.Command {
	opts := &configureOpts{}
	cmd := &cobra.Command{
		Use:   "configure",
		Short: "Set or list defaults for the workspace, resource group and location",
		Example: `  ciel configure --defaults workspace=ml_workspace group=ml_rg location=eastus
  ciel configure --defaults workspace=''   # remove a default
  ciel configure --list-defaults -o table`,
		RunE: runE(b, &configureCmd{b}, opts),
	}
	cmd.Flags().StringArrayVar(&opts.Defaults, "defaults", nil, "space-separated key=value defaults: workspace, group, location")
	cmd.Flags().BoolVarP(&opts.ListDefaults, "list-defaults", "l", false, "list the defaults")
	opts.output.bind(cmd.Flags(), formatJSON)
	return cmd
}
