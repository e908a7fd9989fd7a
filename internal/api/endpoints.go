package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/ciel-mlops/ciel/client"
	"github.com/ciel-mlops/ciel/internal/guard"
	"github.com/ciel-mlops/ciel/internal/registry"
	"github.com/ciel-mlops/ciel/internal/serving"
	"github.com/ciel-mlops/ciel/internal/spec"
)

// Online endpoints and deployments: /api/v1/workspaces/{ws}/online-endpoints
// [/{name}[/credentials|/regenerate-keys|/deployments[/{deployment}[/logs]]]].
// The serving itself is internal/serving; these handlers shape its records
// like `az ml online-endpoint|online-deployment show` and map its errors.

// endpointRoutes adds the online endpoint routes, when the server serves.
func (s *server) endpointRoutes(h func(string, handlerFunc)) {
	if s.serving == nil {
		return
	}
	const base = "/api/v1/workspaces/{ws}/online-endpoints"
	h("POST "+base, s.createEndpoint)
	h("GET "+base, s.listEndpoints)
	h("GET "+base+"/{name}", s.getEndpoint)
	h("PATCH "+base+"/{name}", s.updateEndpoint)
	h("DELETE "+base+"/{name}", s.deleteEndpoint)
	h("POST "+base+"/{name}/credentials", s.endpointCredentials)
	h("POST "+base+"/{name}/regenerate-keys", s.regenerateKeys)
	h("POST "+base+"/{name}/score", s.scoreEndpoint)
	h("POST "+base+"/{name}/deployments", s.createDeployment)
	h("GET "+base+"/{name}/deployments", s.listDeployments)
	h("GET "+base+"/{name}/deployments/{dep}", s.getDeployment)
	h("PUT "+base+"/{name}/deployments/{dep}", s.updateDeployment)
	h("PATCH "+base+"/{name}/deployments/{dep}", s.setDeployment)
	h("DELETE "+base+"/{name}/deployments/{dep}", s.deleteDeployment)
	h("GET "+base+"/{name}/deployments/{dep}/logs", s.deploymentLogs)
	s.endpointLiveRoutes(h, base)
}

// servingErr maps the serving layer's refusals to 400 and 409; not-found
// and conflicts map through status() as they are.
func servingErr(err error, target string) error {
	switch {
	case errors.Is(err, serving.ErrInvalid):
		return &httpError{status: http.StatusBadRequest, code: "UserError", msg: err.Error(), target: target}
	case errors.Is(err, serving.ErrBusy):
		return &httpError{status: http.StatusConflict, code: "Conflict", msg: err.Error(), target: target}
	}
	return err
}

// endpointView shapes an endpoint like `az ml online-endpoint show`.
func (s *server) endpointView(e serving.Endpoint) client.OnlineEndpoint {
	traffic, mirror := e.Traffic, e.Mirror
	if traffic == nil {
		traffic = map[string]int{}
	}
	if mirror == nil {
		mirror = map[string]int{}
	}
	kind := "Managed"
	if e.Compute != "" {
		kind = "K8s"
	}
	return client.OnlineEndpoint{
		Name: e.Name, Kind: kind, Compute: e.Compute, Description: e.Description, Tags: e.Tags, AuthMode: e.AuthMode,
		ID:      fmt.Sprintf("azureml:/workspaces/%s/onlineEndpoints/%s", e.Workspace, e.Name),
		Traffic: traffic, MirrorTraffic: mirror, ScoringURI: s.serving.ScoringURI(e.Name),
		ProvisioningState: e.State, CreationContext: client.CreationContext{CreatedAt: e.CreatedAt},
	}
}

func (s *server) createEndpoint(_ http.ResponseWriter, r *http.Request) (any, error) {
	if _, err := s.workspace(r); err != nil {
		return nil, err
	}
	var in spec.OnlineEndpoint
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	if err := spec.CheckEndpointName("endpoint", in.Name); err != nil {
		return nil, badRequest("name", "%v", err)
	}
	e, err := s.serving.CreateEndpoint(r.Context(), r.PathValue("ws"), &in)
	if err != nil {
		return nil, servingErr(err, "")
	}
	return created{s.endpointView(e)}, nil
}

func (s *server) listEndpoints(_ http.ResponseWriter, r *http.Request) (any, error) {
	return listIn(s, r, s.serving.ListEndpoints, s.endpointView)
}

func (s *server) getEndpoint(_ http.ResponseWriter, r *http.Request) (any, error) {
	return getIn(r, s.serving.GetEndpoint, s.endpointView)
}

func (s *server) updateEndpoint(_ http.ResponseWriter, r *http.Request) (any, error) {
	var in client.OnlineEndpointUpdate
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	e, err := s.serving.UpdateEndpoint(r.Context(), r.PathValue("ws"), r.PathValue("name"), serving.EndpointUpdate{
		Traffic: in.Traffic, Mirror: in.MirrorTraffic, Description: in.Description, Tags: in.Tags,
	})
	if err != nil {
		return nil, servingErr(err, "traffic")
	}
	return s.endpointView(e), nil
}

