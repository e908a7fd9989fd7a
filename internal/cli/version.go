package cli

import (
	"context"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// versionInfo is what `ciel version` prints.
type versionInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Modified  bool   `json:"modified,omitempty"` // built from a tree with uncommitted changes
	BuildTime string `json:"build_time,omitempty"`
	GoVersion string `json:"go_version"`
	Platform  string `json:"platform"`
}

// buildVersion describes this binary: version and commit are what main was
// built with (-ldflags "-X main.version=v1.2.3 -X main.commit=..."); without
// them, the module version Go recorded ("(devel)" for a local build) and
// the VCS stamp Go writes into binaries built in a git checkout.
func buildVersion(version, commit string, info *debug.BuildInfo, ok bool) versionInfo {
	v := versionInfo{Version: version, Commit: commit, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if ok && info != nil {
		if v.Version == "" {
			v.Version = info.Main.Version
		}
		if info.GoVersion != "" {
			v.GoVersion = info.GoVersion
		}
		for _, s := range info.Settings {
			switch {
			case s.Key == "vcs.revision" && v.Commit == "":
				v.Commit = s.Value
			case s.Key == "vcs.modified" && commit == "":
				v.Modified = s.Value == "true"
			case s.Key == "vcs.time":
				v.BuildTime = s.Value
			}
		}
	}
	if v.Version == "" {
		v.Version = "(devel)"
	}
	if v.Commit == "" {
		v.Commit = "unknown"
	}
	return v
}

func (v versionInfo) table() *textTable {
	t := newTable("Version", "Commit", "Go", "Platform")
	commit := v.Commit
	if v.Modified {
		commit += " (modified)"
	}
	t.Row(v.Version, commit, v.GoVersion, v.Platform)
	return t
}

// versionOpts are the options of `ciel version`.
type versionOpts struct {
	output
}

// Validate checks the output options.
func (o *versionOpts) Validate() error { return o.output.validate() }

type versionCmd struct {
	*base
	version, commit string
}

// Run prints the binary's version, commit and Go version; it needs no
// server.
func (c *versionCmd) Run(_ context.Context, o *versionOpts) error {
	info, ok := debug.ReadBuildInfo()
	v := buildVersion(c.version, c.commit, info, ok)
	return o.print(c.out, v, v.table)
}

func newVersionCommand(b *base, version, commit string) *cobra.Command {
	opts := &versionOpts{}
	cmd := &cobra.Command{
		Use:     "version",
		Short:   "Print ciel's version, the commit it was built from and its Go version",
		Example: "  ciel version\n  ciel version -o json\n  ciel version --query commit -o tsv",
		RunE:    runE(b, &versionCmd{b, version, commit}, opts),
	}
	opts.output.bind(cmd.Flags(), formatTable)
	return cmd
}
