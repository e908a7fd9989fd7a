package e2e

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ciel-mlops/ciel/internal/compute/kube"
	"github.com/ciel-mlops/ciel/internal/envs"
	"github.com/ciel-mlops/ciel/internal/imagebuild"
)

// The files of the Kubernetes online endpoint test, as Azure's Kubernetes
// online endpoint examples write them: the compute on the endpoint, the
// deployment of type kubernetes.
const (
	kubeEndpointFile = `$schema: https://azuremlschemas.azureedge.net/latest/kubernetesOnlineEndpoint.schema.json
name: k8s-svc
compute: azureml:k8s
auth_mode: key
`
	kubeDeploymentFile = `$schema: https://azuremlschemas.azureedge.net/latest/kubernetesOnlineDeployment.schema.json
name: blue
endpoint_name: k8s-svc
type: kubernetes
model:
  path: ./model
code_configuration:
  code: ./src
  scoring_script: score.py
environment:
  image: IMAGE
instance_type: defaultinstancetype
instance_count: 2
environment_variables:
  VERSION: "1"
request_settings:
  request_timeout_ms: 10000
  max_queue_wait_ms: 10000
readiness_probe: {initial_delay: 1, period: 1}
`
	// kubeScore answers with the model's factor times the input, and
	// which pod and version answered.
	kubeScore = `import json, os, socket

def init():
    global factor
    with open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model", "factor.txt")) as f:
        factor = float(f.read())
    if os.environ.get("FAIL_INIT"):
        raise RuntimeError("the model cannot load: FAIL_INIT is set")
    print("model loaded", flush=True)

def run(raw):
    data = json.loads(raw)["data"]
    return {"result": [x * factor for x in data], "pod": socket.gethostname(), "version": os.environ["VERSION"]}
`
)

// pythonImage writes an image of the host's Python (a venv with nothing in
// it above the interpreter and its standard library) and returns its
// reference: the cluster has no registry to pull python from.
func pythonImage(t *testing.T, out string) string {
	t.Helper()
	py, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		t.Fatal(err)
	}
	venv := filepath.Join(t.TempDir(), "venv")
	if b, err := exec.Command(strings.TrimSpace(string(py)), "-m", "venv", "--without-pip", venv).CombinedOutput(); err != nil {
		t.Fatalf("venv: %v\n%s", err, b)
	}
	img, err := imagebuild.Build(context.Background(), imagebuild.Options{
		Env:      &envs.Env{Python: filepath.Join(venv, "bin", "python"), BinDir: filepath.Join(venv, "bin"), VirtualEnv: venv},
		CacheDir: filepath.Join(os.TempDir(), "ciel-e2e-image-cache"),
	})
	if err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	ref := "localhost/ciel-kube-test-python:" + d.Hex[:12]
	if err := imagebuild.WriteTarball(img, ref, out); err != nil {
		t.Fatal(err)
	}
	return ref
}