func (s *server) deleteEndpoint(_ http.ResponseWriter, r *http.Request) (any, error) {
	if err := s.serving.DeleteEndpoint(r.Context(), r.PathValue("ws"), r.PathValue("name")); err != nil {
		return nil, err
	}
	return map[string]string{"status": "deleted"}, nil
}

func credentialsView(c serving.Credentials) client.EndpointCredentials {
	if c.Token != "" {
		return client.EndpointCredentials{AccessToken: c.Token, TokenType: "Bearer", ExpiryTimeUTC: c.Expires.Unix(),
			RefreshAfterTimeUTC: c.Expires.Add(-12 * time.Hour).Unix()}
	}
	return client.EndpointCredentials{PrimaryKey: c.PrimaryKey, SecondaryKey: c.SecondaryKey}
}

func (s *server) endpointCredentials(_ http.ResponseWriter, r *http.Request) (any, error) {
	c, err := s.serving.Credentials(r.Context(), r.PathValue("ws"), r.PathValue("name"))
	if err != nil {
		return nil, err
	}
	return credentialsView(c), nil
}

func (s *server) regenerateKeys(_ http.ResponseWriter, r *http.Request) (any, error) {
	var in struct {
		KeyType string `json:"key_type"`
	}
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	e, err := s.serving.RegenerateKey(r.Context(), r.PathValue("ws"), r.PathValue("name"), in.KeyType)
	if err != nil {
		return nil, servingErr(err, "key_type")
	}
	return credentialsView(serving.Credentials{PrimaryKey: e.PrimaryKey, SecondaryKey: e.SecondaryKey}), nil
}

// deploymentView shapes a deployment like `az ml online-deployment show`,
// with the settings in force and the instances running now.
func (s *server) deploymentView(d serving.Deployment) client.OnlineDeployment {
	sp := d.Spec
	out := client.OnlineDeployment{
		Name: d.Name, EndpointName: d.Endpoint, Type: "Managed", Description: sp.Description, Tags: sp.Tags,
		ID:           fmt.Sprintf("azureml:/workspaces/%s/onlineEndpoints/%s/deployments/%s", d.Workspace, d.Endpoint, d.Name),
		InstanceType: sp.InstanceType, InstanceCount: max(sp.InstanceCount, 1),
		EnvironmentVariables: sp.EnvironmentVariables, MaxBatchSize: sp.MaxBatchSize, MaxBatchWaitMS: sp.MaxBatchWaitMS,
		ProvisioningState: d.State, Error: d.Error, CreationContext: client.CreationContext{CreatedAt: d.CreatedAt},
	}
	eff := serving.EffectiveSettings(&sp)
	out.RequestSettings = client.RequestSettings{RequestTimeoutMS: eff.RequestTimeoutMS,
		MaxConcurrentRequestsPerInstance: eff.MaxConcurrentRequestsPerInstance, MaxQueueWaitMS: eff.MaxQueueWaitMS}
	out.LivenessProbe, out.ReadinessProbe = probeView(eff.Liveness), probeView(eff.Readiness)
	switch m := sp.Model; {
	case m == nil:
	case d.Plan != nil:
		out.Model = d.Plan.ModelLabel
	case m.Ref != "":
		out.Model = m.Ref
	default:
		out.Model = m.Path
	}
	if c := sp.CodeConfiguration; c != nil {
		out.CodeConfiguration = &client.CodeConfiguration{Code: c.Code, ScoringScript: c.ScoringScript}
	}
	switch e := sp.Environment; {
	case d.Plan != nil:
		out.Environment = d.Plan.EnvLabel
	case e != nil && e.Ref != "":
		out.Environment = e.Ref
	case e != nil:
		out.Environment = "inline environment"
	}
	if p := d.Plan; p != nil && p.Compute != "" {
		out.Type, out.Compute, out.Image = "Kubernetes", "azureml:"+p.Compute, p.Image
	}
	for _, in := range s.serving.Instances(d.Endpoint, d.Name) {
		out.Instances = append(out.Instances, client.Instance{Index: in.Index, PID: in.PID, Address: in.Address, State: in.State})
	}
	return out
}

func probeView(p serving.ProbeView) client.ProbeSettings {
	return client.ProbeSettings{InitialDelay: p.InitialDelay, Period: p.Period, Timeout: p.Timeout,
		SuccessThreshold: p.SuccessThreshold, FailureThreshold: p.FailureThreshold}
}

