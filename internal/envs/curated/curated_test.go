package curated

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestParseRef(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ref  string
		want Ref
		ok   bool
	}{
		{"azureml://registries/azureml/environments/sklearn-1.5/labels/latest", Ref{Name: "sklearn-1.5", Label: "latest"}, true},
		{"azureml://registries/azureml/environments/sklearn-1.5/versions/14", Ref{Name: "sklearn-1.5", Version: "14"}, true},
		{"azureml://registries/azureml/environments/lightgbm-3.3", Ref{Name: "lightgbm-3.3"}, true},
		{"azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu@latest", Ref{Name: "sklearn-1.0-ubuntu20.04-py38-cpu", Label: "latest"}, true},
		{"azureml:AzureML-sklearn-1.5:3", Ref{Name: "sklearn-1.5", Version: "3"}, true},
		{"AzureML-Minimal", Ref{Name: "Minimal"}, true},
		{"azureml:azureml-minimal@latest", Ref{Name: "minimal", Label: "latest"}, true},
		{"azureml://registries/myreg/environments/sklearn-1.5/labels/latest", Ref{}, false},
		{"azureml://registries/azureml/environments/sklearn-1.5/labels", Ref{}, false},
		{"azureml://registries/azureml/models/x/versions/1", Ref{}, false},
		{"azureml:sklearn-env@latest", Ref{}, false},
		{"azureml:AzureML-", Ref{}, false},
		{"azureml:AzureML-a/b@latest", Ref{}, false},
		{"azureml://registries/azureml/environments/@", Ref{}, false},
		{"azureml://registries/azureml/environments/x/versions/..", Ref{}, false},
	}
	for _, tt := range tests {
		got, ok := ParseRef(tt.ref)
		if ok != tt.ok || got != tt.want {
			t.Errorf("ParseRef(%q) = %+v, %v; want %+v, %v", tt.ref, got, ok, tt.want, tt.ok)
		}
	}
}

