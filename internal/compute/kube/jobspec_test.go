package kube

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/ciel-mlops/ciel/internal/compute"
	"github.com/ciel-mlops/ciel/internal/compute/staging"
	"github.com/ciel-mlops/ciel/internal/spec"
)

func TestJobName(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("very_long_job_name_", 6)
	for _, tc := range []struct {
		ws, job, step string
		attempt       int
		prefix        string
	}{
		{"ws", "quirky_lamp_8k2m3p1q9x", "train", 1, "quirky-lamp-8k2m3p1q9x-train-1-"},
		{"ws", "Job.Name", "sweep/trial_3", 2, "job-name-sweep-trial-3-2-"},
		{"ws", long, "step", 10, "very-long-job-name-very-long"},
		{"ws", "__", "__", 1, "step-1-"},
	} {
		got := JobName(tc.ws, tc.job, tc.step, tc.attempt)
		if !strings.HasPrefix(got, tc.prefix) {
			t.Errorf("JobName(%q, %q, %d) = %q, want prefix %q", tc.job, tc.step, tc.attempt, got, tc.prefix)
		}
		if errs := validation.IsDNS1123Label(got); len(errs) > 0 {
			t.Errorf("JobName(%q, %q) = %q: %v", tc.job, tc.step, got, errs)
		}
	}
	if JobName("a", "j", "s", 1) == JobName("b", "j", "s", 1) {
		t.Error("two workspaces' jobs of one name share a Job name")
	}
	if JobName("a", "j", "s", 1) == JobName("a", "j", "s", 2) {
		t.Error("two attempts share a Job name")
	}
}

func TestLabels(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"ws", "sweep/trial_1", strings.Repeat("x", 80), "-a-", "ünï"} {
		l := Labels(s, s, s, 3)
		for k, v := range l {
			if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
				t.Errorf("Labels(%q)[%s] = %q: %v", s, k, v, errs)
			}
		}
	}
	if got := labelValue("train"); got != "train" {
		t.Errorf("labelValue(train) = %q", got)
	}
	if labelValue("a/b") == labelValue("a_b") {
		t.Error("labelValue maps a/b and a_b alike")
	}
}

func testTask() compute.Task {
	return compute.Task{
		Dir: "/home/u/.ciel/jobs/ws/j/train/wd", Workspace: "ws", Job: "j", Step: "train", Attempt: 1,
		Script: "python train.py --out ${AZUREML_OUTPUT_model}", Image: "python:3.12",
		StepEnv: []string{"CIEL_JOB=j", "AZUREML_OUTPUT_model=/home/u/.ciel/jobs/ws/j/train/outputs/model"},
		Timeout: 90500 * time.Millisecond,
		Stage: &compute.Stage{Root: "/home/u/.ciel/jobs/ws/j/train",
			Trees:   []compute.StagedTree{{Path: "wd", Digest: "sha256:aa"}},
			Collect: []compute.Collected{{Key: "outputs/model", Path: "outputs/model"}}},
	}
}