// TestKubeOnlineDeployment runs an online endpoint on the real cluster with
// the files Azure's Kubernetes examples use: the deployment becomes a
// Deployment of two pods behind a Service, answers through the server's
// front end from both pods, scales with instance_count, rolls a new
// version in under load without one failed request, shows its pods' logs,
// comes back after a server restart, fails clearly when the model does
// not load, and its objects go with it.
func TestKubeOnlineDeployment(t *testing.T) {
	e, k, _ := kubeSetup(t)
	imageTar := filepath.Join(t.TempDir(), "python.tar")
	image := pythonImage(t, imageTar)
	k.importImage(t, imageTar)

	e.write("deploy/model/factor.txt", "3")
	e.write("deploy/src/score.py", kubeScore)
	e.write("deploy/endpoint.yml", kubeEndpointFile)
	e.write("deploy/blue.yml", strings.Replace(kubeDeploymentFile, "IMAGE", image, 1))
	e.write("deploy/sample.json", `{"data": [1, 2]}`)
	e.ok("online-endpoint", "create", "--file", "deploy/endpoint.yml")
	start := time.Now()
	r := e.ok("online-deployment", "create", "--file", "deploy/blue.yml", "--all-traffic")
	if !strings.Contains(r.out, `"provisioning_state": "Succeeded"`) {
		t.Fatalf("blue did not provision:\n%s\n%s\n%s", r.out, r.err, e.ok("online-deployment", "get-logs", "--name", "blue", "--endpoint-name", "k8s-svc").out)
	}
	t.Logf("deployment of 2 pods provisioned in %s", time.Since(start).Round(time.Millisecond))
	name := kube.DeploymentName("ws", "k8s-svc", "blue")
	dep := k.deployment(t, name)
	if *dep.Spec.Replicas != 2 || dep.Spec.Template.Spec.Containers[0].Image != image || dep.Status.ReadyReplicas != 2 {
		t.Fatalf("Deployment %s: replicas %d, ready %d, image %s", name, *dep.Spec.Replicas, dep.Status.ReadyReplicas, dep.Spec.Template.Spec.Containers[0].Image)
	}
	if _, err := k.cs.CoreV1().Services("ciel").Get(context.Background(), name, metav1.GetOptions{}); err != nil {
		t.Fatalf("Service %s: %v", name, err)
	}

	s := servingEnv{env: e}
	var ep struct {
		ScoringURI string `json:"scoring_uri"`
		Kind       string `json:"kind"`
	}
	decodeOut(t, e.ok("online-endpoint", "show", "--name", "k8s-svc", "-o", "json"), &ep)
	var cred struct {
		Primary string `json:"primaryKey"`
	}
	decodeOut(t, e.ok("online-endpoint", "get-credentials", "--name", "k8s-svc", "-o", "json"), &cred)
	s.uri, s.key = ep.ScoringURI, cred.Primary
	if ep.Kind != "K8s" {
		t.Errorf("endpoint kind %q, want K8s", ep.Kind)
	}

	t.Run("invoke from both pods", func(t *testing.T) {
		r := e.ok("online-endpoint", "invoke", "--name", "k8s-svc", "--request-file", "deploy/sample.json")
		if !strings.Contains(r.out, `"result": [3.0, 6.0]`) {
			t.Fatalf("invoke: %s", r.out)
		}
		if got := s.pods(t, 40, "1"); len(got) != 2 {
			t.Fatalf("answers came from pods %v, want both", got)
		}
		if a := s.score("wrong-key", "", `{"data": [1]}`); a.status != 401 {
			t.Fatalf("a wrong key: %d %s", a.status, a.body)
		}
	})

	t.Run("scale with instance_count", func(t *testing.T) {
		e.ok("online-deployment", "update", "--name", "blue", "--endpoint-name", "k8s-svc", "--set", "instance_count=3")
		waitFor(t, "3 ready pods", 3*time.Minute, func() bool { return k.deployment(t, name).Status.ReadyReplicas == 3 })
		if got := s.pods(t, 60, "1"); len(got) != 3 {
			t.Fatalf("answers came from pods %v, want 3", got)
		}
	})

	t.Run("rolling update under load", func(t *testing.T) {
		before := s.pods(t, 30, "1")
		l := s.startLoadOf(4, `{"data": [2]}`)
		r := e.ok("online-deployment", "update", "--file", "deploy/blue.yml", "--set", "environment_variables.VERSION=2", "--set", "instance_count=2")
		if !strings.Contains(r.out, "Succeeded") {
			t.Fatalf("update: %s %s", r.out, r.err)
		}
		time.Sleep(2 * time.Second)
		l.end(t, "a rolling update of the pods")
		after := s.pods(t, 30, "2")
		if len(after) != 2 {
			t.Fatalf("after the update, version 2 answered from %v", after)
		}
		for p := range after {
			if before[p] {
				t.Fatalf("pod %s answered before and after the update", p)
			}
		}
	})

	t.Run("logs", func(t *testing.T) {
		r := e.ok("online-deployment", "get-logs", "--name", "blue", "--endpoint-name", "k8s-svc", "--lines", "50")
		if !strings.Contains(r.out, "model loaded") || !strings.Contains(r.out, "rollout done") {
			t.Fatalf("logs lack the pods' output or the rollout:\n%s", r.out)
		}
	})

	t.Run("server restart", func(t *testing.T) {
		e.restartServerRun(t)
		waitFor(t, "the endpoint to answer after a restart", time.Minute, func() bool {
			return s.score(s.key, "", `{"data": [1]}`).status == 200
		})
		if got := s.pods(t, 30, "2"); len(got) != 2 {
			t.Fatalf("after a restart, answers came from %v", got)
		}
	})

	t.Run("a model that does not load", func(t *testing.T) {
		e.write("deploy/red.yml", strings.Replace(strings.Replace(kubeDeploymentFile, "IMAGE", image, 1), "name: blue", "name: red", 1))
		r := e.run("online-deployment", "create", "--file", "deploy/red.yml", "--set", "environment_variables.FAIL_INIT=1", "--set", "instance_count=1")
		all := r.out + r.err
		if !strings.Contains(all, "Failed") || !strings.Contains(all, "FAIL_INIT is set") {
			t.Fatalf("a failing init: %s", all)
		}
		if a := s.score(s.key, "", `{"data": [1]}`); a.status != 200 {
			t.Fatalf("blue after red failed: %d %s", a.status, a.body)
		}
		e.ok("online-deployment", "delete", "--name", "red", "--endpoint-name", "k8s-svc", "--yes")
	})

	t.Run("a conda environment", func(t *testing.T) {
		e.write("deploy/conda.yml", "dependencies:\n  - python=3.11\n  - pip\n")
		green := strings.NewReplacer("name: blue", "name: green", "  image: "+image, "  image: python:3.11\n  conda_file: ./conda.yml",
			"instance_count: 2", "instance_count: 1").Replace(strings.Replace(kubeDeploymentFile, "IMAGE", image, 1))
		e.write("deploy/green.yml", green)
		r := e.ok("online-deployment", "create", "--file", "deploy/green.yml")
		if !strings.Contains(r.out, "Succeeded") {
			t.Fatalf("green: %s %s", r.out, r.err)
		}
		d := k.deployment(t, kube.DeploymentName("ws", "k8s-svc", "green"))
		ps := d.Spec.Template.Spec
		// The server has no token, so the image needs no pull secret
		// (kube's unit tests cover the one a token gives).
		if img := ps.Containers[0].Image; !strings.Contains(img, "/ciel/env/") {
			t.Fatalf("green's image %s: want the image the server built", img)
		}
		req, _ := http.NewRequest(http.MethodPost, s.uri, strings.NewReader(`{"data": [2]}`))
		req.Header.Set("Authorization", "Bearer "+s.key)
		req.Header.Set("azureml-model-deployment", "green")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), `"result": [6.0]`) {
			t.Fatalf("green: %d %s", resp.StatusCode, b)
		}
		e.ok("online-deployment", "delete", "--name", "green", "--endpoint-name", "k8s-svc", "--yes")
	})

	t.Run("delete", func(t *testing.T) {
		e.ok("online-endpoint", "delete", "--name", "k8s-svc", "--yes")
		for _, n := range []string{name, kube.DeploymentName("ws", "k8s-svc", "red")} {
			_, err := k.cs.AppsV1().Deployments("ciel").Get(context.Background(), n, metav1.GetOptions{})
			if !apierrors.IsNotFound(err) {
				t.Fatalf("Deployment %s after the endpoint's delete: %v", n, err)
			}
			if _, err := k.cs.CoreV1().Services("ciel").Get(context.Background(), n, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Fatalf("Service %s after the endpoint's delete: %v", n, err)
			}
		}
	})
}

