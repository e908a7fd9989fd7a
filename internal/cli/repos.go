package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ciel-mlops/ciel/client"
)

// newReposCommand is `ciel repos`, as `az repos`: git repositories hosted
// by the server, cloned and pushed with git over HTTP.
func newReposCommand(b *base) *cobra.Command {
	return newGroup("repos", "Manage git repositories hosted by ciel",
		newRepoCreateCommand(b),
		newRepoShowCommand(b),
		newRepoListCommand(b),
		newRepoDeleteCommand(b),
	)
}

// repoTable is the table view of repositories.
func repoTable(repos ...client.Repository) func() *textTable {
	return func() *textTable {
		t := newTable("Name", "Default branch", "Remote URL")
		for _, r := range repos {
			t.Row(r.Name, r.DefaultBranch, r.RemoteURL)
		}
		return t
	}
}

// repoOpts are the options of the repos commands that name one.
type repoOpts struct {
	scope
	Name string
	Yes  bool
	output
}

// Validate checks a repository and a workspace are named.
func (o *repoOpts) Validate() error {
	if o.Name == "" {
		return errors.New("--name is required")
	}
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

func bindRepo(cmd *cobra.Command, o *repoOpts, format string) {
	f := cmd.Flags()
	f.StringVarP(&o.Name, "name", "n", "", "repository name")
	f.StringVar(&o.Name, "repository", "", "repository name (az repos show's flag)")
	o.scope.bind(f)
	o.output.bind(f, format)
}

type repoCreateCmd struct{ *base }

// Run creates an empty repository and prints it, with the URL to push to.
func (c *repoCreateCmd) Run(ctx context.Context, o *repoOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	r, err := cl.CreateRepository(ctx, o.Workspace, o.Name)
	if err != nil {
		return fmt.Errorf("create repository %q: %w", o.Name, err)
	}
	return o.print(c.out, r, repoTable(r))
}

func newRepoCreateCommand(b *base) *cobra.Command {
	opts := &repoOpts{}
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create an empty git repository",
		Example: "  ciel repos create --name churn           # prints remoteUrl\n" +
			"  git remote add ciel <remoteUrl> && git push ciel main",
		RunE: runE(b, &repoCreateCmd{b}, opts),
	}
	bindRepo(cmd, opts, formatJSON)
	return cmd
}

type repoShowCmd struct{ *base }

// Run prints a repository with its branches.
func (c *repoShowCmd) Run(ctx context.Context, o *repoOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	r, err := cl.GetRepository(ctx, o.Workspace, o.Name)
	if err != nil {
		return fmt.Errorf("show repository %q: %w", o.Name, err)
	}
	return o.print(c.out, r, func() *textTable {
		t := newTable("Name", "Default branch", "Remote URL", "Branch", "Commit")
		if len(r.Branches) == 0 {
			t.Row(r.Name, r.DefaultBranch, r.RemoteURL, "", "")
		}
		for _, br := range r.Branches {
			t.Row(r.Name, r.DefaultBranch, r.RemoteURL, br.Name, br.ObjectID)
		}
		return t
	})
}

func newRepoShowCommand(b *base) *cobra.Command {
	opts := &repoOpts{}
	cmd := &cobra.Command{Use: "show", Short: "Show a repository, its remote URL and branches", RunE: runE(b, &repoShowCmd{b}, opts)}
	bindRepo(cmd, opts, formatJSON)
	return cmd
}

// repoListOpts are the options of `ciel repos list`.
type repoListOpts struct {
	scope
	output
}

// Validate checks a workspace is named.
func (o *repoListOpts) Validate() error {
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

type repoListCmd struct{ *base }

// Run prints the workspace's repositories.
func (c *repoListCmd) Run(ctx context.Context, o *repoListOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	repos, err := cl.ListRepositories(ctx, o.Workspace)
	if err != nil {
		return fmt.Errorf("list repositories: %w", err)
	}
	if repos == nil {
		repos = []client.Repository{}
	}
	return o.print(c.out, repos, repoTable(repos...))
}

func newRepoListCommand(b *base) *cobra.Command {
	opts := &repoListOpts{}
	cmd := &cobra.Command{Use: "list", Short: "List repositories", RunE: runE(b, &repoListCmd{b}, opts)}
	opts.scope.bind(cmd.Flags())
	opts.output.bind(cmd.Flags(), formatTable)
	return cmd
}

type repoDeleteCmd struct{ *base }

// Run deletes a repository and its history, after asking unless --yes.
func (c *repoDeleteCmd) Run(ctx context.Context, o *repoOpts) error {
	if !o.Yes {
		ok, err := confirm(c.in, c.errOut, fmt.Sprintf("Delete repository %q and all its history?", o.Name))
		if err != nil || !ok {
			return err
		}
	}
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	if err := cl.DeleteRepository(ctx, o.Workspace, o.Name); err != nil {
		return fmt.Errorf("delete repository %q: %w", o.Name, err)
	}
	return nil
}

func newRepoDeleteCommand(b *base) *cobra.Command {
	opts := &repoOpts{}
	cmd := &cobra.Command{Use: "delete", Short: "Delete a repository and its history", RunE: runE(b, &repoDeleteCmd{b}, opts)}
	bindRepo(cmd, opts, formatJSON)
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}
