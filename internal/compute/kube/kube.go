// Package kube runs steps on a Kubernetes cluster, one batch/v1 Job per
// step attempt, through client-go. The pod cannot see the server's disk: an
// init container running ciel's own binary stages the step's code and
// inputs from the S3 blob store into an emptyDir mounted at the step's
// folder, and the main container, in the environment's image, runs the
// command under that binary, which stores the outputs back and reports
// their digests in its termination message. Logs stream from the pod into
// the step's log file, so followers and the studio see them as they do a
// local step's.
//
// An environment's image: is used as is; one with a conda file runs in an
// image ciel builds of its virtualenv and serves itself (EnvImage). kube
// does not decide what a step needs (the engine does, as a compute.Stage).
package kube

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	blobs3 "github.com/ciel-mlops/ciel/internal/blob/s3"
	"github.com/ciel-mlops/ciel/internal/compute"
	"github.com/ciel-mlops/ciel/internal/engine"
	"github.com/ciel-mlops/ciel/internal/spec"
)

// ErrNeedsS3 is returned for a step on a kubernetes compute when the
// server's blob store is a local folder, which pods cannot reach.
var ErrNeedsS3 = errors.New("a kubernetes compute reads inputs and writes outputs through the blob store, and this server's is a local folder that pods cannot reach; start the server with --blob s3://bucket?endpoint=... (or CIEL_BLOB)")

// DefaultKeepFinished is how long a finished Job stays for inspection
// (kubectl describe, logs) before Kubernetes removes it.
const DefaultKeepFinished = time.Hour

// Config configures a Runner.
type Config struct {
	// Blob is the server's blob store on S3; nil when it is a local
	// folder, and then every step fails with ErrNeedsS3.
	Blob *blobs3.Config
	// HelperImage is the image holding ciel's binary at /ciel and
	// ciel-step at /ciel-step, for computes that name none; "" means the
	// helper image of Binary.
	HelperImage string
	// Binary is the server's own binary, whose helper image (HelperImageRef)
	// is the default when it is statically linked.
	Binary string
	// KeepFinished is how long a finished Job stays; 0 is
	// DefaultKeepFinished.
	KeepFinished time.Duration
	// Logger receives what goes wrong while cleaning up.
	Logger *slog.Logger
	// Images, when set, lets steps whose environment has a conda file run:
	// ciel builds and serves an image of it (EnvImage); without it they
	// fail saying so.
	Images *ImageConfig
}

// Runner makes the executor of each kubernetes compute, keeping one client
// per kubeconfig file while the file is unchanged.
type Runner struct {
	cfg Config

	helperOnce sync.Once
	helper     string
	helperErr  error

	mu      sync.Mutex
	clients map[string]*clientEntry
	secrets map[string]bool // namespace/secret already in place this run

	imageMu sync.Mutex
	images  map[string]v1.Hash // manifest digests by environment key
}

type clientEntry struct {
	mod time.Time
	cs  kubernetes.Interface
	hc  *http.Client // the API server's, with the kubeconfig's credentials
}

var _ engine.RemoteExecutors = (*Runner)(nil)

