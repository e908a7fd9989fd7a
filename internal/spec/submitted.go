package spec

import (
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// A spec parsed from a file has been checked by the parser. One that
// arrives over the HTTP API as JSON has not: any client can send it, and its
// names and paths go straight to the server's disk. The CheckSubmitted
// functions hold such a spec to what the parser and the CLI guarantee:
//
//   - every name that becomes a path (job, step, input, output, asset,
//     version) follows Azure ML's rule for it (names.go);
//   - every path is uploaded content (blob:sha256:<hex>), an azureml:
//     reference or a URL, never a path on the server's own disk: the CLI
//     uploads local paths before it submits;
//   - commands, environment variables and the names a step's process sees
//     carry no NUL, which no process can be started with.
//
// They return a *FieldError naming the first field at fault.

// FieldError is a problem with one field of a spec sent over the API.
type FieldError struct {
	// Field is the field's dotted path ("jobs.train.outputs").
	Field string
	Msg   string
}

// Error formats the problem as "field: message".
func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// CheckSubmittedJob checks a job received over the API.
func CheckSubmittedJob(j *Job) error {
	var c submitChecker
	c.job("", j)
	return c.result()
}

// CheckSubmittedComponent checks a component received over the API.
func CheckSubmittedComponent(comp *Component) error {
	var c submitChecker
	c.component("", comp)
	return c.result()
}

// CheckSubmittedEnvironment checks an environment received over the API.
func CheckSubmittedEnvironment(e *Environment) error {
	var c submitChecker
	c.environment("", e)
	return c.result()
}

// CheckSubmittedData checks a data asset received over the API.
func CheckSubmittedData(d *Data) error {
	var c submitChecker
	c.name("name", d.Name, true)
	c.name("version", d.Version, false)
	c.uploaded("path", d.Path)
	return c.result()
}

// CheckSubmittedCompute checks a compute target received over the API.
func CheckSubmittedCompute(comp *Compute) error {
	var c submitChecker
	c.name("name", comp.Name, true)
	if k := comp.Kubernetes; k != nil {
		if err := ValidateEndpointRoute(k.EndpointRoute); err != nil {
			c.fail("endpoint_route", "%v", err)
		}
	}
	return c.result()
}

// CheckSubmittedDeployment checks an online deployment received over the
// API: its name, the code and model it names (uploads), its scoring script
// (a path inside the code) and its environment.
func CheckSubmittedDeployment(d *OnlineDeployment) error {
	var c submitChecker
	if err := CheckEndpointName("deployment", d.Name); err != nil {
		c.fail("name", "%v", err)
	}
	if cc := d.CodeConfiguration; cc != nil {
		c.uploaded("code_configuration.code", cc.Code)
		if s := cc.ScoringScript; s != "" && (!filepath.IsLocal(s) || hasControl(s)) {
			c.fail("code_configuration.scoring_script", "%q: expected a path inside the code folder", s)
		}
	}
	if m := d.Model; m != nil {
		c.uploaded("model.path", m.Path)
		c.name("model.name", m.Name, false)
		c.name("model.version", m.Version, false)
		if f := m.Folder; f != "" && (!filepath.IsLocal(f) || strings.ContainsAny(f, `/\`) || hasControl(f)) {
			c.fail("model.folder", "%q: expected the name of the uploaded folder, one path segment", f)
		}
	}
	c.envRef("environment", d.Environment)
	c.envVars("environment_variables", d.EnvironmentVariables)
	return c.result()
}

// submitChecker walks a submitted spec and keeps the first problem.
type submitChecker struct {
	err *FieldError
}

func (c *submitChecker) fail(field, format string, args ...any) {
	if c.err == nil {
		c.err = &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
	}
}

func (c *submitChecker) result() error {
	if c.err == nil {
		return nil
	}
	return c.err
}

// name checks a name or version; an empty one is refused only when
// required.
func (c *submitChecker) name(field, s string, required bool) {
	if s == "" && !required {
		return
	}
	if err := CheckName(field[strings.LastIndex(field, ".")+1:], s); err != nil {
		c.fail(field, "%v", err)
	}
}

// ports checks the names of an inputs or outputs mapping (what says
// which).
func ports[V any](c *submitChecker, field, what string, m map[string]V) {
	for _, name := range slices.Sorted(maps.Keys(m)) {
		if !IsPortName(name) {
			c.fail(field, "invalid %s name %q: %s", what, name, portNameRule)
		}
	}
}

// blobRef is uploaded content as the CLI names it.
var blobRef = regexp.MustCompile(`^blob:sha256:[0-9a-f]{64}$`)

// urlRef is a URL: a scheme of two letters or more, then "://".
var urlRef = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]+://`)

// uploaded checks a path field: uploaded content, an azureml: reference or
// a URL, never a path on the server's disk.
func (c *submitChecker) uploaded(field, p string) {
	switch {
	case p == "":
	case strings.HasPrefix(p, "blob:"):
		if !blobRef.MatchString(p) {
			c.fail(field, "%q: expected uploaded content as blob:sha256:<64 hex digits>", p)
		}
	case strings.HasPrefix(p, "azureml:"), urlRef.MatchString(p) && !strings.HasPrefix(strings.ToLower(p), "file:"):
		if hasControl(p) {
			c.fail(field, "%q: a reference cannot hold control characters", p)
		}
	default:
		c.fail(field, "%q is a path on the server's disk, which the API does not read: give uploaded content (blob:sha256:<hex>), an azureml: reference or a URL; the ciel CLI uploads local paths for you (ciel job create --file ...)", p)
	}
}

// text checks a value that reaches a step's process (its command, an
// argument or its environment), which cannot carry a NUL.
func (c *submitChecker) text(field, s string) {
	if strings.IndexByte(s, 0) >= 0 {
		c.fail(field, "contains a NUL byte, which no process can be given")
	}
}

// label checks a display or experiment name: text a step's environment
// carries, on one line.
func (c *submitChecker) label(field, s string) {
	if hasControl(s) {
		c.fail(field, "%q: control characters are not allowed", s)
	}
}

func (c *submitChecker) envVars(field string, vars map[string]string) {
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			c.fail(field, "invalid variable name %q: expected a name without '=' or NUL", k)
		}
		c.text(joinPath(field, k), vars[k])
	}
}

// job checks a job or, at a non-empty path, a pipeline step.
func (c *submitChecker) job(path string, j *Job) {
	if j == nil {
		return
	}
	c.name(joinPath(path, "name"), j.Name, false)
	c.label(joinPath(path, "display_name"), j.DisplayName)
	c.label(joinPath(path, "experiment_name"), j.ExperimentName)
	c.text(joinPath(path, "command"), j.Command)
	c.uploaded(joinPath(path, "code"), j.Code)
	c.envRef(joinPath(path, "environment"), j.Environment)
	c.envVars(joinPath(path, "environment_variables"), j.EnvironmentVariables)
	ports(c, joinPath(path, "inputs"), "input", j.Inputs)
	for _, name := range slices.Sorted(maps.Keys(j.Inputs)) {
		if in := j.Inputs[name]; in != nil {
			c.uploaded(joinPath(path, "inputs."+name+".path"), in.Path)
			if in.Value != nil {
				c.text(joinPath(path, "inputs."+name+".value"), *in.Value)
			}
		}
	}
	ports(c, joinPath(path, "outputs"), "output", j.Outputs)
	for _, name := range slices.Sorted(maps.Keys(j.Outputs)) {
		if out := j.Outputs[name]; out != nil {
			c.name(joinPath(path, "outputs."+name+".name"), out.Name, false)
			c.name(joinPath(path, "outputs."+name+".version"), out.Version, false)
		}
	}
	if j.Component != nil {
		c.component(joinPath(path, "component"), j.Component.Inline)
	}
	c.parallel(path, j.Parallel)
	c.distribution(joinPath(path, "distribution"), j.Distribution)
	c.steps(joinPath(path, "jobs"), j.Jobs)
}

// distribution checks a distribution's type and counts.
func (c *submitChecker) distribution(path string, d *Distribution) {
	if d == nil {
		return
	}
	if !contains(distTypes, d.Type) {
		c.fail(joinPath(path, "type"), "%q: expected one of %s", d.Type, strings.Join(distTypes, ", "))
	}
	for _, n := range []int{d.ProcessCountPerInstance, d.WorkerCount, d.ParameterServerCount} {
		if n < 0 || n > MaxDistProcesses {
			c.fail(path, "process counts must be 0 to %d", MaxDistProcesses)
			return
		}
	}
}

// steps checks a pipeline's jobs mapping.
func (c *submitChecker) steps(path string, jobs map[string]*Job) {
	for _, name := range slices.Sorted(maps.Keys(jobs)) {
		if !IsPortName(name) {
			c.fail(path, "invalid step name %q: %s", name, portNameRule)
			continue
		}
		c.job(joinPath(path, name), jobs[name])
	}
}

// component checks an inline or registered component.
func (c *submitChecker) component(path string, comp *Component) {
	if comp == nil {
		return
	}
	c.name(joinPath(path, "name"), comp.Name, false)
	c.name(joinPath(path, "version"), comp.Version, false)
	c.label(joinPath(path, "display_name"), comp.DisplayName)
	ports(c, joinPath(path, "inputs"), "input", comp.Inputs)
	for _, name := range slices.Sorted(maps.Keys(comp.Inputs)) {
		if in := comp.Inputs[name]; in != nil && in.Default != nil {
			c.text(joinPath(path, "inputs."+name+".default"), *in.Default)
		}
	}
	ports(c, joinPath(path, "outputs"), "output", comp.Outputs)
	c.text(joinPath(path, "command"), comp.Command)
	c.uploaded(joinPath(path, "code"), comp.Code)
	if len(comp.AdditionalIncludes) > 0 {
		c.fail(joinPath(path, "additional_includes"), "are paths on the client's disk that the ciel CLI merges into the uploaded code; create the component or job with the ciel CLI")
	}
	c.envRef(joinPath(path, "environment"), comp.Environment)
	c.envVars(joinPath(path, "environment_variables"), comp.EnvironmentVariables)
	c.parallel(path, comp.Parallel)
	c.distribution(joinPath(path, "distribution"), comp.Distribution)
	c.steps(joinPath(path, "jobs"), comp.Jobs)
}

func (c *submitChecker) envRef(path string, e *EnvRef) {
	if e != nil {
		c.environment(joinPath(path, "inline"), e.Inline)
	}
}

// environment checks an inline or registered environment.
func (c *submitChecker) environment(path string, e *Environment) {
	if e == nil {
		return
	}
	c.name(joinPath(path, "name"), e.Name, path == "")
	c.name(joinPath(path, "version"), e.Version, false)
	c.uploaded(joinPath(path, "build_path"), e.BuildPath)
}
