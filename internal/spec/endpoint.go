package spec

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Endpoint auth modes ciel serves; Azure's aad_token needs Entra ID.
const (
	AuthKey      = "key"
	AuthAMLToken = "aml_token"
)

// Limits of the online endpoint and deployment files.
const (
	// MaxInstanceCount bounds instance_count: each instance is a local
	// process.
	MaxInstanceCount = 64
	// MaxRequestTimeoutMS bounds request_settings.request_timeout_ms (an
	// hour; Azure's own limit is lower).
	MaxRequestTimeoutMS = 3_600_000
	// MaxMirrorPercent is Azure's limit on the traffic mirrored in total.
	MaxMirrorPercent = 50
	// MaxBatchSize bounds ciel's max_batch_size extension.
	MaxBatchSize = 1024
)

// OnlineEndpoint is an Azure ML managed online endpoint file: a name, how
// callers authenticate, and how requests are split among its deployments.
type OnlineEndpoint struct {
	Schema      string            `json:"$schema,omitempty"`
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	// AuthMode is AuthKey (the default) or AuthAMLToken.
	AuthMode string `json:"auth_mode,omitempty"`
	// Traffic maps deployment names to the percent of live requests they
	// get; the values add up to 100 (or 0: no live traffic).
	Traffic map[string]int `json:"traffic,omitempty"`
	// MirrorTraffic maps deployment names to the percent of live requests
	// copied to them, their answers discarded; at most 50 in all.
	MirrorTraffic map[string]int `json:"mirror_traffic,omitempty"`
	// Compute is the kubernetes compute its deployments run on (Azure's
	// Kubernetes online endpoints); "" for the server's own processes.
	Compute string `json:"compute,omitempty"`
	File    string `json:"file,omitempty"`
	Pos     Pos    `json:"pos"`
}

// DeploymentModel is a deployment's model: a registered one (Ref:
// azureml:name:version or azureml:name@latest) or files (Path: an absolute
// local path, or "blob:<digest>" once the CLI has uploaded them).
type DeploymentModel struct {
	Ref  string `json:"ref,omitempty"`
	Path string `json:"path,omitempty"`
	// Folder is the base name of a local model folder. The files of a
	// folder model appear under it inside AZUREML_MODEL_DIR, as Azure ML
	// lays them out ($AZUREML_MODEL_DIR/model/...); "" for a single file.
	Folder      string            `json:"folder,omitempty"`
	Name        string            `json:"name,omitempty"`
	Version     string            `json:"version,omitempty"`
	Type        string            `json:"type,omitempty"` // custom_model or mlflow_model
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	Pos         Pos               `json:"pos"`
}

// CodeConfiguration names a deployment's scoring script: a file inside the
// code folder with init() and run(raw_data).
type CodeConfiguration struct {
	Code          string `json:"code"` // absolute local path, or blob:<digest> after upload
	ScoringScript string `json:"scoring_script"`
	Pos           Pos    `json:"pos"`
}

// RequestSettings bound how a deployment's requests wait and run. Zero
// fields take Azure ML's defaults.
type RequestSettings struct {
	RequestTimeoutMS                 int `json:"request_timeout_ms,omitempty"`
	MaxConcurrentRequestsPerInstance int `json:"max_concurrent_requests_per_instance,omitempty"`
	MaxQueueWaitMS                   int `json:"max_queue_wait_ms,omitempty"`
	Pos                              Pos `json:"pos"`
}

// ProbeSettings configure a liveness or readiness probe, in seconds and
// counts. Zero fields take Azure ML's defaults.
type ProbeSettings struct {
	InitialDelay     int `json:"initial_delay,omitempty"`
	Period           int `json:"period,omitempty"`
	Timeout          int `json:"timeout,omitempty"`
	SuccessThreshold int `json:"success_threshold,omitempty"`
	FailureThreshold int `json:"failure_threshold,omitempty"`
	Pos              Pos `json:"pos"`
}