// deployment gets a Deployment in the namespace ciel.
func (k kubeCluster) deployment(t *testing.T, name string) *appsv1.Deployment {
	t.Helper()
	d, err := k.cs.AppsV1().Deployments("ciel").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// pods scores n requests and returns the pods that answered with version.
func (s servingEnv) pods(t *testing.T, n int, version string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for range n {
		a := s.score(s.key, "", `{"data": [1]}`)
		if a.status != 200 {
			t.Fatalf("score: %d %s", a.status, a.body)
		}
		var v struct {
			Pod     string `json:"pod"`
			Version string `json:"version"`
		}
		if err := jsonUnmarshal(a.body, &v); err != nil {
			t.Fatalf("answer %s: %v", a.body, err)
		}
		if v.Version == version {
			out[v.Pod] = true
		}
	}
	return out
}

// restartServerRun stops e's server and runs it again as startServerRun
// last did.
func (e *env) restartServerRun(t *testing.T) {
	t.Helper()
	e.ok("server", "stop")
	startServerRun(t, e, e.runArgs...)
}

// scoreQuiet scores body, reporting a failure to connect as status 0.
func (s servingEnv) scoreQuiet(body string) scored {
	req, _ := http.NewRequest(http.MethodPost, s.uri, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return scored{body: err.Error()}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return scored{status: resp.StatusCode, body: string(b)}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

// TestKubeOnlineEndpointReplicas: two servers share one PostgreSQL store.
// A deployment on the cluster made through one is served by the other's
// front end too, from the same pods, with the same keys; a key regenerated
// and a deployment deleted through one take effect on the other. The
// compute says endpoint_route apiserver, so both reach the pods through
// the API server's proxy, as a server off the pods' network does.
func TestKubeOnlineEndpointReplicas(t *testing.T) {
	es, k, _ := kubeSetupN(t, 2, "--endpoint-route=apiserver")
	a, b := es[0], es[1]
	imageTar := filepath.Join(t.TempDir(), "python.tar")
	image := pythonImage(t, imageTar)
	k.importImage(t, imageTar)
	a.write("deploy/model/factor.txt", "5")
	a.write("deploy/src/score.py", kubeScore)
	a.write("deploy/endpoint.yml", strings.Replace(kubeEndpointFile, "k8s-svc", "shared-svc", 1))
	a.write("deploy/blue.yml", strings.NewReplacer("IMAGE", image, "k8s-svc", "shared-svc", "instance_count: 2", "instance_count: 1").Replace(kubeDeploymentFile))
	a.ok("online-endpoint", "create", "--file", "deploy/endpoint.yml")
	a.ok("online-deployment", "create", "--file", "deploy/blue.yml", "--all-traffic")

	scoring := func(e *env) servingEnv {
		var ep struct {
			ScoringURI string `json:"scoring_uri"`
		}
		decodeOut(t, e.ok("online-endpoint", "show", "--name", "shared-svc", "-o", "json"), &ep)
		var cred struct {
			Primary string `json:"primaryKey"`
		}
		decodeOut(t, e.ok("online-endpoint", "get-credentials", "--name", "shared-svc", "-o", "json"), &cred)
		return servingEnv{env: e, uri: ep.ScoringURI, key: cred.Primary}
	}
	sa, sb := scoring(a), scoring(b)
	if sa.uri == sb.uri {
		t.Fatalf("both servers give the scoring URI %s", sa.uri)
	}
	waitFor(t, "the second server to serve the deployment", 30*time.Second, func() bool {
		return sb.scoreQuiet(`{"data": [1]}`).status == 200
	})
	pa, pb := sa.pods(t, 10, "1"), sb.pods(t, 10, "1")
	if len(pa) != 1 || len(pb) != 1 || !maps.Equal(pa, pb) {
		t.Fatalf("server a answered from %v, server b from %v: want the same one pod", pa, pb)
	}
	if logs := a.ok("online-deployment", "get-logs", "--name", "blue", "--endpoint-name", "shared-svc", "--lines", "200").out; !strings.Contains(logs, "through the API server's proxy") {
		t.Errorf("the deployment's log does not say its pod is reached through the API server's proxy:\n%s", logs)
	}
	old := sb.key
	a.ok("online-endpoint", "regenerate-keys", "--name", "shared-svc", "--key-type", "primary")
	waitFor(t, "the second server to refuse the old key", 30*time.Second, func() bool {
		return sb.scoreQuiet(`{"data": [1]}`).status == 401
	})
	sb = scoring(b)
	if sb.key == old {
		t.Fatal("the key did not change")
	}
	if got := sb.scoreQuiet(`{"data": [1]}`); got.status != 200 {
		t.Fatalf("the new key on the second server: %d %s", got.status, got.body)
	}

	a.ok("online-endpoint", "delete", "--name", "shared-svc", "--yes")
	waitFor(t, "the second server to drop the endpoint", 30*time.Second, func() bool {
		return sb.scoreQuiet(`{"data": [1]}`).status == 404
	})
}