func TestBuildJob(t *testing.T) {
	t.Parallel()
	p := jobParams{Namespace: "ml", HelperImage: "ciel.local/ciel-helper:abc", BlobURL: "s3://b?endpoint=http%3A%2F%2F10.244.0.1%3A7070",
		Secret: "ciel-blob-x", InstanceType: spec.InstanceType{CPU: "500m", Memory: "2Gi", GPU: 1, NodeSelector: map[string]string{"gpu": "yes"}},
		KeepFinished: 3600}
	job, err := buildJob(testTask(), p)
	if err != nil {
		t.Fatal(err)
	}
	spec := job.Spec
	pod := spec.Template.Spec
	checks := []struct {
		what      string
		got, want any
	}{
		{"namespace", job.Namespace, "ml"},
		{"name", job.Name, JobName("ws", "j", "train", 1)},
		{"backoffLimit", *spec.BackoffLimit, int32(0)},
		{"activeDeadlineSeconds", *spec.ActiveDeadlineSeconds, int64(91)},
		{"ttl", *spec.TTLSecondsAfterFinished, int32(3600)},
		{"restartPolicy", pod.RestartPolicy, corev1.RestartPolicyNever},
		{"job label", job.Labels[LabelJob], "j"},
		{"pod step label", spec.Template.Labels[LabelStep], "train"},
		{"annotation", job.Annotations[AnnotationStep], "ws/j/train"},
		{"node selector", pod.NodeSelector["gpu"], "yes"},
		{"init image", pod.InitContainers[0].Image, "ciel.local/ciel-helper:abc"},
		{"init command", strings.Join(pod.InitContainers[0].Command, " "), "/ciel-step step stage-in --tools /.ciel"},
		{"main image", pod.Containers[0].Image, "python:3.12"},
		{"pull policy", pod.Containers[0].ImagePullPolicy, corev1.PullIfNotPresent},
		{"main command", strings.Join(append(pod.Containers[0].Command, pod.Containers[0].Args...), " "),
			"/.ciel/ciel step run -- /bin/bash -c python train.py --out ${AZUREML_OUTPUT_model}"},
		{"workdir", pod.Containers[0].WorkingDir, "/home/u/.ciel/jobs/ws/j/train/wd"},
		{"step mount", pod.Containers[0].VolumeMounts[0].MountPath, "/home/u/.ciel/jobs/ws/j/train"},
		{"cpu request", pod.Containers[0].Resources.Requests.Cpu().String(), "500m"},
		{"memory limit", pod.Containers[0].Resources.Limits.Memory().String(), "2Gi"},
		{"gpu limit", pod.Containers[0].Resources.Limits[GPUResource], resource.MustParse("1")},
		{"no gpu request", len(pod.Containers[0].Resources.Requests), 2},
		{"no service account token", *pod.AutomountServiceAccountToken, false},
	}
	for _, c := range checks {
		if q, ok := c.got.(resource.Quantity); ok {
			if q.Cmp(c.want.(resource.Quantity)) != 0 {
				t.Errorf("%s = %v, want %v", c.what, q.String(), c.want)
			}
			continue
		}
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range pod.Containers[0].Env {
		env[e.Name] = e
	}
	if env["CIEL_JOB"].Value != "j" || env["AZUREML_OUTPUT_model"].Value == "" {
		t.Errorf("step variables missing from %v", pod.Containers[0].Env)
	}
	if ref := env[staging.EnvBlobSecret].ValueFrom; ref == nil || ref.SecretKeyRef.Name != "ciel-blob-x" || env[staging.EnvBlobSecret].Value != "" {
		t.Errorf("blob secret is not from the Secret: %+v", env[staging.EnvBlobSecret])
	}
	var st compute.Stage
	if err := json.Unmarshal([]byte(env[staging.EnvStage].Value), &st); err != nil || st.Root != "/home/u/.ciel/jobs/ws/j/train" {
		t.Errorf("stage = %+v, %v", st, err)
	}
	if _, err := staging.ParseStage(env[staging.EnvStage].Value); err != nil {
		t.Errorf("the stage does not parse: %v", err)
	}
}

func TestBuildJobNoLimits(t *testing.T) {
	t.Parallel()
	task := testTask()
	task.Timeout = 0
	job, err := buildJob(task, jobParams{Namespace: "default", HelperImage: "h", BlobURL: "s3://b"})
	if err != nil {
		t.Fatal(err)
	}
	c := job.Spec.Template.Spec.Containers[0]
	if job.Spec.ActiveDeadlineSeconds != nil || job.Spec.TTLSecondsAfterFinished != nil || len(c.Resources.Limits) != 0 {
		t.Errorf("deadline %v ttl %v limits %v, want none", job.Spec.ActiveDeadlineSeconds, job.Spec.TTLSecondsAfterFinished, c.Resources.Limits)
	}
	for _, e := range c.Env {
		if e.ValueFrom != nil {
			t.Errorf("anonymous store, yet env %s reads a secret", e.Name)
		}
	}
	for _, tc := range []struct {
		mutate func(*compute.Task)
		want   string
	}{
		{func(t *compute.Task) { t.Stage = nil }, "no stage"},
		{func(t *compute.Task) { t.Image = "" }, "no image"},
	} {
		task := testTask()
		tc.mutate(&task)
		if _, err := buildJob(task, jobParams{}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("buildJob: %v, want %q", err, tc.want)
		}
	}
}

func TestInstanceType(t *testing.T) {
	t.Parallel()
	k := &spec.Kubernetes{InstanceTypes: map[string]spec.InstanceType{
		spec.DefaultInstanceType: {CPU: "100m"}, "big": {CPU: "8"},
	}}
	for _, tc := range []struct {
		name, want, err string
	}{
		{"", "100m", ""},
		{"big", "8", ""},
		{"huge", "", `instance type "huge" is not defined on compute "k8s" (defined: big, defaultinstancetype); add it with: ciel compute instance-type create --compute k8s --name huge`},
	} {
		it, err := instanceType(k, tc.name, "k8s")
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("instanceType(%q) = %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || it.CPU != tc.want {
			t.Errorf("instanceType(%q) = %+v, %v; want cpu %s", tc.name, it, err, tc.want)
		}
	}
	if it, err := instanceType(&spec.Kubernetes{}, "", "k8s"); err != nil || it.CPU != "" {
		t.Errorf("no instance types: %+v, %v", it, err)
	}
}

func TestFitsSomeNode(t *testing.T) {
	t.Parallel()
	node := corev1.Node{}
	node.Labels = map[string]string{"zone": "a"}
	node.Status.Allocatable = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("4Gi")}
	pod := func(it spec.InstanceType) *corev1.Pod {
		job, err := buildJob(testTask(), jobParams{HelperImage: "h", InstanceType: it})
		if err != nil {
			t.Fatal(err)
		}
		return &corev1.Pod{Spec: job.Spec.Template.Spec}
	}
	for _, tc := range []struct {
		it   spec.InstanceType
		want bool
	}{
		{spec.InstanceType{}, true},
		{spec.InstanceType{CPU: "2", Memory: "4Gi"}, true},
		{spec.InstanceType{CPU: "3"}, false},
		{spec.InstanceType{GPU: 1}, false},
		{spec.InstanceType{NodeSelector: map[string]string{"zone": "b"}}, false},
		{spec.InstanceType{NodeSelector: map[string]string{"zone": "a"}}, true},
	} {
		if got := fitsSomeNode(pod(tc.it), []corev1.Node{node}); got != tc.want {
			t.Errorf("fitsSomeNode(%+v) = %v, want %v", tc.it, got, tc.want)
		}
	}
}

