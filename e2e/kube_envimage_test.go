package e2e

import (
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// sklearnVersion is the scikit-learn of the shared test venv, so that
// the environment installs from uv's cache.
func sklearnVersion(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("../.venv/bin/python", "-c", "import sklearn; print(sklearn.__version__)").Output()
	if err != nil {
		t.Skipf("no scikit-learn in ../.venv to pin: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// builtImage is the "environment image <ref>" line the executor logs.
var builtImage = regexp.MustCompile(`\[ciel\] environment image (\S+)`)

// TestKubeCondaEnvironmentImage runs a command job on the kubernetes
// compute whose environment is {image: python, conda_file: conda.yml}
// pinning scikit-learn: the server builds the venv, an image of it on the
// host's Python runtime, and serves it; the node's containerd pulls it
// from the server with the imagePullSecret ciel made from the server's
// token; the step imports sklearn, fits a model and writes an output that
// downloads. A second job with the same environment reuses the image.
func TestKubeCondaEnvironmentImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a scikit-learn environment and its image")
	}
	t.Parallel()
	version := sklearnVersion(t)
	e, k, _ := kubeSetup(t, "CIEL_TOKEN=e2e-envimage-"+randomSuffix(t))
	e.write("conda.yml", "name: sk\ndependencies:\n  - python=3.11\n  - pip\n  - pip:\n    - scikit-learn=="+version+"\n")
	script := `import sklearn, sys
from sklearn.linear_model import LogisticRegression
m = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
open(sys.argv[1] + "/result.txt", "w").write("sklearn %s predicts %s\n" % (sklearn.__version__, [int(x) for x in m.predict([[0.2], [2.8]])]))
print("fitted in", sys.prefix)`
	e.write("src/fit.py", script)
	e.write("job.yml", `type: command
compute: azureml:k8s
code: src
environment: {image: python, conda_file: conda.yml}
command: python fit.py ${{outputs.result}}
outputs:
  result: {type: uri_folder}
limits: {timeout: 600}
`)
	start := time.Now()
	r := e.ok("job", "create", "--file", "job.yml", "--name", "fit-1", "--stream")
	took := time.Since(start)
	if !strings.Contains(r.out, "Completed") || !strings.Contains(r.out, "fitted in ") {
		t.Fatalf("job:\n%s\n%s", r.out, r.err)
	}
	m := builtImage.FindStringSubmatch(r.out)
	if m == nil || !strings.Contains(m[1], "/ciel/env/") {
		t.Fatalf("no built image in the log:\n%s", r.out)
	}
	ref := m[1]
	for _, want := range []string{"the host's Python runtime (not python, which no registry serves here)", "base layer: the host's Python 3.11 runtime"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("the log does not say %q:\n%s", want, r.out)
		}
	}
	jobName := "fit-1"
	e.ok("job", "download", "--name", jobName, "--output-name", "result", "--download-path", "out")
	got := readAt(t, filepath.Join(e.dir, "out", "named-outputs", "result", "result.txt"))
	if got != "sklearn "+version+" predicts [0, 1]\n" {
		t.Errorf("downloaded output %q", got)
	}
	var job batchv1.Job
	waitFor(t, "the Job to be marked succeeded", time.Minute, func() bool {
		for _, j := range k.stepJobs(t, jobName) {
			job = j
		}
		return job.Status.Succeeded == 1
	})
	pod := job.Spec.Template.Spec
	if pod.Containers[0].Image != ref || len(pod.ImagePullSecrets) != 1 || !strings.HasPrefix(pod.ImagePullSecrets[0].Name, "ciel-pull-") {
		t.Fatalf("Job's image %s (want %s), pull secrets %+v", pod.Containers[0].Image, ref, pod.ImagePullSecrets)
	}
	sec, err := k.cs.CoreV1().Secrets("ciel").Get(context.Background(), pod.ImagePullSecrets[0].Name, metav1.GetOptions{})
	if err != nil || sec.Type != corev1.SecretTypeDockerConfigJson || !strings.Contains(string(sec.Data[corev1.DockerConfigJsonKey]), strings.Split(ref, "/")[0]) {
		t.Fatalf("pull secret: %v, type %s", err, sec.Type)
	}
	startup := runningAfter.FindStringSubmatch(r.out)
	t.Logf("first job %.1fs (venv build, image build and push, pull, run); pod running after %v%v; image %s", took.Seconds(), startup[1], startup[2], ref)

	// The same environment again (another variable, so the step is not
	// reused): no build, the image is the same.
	start = time.Now()
	r = e.ok("job", "create", "--file", "job.yml", "--name", "fit-2", "--set", "environment_variables.RUN=2", "--stream")
	if m := builtImage.FindStringSubmatch(r.out); m == nil || m[1] != ref || !strings.Contains(r.out, "Completed") {
		t.Fatalf("second job (want image %s):\n%s\n%s", ref, r.out, r.err)
	}
	if strings.Contains(r.out, "building the image") {
		t.Errorf("the second job built the image again:\n%s", r.out)
	}
	startup = runningAfter.FindStringSubmatch(r.out)
	t.Logf("second job %.1fs; pod running after %v%v", time.Since(start).Seconds(), startup[1], startup[2])
}
