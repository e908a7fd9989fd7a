package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ciel-mlops/ciel/client"
	"github.com/ciel-mlops/ciel/internal/spec"
)

func newEndpointCommand(b *base) *cobra.Command {
	return newGroup("online-endpoint", "Manage online endpoints: scoring URIs, keys and traffic among deployments",
		newEndpointCreateCommand(b),
		newEndpointShowCommand(b),
		newEndpointListCommand(b),
		newEndpointUpdateCommand(b),
		newEndpointDeleteCommand(b),
		newEndpointCredentialsCommand(b),
		newEndpointRegenerateKeysCommand(b),
		newEndpointInvokeCommand(b),
	)
}

// endpointTable is the table view of endpoints.
func endpointTable(es ...client.OnlineEndpoint) func() *textTable {
	return func() *textTable {
		t := newTable("Name", "Auth mode", "State", "Traffic", "Scoring URI")
		for _, e := range es {
			t.Row(e.Name, e.AuthMode, e.ProvisioningState, formatTraffic(e.Traffic), e.ScoringURI)
		}
		return t
	}
}

// formatTraffic writes a split as az takes it: "blue=90 green=10".
func formatTraffic(m map[string]int) string {
	var parts []string
	for _, name := range spec.DeploymentNames(m) {
		parts = append(parts, name+"="+strconv.Itoa(m[name]))
	}
	return strings.Join(parts, " ")
}

// endpointNameOpts are the options of the commands that name one endpoint.
type endpointNameOpts struct {
	scope
	Name string
	output
}

