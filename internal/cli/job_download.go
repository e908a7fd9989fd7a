package cli

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"github.com/ciel-mlops/ciel/client"
	"github.com/ciel-mlops/ciel/internal/progress"
)

// artifactsOutput is the output name the server gives what steps wrote to
// ./outputs and ./logs.
const artifactsOutput = "artifacts"

// jobDownloadOpts are the options of `ciel job download`.
type jobDownloadOpts struct {
	scope
	Name         string
	OutputName   string
	All          bool
	DownloadPath string
}

// Validate checks the name and that --output-name and --all are not both
// given.
func (o *jobDownloadOpts) Validate() error {
	if o.Name == "" {
		return errors.New("--name is required")
	}
	if o.OutputName != "" && o.All {
		return errors.New("give --output-name or --all, not both")
	}
	if o.DownloadPath == "" {
		return errors.New("--download-path must not be empty")
	}
	return o.scope.validate()
}

// download is one output to fetch and where it goes.
type download struct {
	output string
	dir    string
	// optional downloads (artifacts, and every output with --all) are
	// skipped with a note when the job has none.
	optional bool
}

// plan returns the downloads az would make: the named output under
// named-outputs/<name>; by default the artifacts under artifacts/; with
// --all both the artifacts and every output of the job.
// An output name that would land outside named-outputs/ (the server's
// answer is not trusted with the user's disk) fails the whole plan, before
// anything is downloaded.
func (o *jobDownloadOpts) plan(j client.Job) ([]download, error) {
	namedDir := filepath.Join(o.DownloadPath, "named-outputs")
	if o.OutputName != "" {
		dir, err := joinLocal(namedDir, o.OutputName, "output")
		if err != nil {
			return nil, err
		}
		return []download{{output: o.OutputName, dir: dir}}, nil
	}
	plan := []download{{output: artifactsOutput, dir: filepath.Join(o.DownloadPath, "artifacts"), optional: true}}
	if o.All {
		for _, name := range slices.Sorted(maps.Keys(j.Outputs)) {
			dir, err := joinLocal(namedDir, name, fmt.Sprintf("output of job %s", j.Name))
			if err != nil {
				return nil, err
			}
			plan = append(plan, download{output: name, dir: dir, optional: true})
		}
	}
	return plan, nil
}

type jobDownloadCmd struct{ *base }

// Run downloads the job's outputs and extracts them under --download-path.
func (c *jobDownloadCmd) Run(ctx context.Context, o *jobDownloadOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	j, err := cl.GetJob(ctx, o.Workspace, o.Name)
	if err != nil {
		return fmt.Errorf("download job %q: %w", o.Name, err)
	}
	plan, err := o.plan(j)
	if err != nil {
		return fmt.Errorf("download job %q: %w", o.Name, err)
	}
	for _, d := range plan {
		n, err := c.downloadOne(ctx, cl, o.Workspace, o.Name, d)
		if err != nil {
			return err
		}
		if n >= 0 {
			fmt.Fprintf(c.out, "Downloaded %s of job %s to %s (%s)\n", d.output, o.Name, d.dir, plural(n, "file"))
		}
	}
	return nil
}

// downloadOne fetches one output; it returns -1 for an optional output the
// job does not have.
func (c *jobDownloadCmd) downloadOne(ctx context.Context, cl *client.Client, ws, job string, d download) (int, error) {
	body, err := cl.DownloadOutput(ctx, ws, job, d.output)
	if d.optional && client.IsNotFound(err) {
		fmt.Fprintf(c.out, "Job %s has no %s to download\n", job, d.output)
		return -1, nil
	}
	if err != nil {
		return 0, fmt.Errorf("download output %q of job %q: %w", d.output, job, err)
	}
	defer body.Close()
	meter := progress.Reader(body, progress.Terminal(), "Downloading "+d.output)
	n, err := extractTar(meter, d.dir)
	meter.Done()
	if err != nil {
		return n, fmt.Errorf("download output %q of job %q: %w", d.output, job, err)
	}
	return n, nil
}

func newJobDownloadCommand(b *base) *cobra.Command {
	opts := &jobDownloadOpts{}
	cmd := &cobra.Command{
		Use:   "download",
		Short: "Download a job's outputs and artifacts",
		Long: `Download a job's outputs like az: a named output goes under
<download-path>/named-outputs/<output>/, the artifacts (what steps wrote to
./outputs and ./logs) under <download-path>/artifacts/. Without
--output-name, the artifacts are downloaded; --all adds every output.`,
		Example: `  ciel job download --name my_job --output-name model --download-path ./out
  ciel job download --name my_job --all`,
		RunE: runE(b, &jobDownloadCmd{b}, opts),
	}
	f := cmd.Flags()
	opts.scope.bind(f)
	f.StringVarP(&opts.Name, "name", "n", "", "job name")
	f.StringVar(&opts.OutputName, "output-name", "", "a named output: a pipeline output or step.output")
	f.BoolVar(&opts.All, "all", false, "download the artifacts and every output")
	f.StringVarP(&opts.DownloadPath, "download-path", "p", ".", "directory to download into")
	return cmd
}

// plural returns "1 file", "2 files".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