func TestTrackingURIRebased(t *testing.T) {
	t.Parallel()
	task := testTask()
	task.StepEnv = append(task.StepEnv, "MLFLOW_TRACKING_URI=http://127.0.0.1:8765/ws/ws", "OTHER=http://127.0.0.1:8765/x")
	for _, tc := range []struct{ serverURL, want string }{
		{"", "http://127.0.0.1:8765/ws/ws"},
		{"https://10.244.0.1:9443", "https://10.244.0.1:9443/ws/ws"},
	} {
		job, err := buildJob(task, jobParams{HelperImage: "h", ServerURL: tc.serverURL})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range job.Spec.Template.Spec.Containers[0].Env {
			switch e.Name {
			case "MLFLOW_TRACKING_URI":
				if e.Value != tc.want {
					t.Errorf("server_url %q: MLFLOW_TRACKING_URI = %s, want %s", tc.serverURL, e.Value, tc.want)
				}
			case "OTHER":
				if e.Value != "http://127.0.0.1:8765/x" {
					t.Errorf("OTHER changed to %s", e.Value)
				}
			}
		}
	}
}

func TestTrackingTokenFromSecret(t *testing.T) {
	t.Parallel()
	task := testTask()
	task.StepEnv = append(task.StepEnv, "MLFLOW_TRACKING_TOKEN=s3cret-token")
	job, err := buildJob(task, jobParams{HelperImage: "h", Secret: "ciel-keys-x"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(job)
	if strings.Contains(string(b), "s3cret-token") {
		t.Error("the tracking token is written in the Job's spec")
	}
	found := false
	for _, e := range job.Spec.Template.Spec.Containers[0].Env {
		if e.Name == "MLFLOW_TRACKING_TOKEN" {
			found = e.ValueFrom != nil && e.ValueFrom.SecretKeyRef.Name == "ciel-keys-x" && e.ValueFrom.SecretKeyRef.Key == secretKeyTracking
		}
	}
	if !found {
		t.Error("MLFLOW_TRACKING_TOKEN does not come from the Secret")
	}
	a := secretName(map[string]string{secretKeyID: "id", secretKeySecret: "s"})
	if a == secretName(map[string]string{secretKeyID: "id", secretKeySecret: "s", secretKeyTracking: "t"}) || a != secretName(map[string]string{secretKeyID: "id", secretKeySecret: "s"}) {
		t.Error("the Secret's name does not follow its contents")
	}
	if errs := validation.IsDNS1123Subdomain(a); len(errs) > 0 {
		t.Errorf("secret name %s: %v", a, errs)
	}
}
