package kube

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/ciel-mlops/ciel/internal/compute"
	"github.com/ciel-mlops/ciel/internal/compute/staging"
	"github.com/ciel-mlops/ciel/internal/serving"
)

// Labels of an online deployment's Deployment, Service, Secret and pods.
const (
	LabelEndpoint   = "ciel.dev/endpoint"
	LabelDeployment = "ciel.dev/deployment"
	// AnnotationDeployment holds workspace/endpoint/deployment exactly.
	AnnotationDeployment = "ciel.dev/online-deployment"
)

// portName is the name of the instance server's port.
const portName = "http"

// DeploymentName is the name of an online deployment's Deployment, Service
// and Secret: the endpoint and deployment names as a DNS-1035 label, with
// a hash of the full identity so two workspaces' never collide.
func DeploymentName(ws, endpoint, name string) string {
	sum := sha256.Sum256([]byte(ws + "\x00" + endpoint + "\x00" + name))
	suffix := "-" + hex.EncodeToString(sum[:4])
	base := dnsLabel(endpoint + "-" + name)
	if max := 63 - len(suffix); len(base) > max {
		base = strings.TrimRight(base[:max], "-")
	}
	if base == "" || base[0] < 'a' || base[0] > 'z' {
		base = "ep-" + base
	}
	return base + suffix
}

// DeploymentLabels are the labels of an online deployment's objects; they
// select its pods.
func DeploymentLabels(k serving.ClusterKey) map[string]string {
	return map[string]string{
		LabelManagedBy:  "ciel",
		LabelWorkspace:  labelValue(k.Workspace),
		LabelEndpoint:   labelValue(k.Endpoint),
		LabelDeployment: labelValue(k.Name),
	}
}

// deployParams is everything an online deployment's objects are built
// from besides the deployment.
type deployParams struct {
	Namespace, HelperImage, BlobURL string
	// BlobSecret holds the blob store's keys, if any.
	BlobSecret   string
	InstanceType corev1.ResourceRequirements
	NodeSelector map[string]string
	// PullSecret is the imagePullSecret of an image the server serves.
	PullSecret string
}

// buildInstanceSecret holds the deployment's secret variables.
func buildInstanceSecret(cd serving.ClusterDeployment, ns string) *corev1.Secret {
	name := DeploymentName(cd.Workspace, cd.Endpoint, cd.Name)
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: DeploymentLabels(cd.ClusterKey),
			Annotations: map[string]string{AnnotationDeployment: cd.Workspace + "/" + cd.Endpoint + "/" + cd.Name}},
		Type:       corev1.SecretTypeOpaque,
		StringData: cd.Secret,
	}
}

// buildService is the Service in front of the deployment's pods; its
// EndpointSlices are what the front ends route by.
func buildService(cd serving.ClusterDeployment, ns string) *corev1.Service {
	l := DeploymentLabels(cd.ClusterKey)
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: DeploymentName(cd.Workspace, cd.Endpoint, cd.Name), Namespace: ns, Labels: l,
			Annotations: map[string]string{AnnotationDeployment: cd.Workspace + "/" + cd.Endpoint + "/" + cd.Name}},
		Spec: corev1.ServiceSpec{
			Selector: l,
			Ports:    []corev1.ServicePort{{Name: portName, Port: 80, TargetPort: intstr.FromString(portName), Protocol: corev1.ProtocolTCP}},
		},
	}
}