// testCatalogue is a small catalogue with the shapes the rules care about.
func testCatalogue(t *testing.T) *Catalogue {
	t.Helper()
	c, err := Parse([]byte(`
source: {repository: Azure/azureml-assets, commit: 0123456789abcdef0123, date: "2026-07-23"}
pythons: ["3.10", "3.11"]
environments:
- name: acpt-pytorch-2.8-cuda12.6
  image: i
  python: "3.10"
  gpu: true
  requirements: [torch==2.10.0]
- name: minimal-py311-inference
  image: i
  python: "3.11"
  requirements: [numpy]
- name: minimal-py312-cuda12.4-inference
  image: i
  python: "3.12"
  gpu: true
  requirements: [numpy]
- name: sklearn-1.0
  image: i
  python: "3.9"
  requirements: [numpy~=1.22.0, scikit-learn~=1.0.0, azureml-core, py-cpuinfo==5.0.0]
  unpinned: [azureml-core]
  upgrades: [cryptography==48.0.1]
  notes: ["RUN commands not run on the host: apt-get update"]
  substitutions:
    "3.9": []
    "3.11":
    - {from: numpy~=1.22.0, to: numpy==1.23.2, reason: no wheel for Python 3.11}
    - {from: scikit-learn~=1.0.0, to: scikit-learn==1.1.3, reason: no wheel for Python 3.11}
  unresolved:
    "3.12": "numpy==1.26.0 conflicts"
- name: sklearn-1.5
  image: i
  python: "3.10"
  requirements: [scikit-learn~=1.5.0]
  substitutions: {"3.10": [], "3.11": []}
`))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestLookup(t *testing.T) {
	t.Parallel()
	c := testCatalogue(t)
	tests := []struct {
		ref      string
		want     string
		noteHas  string // "" means no note
		notFound bool
	}{
		{ref: "azureml://registries/azureml/environments/sklearn-1.5/labels/latest", want: "sklearn-1.5"},
		{ref: "azureml:AzureML-sklearn-1.5@latest", want: "sklearn-1.5"},
		{ref: "azureml:AzureML-SKLEARN-1.5@latest", want: "sklearn-1.5"},
		{ref: "azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu@latest", want: "sklearn-1.0", noteHas: "an older name of sklearn-1.0"},
		{ref: "azureml:AzureML-sklearn-0.24-ubuntu18.04-py37-cpu:5", want: "sklearn-1.0", noteHas: "retired; the nearest curated environment ciel has is sklearn-1.0"},
		{ref: "azureml:AzureML-sklearn-1.4@latest", want: "sklearn-1.5", noteHas: "retired"},
		{ref: "AzureML-Minimal", want: "minimal-py311-inference", noteHas: "retired"},
		{ref: "azureml:AzureML-minimal-ubuntu22.04-py311-cpu-inference@latest", want: "minimal-py311-inference", noteHas: "an older name"},
		{ref: "azureml:AzureML-minimal-ubuntu20.04-py38-cuda11.6.2-gpu-inference@latest", want: "minimal-py312-cuda12.4-inference", noteHas: "an older name"},
		{ref: "azureml:AzureML-pytorch-1.10-ubuntu18.04-py38-cuda11-gpu@latest", want: "acpt-pytorch-2.8-cuda12.6", noteHas: "retired"},
		{ref: "azureml://registries/azureml/environments/sklearn-1.5/versions/14", want: "sklearn-1.5", noteHas: "version 14 resolves to it"},
		{ref: "azureml://registries/azureml/environments/sklearn-1.5/labels/stable", want: "sklearn-1.5", noteHas: "label stable"},
		{ref: "azureml:AzureML-Tutorial@latest", notFound: true},
		{ref: "azureml://registries/azureml/environments/no-such-env/labels/latest", notFound: true},
	}
	for _, tt := range tests {
		r, ok := ParseRef(tt.ref)
		if !ok {
			t.Errorf("ParseRef(%q) refused it", tt.ref)
			continue
		}
		m, err := c.Lookup(r)
		if tt.notFound {
			if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "sklearn-1.5") {
				t.Errorf("Lookup(%q) = %v, %v; want ErrNotFound listing the names", tt.ref, m.Name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Lookup(%q): %v", tt.ref, err)
			continue
		}
		if m.Name != tt.want {
			t.Errorf("Lookup(%q) = %s, want %s", tt.ref, m.Name, tt.want)
		}
		if (tt.noteHas == "") != (m.Note == "") || !strings.Contains(m.Note, tt.noteHas) {
			t.Errorf("Lookup(%q) note = %q, want one holding %q", tt.ref, m.Note, tt.noteHas)
		}
	}
}

func TestResolve(t *testing.T) {
	t.Parallel()
	c := testCatalogue(t)
	sk10, _ := c.Get("sklearn-1.0")
	tests := []struct {
		name    string
		env     string
		python  string
		pip     []string
		notes   []string // substrings, each in some note
		noNotes []string // substrings no note may hold
	}{
		{
			name: "own python keeps Azure's pins", env: "sklearn-1.0", python: "3.9",
			pip: []string{"numpy~=1.22.0", "scikit-learn~=1.0.0", "azureml-core", "py-cpuinfo==5.0.0"},
			notes: []string{"curated env sklearn-1.0: Azure installs the newest release of azureml-core", "curated env sklearn-1.0: RUN commands not run",
				"curated env sklearn-1.0: Azure's image then upgrades cryptography==48.0.1 over what its packages ask for"},
			noNotes: []string{"->"},
		},
		{
			name: "another python substitutes and says so", env: "sklearn-1.0", python: "3.11",
			pip: []string{"numpy==1.23.2", "scikit-learn==1.1.3", "azureml-core", "py-cpuinfo==5.0.0"},
			notes: []string{"curated env sklearn-1.0: python 3.9 -> 3.11",
				"curated env sklearn-1.0: numpy~=1.22.0 -> numpy==1.23.2: no wheel for Python 3.11",
				"curated env sklearn-1.0: scikit-learn~=1.0.0 -> scikit-learn==1.1.3: no wheel for Python 3.11"},
		},
		{
			name: "a python with no table and an unresolved set", env: "sklearn-1.0", python: "3.12",
			pip:   []string{"numpy~=1.22.0", "scikit-learn~=1.0.0", "azureml-core", "py-cpuinfo==5.0.0"},
			notes: []string{"no substitutions were computed for Python 3.12", "did not resolve together on Python 3.12 when the catalogue was made (numpy==1.26.0 conflicts)"},
		},
		{
			name: "empty python means the environment's own", env: "sklearn-1.5", python: "",
			pip: []string{"scikit-learn~=1.5.0"}, noNotes: []string{"python"},
		},
		{
			name: "gpu environment", env: "acpt-pytorch-2.8-cuda12.6", python: "3.10",
			pip: []string{"torch==2.10.0"}, notes: []string{"is a GPU (CUDA) environment"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, ok := c.Get(tt.env)
			if !ok {
				t.Fatalf("no %s", tt.env)
			}
			r := e.Resolve(tt.python)
			var doc struct {
				Dependencies []yaml.Node `yaml:"dependencies"`
			}
			if err := yaml.Unmarshal([]byte(r.CondaFile), &doc); err != nil {
				t.Fatal(err)
			}
			wantPy := tt.python
			if wantPy == "" {
				wantPy = e.Python
			}
			if r.Python != wantPy || len(doc.Dependencies) != 3 || doc.Dependencies[0].Value != "python="+wantPy {
				t.Fatalf("python %q, conda file:\n%s", r.Python, r.CondaFile)
			}
			var pip []string
			if err := doc.Dependencies[2].Content[1].Decode(&pip); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(pip, tt.pip) {
				t.Errorf("pip = %q, want %q", pip, tt.pip)
			}
			all := strings.Join(r.Notes, "\n")
			for _, n := range tt.notes {
				if !strings.Contains(all, n) {
					t.Errorf("no note holds %q; notes:\n%s", n, all)
				}
			}
			for _, n := range tt.noNotes {
				if strings.Contains(all, n) {
					t.Errorf("a note holds %q; notes:\n%s", n, all)
				}
			}
		})
	}
	if got := sk10.Resolve("3.11"); slices.Equal(sk10.Requirements, []string{"numpy==1.23.2"}) || got.Python != "3.11" {
		t.Errorf("Resolve changed the catalogue's requirements: %q", sk10.Requirements)
	}
}

func TestParseRejects(t *testing.T) {
	t.Parallel()
	for name, doc := range map[string]string{
		"not yaml":        "environments: [",
		"no python":       "environments: [{name: a, image: i}]",
		"out of order":    "environments: [{name: b, image: i, python: '3.10'}, {name: a, image: i, python: '3.10'}]",
		"repeated":        "environments: [{name: a, image: i, python: '3.10'}, {name: a, image: i, python: '3.10'}]",
		"foreign from":    "environments: [{name: a, image: i, python: '3.10', requirements: [x], substitutions: {'3.11': [{from: y, to: z, reason: r}]}}]",
		"missing a image": "environments: [{name: a, python: '3.10'}]",
	} {
		if _, err := Parse([]byte(doc)); err == nil {
			t.Errorf("%s: Parse accepted %s", name, doc)
		}
	}
}

// TestDefaultCatalogue checks the embedded catalogue: it parses, and holds
// the environments the vendored azureml-examples and Azure's docs name,
// with Azure's pins.
func TestDefaultCatalogue(t *testing.T) {
	t.Parallel()
	c := Default()
	if c.Source.Repository != "Azure/azureml-assets" || len(c.Source.Commit) != 40 {
		t.Errorf("source = %+v", c.Source)
	}
	for _, name := range []string{"sklearn-1.5", "sklearn-1.0", "lightgbm-3.3", "minimal-py311-inference",
		"mlflow-py312-inference", "acpt-pytorch-2.8-cuda12.6", "tensorflow-2.16-cuda12"} {
		e, ok := c.Get(name)
		if !ok {
			t.Errorf("catalogue lacks %s", name)
			continue
		}
		if len(e.Requirements) == 0 || e.Python == "" {
			t.Errorf("%s: python %q, %d requirements", name, e.Python, len(e.Requirements))
		}
	}
	sk, _ := c.Get("sklearn-1.5")
	if sk.Python != "3.10" || !slices.Contains(sk.Requirements, "scikit-learn~=1.5.0") || !slices.Contains(sk.Requirements, "numpy~=1.22.0") {
		t.Errorf("sklearn-1.5: python %s, requirements %q", sk.Python, sk.Requirements)
	}
	for _, py := range c.Pythons {
		if _, ok := sk.Substitutions[py]; !ok {
			t.Errorf("sklearn-1.5 has no substitution table for Python %s", py)
		}
	}
	// numpy 1.22 has no wheel for Python 3.11: the rule must replace it.
	if !slices.ContainsFunc(sk.Substitutions["3.11"], func(s Substitution) bool { return s.From == "numpy~=1.22.0" }) {
		t.Errorf("sklearn-1.5 on Python 3.11 keeps numpy~=1.22.0: %+v", sk.Substitutions["3.11"])
	}
}

func FuzzLookup(f *testing.F) {
	for _, s := range []string{"azureml://registries/azureml/environments/sklearn-1.5/labels/latest",
		"azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu@latest", "AzureML-Minimal", "azureml:AzureML-x-99999999999999999999.1:2"} {
		f.Add(s)
	}
	c := Default()
	f.Fuzz(func(t *testing.T, ref string) {
		r, ok := ParseRef(ref)
		if !ok {
			return
		}
		if r.Name == "" || strings.ContainsAny(r.Name, "/@") {
			t.Fatalf("ParseRef(%q) = %+v", ref, r)
		}
		m, err := c.Lookup(r)
		if err == nil {
			if _, ok := c.Get(m.Name); !ok {
				t.Fatalf("Lookup(%q) = %q, not in the catalogue", ref, m.Name)
			}
			m.Resolve("3.11")
		}
	})
}