// NewRunner returns a Runner.
func NewRunner(cfg Config) *Runner {
	if cfg.KeepFinished == 0 {
		cfg.KeepFinished = DefaultKeepFinished
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Runner{cfg: cfg, clients: map[string]*clientEntry{}, secrets: map[string]bool{}, images: map[string]v1.Hash{}}
}

// For implements engine.RemoteExecutors.
func (r *Runner) For(c spec.Compute) (compute.Executor, error) {
	if c.Type != spec.ComputeKubernetes {
		return nil, fmt.Errorf("compute %q is of type %s, not kubernetes", c.Name, c.Type)
	}
	if r.cfg.Blob == nil {
		return nil, ErrNeedsS3
	}
	k := c.Kubernetes.WithDefaults()
	e, err := r.client(k.Kubeconfig)
	if err != nil {
		return nil, err
	}
	return &Executor{r: r, cs: e.cs, hc: e.hc, name: c.Name, k: k, c: c}, nil
}

// client returns the clientset of a kubeconfig file, read again when it
// changed. The file's contents are never logged or returned in errors.
func (r *Runner) client(path string) (*clientEntry, error) {
	var mod time.Time
	if path != "" {
		fi, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
		}
		mod = fi.ModTime()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.clients[path]; ok && e.mod.Equal(mod) {
		return e, nil
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if path != "" {
		rules.ExplicitPath = path
	}
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", orDefault(path, "(default)"), err)
	}
	rc.QPS, rc.Burst = 50, 100
	hc, err := rest.HTTPClientFor(rc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	cs, err := kubernetes.NewForConfigAndClient(rc, hc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	e := &clientEntry{mod: mod, cs: cs, hc: hc}
	r.clients[path] = e
	return e, nil
}

// Executor runs the steps of one kubernetes compute.
type Executor struct {
	r    *Runner
	cs   kubernetes.Interface
	hc   *http.Client // the API server's, for its proxy to pods
	name string
	k    *spec.Kubernetes
	c    spec.Compute
}

var _ compute.Executor = (*Executor)(nil)

// secretName is the Secret holding the blob store's keys and the tracking
// token in a namespace; its name changes with them so a running pod's
// never does.
func secretName(data map[string]string) string {
	h := sha256.New()
	for _, k := range []string{secretKeyID, secretKeySecret, secretKeyToken, secretKeyTracking} {
		h.Write([]byte("ciel-secret\x00" + k + "\x00" + data[k] + "\x00"))
	}
	return "ciel-keys-" + hex.EncodeToString(h.Sum(nil)[:5])
}

// ensureSecret puts the blob store's keys and the step's MLflow tracking
// token (either may be absent) in the namespace as a Secret, once per
// process, so that neither is written in a Job's spec; "" when there is
// nothing to keep.
func (x *Executor) ensureSecret(ctx context.Context, trackingToken string) (string, error) {
	b := x.r.cfg.Blob
	data := map[string]string{}
	if b.AccessKeyID != "" {
		data[secretKeyID], data[secretKeySecret] = b.AccessKeyID, b.SecretAccessKey
		if b.SessionToken != "" {
			data[secretKeyToken] = b.SessionToken
		}
	}
	if trackingToken != "" {
		data[secretKeyTracking] = trackingToken
	}
	if len(data) == 0 {
		return "", nil
	}
	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: secretName(data), Labels: map[string]string{LabelManagedBy: "ciel"}},
		Type:       corev1.SecretTypeOpaque,
		StringData: data,
	}
	return x.putSecretOnce(ctx, sec, "for the blob store's keys and the tracking token")
}

// putSecretOnce creates sec in the compute's namespace unless this process
// made it already (its name is a hash of its content, so one made by an
// earlier process is the same) and returns its name; what says what it
// holds, in an error.
func (x *Executor) putSecretOnce(ctx context.Context, sec *corev1.Secret, what string) (string, error) {
	key := x.k.Namespace + "/" + sec.Name
	x.r.mu.Lock()
	done := x.r.secrets[key]
	x.r.mu.Unlock()
	if done {
		return sec.Name, nil
	}
	_, err := x.cs.CoreV1().Secrets(x.k.Namespace).Create(ctx, sec, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("create secret %s %s: %w", key, what, err)
	}
	x.r.mu.Lock()
	x.r.secrets[key] = true
	x.r.mu.Unlock()
	return sec.Name, nil
}

// defaultHelper is the helper image of the server's binary.
func (r *Runner) defaultHelper() (string, error) {
	r.helperOnce.Do(func() {
		switch {
		case r.cfg.HelperImage != "":
			r.helper = r.cfg.HelperImage
		case r.cfg.Binary == "":
			r.helperErr = errors.New("no binary given")
		default:
			r.helper, r.helperErr = HelperImageRef(r.cfg.Binary)
			if step, _ := StepBinary(r.cfg.Binary); r.helperErr == nil && step == "" && r.cfg.Logger != nil {
				r.cfg.Logger.Warn("no ciel-step beside the server's binary: kubernetes steps copy and start all of ciel in each pod (build cmd/ciel-step there)",
					"binary", r.cfg.Binary)
			}
		}
	})
	return r.helper, r.helperErr
}

// params are the Job parameters of a task on this compute.
func (x *Executor) params(ctx context.Context, t compute.Task) (jobParams, error) {
	it, err := instanceType(x.k, t.InstanceType, x.name)
	if err != nil {
		return jobParams{}, err
	}
	secret, err := x.ensureSecret(ctx, lookupEnv(t.StepEnv, envTrackingToken))
	if err != nil {
		return jobParams{}, err
	}
	blob := *x.r.cfg.Blob
	if x.k.BlobEndpoint != "" {
		blob.Endpoint = x.k.BlobEndpoint
	}
	helper := x.k.HelperImage
	if helper == "" {
		if helper, err = x.r.defaultHelper(); err != nil {
			return jobParams{}, fmt.Errorf("compute %q names no helper_image and the server's binary gives none (%v); write one with `ciel compute helper-image --path ciel-helper.tar`, load it into the cluster and set helper_image", x.name, err)
		}
	}
	var pull string
	if host, ok := servedImage(t.Image); ok {
		if pull, err = x.ensurePullSecret(ctx, host); err != nil {
			return jobParams{}, err
		}
	}
	return jobParams{
		Namespace: x.k.Namespace, HelperImage: helper, BlobURL: blob.URL(), Secret: secret,
		InstanceType: it, KeepFinished: int32(x.r.cfg.KeepFinished / time.Second), ServerURL: x.k.ServerURL,
		PullSecret: pull,
	}, nil
}

// Run implements compute.Executor: it creates the Job, streams its logs into
// t.LogPath and waits for the main container to end.
func (x *Executor) Run(ctx context.Context, t compute.Task) (compute.Result, error) {
	start := time.Now()
	p, err := x.params(ctx, t)
	if err != nil {
		return compute.Result{}, err
	}
	job, err := buildJob(t, p)
	if err != nil {
		return compute.Result{}, err
	}
	logf, err := os.OpenFile(t.LogPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return compute.Result{}, fmt.Errorf("open step log: %w", err)
	}
	defer logf.Close()
	x.supersede(ctx, p.Namespace, t)
	jobs := x.cs.BatchV1().Jobs(p.Namespace)
	created, err := jobs.Create(ctx, job, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		// Left by a server that stopped mid-attempt: this attempt starts
		// over.
		x.delete(p.Namespace, job.Name, metav1.DeletePropagationForeground)
		if err = x.waitGone(ctx, p.Namespace, job.Name); err == nil {
			created, err = jobs.Create(ctx, job, metav1.CreateOptions{})
		}
	}
	if err != nil {
		return compute.Result{}, fmt.Errorf("create job %s/%s: %w", p.Namespace, job.Name, err)
	}
	fmt.Fprintf(logf, "[ciel] kubernetes job %s/%s created (image %s)\n", p.Namespace, created.Name, t.Image)
	w := &waiter{x: x, ns: p.Namespace, job: created, log: logf, start: start, timeout: t.Timeout}
	res, err := w.wait(ctx)
	res.Duration = time.Since(start)
	if ctx.Err() != nil {
		x.delete(p.Namespace, job.Name, metav1.DeletePropagationForeground)
		return compute.Result{Duration: res.Duration, ExitCode: -1}, fmt.Errorf("step canceled, job %s deleted: %w", job.Name, ctx.Err())
	}
	if res.TimedOut {
		x.delete(p.Namespace, job.Name, metav1.DeletePropagationBackground)
	}
	return res, err
}

// supersede deletes the still active Jobs of earlier attempts of the step:
// a server that stopped mid-attempt left them running, and the step now
// runs again, so no attempt runs beside another.
func (x *Executor) supersede(ctx context.Context, ns string, t compute.Task) {
	l := Labels(t.Workspace, t.Job, t.Step, t.Attempt)
	sel := labels.SelectorFromSet(labels.Set{LabelManagedBy: "ciel", LabelWorkspace: l[LabelWorkspace], LabelJob: l[LabelJob], LabelStep: l[LabelStep]})
	list, err := x.cs.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		x.r.cfg.Logger.Warn("list earlier attempts' jobs", "namespace", ns, "err", err)
		return
	}
	for _, j := range list.Items {
		if j.Annotations[AnnotationStep] != t.Workspace+"/"+t.Job+"/"+t.Step || j.Labels[LabelAttempt] == l[LabelAttempt] {
			continue
		}
		if j.Status.Active > 0 || (j.Status.Succeeded == 0 && j.Status.Failed == 0) {
			x.delete(ns, j.Name, metav1.DeletePropagationForeground)
		}
	}
}

// delete removes a Job and, by propagation, its pods; with its own
// deadline, as the step's context may be done.
func (x *Executor) delete(ns, name string, prop metav1.DeletionPropagation) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := x.cs.BatchV1().Jobs(ns).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &prop})
	if err != nil && !apierrors.IsNotFound(err) {
		x.r.cfg.Logger.Warn("delete kubernetes job", "namespace", ns, "job", name, "err", err)
	}
}

// waitGone waits until a Job being deleted is gone.
func (x *Executor) waitGone(ctx context.Context, ns, name string) error {
	for {
		_, err := x.cs.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// lookupEnv is the value of name in env (KEY=VALUE), "" if absent.
func lookupEnv(env []string, name string) string {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v
		}
	}
	return ""
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