// OnlineDeployment is an Azure ML managed online deployment file: a model,
// the scoring script and environment that serve it, and how many instances
// run. Without a code_configuration the model must be an MLflow model
// (no-code deployment).
type OnlineDeployment struct {
	Schema            string             `json:"$schema,omitempty"`
	Name              string             `json:"name"`
	EndpointName      string             `json:"endpoint_name,omitempty"`
	Description       string             `json:"description,omitempty"`
	Tags              map[string]string  `json:"tags,omitempty"`
	Type              string             `json:"type,omitempty"` // managed or kubernetes: recorded
	Model             *DeploymentModel   `json:"model,omitempty"`
	CodeConfiguration *CodeConfiguration `json:"code_configuration,omitempty"`
	Environment       *EnvRef            `json:"environment,omitempty"`
	// InstanceType is recorded only: locally an instance is a process.
	InstanceType         string            `json:"instance_type,omitempty"`
	InstanceCount        int               `json:"instance_count,omitempty"`
	RequestSettings      *RequestSettings  `json:"request_settings,omitempty"`
	LivenessProbe        *ProbeSettings    `json:"liveness_probe,omitempty"`
	ReadinessProbe       *ProbeSettings    `json:"readiness_probe,omitempty"`
	EnvironmentVariables map[string]string `json:"environment_variables,omitempty"`
	// MaxBatchSize and MaxBatchWaitMS are ciel's extension: concurrent
	// requests are scored in one call of up to MaxBatchSize, waiting at
	// most MaxBatchWaitMS for a batch to fill. 0 or 1 turns it off.
	MaxBatchSize   int `json:"max_batch_size,omitempty"`
	MaxBatchWaitMS int `json:"max_batch_wait_ms,omitempty"`
	// Compute is ciel's extension: the kubernetes compute the deployment
	// runs on, where Azure names it on the endpoint; "" means the
	// endpoint's.
	Compute string `json:"compute,omitempty"`
	File    string `json:"file,omitempty"`
	Pos     Pos    `json:"pos"`
}

// ParseOnlineEndpointFile reads and parses a managed online endpoint file.
func ParseOnlineEndpointFile(path string, opts Options) (*OnlineEndpoint, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read endpoint file: %w", err)
	}
	return ParseOnlineEndpoint(path, data, opts)
}

