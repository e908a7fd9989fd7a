package envs

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParseConda(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		yaml      string
		python    pythonRequest
		reqs      []string
		noteParts []string // substrings expected somewhere in the notes
		wantErr   string   // substring; ErrInvalidConda is always expected then
	}{
		{
			name: "sklearn example",
			yaml: `name: sklearn-env
channels: [conda-forge]
dependencies:
  - python=3.10
  - pip
  - pip:
    - scikit-learn==1.5.2
    - pandas
`,
			python: pythonRequest{Spec: "python=3.10", Want: pyVersion{3, 10}},
			reqs:   []string{"scikit-learn==1.5.2", "pandas"},
		},
		{
			name:   "python double equals with patch",
			yaml:   "dependencies: [python==3.11.4]",
			python: pythonRequest{Spec: "python==3.11.4", Want: pyVersion{3, 11}},
		},
		{
			name:   "python lower bound",
			yaml:   "dependencies: ['python>=3.9']",
			python: pythonRequest{Spec: "python>=3.9", Lo: pyVersion{3, 9}},
		},
		{
			name:   "python range",
			yaml:   "dependencies: ['python>=3.8,<3.12']",
			python: pythonRequest{Spec: "python>=3.8,<3.12", Lo: pyVersion{3, 8}, Hi: pyVersion{3, 11}},
		},
		{
			name:   "python fuzzy star and space form",
			yaml:   "dependencies: ['python 3.9.*']",
			python: pythonRequest{Spec: "python 3.9.*", Want: pyVersion{3, 9}},
		},
		{
			name:   "python major only",
			yaml:   "dependencies: [python=3]",
			python: pythonRequest{Spec: "python=3", Lo: pyVersion{3, 0}, Hi: pyVersion{3, 999}},
		},
		{
			name:   "python unpinned",
			yaml:   "dependencies: [python]",
			python: pythonRequest{Spec: "python"},
		},
		{
			name: "conda packages translated",
			yaml: `dependencies:
  - numpy=1.26
  - scipy=1.11.4
  - scikit-learn
  - conda-forge::pandas>=2.0,<3
  - matplotlib 3.8.*
  - pytorch=2.1
  - requests=2.31=pyhd8ed1ab_0
`,
			reqs: []string{"numpy==1.26.*", "scipy==1.11.4", "scikit-learn", "pandas>=2.0,<3",
				"matplotlib==3.8.*", "torch==2.1.*", "requests==2.31.*"},
			noteParts: []string{"numpy==1.26.* (conda: numpy=1.26)", "torch==2.1.* (conda: pytorch=2.1)", ", scikit-learn"},
		},
		{
			name:      "conda-only packages skipped",
			yaml:      "dependencies: [cudatoolkit=11.8, _openmp_mutex, pip=23.3, libgcc-ng, numpy]",
			reqs:      []string{"numpy"},
			noteParts: []string{"conda-only packages skipped: cudatoolkit=11.8, _openmp_mutex, libgcc-ng"},
		},
		{
			name:      "or constraint loosened",
			yaml:      "dependencies: ['numpy 1.25|1.26']",
			reqs:      []string{"numpy"},
			noteParts: []string{"dropped: numpy 1.25|1.26"},
		},
		{
			name: "pip list passes lines through after conda packages",
			yaml: `dependencies:
  - pip:
    - --index-url https://pypi.org/simple
    - -r requirements-extra.txt
    - mlflow[extras]>=2.0 ; python_version >= "3.8"
  - six
`,
			reqs: []string{"six", "--index-url https://pypi.org/simple", "-r requirements-extra.txt",
				`mlflow[extras]>=2.0 ; python_version >= "3.8"`},
		},
		{name: "empty document", yaml: "# nothing here\n"},
		{name: "no dependencies", yaml: "name: x\nchannels: [defaults]\n"},
		{name: "null dependencies", yaml: "name: x\ndependencies:\n"},
		{name: "bad yaml", yaml: "dependencies: [python=3.10\n", wantErr: "line 1, column 15: invalid YAML: '[' is never closed; expected a matching ']'"},
		{name: "tab indentation", yaml: "dependencies:\n\t- numpy\n", wantErr: "line 2, column 1: invalid YAML: tab character in the indentation"},
		{name: "top level list", yaml: "- numpy\n", wantErr: "line 1: top level must be a mapping"},
		{name: "dependencies not a list", yaml: "dependencies: numpy\n", wantErr: "dependencies must be a list"},
		{name: "unknown section", yaml: "dependencies:\n  - npm: [left-pad]\n", wantErr: `line 2: unsupported dependency section "npm"`},
		{name: "pip not a list", yaml: "dependencies:\n  - pip: six\n", wantErr: "pip: must be a list"},
		{name: "pip entry not a string", yaml: "dependencies:\n  - pip:\n    - {a: b}\n", wantErr: "line 3: pip requirement must be a string"},
		{name: "bad python version", yaml: "dependencies: [python=three]\n", wantErr: `python version "=three"`},
		{name: "bad package name", yaml: "dependencies: ['num$py']\n", wantErr: "not a valid Python distribution name"},
		{name: "nested list", yaml: "dependencies:\n  - [a, b]\n", wantErr: "must be a string or a pip: list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseConda(tt.yaml)
			if tt.wantErr != "" {
				if err == nil || !errors.Is(err, ErrInvalidConda) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want ErrInvalidConda containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Python != tt.python {
				t.Errorf("python = %+v, want %+v", got.Python, tt.python)
			}
			if !slices.Equal(got.Requirements, tt.reqs) {
				t.Errorf("requirements = %q, want %q", got.Requirements, tt.reqs)
			}
			notes := strings.Join(got.Notes, "\n")
			for _, part := range tt.noteParts {
				if !strings.Contains(notes, part) {
					t.Errorf("notes %q lack %q", notes, part)
				}
			}
		})
	}
}