func (s *server) createDeployment(_ http.ResponseWriter, r *http.Request) (any, error) {
	var in spec.OnlineDeployment
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	if err := spec.CheckSubmittedDeployment(&in); err != nil {
		return nil, submitted(err)
	}
	all, _ := strconv.ParseBool(r.URL.Query().Get("all_traffic"))
	d, err := s.serving.CreateDeployment(r.Context(), r.PathValue("ws"), r.PathValue("name"), &in, all)
	if err != nil {
		return nil, servingErr(err, "")
	}
	return created{s.deploymentView(d)}, nil
}

func (s *server) updateDeployment(_ http.ResponseWriter, r *http.Request) (any, error) {
	var in spec.OnlineDeployment
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	if in.Name == "" {
		in.Name = r.PathValue("dep")
	}
	if in.Name != r.PathValue("dep") {
		return nil, badRequest("name", "the body names deployment %s but the path %s", in.Name, r.PathValue("dep"))
	}
	if err := spec.CheckSubmittedDeployment(&in); err != nil {
		return nil, submitted(err)
	}
	d, err := s.serving.UpdateDeployment(r.Context(), r.PathValue("ws"), r.PathValue("name"), &in)
	if err != nil {
		return nil, servingErr(err, "")
	}
	return s.deploymentView(d), nil
}

// setDeployment changes a deployment by --set overrides of its stored
// settings, with no file.
func (s *server) setDeployment(_ http.ResponseWriter, r *http.Request) (any, error) {
	var in struct {
		Set []string `json:"set"`
	}
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	d, err := s.serving.SetDeployment(r.Context(), r.PathValue("ws"), r.PathValue("name"), r.PathValue("dep"), in.Set)
	if err != nil {
		return nil, servingErr(err, "set")
	}
	return s.deploymentView(d), nil
}

func (s *server) getDeployment(_ http.ResponseWriter, r *http.Request) (any, error) {
	d, err := s.serving.GetDeployment(r.Context(), r.PathValue("ws"), r.PathValue("name"), r.PathValue("dep"))
	if err != nil {
		return nil, err
	}
	return s.deploymentView(d), nil
}

func (s *server) listDeployments(_ http.ResponseWriter, r *http.Request) (any, error) {
	list, err := s.serving.ListDeployments(r.Context(), r.PathValue("ws"), r.PathValue("name"))
	if err != nil {
		return nil, err
	}
	return views(list, s.deploymentView), nil
}

func (s *server) deleteDeployment(_ http.ResponseWriter, r *http.Request) (any, error) {
	err := s.serving.DeleteDeployment(r.Context(), r.PathValue("ws"), r.PathValue("name"), r.PathValue("dep"))
	if err != nil {
		return nil, servingErr(err, "traffic")
	}
	return map[string]string{"status": "deleted"}, nil
}

// deploymentLogs answers the last ?lines= of a deployment's log, as
// `ciel online-deployment get-logs` prints them; with ?follow=true it
// goes on with what is written (endpoint_live.go).
func (s *server) deploymentLogs(w http.ResponseWriter, r *http.Request) (any, error) {
	guard.Streaming(w)
	lines := 0
	if v := r.URL.Query().Get("lines"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, badRequest("lines", "lines %q: expected a whole number above 0", v)
		}
		lines = n
	}
	if r.URL.Query().Get("follow") == "true" {
		return s.followDeploymentLogs(w, r, lines)
	}
	text, err := s.serving.DeploymentLogs(r.Context(), r.PathValue("ws"), r.PathValue("name"), r.PathValue("dep"), lines)
	if err != nil {
		return nil, err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, text)
	return streamed{}, nil
}

// registryModels gives serving the files of registered models. It reads
// the server's registry when a request needs it, since the registry is
// built with the routes.
type registryModels struct{ s *server }

var _ serving.ModelSource = registryModels{}

// ModelFiles returns the folder of a registered model version's files.
func (m registryModels) ModelFiles(ctx context.Context, ws, name, version string) (serving.ModelFiles, error) {
	reg := m.s.registry
	if reg == nil {
		return serving.ModelFiles{}, errors.New("this server has no model registry")
	}
	var (
		v   registry.Version
		err error
	)
	if version == "" {
		v, err = reg.LatestVersion(ctx, ws, name)
	} else {
		n, convErr := strconv.Atoi(version)
		if convErr != nil {
			return serving.ModelFiles{}, fmt.Errorf("model version %q: expected a number", version)
		}
		v, err = reg.GetVersion(ctx, ws, name, n)
	}
	if err != nil {
		return serving.ModelFiles{}, err
	}
	dir, err := reg.FilesDir(ctx, v)
	if err != nil {
		return serving.ModelFiles{}, err
	}
	return serving.ModelFiles{Dir: dir, Folder: v.Folder, Label: fmt.Sprintf("azureml:%s:%d", v.Name, v.Version),
		MLflow: v.Type == registry.TypeMLflow}, nil
}