// ParseOnlineEndpoint parses an Azure ML managed online endpoint
// (managedOnlineEndpoint.schema.json).
func ParseOnlineEndpoint(file string, data []byte, opts Options) (*OnlineEndpoint, error) {
	var e *OnlineEndpoint
	err := parseAsset(file, data, opts, func(d *decoder, root *yaml.Node) {
		e = d.onlineEndpoint(root)
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// ParseOnlineDeploymentFile reads and parses a managed online deployment
// file.
func ParseOnlineDeploymentFile(path string, opts Options) (*OnlineDeployment, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read deployment file: %w", err)
	}
	return ParseOnlineDeployment(path, data, opts)
}

// ParseOnlineDeployment parses an Azure ML managed online deployment
// (managedOnlineDeployment.schema.json). Local paths (model, code, conda
// file) are resolved against file's folder and must exist; the scoring
// script must exist inside a local code folder.
func ParseOnlineDeployment(file string, data []byte, opts Options) (*OnlineDeployment, error) {
	var dep *OnlineDeployment
	err := parseAsset(file, data, opts, func(d *decoder, root *yaml.Node) {
		dep = d.onlineDeployment(root)
	})
	if err != nil {
		return nil, err
	}
	return dep, nil
}

// endpointIgnored are endpoint keys Azure ML accepts that mean nothing
// locally.
var endpointIgnored = []string{
	"identity", "public_network_access", "kind", "location", "properties",
	"id", "scoring_uri", "openapi_uri", "provisioning_state", "creation_context",
}

// onlineEndpoint decodes an endpoint file.
func (d *decoder) onlineEndpoint(n *yaml.Node) *OnlineEndpoint {
	e := &OnlineEndpoint{File: d.abs, Pos: d.pos(n)}
	d.fields(n, "", "an online endpoint", map[string]fieldFunc{
		"$schema":     d.strInto(&e.Schema),
		"name":        d.endpointNameInto("endpoint", &e.Name),
		"description": d.strInto(&e.Description),
		"tags":        d.mapInto(&e.Tags),
		"auth_mode":   func(p string, v *yaml.Node) { e.AuthMode = d.authMode(p, v) },
		"traffic": func(p string, v *yaml.Node) {
			e.Traffic = d.percentMap(p, v, 100, "add up to 100 (or 0)", func(sum int) bool { return sum == 0 || sum == 100 })
		},
		"mirror_traffic": func(p string, v *yaml.Node) {
			e.MirrorTraffic = d.percentMap(p, v, MaxMirrorPercent, fmt.Sprintf("add up to at most %d", MaxMirrorPercent),
				func(sum int) bool { return sum <= MaxMirrorPercent })
		},
		"compute": func(p string, v *yaml.Node) { e.Compute = d.computeName(p, v) },
	}, endpointIgnored)
	d.require(n, "an online endpoint", "name")
	for name := range e.MirrorTraffic {
		if e.Traffic[name] > 0 {
			d.errorf(d.lookup(n, "mirror_traffic"), "mirror_traffic."+name, "deployment %s gets live traffic; only a deployment with no live traffic can be mirrored to", name)
		}
	}
	return e
}

// authMode reads auth_mode.
func (d *decoder) authMode(path string, v *yaml.Node) string {
	s, ok := d.str(path, v)
	if !ok {
		return ""
	}
	switch s {
	case AuthKey, AuthAMLToken:
		return s
	case "aad_token":
		d.errorf(v, path, "aad_token needs Microsoft Entra ID, which ciel does not have; use key or aml_token")
	default:
		d.errorf(v, path, "unknown value %q; expected key or aml_token", s)
	}
	return ""
}

// endpointNamePattern is Azure ML's rule for endpoint and deployment names:
// 3 to 32 letters, digits and '-', starting with a letter.
var endpointNamePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{2,31}$`)

// CheckEndpointName reports why s cannot name an online endpoint or
// deployment; what says which ("endpoint", "deployment").
func CheckEndpointName(what, s string) error {
	if !endpointNamePattern.MatchString(s) {
		return fmt.Errorf("invalid %s name %q: expected 3 to 32 letters, digits and '-', starting with a letter", what, s)
	}
	return nil
}

// endpointNameInto returns a handler storing an endpoint or deployment name
// in dst after checking it.
func (d *decoder) endpointNameInto(what string, dst *string) fieldFunc {
	return func(path string, v *yaml.Node) {
		s, ok := d.str(path, v)
		if !ok {
			return
		}
		if err := CheckEndpointName(what, s); err != nil {
			d.errorf(v, path, "%v", err)
			return
		}
		*dst = s
	}
}

// percentMap reads a mapping of deployment names to percents in 0..limit
// whose sum passes ok (described by rule).
func (d *decoder) percentMap(path string, v *yaml.Node, limit int, rule string, ok func(int) bool) map[string]int {
	v = d.resolve(v)
	if isNull(v) {
		return nil
	}
	if v.Kind != yaml.MappingNode {
		d.errorf(v, path, "expected a mapping of deployment names to percents, got %s", describe(v))
		return nil
	}
	out := map[string]int{}
	sum := 0
	for _, p := range d.pairs(v, path) {
		kp := joinPath(path, p.name)
		if !endpointNamePattern.MatchString(p.name) {
			d.errorf(p.key, kp, "invalid deployment name %q", p.name)
			continue
		}
		n, good := d.integer(kp, p.val)
		if !good {
			continue
		}
		if n < 0 || n > limit {
			d.errorf(d.resolve(p.val), kp, "expected a percent from 0 to %d, got %d", limit, n)
			continue
		}
		out[p.name] = n
		sum += n
	}
	if !ok(sum) {
		d.errorf(v, path, "percents add up to %d; they must %s", sum, rule)
	}
	return out
}

// deploymentIgnored are deployment keys Azure ML accepts that mean nothing
// locally.
var deploymentIgnored = []string{
	"scale_settings", "app_insights_enabled", "egress_public_network_access", "data_collector",
	"model_mount_path", "properties", "resources", "identity", "id", "provisioning_state",
	"creation_context", "private_network_connection",
}

// onlineDeployment decodes a deployment file.
func (d *decoder) onlineDeployment(n *yaml.Node) *OnlineDeployment {
	dep := &OnlineDeployment{File: d.abs, Pos: d.pos(n)}
	d.fields(n, "", "an online deployment", map[string]fieldFunc{
		"$schema":            d.strInto(&dep.Schema),
		"name":               d.endpointNameInto("deployment", &dep.Name),
		"endpoint_name":      d.endpointNameInto("endpoint", &dep.EndpointName),
		"description":        d.strInto(&dep.Description),
		"tags":               d.mapInto(&dep.Tags),
		"type":               func(p string, v *yaml.Node) { dep.Type, _ = d.oneOf(p, v, []string{"managed", "kubernetes"}) },
		"model":              func(p string, v *yaml.Node) { dep.Model = d.deploymentModel(p, v) },
		"code_configuration": func(p string, v *yaml.Node) { dep.CodeConfiguration = d.codeConfiguration(p, v) },
		"environment":        func(p string, v *yaml.Node) { dep.Environment = d.envRef(p, v) },
		"instance_type":      d.strInto(&dep.InstanceType),
		"instance_count": func(p string, v *yaml.Node) {
			dep.InstanceCount = d.intInRange(p, v, 1, MaxInstanceCount)
		},
		"request_settings":      func(p string, v *yaml.Node) { dep.RequestSettings = d.requestSettings(p, v) },
		"liveness_probe":        func(p string, v *yaml.Node) { dep.LivenessProbe = d.probe(p, v) },
		"readiness_probe":       func(p string, v *yaml.Node) { dep.ReadinessProbe = d.probe(p, v) },
		"environment_variables": d.mapInto(&dep.EnvironmentVariables),
		"max_batch_size":        func(p string, v *yaml.Node) { dep.MaxBatchSize = d.intInRange(p, v, 0, MaxBatchSize) },
		"max_batch_wait_ms":     func(p string, v *yaml.Node) { dep.MaxBatchWaitMS = d.intInRange(p, v, 0, 10_000) },
		"compute":               func(p string, v *yaml.Node) { dep.Compute = d.computeName(p, v) },
	}, deploymentIgnored)
	d.require(n, "an online deployment", "name")
	return dep
}

// intInRange reads an integer in lo..hi.
func (d *decoder) intInRange(path string, v *yaml.Node, lo, hi int) int {
	i, ok := d.integer(path, v)
	if !ok {
		return 0
	}
	if i < lo || i > hi {
		d.errorf(d.resolve(v), path, "expected an integer from %d to %d, got %d", lo, hi, i)
		return 0
	}
	return i
}

// modelTypes are the model types a deployment can serve.
var modelTypes = []string{TypeCustomModel, TypeMLflowModel}

// modelIgnored are keys of an inline model that mean nothing to a
// deployment.
var modelIgnored = []string{
	"$schema", "properties", "stage", "flavors", "job_name", "datastore", "intellectual_property",
	"creation_context", "id", "local_path",
}

// deploymentModel reads model: an azureml: reference, a local path, or an
// inline model with a path.
func (d *decoder) deploymentModel(path string, v *yaml.Node) *DeploymentModel {
	m := &DeploymentModel{Pos: d.pos(v)}
	switch {
	case v.Kind == yaml.ScalarNode && !isNull(v) && isAzureRef(v.Value):
		if strings.HasPrefix(v.Value, "azureml://") {
			d.errorf(v, path, "model %q: registry references are not served locally; use azureml:<name>:<version>, azureml:<name>@latest or a path", v.Value)
			return nil
		}
		m.Ref = v.Value
		return m
	case v.Kind == yaml.ScalarNode && !isNull(v):
		m.Path, m.Folder = d.modelPath(path, v)
		return m
	case v.Kind == yaml.MappingNode:
		d.fields(v, path, "a model", map[string]fieldFunc{
			"name":        d.nameInto(&m.Name),
			"version":     d.nameInto(&m.Version),
			"path":        func(p string, n *yaml.Node) { m.Path, m.Folder = d.modelPath(p, n) },
			"type":        func(p string, n *yaml.Node) { m.Type, _ = d.oneOf(p, n, modelTypes) },
			"description": d.strInto(&m.Description),
			"tags":        d.mapInto(&m.Tags),
		}, modelIgnored)
		if d.lookup(v, "path") == nil {
			d.errorf(v, path, "an inline model needs path: (or write model: azureml:<name>:<version>)")
		}
		return m
	}
	d.errorf(v, path, "expected azureml:<name>:<version>, azureml:<name>@latest, a path, or a mapping with path:, got %s", describeValue(v))
	return nil
}

// modelPath reads a model path: a local file or folder (made absolute; a
// folder's base name is returned too) or a reference kept as written.
func (d *decoder) modelPath(path string, v *yaml.Node) (abs, folder string) {
	s, ok := d.dataPath(path, v)
	if !ok || isRemote(s) {
		if ok && !strings.HasPrefix(s, "azureml:") && !strings.HasPrefix(s, "blob:") {
			d.errorf(v, path, "model path %q: only local paths and azureml: references are served locally", s)
			return "", ""
		}
		return s, ""
	}
	if fi, err := os.Stat(s); err == nil && fi.IsDir() {
		folder = filepath.Base(s)
	}
	return s, folder
}

// codeConfiguration reads code_configuration: {code, scoring_script}.
func (d *decoder) codeConfiguration(path string, v *yaml.Node) *CodeConfiguration {
	c := &CodeConfiguration{Pos: d.pos(v)}
	var scriptNode *yaml.Node
	d.fields(v, path, "code_configuration", map[string]fieldFunc{
		"code": func(p string, n *yaml.Node) { c.Code = d.code(p, n) },
		"scoring_script": func(p string, n *yaml.Node) {
			scriptNode = n
			c.ScoringScript, _ = d.str(p, n)
		},
	}, nil)
	if d.resolve(v).Kind != yaml.MappingNode {
		return nil
	}
	d.require(v, "code_configuration", "code", "scoring_script")
	if scriptNode == nil || c.ScoringScript == "" {
		return c
	}
	sp := joinPath(path, "scoring_script")
	clean := filepath.ToSlash(filepath.Clean(c.ScoringScript))
	switch {
	case filepath.IsAbs(c.ScoringScript) || clean == ".." || strings.HasPrefix(clean, "../"):
		d.errorf(scriptNode, sp, "%q must be a path inside the code folder", c.ScoringScript)
	case !strings.HasSuffix(clean, ".py"):
		d.errorf(scriptNode, sp, "%q: expected a Python file (.py)", c.ScoringScript)
	case c.Code != "" && !isRemote(c.Code):
		if fi, err := os.Stat(filepath.Join(c.Code, clean)); err != nil || !fi.Mode().IsRegular() {
			d.errorf(scriptNode, sp, "%s is not a file in the code folder %s", c.ScoringScript, c.Code)
		}
	}
	c.ScoringScript = clean
	return c
}

// requestSettings reads request_settings.
func (d *decoder) requestSettings(path string, v *yaml.Node) *RequestSettings {
	r := &RequestSettings{Pos: d.pos(v)}
	d.fields(v, path, "request_settings", map[string]fieldFunc{
		"request_timeout_ms": func(p string, n *yaml.Node) {
			r.RequestTimeoutMS = d.intInRange(p, n, 1, MaxRequestTimeoutMS)
		},
		"max_concurrent_requests_per_instance": func(p string, n *yaml.Node) {
			r.MaxConcurrentRequestsPerInstance = d.intInRange(p, n, 1, 1000)
		},
		"max_queue_wait_ms": func(p string, n *yaml.Node) {
			r.MaxQueueWaitMS = d.intInRange(p, n, 0, MaxRequestTimeoutMS)
		},
	}, nil)
	return r
}

// probe reads a liveness_probe or readiness_probe.
func (d *decoder) probe(path string, v *yaml.Node) *ProbeSettings {
	p := &ProbeSettings{Pos: d.pos(v)}
	d.fields(v, path, "a probe", map[string]fieldFunc{
		"initial_delay":     func(k string, n *yaml.Node) { p.InitialDelay = d.intInRange(k, n, 0, 3600) },
		"period":            func(k string, n *yaml.Node) { p.Period = d.intInRange(k, n, 1, 3600) },
		"timeout":           func(k string, n *yaml.Node) { p.Timeout = d.intInRange(k, n, 1, 3600) },
		"success_threshold": func(k string, n *yaml.Node) { p.SuccessThreshold = d.intInRange(k, n, 1, 1000) },
		"failure_threshold": func(k string, n *yaml.Node) { p.FailureThreshold = d.intInRange(k, n, 1, 1000) },
		"method":            func(k string, n *yaml.Node) { d.str(k, n) },
		"port":              func(k string, n *yaml.Node) { d.integer(k, n) },
		"path":              func(k string, n *yaml.Node) { d.str(k, n) },
		"scheme":            func(k string, n *yaml.Node) { d.str(k, n) },
	}, nil)
	return p
}

// DeploymentNames returns the names of a traffic map in order, for
// messages.
func DeploymentNames(m map[string]int) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// ParseTraffic parses a traffic flag as az ml takes it: "blue=90 green=10"
// (entries separated by spaces or commas). The percents are checked by
// whoever applies the split.
func ParseTraffic(s string) (map[string]int, error) {
	out := map[string]int{}
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' })
	for _, f := range fields {
		name, val, ok := strings.Cut(f, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("traffic %q: expected <deployment>=<percent>, e.g. blue=90 green=10", f)
		}
		n, err := strconv.Atoi(val)
		if err != nil {
			return nil, fmt.Errorf("traffic %q: the percent must be a whole number", f)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("traffic: deployment %s is given twice", name)
		}
		out[name] = n
	}
	return out, nil
}
