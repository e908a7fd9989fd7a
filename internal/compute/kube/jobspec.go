package kube

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ciel-mlops/ciel/internal/compute"
	"github.com/ciel-mlops/ciel/internal/compute/staging"
	"github.com/ciel-mlops/ciel/internal/spec"
)

// Labels and annotations on every Job ciel creates, linking it back to the
// step attempt. Label values are cut to what Kubernetes allows; the
// annotations hold the exact names.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	LabelWorkspace = "ciel.dev/workspace"
	LabelJob       = "ciel.dev/job"
	LabelStep      = "ciel.dev/step"
	LabelAttempt   = "ciel.dev/attempt"
	AnnotationStep = "ciel.dev/step-path" // workspace/job/step
)

// Container names in a step's pod.
const (
	containerStageIn = "stage-in"
	containerMain    = "main"
)

// toolsDir is where the stage-in container leaves ciel's binary for the
// main container, which runs the step under it.
const toolsDir = "/.ciel"

// helperBinary is the path of ciel's binary in the helper image, and
// stepBinary that of ciel-step (or a link to ciel), which steps run.
const (
	helperBinary = "/ciel"
	stepBinary   = "/" + StepBinaryName
)

// GPUResource is the extended resource a GPU is requested as.
const GPUResource corev1.ResourceName = "nvidia.com/gpu"

// jobParams is everything a step's Job is built from besides the task.
type jobParams struct {
	Namespace   string
	HelperImage string
	// BlobURL is the blob store's URL as the pods reach it (no keys).
	BlobURL string
	// Secret holds the blob store's keys, if any, under secretKeyID and
	// secretKeySecret.
	Secret string
	// InstanceType sizes the main container; zero for none.
	InstanceType spec.InstanceType
	// KeepFinished is ttlSecondsAfterFinished.
	KeepFinished int32
	// ServerURL, when set, replaces the scheme and host of the step's
	// MLFLOW_TRACKING_URI: the server as pods reach it.
	ServerURL string
	// PullSecret, when set, is the imagePullSecret of the main
	// container's image, one the server serves.
	PullSecret string
}

// envTrackingURI is where MLflow in a step finds ciel's tracking server.
const envTrackingURI = "MLFLOW_TRACKING_URI"

// rebase returns u with the scheme and host of base (both URLs); u as it
// is when either does not parse.
func rebase(u, base string) string {
	pu, err := url.Parse(u)
	if err != nil {
		return u
	}
	pb, err := url.Parse(base)
	if err != nil || pb.Host == "" {
		return u
	}
	pu.Scheme, pu.Host = pb.Scheme, pb.Host
	return pu.String()
}

// Keys of the blob credentials Secret. The helper reads them from
// staging.EnvBlobKeyID and friends, not AWS_*, which a step may set for its
// own use.
const (
	secretKeyID     = "access-key-id"
	secretKeySecret = "secret-access-key"
	secretKeyToken  = "session-token"
	// secretKeyTracking holds the server's token that a step's MLflow
	// sends (MLFLOW_TRACKING_TOKEN).
	secretKeyTracking = "mlflow-tracking-token"
)

// envTrackingToken is the variable MLflow reads its bearer token from.
const envTrackingToken = "MLFLOW_TRACKING_TOKEN"

// JobName is the name of the Job of a step attempt: the job and step names
// as a DNS-1123 label, with the attempt and a hash of the full identity
// (workspace included) so that two workspaces' jobs of one name, or a name
// cut short, never collide.
func JobName(ws, job, step string, attempt int) string {
	sum := sha256.Sum256([]byte(ws + "\x00" + job + "\x00" + step + "\x00" + strconv.Itoa(attempt)))
	suffix := "-" + strconv.Itoa(attempt) + "-" + hex.EncodeToString(sum[:4])
	base := dnsLabel(job + "-" + step)
	if max := 63 - len(suffix); len(base) > max {
		base = strings.TrimRight(base[:max], "-")
	}
	if base == "" {
		base = "step"
	}
	return base + suffix
}