// Validate checks the name, workspace and output format.
func (o *endpointNameOpts) Validate() error {
	if o.Name == "" {
		return errors.New("--name is required")
	}
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

func bindEndpointName(cmd *cobra.Command, o *endpointNameOpts, format string) {
	o.scope.bind(cmd.Flags())
	cmd.Flags().StringVarP(&o.Name, "name", "n", "", "endpoint name")
	o.output.bind(cmd.Flags(), format)
}

// endpointCreateOpts are the options of `ciel online-endpoint create`.
type endpointCreateOpts struct {
	scope
	File     string
	Sets     []string
	Name     string
	AuthMode string
	output
}

// Validate checks a file or a name is given.
func (o *endpointCreateOpts) Validate() error {
	if len(o.Sets) > 0 && o.File == "" {
		return errors.New("--set needs --file")
	}
	if o.File == "" && o.Name == "" {
		return errors.New("give --file endpoint.yml, or --name")
	}
	switch o.AuthMode {
	case "", spec.AuthKey, spec.AuthAMLToken:
	default:
		return fmt.Errorf("--auth-mode %q: want key or aml_token", o.AuthMode)
	}
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

// endpoint returns the endpoint the options describe: the file's with
// --set and the flags applied before it is checked, or the flags'.
func (o *endpointCreateOpts) endpoint() (*spec.OnlineEndpoint, error) {
	if o.File == "" {
		return &spec.OnlineEndpoint{Name: o.Name, AuthMode: o.AuthMode}, nil
	}
	e, err := spec.ParseOnlineEndpointFile(o.File, spec.Options{Sets: o.Sets, Fields: []spec.Field{
		{Flag: "--name", Key: "name", Value: o.Name}, {Flag: "--auth-mode", Key: "auth_mode", Value: o.AuthMode},
	}})
	if err != nil {
		return nil, usageError(err)
	}
	return e, nil
}

type endpointCreateCmd struct{ *base }

// Run creates the endpoint and prints it.
func (c *endpointCreateCmd) Run(ctx context.Context, o *endpointCreateOpts) error {
	e, err := o.endpoint()
	if err != nil {
		return err
	}
	e.Tags = c.withLineage(e.Tags)
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	out, err := cl.CreateOnlineEndpoint(ctx, o.Workspace, e)
	if err != nil {
		return fmt.Errorf("create online endpoint %q: %w", e.Name, err)
	}
	return o.print(c.out, out, endpointTable(out))
}

func newEndpointCreateCommand(b *base) *cobra.Command {
	opts := &endpointCreateOpts{}
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create an online endpoint",
		Example: `  ciel online-endpoint create --file endpoint.yml
  ciel online-endpoint create --name model-service --auth-mode key`,
		RunE: runE(b, &endpointCreateCmd{b}, opts),
	}
	f := cmd.Flags()
	opts.scope.bind(f)
	f.StringVarP(&opts.File, "file", "f", "", "endpoint YAML file (managedOnlineEndpoint schema)")
	f.StringArrayVar(&opts.Sets, "set", nil, "override file values: path=value ...")
	f.StringVarP(&opts.Name, "name", "n", "", "endpoint name (overrides the file's)")
	f.StringVar(&opts.AuthMode, "auth-mode", "", "key (default) or aml_token")
	opts.output.bind(f, formatJSON)
	return cmd
}

type endpointShowCmd struct{ *base }

// Run prints one endpoint.
func (c *endpointShowCmd) Run(ctx context.Context, o *endpointNameOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	e, err := cl.GetOnlineEndpoint(ctx, o.Workspace, o.Name)
	if err != nil {
		return fmt.Errorf("show online endpoint %q: %w", o.Name, err)
	}
	return o.print(c.out, e, endpointTable(e))
}

func newEndpointShowCommand(b *base) *cobra.Command {
	opts := &endpointNameOpts{}
	cmd := &cobra.Command{Use: "show", Short: "Show an online endpoint: scoring URI, state and traffic",
		RunE: runE(b, &endpointShowCmd{b}, opts)}
	bindEndpointName(cmd, opts, formatJSON)
	return cmd
}

// endpointListOpts are the options of `ciel online-endpoint list`.
type endpointListOpts struct {
	scope
	output
}

// Validate checks the workspace and output format.
func (o *endpointListOpts) Validate() error {
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

type endpointListCmd struct{ *base }

// Run lists the workspace's endpoints.
func (c *endpointListCmd) Run(ctx context.Context, o *endpointListOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	es, err := cl.ListOnlineEndpoints(ctx, o.Workspace)
	if err != nil {
		return fmt.Errorf("list online endpoints: %w", err)
	}
	return o.print(c.out, es, endpointTable(es...))
}

func newEndpointListCommand(b *base) *cobra.Command {
	opts := &endpointListOpts{}
	cmd := &cobra.Command{Use: "list", Short: "List online endpoints", RunE: runE(b, &endpointListCmd{b}, opts)}
	opts.scope.bind(cmd.Flags())
	opts.output.bind(cmd.Flags(), formatTable)
	return cmd
}

// endpointUpdateOpts are the options of `ciel online-endpoint update`.
type endpointUpdateOpts struct {
	scope
	Name          string
	File          string
	Sets          []string
	Traffic       []string
	MirrorTraffic []string
	output
}

// Validate checks a name (or file) and that something changes.
func (o *endpointUpdateOpts) Validate() error {
	if len(o.Sets) > 0 && o.File == "" {
		return errors.New("--set needs --file")
	}
	if o.Name == "" && o.File == "" {
		return errors.New("--name is required")
	}
	if o.File == "" && o.Traffic == nil && o.MirrorTraffic == nil {
		return errors.New("nothing to change: give --traffic, --mirror-traffic or --file")
	}
	for _, v := range [][]string{o.Traffic, o.MirrorTraffic} {
		if _, err := spec.ParseTraffic(strings.Join(v, " ")); err != nil {
			return err
		}
	}
	if err := o.scope.validate(); err != nil {
		return err
	}
	return o.output.validate()
}

// update returns the change the options ask for: the file's description,
// tags and traffic, then the flags'.
func (o *endpointUpdateOpts) update() (string, client.OnlineEndpointUpdate, error) {
	var u client.OnlineEndpointUpdate
	name := o.Name
	if o.File != "" {
		e, err := spec.ParseOnlineEndpointFile(o.File, spec.Options{Sets: o.Sets, Fields: []spec.Field{
			{Flag: "--name", Key: "name", Value: o.Name},
		}})
		if err != nil {
			return "", u, usageError(err)
		}
		name = e.Name
		u.Description, u.Tags = &e.Description, e.Tags
		u.Traffic, u.MirrorTraffic = e.Traffic, e.MirrorTraffic
	}
	if o.Traffic != nil {
		u.Traffic, _ = spec.ParseTraffic(strings.Join(o.Traffic, " "))
	}
	if o.MirrorTraffic != nil {
		u.MirrorTraffic, _ = spec.ParseTraffic(strings.Join(o.MirrorTraffic, " "))
	}
	return name, u, nil
}

type endpointUpdateCmd struct{ *base }

// Run changes the endpoint and prints it.
func (c *endpointUpdateCmd) Run(ctx context.Context, o *endpointUpdateOpts) error {
	name, u, err := o.update()
	if err != nil {
		return err
	}
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	e, err := cl.UpdateOnlineEndpoint(ctx, o.Workspace, name, u)
	if err != nil {
		return fmt.Errorf("update online endpoint %q: %w", name, err)
	}
	return o.print(c.out, e, endpointTable(e))
}

func newEndpointUpdateCommand(b *base) *cobra.Command {
	opts := &endpointUpdateOpts{}
	cmd := &cobra.Command{
		Use:   "update",
		Short: "Change an online endpoint's traffic, mirrored traffic, description or tags",
		Example: `  ciel online-endpoint update --name model-service --traffic "blue=90 green=10"
  ciel online-endpoint update --name model-service --mirror-traffic "green=10"
  ciel online-endpoint update --file endpoint.yml`,
		RunE: runE(b, &endpointUpdateCmd{b}, opts),
	}
	f := cmd.Flags()
	opts.scope.bind(f)
	f.StringVarP(&opts.Name, "name", "n", "", "endpoint name")
	f.StringVarP(&opts.File, "file", "f", "", "endpoint YAML file")
	f.StringArrayVar(&opts.Sets, "set", nil, "override file values: path=value ...")
	f.StringArrayVarP(&opts.Traffic, "traffic", "r", nil, `live traffic split: "blue=90 green=10" (must add up to 100, or 0)`)
	f.StringArrayVar(&opts.MirrorTraffic, "mirror-traffic", nil, `traffic copied to deployments with no live traffic: "green=10" (at most 50 in all)`)
	opts.output.bind(f, formatJSON)
	return cmd
}

// endpointDeleteOpts are the options of `ciel online-endpoint delete`.
type endpointDeleteOpts struct {
	scope
	Name string
	Yes  bool
}

// Validate checks the name and workspace.
func (o *endpointDeleteOpts) Validate() error {
	if o.Name == "" {
		return errors.New("--name is required")
	}
	return o.scope.validate()
}

type endpointDeleteCmd struct{ *base }

// Run deletes the endpoint and its deployments after asking, unless --yes.
func (c *endpointDeleteCmd) Run(ctx context.Context, o *endpointDeleteOpts) error {
	if !o.Yes {
		ok, err := confirm(c.in, c.errOut, fmt.Sprintf("Delete online endpoint %q and all its deployments?", o.Name))
		if err != nil || !ok {
			return err
		}
	}
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	if err := cl.DeleteOnlineEndpoint(ctx, o.Workspace, o.Name); err != nil {
		return fmt.Errorf("delete online endpoint %q: %w", o.Name, err)
	}
	return nil
}

func newEndpointDeleteCommand(b *base) *cobra.Command {
	opts := &endpointDeleteOpts{}
	cmd := &cobra.Command{Use: "delete", Short: "Delete an online endpoint and its deployments",
		RunE: runE(b, &endpointDeleteCmd{b}, opts)}
	opts.scope.bind(cmd.Flags())
	cmd.Flags().StringVarP(&opts.Name, "name", "n", "", "endpoint name")
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

type endpointCredentialsCmd struct{ *base }

// Run prints the endpoint's keys, or a new token.
func (c *endpointCredentialsCmd) Run(ctx context.Context, o *endpointNameOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	cred, err := cl.OnlineEndpointCredentials(ctx, o.Workspace, o.Name)
	if err != nil {
		return fmt.Errorf("get credentials of online endpoint %q: %w", o.Name, err)
	}
	return o.print(c.out, cred, credentialsTable(cred))
}

func credentialsTable(c client.EndpointCredentials) func() *textTable {
	return func() *textTable {
		if c.AccessToken != "" {
			t := newTable("Token type", "Access token")
			t.Row(c.TokenType, c.AccessToken)
			return t
		}
		t := newTable("Primary key", "Secondary key")
		t.Row(c.PrimaryKey, c.SecondaryKey)
		return t
	}
}

func newEndpointCredentialsCommand(b *base) *cobra.Command {
	opts := &endpointNameOpts{}
	cmd := &cobra.Command{Use: "get-credentials", Short: "Show an endpoint's keys (auth_mode key) or a new token (aml_token)",
		RunE: runE(b, &endpointCredentialsCmd{b}, opts)}
	bindEndpointName(cmd, opts, formatJSON)
	return cmd
}

// endpointRegenerateOpts are the options of `ciel online-endpoint
// regenerate-keys`.
type endpointRegenerateOpts struct {
	endpointNameOpts
	KeyType string
}

// Validate checks the key type.
func (o *endpointRegenerateOpts) Validate() error {
	if o.KeyType != "primary" && o.KeyType != "secondary" {
		return fmt.Errorf("--key-type %q: want primary or secondary", o.KeyType)
	}
	return o.endpointNameOpts.Validate()
}

type endpointRegenerateCmd struct{ *base }

// Run replaces one key and prints both.
func (c *endpointRegenerateCmd) Run(ctx context.Context, o *endpointRegenerateOpts) error {
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	cred, err := cl.RegenerateOnlineEndpointKey(ctx, o.Workspace, o.Name, o.KeyType)
	if err != nil {
		return fmt.Errorf("regenerate the %s key of online endpoint %q: %w", o.KeyType, o.Name, err)
	}
	return o.print(c.out, cred, credentialsTable(cred))
}

func newEndpointRegenerateKeysCommand(b *base) *cobra.Command {
	opts := &endpointRegenerateOpts{}
	cmd := &cobra.Command{Use: "regenerate-keys", Short: "Replace an endpoint's primary or secondary key",
		RunE: runE(b, &endpointRegenerateCmd{b}, opts)}
	bindEndpointName(cmd, &opts.endpointNameOpts, formatJSON)
	cmd.Flags().StringVar(&opts.KeyType, "key-type", "primary", "primary or secondary")
	return cmd
}

// endpointInvokeOpts are the options of `ciel online-endpoint invoke`.
type endpointInvokeOpts struct {
	scope
	Name        string
	RequestFile string
	Deployment  string
	// output is empty unless -o or --query is given: the answer is then
	// printed as it came.
	output
}

// Validate checks the name, request file and output options.
func (o *endpointInvokeOpts) Validate() error {
	if o.Name == "" {
		return errors.New("--name is required")
	}
	if o.RequestFile == "" {
		return errors.New("--request-file is required (a JSON file: the request body)")
	}
	if err := o.scope.validate(); err != nil {
		return err
	}
	if o.Format == "" && o.Query == "" {
		return nil
	}
	if o.Format == "" {
		o.Format = formatJSON
	}
	return o.output.validate()
}

type endpointInvokeCmd struct{ *base }

// Run scores the request file at the endpoint's scoring URI with its key
// (or a token) and prints the answer.
func (c *endpointInvokeCmd) Run(ctx context.Context, o *endpointInvokeOpts) error {
	body, err := os.ReadFile(o.RequestFile)
	if err != nil {
		return usageError(fmt.Errorf("--request-file: %w", err))
	}
	cl, err := c.client(ctx)
	if err != nil {
		return err
	}
	e, err := cl.GetOnlineEndpoint(ctx, o.Workspace, o.Name)
	if err != nil {
		return fmt.Errorf("invoke online endpoint %q: %w", o.Name, err)
	}
	cred, err := cl.OnlineEndpointCredentials(ctx, o.Workspace, o.Name)
	if err != nil {
		return fmt.Errorf("invoke online endpoint %q: %w", o.Name, err)
	}
	res, err := cl.Invoke(ctx, client.Invocation{ScoringURI: e.ScoringURI, Credential: cred.Bearer(), Deployment: o.Deployment, Body: body})
	if err != nil {
		return fmt.Errorf("invoke online endpoint %q: %w", o.Name, err)
	}
	out := res.Body
	if len(out) == 0 || out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	if o.Format != "" {
		return o.printRaw(c.out, out)
	}
	_, err = c.out.Write(out)
	return err
}

func newEndpointInvokeCommand(b *base) *cobra.Command {
	opts := &endpointInvokeOpts{}
	cmd := &cobra.Command{
		Use:     "invoke",
		Short:   "Score a request at an endpoint and print the answer",
		Example: `  ciel online-endpoint invoke --name model-service --request-file sample.json [--deployment-name blue]`,
		RunE:    runE(b, &endpointInvokeCmd{b}, opts),
	}
	f := cmd.Flags()
	opts.scope.bind(f)
	f.StringVarP(&opts.Name, "name", "n", "", "endpoint name")
	f.StringVarP(&opts.RequestFile, "request-file", "r", "", "JSON file to send as the request body")
	f.StringVarP(&opts.Deployment, "deployment-name", "d", "", "score with this deployment, whatever the traffic split")
	f.StringVarP(&opts.Format, "output", "o", "", "print a JSON answer as json, jsonc, table, tsv, yaml, yamlc or none (default: the answer as it came)")
	f.StringVar(&opts.Query, "query", "", "JMESPath query applied to a JSON answer, e.g. --query '[0]' -o tsv")
	return cmd
}
