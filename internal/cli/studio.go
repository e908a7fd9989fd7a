package cli

import (
	"context"
	"fmt"
	"net/url"
	"os/exec"
	"runtime"
	"strings"

	"github.com/spf13/cobra"
)

// studioOpts are the options of `ciel studio`.
type studioOpts struct {
	scope
	NoBrowser bool
}

// Validate accepts any workspace: with none the studio opens at its home.
func (o *studioOpts) Validate() error { return nil }

type studioCmd struct{ *base }

func newStudioCommand(b *base) *cobra.Command {
	opts := &studioOpts{}
	cmd := &cobra.Command{
		Use:   "studio",
		Short: "Open the web studio in a browser",
		Long: `Open the web studio of the server this CLI uses (the local one, started
if needed, or CIEL_URL) in a browser: the default workspace's page, or the
studio's home with none. With --no-browser, or where no browser opener
($BROWSER, xdg-open, open) is found, print the URL instead. A server with a
token asks for it once, on its sign-in page.`,
		Example: `  ciel studio
  ciel studio -w ml_workspace --no-browser`,
		RunE: runE(b, &studioCmd{b}, opts),
	}
	opts.scope.bind(cmd.Flags())
	cmd.Flags().BoolVar(&opts.NoBrowser, "no-browser", false, "print the studio's URL without opening a browser")
	return cmd
}

// Run prints the studio's URL and opens it.
func (c *studioCmd) Run(ctx context.Context, o *studioOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	u := strings.TrimSuffix(cl.URL(), "/") + "/"
	if o.Workspace != "" {
		u += "workspaces/" + url.PathEscape(o.Workspace)
	}
	fmt.Fprintf(c.out, "Studio: %s\n", u)
	if c.token != "" {
		fmt.Fprintln(c.out, "Sign in with the server's token (CIEL_TOKEN) when the studio asks.")
	}
	if o.NoBrowser {
		return nil
	}
	opener := c.browserOpener()
	if opener == "" {
		fmt.Fprintln(c.errOut, "No browser opener found ($BROWSER, xdg-open, open); open the URL above yourself.")
		return nil
	}
	cmd := exec.Command(opener, u)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("open the studio with %s: %w", opener, err)
	}
	// The opener hands the URL to the browser and exits; it is not waited
	// for, so a browser it runs in the foreground does not hold the CLI.
	return cmd.Process.Release()
}

// browserOpener is the program that opens a URL: $BROWSER as Python's
// webbrowser takes it, else the platform's opener, "" when none is found.
func (c *studioCmd) browserOpener() string {
	if b := strings.TrimSpace(c.getenv("BROWSER")); b != "" {
		if p, err := exec.LookPath(strings.SplitN(b, ":", 2)[0]); err == nil {
			return p
		}
	}
	name := "xdg-open"
	if runtime.GOOS == "darwin" {
		name = "open"
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	return ""
}