// dnsLabel maps s to lowercase letters, digits and single dashes, with no
// dash at either end.
func dnsLabel(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		ok := (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9')
		switch {
		case ok:
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
		default:
			dash = true
		}
	}
	return b.String()
}

// labelValue maps s to a valid label value: at most 63 characters of
// letters, digits, '-', '_' and '.', starting and ending with a letter or
// digit; a value cut short ends in a hash of the whole.
func labelValue(s string) string {
	var b strings.Builder
	for _, r := range s {
		if (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') || r == '-' || r == '_' || r == '.' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	v := b.String()
	if len(v) > 63 || v != s {
		sum := sha256.Sum256([]byte(s))
		h := hex.EncodeToString(sum[:4])
		if len(v) > 54 {
			v = v[:54]
		}
		v = v + "-" + h
	}
	return strings.Trim(v, "-_.")
}

// Labels are the labels of a step attempt's Job and pod.
func Labels(ws, job, step string, attempt int) map[string]string {
	return map[string]string{
		LabelManagedBy: "ciel",
		LabelWorkspace: labelValue(ws),
		LabelJob:       labelValue(job),
		LabelStep:      labelValue(step),
		LabelAttempt:   strconv.Itoa(attempt),
	}
}

// buildJob is the Job that runs task: an init container with ciel's binary
// stages the inputs into an emptyDir mounted at the step's folder, and the
// main container, in the environment's image, runs the command under
// `ciel step run`, which stores the outputs and reports their digests in
// the termination message.
func buildJob(t compute.Task, p jobParams) (*batchv1.Job, error) {
	if t.Stage == nil {
		return nil, fmt.Errorf("step %s: no stage to run from", t.Step)
	}
	if t.Image == "" {
		return nil, fmt.Errorf("step %s: no image", t.Step)
	}
	stageJSON, err := json.Marshal(t.Stage)
	if err != nil {
		return nil, fmt.Errorf("encode stage: %w", err)
	}
	res, err := resources(p.InstanceType)
	if err != nil {
		return nil, err
	}
	helperEnv := []corev1.EnvVar{
		{Name: staging.EnvStage, Value: string(stageJSON)},
		{Name: staging.EnvBlob, Value: p.BlobURL},
	}
	if p.Secret != "" {
		for _, kv := range [][2]string{{staging.EnvBlobKeyID, secretKeyID}, {staging.EnvBlobSecret, secretKeySecret}, {staging.EnvBlobToken, secretKeyToken}} {
			helperEnv = append(helperEnv, corev1.EnvVar{Name: kv[0], ValueFrom: &corev1.EnvVarSource{
				SecretKeyRef: &corev1.SecretKeySelector{
					LocalObjectReference: corev1.LocalObjectReference{Name: p.Secret}, Key: kv[1], Optional: ptr(true),
				},
			}})
		}
	}
	mainEnv := make([]corev1.EnvVar, 0, len(t.StepEnv)+len(helperEnv))
	for _, kv := range t.StepEnv {
		k, v, _ := strings.Cut(kv, "=")
		if k == envTrackingURI && p.ServerURL != "" {
			v = rebase(v, p.ServerURL)
		}
		if k == envTrackingToken && p.Secret != "" {
			mainEnv = append(mainEnv, corev1.EnvVar{Name: k, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: p.Secret}, Key: secretKeyTracking,
			}}})
			continue
		}
		mainEnv = append(mainEnv, corev1.EnvVar{Name: k, Value: v})
	}
	mainEnv = append(mainEnv, helperEnv...)
	mounts := []corev1.VolumeMount{{Name: "step", MountPath: t.Stage.Root}, {Name: "tools", MountPath: toolsDir}}
	labels := Labels(t.Workspace, t.Job, t.Step, t.Attempt)
	var deadline *int64
	if t.Timeout > 0 {
		deadline = ptr(int64(t.Timeout.Seconds() + 0.999))
	}
	var ttl *int32
	if p.KeepFinished > 0 {
		ttl = ptr(p.KeepFinished)
	}
	var pullSecrets []corev1.LocalObjectReference
	if p.PullSecret != "" {
		pullSecrets = []corev1.LocalObjectReference{{Name: p.PullSecret}}
	}
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name: JobName(t.Workspace, t.Job, t.Step, t.Attempt), Namespace: p.Namespace, Labels: labels,
			Annotations: map[string]string{AnnotationStep: t.Workspace + "/" + t.Job + "/" + t.Step},
		},
		Spec: batchv1.JobSpec{
			// ciel's retry_settings retry a step; Kubernetes must not.
			BackoffLimit:            ptr(int32(0)),
			ActiveDeadlineSeconds:   deadline,
			TTLSecondsAfterFinished: ttl,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					RestartPolicy:                corev1.RestartPolicyNever,
					AutomountServiceAccountToken: ptr(false),
					EnableServiceLinks:           ptr(false),
					NodeSelector:                 p.InstanceType.NodeSelector,
					ImagePullSecrets:             pullSecrets,
					Volumes: []corev1.Volume{
						{Name: "step", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
						{Name: "tools", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
					},
					InitContainers: []corev1.Container{{
						Name: containerStageIn, Image: p.HelperImage, ImagePullPolicy: corev1.PullIfNotPresent,
						Command:      []string{stepBinary, "step", "stage-in", "--tools", toolsDir},
						Env:          helperEnv,
						VolumeMounts: mounts,
					}},
					Containers: []corev1.Container{{
						Name: containerMain, Image: t.Image, ImagePullPolicy: corev1.PullIfNotPresent,
						Command:    []string{toolsDir + "/ciel", "step", "run", "--"},
						Args:       []string{"/bin/bash", "-c", t.Script},
						WorkingDir: t.Dir, Env: mainEnv, VolumeMounts: mounts, Resources: res,
						// The report of the outputs' digests; a step's own
						// output never lands in it.
						TerminationMessagePolicy: corev1.TerminationMessageReadFile,
					}},
				},
			},
		},
	}
	return job, nil
}

