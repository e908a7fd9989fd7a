package serving

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"time"

	"github.com/ciel-mlops/ciel/internal/compute"
	"github.com/ciel-mlops/ciel/internal/envs"
	"github.com/ciel-mlops/ciel/internal/spec"
	"github.com/ciel-mlops/ciel/internal/store"
)

// Clusters gives the Cluster of a kubernetes compute. The server's
// compute/kube Runner implements it.
type Clusters interface {
	// Cluster returns what runs deployments on compute c.
	Cluster(c spec.Compute) (Cluster, error)
}

// Cluster runs deployments as pods on a Kubernetes cluster: a Deployment
// (instance_count replicas, rolled without a gap) behind a Service, whose
// ready endpoints the front end of every server replica routes to.
type Cluster interface {
	// Image returns the image that runs environment s: s.Image as it is,
	// or one built for its conda file. Build progress goes to log.
	Image(ctx context.Context, s envs.Spec, log io.Writer) (string, error)
	// Apply creates or updates d's pods and waits until every instance of
	// d as it is now is ready, or fails with why the pods cannot start.
	// Applying what already runs changes nothing.
	Apply(ctx context.Context, d ClusterDeployment, log io.Writer) error
	// Watch calls fn with d's ready pods now and whenever they change,
	// until ctx ends.
	Watch(ctx context.Context, d ClusterKey, fn func(pods []PodTarget)) error
	// Delete removes d's pods, Service and Secret; it is not an error if
	// they are gone.
	Delete(ctx context.Context, d ClusterKey) error
	// Logs returns the last lines of each of d's pods' logs.
	Logs(ctx context.Context, d ClusterKey, lines int) (string, error)
}

// PodTarget is one ready pod of a deployment as the front end reaches it.
type PodTarget struct {
	// Addr is the pod's address (host:port), its name among the instances.
	Addr string
	// URL is the base URL scoring requests are posted under (ScorePath is
	// added): http://Addr, or the API server's proxy to the pod for a
	// server that cannot reach the pods' network.
	URL string
	// Client, when set, is what reaches URL: the API server's, with the
	// cluster's credentials, which take the Authorization header, so the
	// instance token goes in InstanceTokenHeader. nil is the front end's
	// own client.
	Client *http.Client
}

// DirectTarget is the PodTarget of a pod the front end reaches at addr.
func DirectTarget(addr string) PodTarget { return PodTarget{Addr: addr, URL: "http://" + addr} }

// ClusterKey names a deployment on a cluster.
type ClusterKey struct {
	Workspace, Endpoint, Name string
}

// ClusterDeployment is a deployment as a Cluster runs it: pods of Image
// whose first step stages Trees under PodRoot from the blob store, and
// whose main container runs `ciel serving instance` (InstanceCommand) with
// Env and the Secret variables, answering scoring requests on
// InstancePort.
type ClusterDeployment struct {
	ClusterKey
	Image        string
	InstanceType string
	Instances    int
	// Trees are relative to PodRoot.
	Trees []compute.StagedTree
	// Env are the main container's variables (KEY=VALUE); Secret are more,
	// kept in a Kubernetes Secret rather than in the pod's spec.
	Env    []string
	Secret map[string]string
	// Liveness and Readiness are the pods' probes, on InstancePort's
	// LivenessPath and ReadinessPath.
	Liveness, Readiness ClusterProbe
	// Grace is how long a stopping pod may take to finish its requests.
	Grace time.Duration
}

// ClusterProbe is a pod's probe.
type ClusterProbe struct {
	Delay, Period, Timeout time.Duration
	Successes, Failures    int
}

// The pod's layout and the instance server's interface.
const (
	// PodRoot is where a deployment's files are staged in its pods, as
	// Azure ML's inference images keep them.
	PodRoot = "/var/azureml-app"
	// InstancePort is where `ciel serving instance` listens.
	InstancePort = 5001
	// LivenessPath answers 200 while the instance server runs;
	// ReadinessPath only while its worker has loaded the model.
	LivenessPath  = "/"
	ReadinessPath = "/ready"
	// ScorePath takes scoring requests, with the instance token.
	ScorePath = "/score"
	// EnvInstance holds the instance's settings (JSON); EnvInstanceToken the
	// token the front end sends, in the Secret.
	EnvInstance      = "CIEL_INSTANCE"
	EnvInstanceToken = "CIEL_INSTANCE_TOKEN"
	// InstanceTokenHeader carries the instance token where Authorization
	// cannot: through the API server's proxy, which takes Authorization
	// for itself. Direct requests send "Authorization: Bearer <token>".
	InstanceTokenHeader = "X-Ciel-Instance-Token"
)

// InstanceCommand is what a pod's main container runs, after the path of
// ciel's binary.
var InstanceCommand = []string{"serving", "instance"}

// instanceSettings are what an instance server reads from EnvInstance: the
// deployment's request settings, probes and batching.
type instanceSettings struct {
	RequestSettings *spec.RequestSettings `json:"request_settings,omitempty"`
	LivenessProbe   *spec.ProbeSettings   `json:"liveness_probe,omitempty"`
	ReadinessProbe  *spec.ProbeSettings   `json:"readiness_probe,omitempty"`
	MaxBatchSize    int                   `json:"max_batch_size,omitempty"`
	MaxBatchWaitMS  int                   `json:"max_batch_wait_ms,omitempty"`
}

