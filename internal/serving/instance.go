package serving

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

// InstanceConfig configures RunInstance.
type InstanceConfig struct {
	// Listener takes the front ends' requests and the kubelet's probes.
	Listener net.Listener
	// Getenv reads the pod's environment (os.Getenv): EnvInstance,
	// EnvInstanceToken and the worker's variables.
	Getenv func(string) string
	// Environ is the pod's environment, which the worker inherits less
	// ciel's own variables.
	Environ []string
	// Dir is a writable folder for worker.py.
	Dir string
	// Log receives the worker's output and ciel's lines (the pod's log).
	Log io.Writer
	// Drain is how long a stopping instance keeps answering after it
	// stops being ready, so front ends see it go before it does.
	Drain time.Duration
}

// RunInstance serves one instance of a deployment in a pod: it starts the
// worker (worker.py in the image's python) and answers ScorePath with the
// instance token, LivenessPath while it runs and ReadinessPath once the
// worker has loaded the model, until ctx ends; then it stops being ready,
// waits cfg.Drain, and finishes the requests it holds.
func RunInstance(ctx context.Context, cfg InstanceConfig) error {
	var is instanceSettings
	if err := json.Unmarshal([]byte(cfg.Getenv(EnvInstance)), &is); err != nil {
		return fmt.Errorf("%s: %w", EnvInstance, err)
	}
	token := cfg.Getenv(EnvInstanceToken)
	if len(token) < 32 {
		return fmt.Errorf("%s is missing or too short", EnvInstanceToken)
	}
	l, err := instanceLaunch(cfg)
	if err != nil {
		return err
	}
	logs := &logSink{w: cfg.Log}
	d := is.deployment()
	p := newPool(cfg.Getenv("AZUREML_ENDPOINT_NAME"), cfg.Getenv("AZUREML_DEPLOYMENT_NAME"), newMetricsRegistry().get("", ""))
	g := newGeneration(p, settingsOf(&d), l, logs, slog.New(slog.NewTextHandler(cfg.Log, nil)))
	p.swap(g)
	// A model that does not load ends the container, so that the cluster
	// shows the failure (CrashLoopBackOff) with the traceback in its log.
	g.start(true)
	g.activate()
	loaded := make(chan error, 1)
	go func() { loaded <- g.waitReady(ctx) }()

	var stopping atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+LivenessPath+"{$}", func(w http.ResponseWriter, _ *http.Request) {
		writeReply(w, reply{status: http.StatusOK, body: []byte(`{"status":"Healthy"}`)})
	})
	mux.HandleFunc("GET "+ReadinessPath, func(w http.ResponseWriter, _ *http.Request) {
		if stopping.Load() || p.ready.Load() == 0 {
			writeReply(w, errorReply(http.StatusServiceUnavailable, "NotReady", "the model is not loaded"))
			return
		}
		writeReply(w, reply{status: http.StatusOK, body: []byte(`{"status":"Ready"}`)})
	})
	mux.HandleFunc("POST "+ScorePath, func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Get(InstanceTokenHeader)
		if got == "" {
			got, _ = strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		}
		if subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			writeReply(w, errorReply(http.StatusUnauthorized, "Unauthorized", "wrong instance token"))
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBody))
		if err != nil {
			writeReply(w, errorReply(http.StatusRequestEntityTooLarge, "RequestTooLarge", "the request body is larger than 64 MiB"))
			return
		}
		writeReply(w, p.submit(r.Context(), body))
	})
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(cfg.Listener) }()
	logs.printf("[ciel] instance of deployment %s listening on %s", p.name, cfg.Listener.Addr())

	select {
	case err = <-served:
	case err = <-loaded:
		if err == nil {
			logs.printf("[ciel] the model is loaded: ready")
			select {
			case err = <-served:
			case <-ctx.Done():
				err = stopInstance(hs, g, &stopping, logs, cfg.Drain)
			}
		} else if ctx.Err() == nil {
			logs.printf("[ciel] the model did not load: %v", err)
			_ = hs.Close()
		}
	case <-ctx.Done():
		err = stopInstance(hs, g, &stopping, logs, cfg.Drain)
	}
	dctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	g.drain(dctx)
	if errors.Is(err, http.ErrServerClosed) || errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// stopInstance stops being ready, keeps answering for drain so that front
// ends see it go, then finishes the requests it holds.
func stopInstance(hs *http.Server, g *generation, stopping *atomic.Bool, logs *logSink, drain time.Duration) error {
	stopping.Store(true)
	logs.printf("[ciel] stopping: not ready; finishing requests")
	time.Sleep(drain)
	ctx, cancel := context.WithTimeout(context.Background(), g.settings.requestTimeout+5*time.Second)
	defer cancel()
	return hs.Shutdown(ctx)
}

// instanceLaunch is how the pod's worker starts: the image's python (or
// CIEL_PYTHON), worker.py written to cfg.Dir, in the code's folder.
func instanceLaunch(cfg InstanceConfig) (launch, error) {
	python := cfg.Getenv("CIEL_PYTHON")
	if python == "" {
		for _, name := range []string{"python3", "python"} {
			if p, err := exec.LookPath(name); err == nil {
				python = p
				break
			}
		}
	}
	if python == "" {
		return launch{}, errors.New("the image has no python3 or python on PATH; set CIEL_PYTHON in environment_variables")
	}
	script := filepath.Join(cfg.Dir, "ciel-worker.py")
	if err := os.WriteFile(script, workerScript, 0o644); err != nil {
		return launch{}, fmt.Errorf("write worker: %w", err)
	}
	dir := cfg.Getenv("AML_APP_ROOT")
	if dir == "" {
		dir = cfg.Getenv("AZUREML_MODEL_DIR")
	}
	env := make([]string, 0, len(cfg.Environ))
	for _, kv := range cfg.Environ {
		k, _, _ := strings.Cut(kv, "=")
		if k == EnvInstance || k == EnvInstanceToken || strings.HasPrefix(k, "CIEL_BLOB") || k == "CIEL_STAGE" {
			continue
		}
		env = append(env, kv)
	}
	return launch{python: python, script: script, dir: dir, env: env}, nil
}