// buildDeployment is the Deployment of cd's pods: a stage-in init
// container of ciel's binary fetches the model and code into an emptyDir at
// serving.PodRoot, and the main container, in the environment's image,
// runs the instance server under that binary. Updates roll one new pod in
// before an old one goes (maxUnavailable 0), and pods are ready only once
// the model is loaded, so no request meets a gap.
func buildDeployment(cd serving.ClusterDeployment, p deployParams) (*appsv1.Deployment, error) {
	if cd.Image == "" {
		return nil, fmt.Errorf("deployment %s: no image", cd.Name)
	}
	stage, err := json.Marshal(compute.Stage{Root: serving.PodRoot, Trees: cd.Trees})
	if err != nil {
		return nil, fmt.Errorf("encode stage: %w", err)
	}
	name := DeploymentName(cd.Workspace, cd.Endpoint, cd.Name)
	helperEnv := []corev1.EnvVar{{Name: staging.EnvStage, Value: string(stage)}, {Name: staging.EnvBlob, Value: p.BlobURL}}
	if p.BlobSecret != "" {
		helperEnv = append(helperEnv, blobKeyVars(p.BlobSecret)...)
	}
	mainEnv := make([]corev1.EnvVar, 0, len(cd.Env)+len(cd.Secret))
	for _, kv := range cd.Env {
		k, v, _ := strings.Cut(kv, "=")
		mainEnv = append(mainEnv, corev1.EnvVar{Name: k, Value: v})
	}
	keys := make([]string, 0, len(cd.Secret))
	for k := range cd.Secret {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		mainEnv = append(mainEnv, corev1.EnvVar{Name: k, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: k}}})
	}
	mounts := []corev1.VolumeMount{{Name: "app", MountPath: serving.PodRoot}, {Name: "tools", MountPath: toolsDir}}
	labels := DeploymentLabels(cd.ClusterKey)
	grace := int64(cd.Grace.Seconds()) + 5
	probe := func(pr serving.ClusterProbe, path string) *corev1.Probe {
		return &corev1.Probe{
			ProbeHandler:        corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromString(portName)}},
			InitialDelaySeconds: int32(pr.Delay.Seconds()), PeriodSeconds: max(int32(pr.Period.Seconds()), 1),
			TimeoutSeconds: max(int32(pr.Timeout.Seconds()), 1), SuccessThreshold: int32(max(pr.Successes, 1)),
			FailureThreshold: int32(max(pr.Failures, 1)),
		}
	}
	readiness := probe(cd.Readiness, serving.ReadinessPath)
	liveness := probe(cd.Liveness, serving.LivenessPath)
	var pullSecrets []corev1.LocalObjectReference
	if p.PullSecret != "" {
		pullSecrets = []corev1.LocalObjectReference{{Name: p.PullSecret}}
	}
	cmd := append([]string{toolsDir + "/ciel"}, serving.InstanceCommand...)
	cmd = append(cmd, "--dir", toolsDir)
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: p.Namespace, Labels: labels,
			Annotations: map[string]string{AnnotationDeployment: cd.Workspace + "/" + cd.Endpoint + "/" + cd.Name}},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr(int32(max(cd.Instances, 1))),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{
				MaxUnavailable: ptr(intstr.FromInt32(0)), MaxSurge: ptr(intstr.FromInt32(1)),
			}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					AutomountServiceAccountToken:  ptr(false),
					EnableServiceLinks:            ptr(false),
					TerminationGracePeriodSeconds: &grace,
					ImagePullSecrets:              pullSecrets,
					NodeSelector:                  p.NodeSelector,
					Volumes: []corev1.Volume{
						{Name: "app", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
						{Name: "tools", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
					},
					InitContainers: []corev1.Container{{
						Name: containerStageIn, Image: p.HelperImage, ImagePullPolicy: corev1.PullIfNotPresent,
						Command: []string{helperBinary, "step", "stage-in", "--tools", toolsDir},
						Env:     helperEnv, VolumeMounts: mounts,
					}},
					Containers: []corev1.Container{{
						Name: containerMain, Image: cd.Image, ImagePullPolicy: corev1.PullIfNotPresent,
						Command: cmd, Env: mainEnv, VolumeMounts: mounts, Resources: p.InstanceType,
						Ports:          []corev1.ContainerPort{{Name: portName, ContainerPort: serving.InstancePort, Protocol: corev1.ProtocolTCP}},
						ReadinessProbe: readiness, LivenessProbe: liveness,
					}},
				},
			},
		},
	}
	return d, nil
}

// blobKeyVars read the blob store's keys from a Secret.
func blobKeyVars(secret string) []corev1.EnvVar {
	var out []corev1.EnvVar
	for _, kv := range [][2]string{{staging.EnvBlobKeyID, secretKeyID}, {staging.EnvBlobSecret, secretKeySecret}, {staging.EnvBlobToken, secretKeyToken}} {
		out = append(out, corev1.EnvVar{Name: kv[0], ValueFrom: &corev1.EnvVarSource{
			SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: kv[1], Optional: ptr(true),
			},
		}})
	}
	return out
}