// resources are the requests and limits of an instance type: CPU and memory
// requested and limited alike, GPUs as nvidia.com/gpu limits (which
// Kubernetes requires for extended resources).
func resources(it spec.InstanceType) (corev1.ResourceRequirements, error) {
	var r corev1.ResourceRequirements
	add := func(name corev1.ResourceName, v string, request bool) error {
		q, err := resource.ParseQuantity(v)
		if err != nil {
			return fmt.Errorf("instance type %s %q: %w", name, v, err)
		}
		if r.Limits == nil {
			r.Limits = corev1.ResourceList{}
		}
		r.Limits[name] = q
		if request {
			if r.Requests == nil {
				r.Requests = corev1.ResourceList{}
			}
			r.Requests[name] = q
		}
		return nil
	}
	if it.CPU != "" {
		if err := add(corev1.ResourceCPU, it.CPU, true); err != nil {
			return r, err
		}
	}
	if it.Memory != "" {
		if err := add(corev1.ResourceMemory, it.Memory, true); err != nil {
			return r, err
		}
	}
	if it.GPU > 0 {
		if err := add(GPUResource, strconv.Itoa(it.GPU), false); err != nil {
			return r, err
		}
	}
	return r, nil
}

// instanceType is the size of a task on compute c: the one it names, else
// the compute's default, else none.
func instanceType(c *spec.Kubernetes, name, compute string) (spec.InstanceType, error) {
	if name == "" {
		return c.InstanceTypes[spec.DefaultInstanceType], nil
	}
	it, ok := c.InstanceTypes[name]
	if !ok {
		known := "none"
		if names := c.InstanceTypeNames(); len(names) > 0 {
			known = strings.Join(names, ", ")
		}
		return it, fmt.Errorf("instance type %q is not defined on compute %q (defined: %s); add it with: ciel compute instance-type create --compute %s --name %s --cpu 1 --memory 2Gi",
			name, compute, known, compute, name)
	}
	return it, nil
}

func ptr[T any](v T) *T { return &v }