func TestPipConstraint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		conda, pip string
		ok         bool
	}{
		{"", "", true},
		{"=1.26", "==1.26.*", true},
		{"=1.26.*", "==1.26.*", true},
		{"=1.26.4", "==1.26.4", true},
		{"==1.26.4", "==1.26.4", true},
		{"1.26.4", "==1.26.4", true},
		{"1.26*", "==1.26.*", true},
		{">=1.2,<2.0", ">=1.2,<2.0", true},
		{">=1.2.*", ">=1.2", true},
		{"~=1.4", "~=1.4", true},
		{"!=1.5", "!=1.5", true},
		{"1.2|1.3", "", false},
		{">=abc", "", false},
	}
	for _, tt := range tests {
		got, ok := pipConstraint(tt.conda)
		if got != tt.pip || ok != tt.ok {
			t.Errorf("pipConstraint(%q) = %q, %v; want %q, %v", tt.conda, got, ok, tt.pip, tt.ok)
		}
	}
}

func TestParseMatchSpec(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want matchSpec
	}{
		{"numpy", matchSpec{Name: "numpy"}},
		{"numpy=1.26", matchSpec{Name: "numpy", Version: "=1.26"}},
		{"numpy=1.26=py310h_0", matchSpec{Name: "numpy", Version: "=1.26", Build: "py310h_0"}},
		{"numpy==1.26.4", matchSpec{Name: "numpy", Version: "==1.26.4"}},
		{"conda-forge::numpy>=1.2", matchSpec{Name: "numpy", Version: ">=1.2"}},
		{"numpy 1.26.* py310_0", matchSpec{Name: "numpy", Version: "1.26.*", Build: "py310_0"}},
		{"numpy >= 1.2", matchSpec{Name: "numpy", Version: ">=1.2"}},
		{"numpy[version='>=1.2']", matchSpec{Name: "numpy"}},
	}
	for _, tt := range tests {
		got, err := parseMatchSpec(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("parseMatchSpec(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	if _, err := parseMatchSpec("=1.2"); err == nil {
		t.Error("parseMatchSpec(\"=1.2\") succeeded, want an error for the missing name")
	}
}

func FuzzParseConda(f *testing.F) {
	f.Add("name: x\ndependencies:\n  - python=3.10\n  - numpy=1.26\n  - pip:\n    - six\n")
	f.Add("dependencies: ['python>=3.8,<3.12', 'a 1.2.* b']\n")
	f.Add("dependencies: [python=3.]\n")
	f.Fuzz(func(t *testing.T, text string) {
		env, err := parseConda(text)
		if err != nil {
			if !errors.Is(err, ErrInvalidConda) {
				t.Fatalf("error %v does not wrap ErrInvalidConda", err)
			}
			return
		}
		for _, r := range env.Requirements {
			if strings.TrimSpace(r) == "" {
				t.Fatalf("empty requirement in %q", env.Requirements)
			}
		}
		if k1, k2 := specKey(Spec{CondaFile: text}), specKey(Spec{CondaFile: strings.Clone(text)}); k1 != k2 {
			t.Fatal("key not deterministic")
		}
	})
}
