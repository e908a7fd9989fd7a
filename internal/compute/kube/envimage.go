package kube

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ciel-mlops/ciel/internal/blob"
	"github.com/ciel-mlops/ciel/internal/envs"
	"github.com/ciel-mlops/ciel/internal/imagebuild"
	"github.com/ciel-mlops/ciel/internal/imagestore"
	"github.com/ciel-mlops/ciel/internal/spec"
)

// EnvBuilder builds the virtualenv of an environment on the server, as
// for a local step (envs.Builder).
type EnvBuilder interface {
	// Ensure returns the built environment of s, building it first when
	// needed; it may be called concurrently.
	Ensure(ctx context.Context, s envs.Spec, progress io.Writer) (envs.Env, error)
}

// ImageConfig lets a Runner run environments that have a conda file: it
// builds their virtualenv, an image of it on the host's Python runtime
// (internal/imagebuild), stores the image in the blob store and hands the
// cluster a reference the server serves (internal/imagestore).
type ImageConfig struct {
	// Envs builds the virtualenvs. Required.
	Envs EnvBuilder
	// Blobs is where images are stored and served from. Required.
	Blobs blob.Store
	// URL is the server as this machine reaches it
	// ("http://127.0.0.1:7311"); its host is the images' unless the
	// compute's server_url says how the cluster reaches the server.
	URL string
	// PullToken is the credential the nodes pull with
	// (imagestore.PullToken); "" when the server has no token.
	PullToken string
	// CacheDir keeps built layers (imagebuild.Options.CacheDir).
	CacheDir string
}

// errNoImages is returned for an environment with a conda file when the
// Runner has no ImageConfig.
var errNoImages = errors.New("this server builds no images for kubernetes computes")

// EnvImage returns the image a step on compute c runs environment s in:
// s.Image unchanged when s has no conda file; otherwise the reference of
// an image ciel builds and serves, of the environment's virtualenv on the
// host's Python runtime. What it does goes to log.
func (r *Runner) EnvImage(ctx context.Context, c spec.Compute, s envs.Spec, log io.Writer) (string, error) {
	if strings.TrimSpace(s.CondaFile) == "" {
		return s.Image, nil
	}
	ic := r.cfg.Images
	if ic == nil || ic.Envs == nil || ic.Blobs == nil {
		return "", errNoImages
	}
	host, err := registryHost(ic.URL, c)
	if err != nil {
		return "", err
	}
	env, err := ic.Envs.Ensure(ctx, s, log)
	if err != nil {
		return "", fmt.Errorf("environment: %w", err)
	}
	for _, n := range env.Notes {
		fmt.Fprintf(log, "%s\n", n)
	}
	if env.VirtualEnv == "" {
		return "", fmt.Errorf("environment %s has no virtualenv to build an image of", env.Key)
	}
	// One build at a time: concurrent steps of one environment wait for
	// the first and find its image; builds of different ones would only
	// share the CPUs.
	r.imageMu.Lock()
	defer r.imageMu.Unlock()
	d, ok := r.images[env.Key]
	if !ok {
		base := "the host's Python runtime"
		if s.Image != "" {
			base += " (not " + s.Image + ", which no registry serves here)"
		}
		fmt.Fprintf(log, "building the image of environment %s: its virtualenv on %s\n", short(env.Key), base)
		start := time.Now()
		img, err := imagebuild.Build(ctx, imagebuild.Options{Env: &env, CacheDir: ic.CacheDir, Log: log})
		if err != nil {
			return "", err
		}
		if d, err = imagestore.Push(ctx, ic.Blobs, img); err != nil {
			return "", err
		}
		r.images[env.Key] = d
		fmt.Fprintf(log, "image %s stored in %.1fs\n", d, time.Since(start).Seconds())
	}
	ref := imagestore.Ref(host, d, "env-"+short(env.Key))
	fmt.Fprintf(log, "environment image %s\n", ref)
	return ref, nil
}

func short(key string) string {
	if len(key) > 12 {
		return key[:12]
	}
	return key
}

// registryHost is host:port of the server as the cluster's nodes reach
// it: the compute's server_url when set (pods and nodes reach the server
// at the same address), else the server's own URL. On a single-node
// cluster beside the server that is a loopback address, which
// containerd pulls from over plain HTTP.
func registryHost(serverURL string, c spec.Compute) (string, error) {
	if c.Kubernetes != nil && c.Kubernetes.ServerURL != "" {
		serverURL = c.Kubernetes.ServerURL
	}
	u, err := url.Parse(serverURL)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("compute %q: no server address to serve images at (%q)", c.Name, serverURL)
	}
	return u.Host, nil
}

// servedImage reports whether image is one the server serves, and its
// host.
func servedImage(image string) (string, bool) {
	host, rest, ok := strings.Cut(image, "/")
	return host, ok && strings.HasPrefix(rest, imagestore.Repository+"/")
}

// ensurePullSecret puts the pull token for host in the namespace as an
// imagePullSecret (kubernetes.io/dockerconfigjson), once per process; ""
// when the server has no token.
func (x *Executor) ensurePullSecret(ctx context.Context, host string) (string, error) {
	ic := x.r.cfg.Images
	if ic == nil || ic.PullToken == "" {
		return "", nil
	}
	sum := sha256.Sum256([]byte("ciel-pull\x00" + host + "\x00" + ic.PullToken))
	auth := base64.StdEncoding.EncodeToString([]byte("ciel:" + ic.PullToken))
	cfg, err := json.Marshal(map[string]any{"auths": map[string]any{host: map[string]string{
		"username": "ciel", "password": ic.PullToken, "auth": auth,
	}}})
	if err != nil {
		return "", err
	}
	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "ciel-pull-" + hex.EncodeToString(sum[:5]), Labels: map[string]string{LabelManagedBy: "ciel"}},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: cfg},
	}
	return x.putSecretOnce(ctx, sec, "(image pull)")
}

// EnvImage is Runner.EnvImage for this executor's compute.
func (x *Executor) EnvImage(ctx context.Context, s envs.Spec, log io.Writer) (string, error) {
	return x.r.EnvImage(ctx, x.c, s, log)
}
