package e2e

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// The azureml registry of curated environments, listed and shown through
// the CLI as az ml does with --registry-name.
func TestCuratedEnvironmentRegistry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.ok("environment", "list", "--registry", "azureml", "-o", "json")
	var list []struct {
		Name, Version, Image, ID string
	}
	if err := json.Unmarshal([]byte(r.out), &list); err != nil {
		t.Fatalf("list: %v\n%s", err, r.out)
	}
	names := map[string]bool{}
	for _, a := range list {
		names[a.Name] = true
		if a.Version != "1" || a.Image != "mcr.microsoft.com/azureml/curated/"+a.Name+":latest" ||
			a.ID != "azureml://registries/azureml/environments/"+a.Name+"/versions/1" {
			t.Errorf("entry %+v", a)
		}
	}
	for _, n := range []string{"sklearn-1.5", "lightgbm-3.3", "minimal-py311-inference", "acpt-pytorch-2.8-cuda12.6", "tensorflow-2.16-cuda12"} {
		if !names[n] {
			t.Errorf("registry list lacks %s: %v", n, names)
		}
	}
	table := e.ok("environment", "list", "--registry-name", "azureml").out
	if !regexp.MustCompile(`(?m)^sklearn-1\.5\s+1\s+mcr\.microsoft\.com/azureml/curated/sklearn-1\.5:latest`).MatchString(table) {
		t.Errorf("table lacks the sklearn-1.5 row:\n%s", table)
	}

	r = e.ok("environment", "show", "--registry", "azureml", "--name", "sklearn-1.5", "-o", "json")
	var show struct {
		Name          string `json:"name"`
		CondaFile     string `json:"conda_file"`
		PythonVersion string `json:"python_version"`
		Source        string `json:"source"`
	}
	if err := json.Unmarshal([]byte(r.out), &show); err != nil {
		t.Fatalf("show: %v\n%s", err, r.out)
	}
	if show.Name != "sklearn-1.5" || show.PythonVersion != "3.10" || !strings.Contains(show.CondaFile, "scikit-learn~=1.5.0") ||
		!strings.Contains(show.CondaFile, "python=3.10") || !strings.HasPrefix(show.Source, "https://github.com/Azure/azureml-assets/tree/") {
		t.Errorf("show sklearn-1.5:\n%s", r.out)
	}

	for _, bad := range [][]string{
		{"environment", "show", "--registry", "azureml", "--name", "no-such-env"},
		{"environment", "list", "--registry", "myreg"},
	} {
		r := e.run(bad...)
		if r.code == 0 || !strings.Contains(r.err, "not found") {
			t.Errorf("ciel %s: exit %d, stderr %q; want a not-found error", strings.Join(bad, " "), r.code, r.err)
		}
	}
}

// A job naming the curated sklearn-1.5 environment, in both the registry
// and the AzureML- forms, runs in a virtualenv built with Azure's pins (or
// the substitutes the log names) and imports scikit-learn 1.5.
func TestCuratedEnvironmentJob(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the sklearn-1.5 environment from PyPI")
	}
	t.Parallel()
	e := newEnv(t)
	script := `import sklearn, numpy, pandas; print("versions", sklearn.__version__, numpy.__version__, pandas.__version__)`
	for i, ref := range []string{
		"azureml://registries/azureml/environments/sklearn-1.5/labels/latest",
		"azureml:AzureML-sklearn-1.5@latest",
	} {
		file := e.write("job.yml", "command: python -c '"+script+"' # "+ref+"\nenvironment: "+ref+"\n")
		r := e.ok("job", "create", "--file", file, "--stream")
		for _, want := range []string{"Status: Completed", "curated environment sklearn-1.5 (registry azureml, from Azure/azureml-assets@"} {
			if !strings.Contains(r.out, want) {
				t.Fatalf("%s: stream lacks %q:\n%s", ref, want, r.out)
			}
		}
		m := regexp.MustCompile(`(?m)versions (\S+) (\S+) (\S+)$`).FindStringSubmatch(r.out)
		if m == nil || !strings.HasPrefix(m[1], "1.5.") {
			t.Fatalf("%s: want scikit-learn 1.5.x:\n%s", ref, r.out)
		}
		// numpy and pandas are at Azure's pins, or at the substitutes the log names.
		for _, p := range []struct{ pkg, pin, got string }{{"numpy", "~=1.22.0", m[2]}, {"pandas", "~=1.5.3", m[3]}} {
			ok := strings.HasPrefix(p.got, strings.TrimSuffix(strings.TrimPrefix(p.pin, "~="), "0")) // 1.22. / 1.5.
			sub := regexp.MustCompile(regexp.QuoteMeta(p.pkg+p.pin+" -> "+p.pkg+"==") + `(\S+): no wheel for Python 3\.\d+`).FindStringSubmatch(r.out)
			if sub != nil {
				ok = p.got == sub[1]
			}
			if !ok {
				t.Errorf("%s: %s %s is neither Azure's %s pin nor a logged substitute:\n%s", ref, p.pkg, p.got, p.pin, r.out)
			}
		}
		building := strings.Contains(r.out, "building environment")
		if (i == 0) != building {
			t.Errorf("%s: built the environment: %v; want it built once, by the first job:\n%s", ref, building, r.out)
		}
	}
}

// An environment that names only an image runs on the host's Python and
// says so; one built from a Docker context installs its Dockerfile's pip
// line.
func TestImageAndBuildContextEnvironments(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.write("image-job.yml", `command: python -c 'import sys; print("host", sys.prefix)'
environment:
  image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest
`)
	r := e.ok("job", "create", "--file", "image-job.yml", "--stream")
	if !strings.Contains(r.out, "environment (inline) names image mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest; local compute runs it on the host Python") ||
		!strings.Contains(r.out, "Status: Completed") {
		t.Errorf("image-only stream:\n%s", r.out)
	}

	e.write("docker-context/Dockerfile", `FROM python:3.11-slim
COPY requirements.txt /tmp/
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 && \
    pip install --no-cache-dir -r /tmp/requirements.txt 'six==1.16.0'
`)
	e.write("docker-context/requirements.txt", "packaging==24.1\n")
	e.write("env.yml", "name: docker-env\nversion: 1\nbuild:\n  path: docker-context\n")
	e.ok("environment", "create", "--file", "env.yml")
	e.write("ctx-job.yml", `command: python -c 'import six, packaging; print("six", six.__version__, "packaging", packaging.__version__)'
environment: azureml:docker-env:1
`)
	r = e.ok("job", "create", "--file", "ctx-job.yml", "--stream")
	for _, want := range []string{
		"Status: Completed", "six 1.16.0 packaging 24.1",
		"environment docker-env is built from a Docker context; local compute runs it in a virtualenv with the Python packages its Dockerfile installs (base image python:3.11-slim is not pulled)",
		"environment docker-env: Dockerfile: RUN commands not run on the host: apt-get update, apt-get install",
	} {
		if !strings.Contains(r.out, want) {
			t.Errorf("build-context stream lacks %q:\n%s", want, r.out)
		}
	}
}