// deployment is the spec the settings describe, with one instance: a pod.
func (s instanceSettings) deployment() spec.OnlineDeployment {
	return spec.OnlineDeployment{InstanceCount: 1, RequestSettings: s.RequestSettings, LivenessProbe: s.LivenessProbe,
		ReadinessProbe: s.ReadinessProbe, MaxBatchSize: s.MaxBatchSize, MaxBatchWaitMS: s.MaxBatchWaitMS}
}

// computeOf is the compute a deployment runs on: its own compute:, else
// its endpoint's (Azure's Kubernetes online endpoints name it there); ""
// for this server's processes.
func computeOf(d *spec.OnlineDeployment, e Endpoint) string {
	if d.Compute != "" {
		return d.Compute
	}
	return e.Compute
}

// cluster returns the Cluster of a kubernetes compute of ws.
func (m *Manager) cluster(ctx context.Context, ws, name string) (Cluster, error) {
	name = computeName(name)
	a, err := m.cfg.Assets.GetAsset(ctx, ws, store.KindCompute, name, "")
	if errors.Is(err, store.ErrNotFound) {
		return nil, &kindError{kind: store.ErrNotFound, msg: fmt.Sprintf("compute %s not found in workspace %s; attach one with: ciel compute attach --type Kubernetes --name %s --kubeconfig <file>", name, ws, name)}
	}
	if err != nil {
		return nil, fmt.Errorf("compute %s: %w", name, err)
	}
	var c spec.Compute
	if err := json.Unmarshal(a.Spec, &c); err != nil {
		return nil, fmt.Errorf("decode compute %s: %w", name, err)
	}
	if c.Type != spec.ComputeKubernetes {
		return nil, invalidf("compute %s is of type %s; online deployments run on this server's processes (no compute) or on a kubernetes compute", name, c.Type)
	}
	if m.cfg.Clusters == nil {
		return nil, invalidf("this server cannot run deployments on Kubernetes")
	}
	cl, err := m.cfg.Clusters.Cluster(c)
	if err != nil {
		return nil, invalidf("compute %s: %v", name, err)
	}
	return cl, nil
}

// computeName strips azureml: from a compute reference.
func computeName(ref string) string {
	if len(ref) > 8 && ref[:8] == "azureml:" {
		return ref[8:]
	}
	return ref
}

// clusterDeployment is what a Cluster runs for d with plan p in image.
func clusterDeployment(d *Deployment, p *Plan, image string) (ClusterDeployment, error) {
	s := settingsOf(&d.Spec)
	is, err := json.Marshal(instanceSettings{RequestSettings: d.Spec.RequestSettings, LivenessProbe: d.Spec.LivenessProbe,
		ReadinessProbe: d.Spec.ReadinessProbe, MaxBatchSize: d.Spec.MaxBatchSize, MaxBatchWaitMS: d.Spec.MaxBatchWaitMS})
	if err != nil {
		return ClusterDeployment{}, err
	}
	modelDir, codeDir := path.Join(PodRoot, "model"), ""
	var trees []compute.StagedTree
	if p.ModelDigest != "" {
		trees = append(trees, compute.StagedTree{Path: path.Join("model", p.ModelFolder), Digest: p.ModelDigest, ReadOnly: true})
	}
	if p.CodeDigest != "" {
		codeDir = path.Join(PodRoot, "code")
		trees = append(trees, compute.StagedTree{Path: "code", Digest: p.CodeDigest, ReadOnly: true})
	}
	_, vars := workerVars(d, p, modelDir, codeDir)
	vars = append(vars, EnvInstance+"="+string(is))
	probe := func(pr probe) ClusterProbe {
		return ClusterProbe{Delay: pr.delay, Period: pr.period, Timeout: pr.timeout, Successes: pr.successes, Failures: pr.failures}
	}
	// The pods' readiness says exactly when the model is loaded, so
	// unless the file sets them, the kubelet asks at once and every
	// second, not after Azure's 10 s defaults, which would only slow a
	// rollout down.
	readiness := probe(s.readiness)
	if rp := d.Spec.ReadinessProbe; rp == nil || rp.InitialDelay == 0 {
		readiness.Delay = 0
	}
	if rp := d.Spec.ReadinessProbe; rp == nil || rp.Period == 0 {
		readiness.Period = time.Second
	}
	return ClusterDeployment{
		ClusterKey: ClusterKey{Workspace: d.Workspace, Endpoint: d.Endpoint, Name: d.Name},
		Image:      image, InstanceType: d.Spec.InstanceType, Instances: s.instances, Trees: trees, Env: vars,
		Secret:   map[string]string{EnvInstanceToken: p.InstanceToken},
		Liveness: probe(s.liveness), Readiness: readiness,
		Grace: s.requestTimeout + 10*time.Second,
	}, nil
}

// instanceToken is a new secret for the front ends to send a deployment's
// pods, so that nothing else in the cluster can score through them.
func instanceToken() string {
	sum := sha256.Sum256([]byte(newSecret() + newSecret()))
	return hex.EncodeToString(sum[:])
}
