package dockerfile

import (
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// mapRead serves a build context from a map.
func mapRead(files map[string]string) ReadFunc {
	return func(name string) ([]byte, error) {
		if s, ok := files[name]; ok {
			return []byte(s), nil
		}
		return nil, fmt.Errorf("open %s: %w", name, fs.ErrNotExist)
	}
}

func specs(r Result) []string {
	var out []string
	for _, p := range r.Applied() {
		if p.Conda {
			out = append(out, "conda:"+p.Spec)
		} else {
			out = append(out, p.Spec)
		}
	}
	return out
}

func TestExtract(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		dockerfile string
		files      map[string]string
		base       string
		python     string
		want       []string // package specs, "conda:" before conda ones
		notes      []string // substrings each of which some note holds
	}{
		{
			name: "pip install with continuation and quotes",
			dockerfile: `FROM python:3.11-slim
RUN pip install --no-cache-dir \
    'scikit-learn~=1.5.0' "pandas>=2" \
    numpy==1.26.4`,
			base: "python:3.11-slim",
			want: []string{"scikit-learn~=1.5.0", "pandas>=2", "numpy==1.26.4"},
		},
		{
			name: "requirements file through COPY and WORKDIR",
			dockerfile: `FROM python:3.11
WORKDIR /app
COPY deps/reqs.txt ./requirements.txt
RUN python3 -m pip install -r requirements.txt`,
			files: map[string]string{"deps/reqs.txt": "lightgbm==4.5.0  # the model\n\n# comment\nscipy\n-r more.txt\n", "deps/more.txt": "joblib==1.4.2\n"},
			want:  []string{"lightgbm==4.5.0", "scipy", "joblib==1.4.2"},
		},
		{
			name: "conda create then pip into it, base pip skipped",
			dockerfile: `FROM mcr.microsoft.com/azureml/openmpi5.0-ubuntu24.04:latest
ENV CONDA_PREFIX=/azureml-envs/sklearn
RUN conda create -p $CONDA_PREFIX -q -y python=3.10 pip=26.1.2 'pandas~=1.5.3' -c conda-forge && conda clean -a -y
RUN conda run -p $CONDA_PREFIX pip install --no-cache-dir 'scikit-learn~=1.5.0'
RUN /opt/miniconda/bin/pip install --upgrade 'idna>=3.15'`,
			python: "python=3.10",
			want:   []string{"conda:pandas~=1.5.3", "scikit-learn~=1.5.0"},
			notes:  []string{"pip install into conda environment base skipped"},
		},
		{
			name: "conda env create from a copied file",
			dockerfile: `FROM ubuntu
WORKDIR /
COPY conda_dependencies.yaml .
RUN conda env create -p /azureml-envs/x -f conda_dependencies.yaml -q && rm conda_dependencies.yaml`,
			files: map[string]string{"conda_dependencies.yaml": `name: x
dependencies:
- python=3.9
- numpy=1.26
- pip:
  - mlflow==2.16.0  # tracking
  - --extra-index-url https://example.test/simple
`},
			python: "python=3.9",
			want:   []string{"conda:numpy=1.26", "mlflow==2.16.0"},
			notes:  []string{"package index https://example.test/simple is not used"},
		},
		{
			name: "later install replaces earlier, uninstall removes",
			dockerfile: `FROM x
RUN pip install distributed~=2021.10.0 py-rattler
RUN pip install --upgrade 'distributed>=2026.1.0' && pip uninstall -y py-rattler`,
			want: []string{"distributed>=2026.1.0"},
		},
		{
			name: "only the final stage counts",
			dockerfile: `FROM python:3.11 AS build
RUN pip install cython
FROM python:3.11-slim
COPY --from=build /x /x
RUN pip install requests`,
			base: "python:3.11-slim",
			want: []string{"requests"},
		},
		{
			name:       "CUDA local version and index url",
			dockerfile: "FROM x\nRUN pip install --index-url https://download.pytorch.org/whl/cu126 'torch==2.10.0+cu126'",
			want:       []string{"torch==2.10.0"},
			notes:      []string{"torch==2.10.0+cu126 -> torch==2.10.0", "package index https://download.pytorch.org/whl/cu126"},
		},
		{
			name: "skipped commands and what is not a package",
			dockerfile: `FROM x
RUN apt-get update && apt-get install -y git > /tmp/log 2>&1 || (cat /tmp/log && false)
RUN wget -q https://example.test/a.sh && bash a.sh
RUN pip install ./local-pkg git+https://example.test/r.git -e . /wheels/a.whl 'bad name' $UNSET`,
			notes: []string{"RUN commands not run on the host: apt-get update, apt-get install, wget, bash",
				"./local-pkg is a path or URL", "git+https://example.test/r.git is a path or URL", "editable install .",
				`"bad name" is not a package`, `"$UNSET" names an unset variable`},
		},
		{
			name:       "exec form, ARG default and sudo/env wrappers",
			dockerfile: "FROM x\nARG SK=1.5.2\nRUN [\"pip\", \"install\", \"scikit-learn==${SK}\"]\nRUN sudo -E env A=1 pip3 install joblib",
			want:       []string{"scikit-learn==1.5.2", "joblib"},
		},
		{
			name:       "missing requirements file",
			dockerfile: "FROM x\nRUN pip install -r missing.txt",
			notes:      []string{"requirements file missing.txt"},
		},
		{
			name:       "heredoc is not read",
			dockerfile: "FROM x\nRUN <<EOF\npip install numpy\nEOF\nRUN pip install six",
			want:       []string{"six"},
			notes:      []string{"heredoc"},
		},
		{
			name:       "conda install --file and mamba",
			dockerfile: "FROM x\nCOPY specs.txt /tmp/\nRUN mamba install -y -c conda-forge --file /tmp/specs.txt 'xgboost>=2'",
			files:      map[string]string{"specs.txt": "# conda specs\nlightgbm=4.5\n"},
			want:       []string{"conda:xgboost>=2", "conda:lightgbm=4.5"},
		},
		{
			name:       "uv pip and backtick escape",
			dockerfile: "# escape=`\nFROM x\nRUN uv pip install --system `\n    polars==1.9.0",
			want:       []string{"polars==1.9.0"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := Extract(tt.dockerfile, mapRead(tt.files))
			if err != nil {
				t.Fatal(err)
			}
			if got := specs(r); !slices.Equal(got, tt.want) {
				t.Errorf("packages = %q, want %q", got, tt.want)
			}
			if tt.base != "" && r.BaseImage != tt.base {
				t.Errorf("base = %q, want %q", r.BaseImage, tt.base)
			}
			if r.Python != tt.python {
				t.Errorf("python = %q, want %q", r.Python, tt.python)
			}
			for _, n := range tt.notes {
				if !slices.ContainsFunc(r.Notes, func(s string) bool { return strings.Contains(s, n) }) {
					t.Errorf("no note holds %q; notes:\n%s", n, strings.Join(r.Notes, "\n"))
				}
			}
		})
	}
}

// A pip install --upgrade after the main install is kept apart.
func TestExtractUpgrades(t *testing.T) {
	t.Parallel()
	r, err := Extract(`FROM x
RUN pip install -U pip 'distributed~=2021.10.0' azureml-core
RUN pip install --upgrade 'distributed>=2026.1.0' cryptography==48.0.1
RUN pip install six`, nil)
	if err != nil {
		t.Fatal(err)
	}
	var main, up []string
	for _, p := range r.Packages {
		main = append(main, p.Spec)
	}
	for _, p := range r.Upgrades {
		up = append(up, p.Spec)
	}
	if fmt.Sprint(main) != "[pip distributed~=2021.10.0 azureml-core six]" || fmt.Sprint(up) != "[distributed>=2026.1.0 cryptography==48.0.1]" {
		t.Errorf("packages %q, upgrades %q", main, up)
	}
	if got := fmt.Sprint(specs(r)); got != "[pip distributed>=2026.1.0 azureml-core six cryptography==48.0.1]" {
		t.Errorf("applied = %s", got)
	}
}

func TestCondaFile(t *testing.T) {
	t.Parallel()
	r := Result{Python: "python=3.10", Packages: []Package{
		{Name: "numpy", Spec: "numpy=1.26", Conda: true},
		{Name: "scikit-learn", Spec: "scikit-learn~=1.5.0"},
	}}
	var doc struct {
		Name         string `yaml:"name"`
		Dependencies []any  `yaml:"dependencies"`
	}
	if err := yaml.Unmarshal([]byte(r.CondaFile("sk")), &doc); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprint([]any{"python=3.10", "numpy=1.26", map[string]any{"pip": []any{"scikit-learn~=1.5.0"}}})
	if doc.Name != "sk" || fmt.Sprint(doc.Dependencies) != want {
		t.Errorf("conda file = %+v, want name sk and %s", doc, want)
	}
	if (Result{}).CondaFile("") != "dependencies: []\n" {
		t.Errorf("empty result: %q", (Result{}).CondaFile(""))
	}
}

func TestExtractTooLarge(t *testing.T) {
	t.Parallel()
	if _, err := Extract(strings.Repeat("#", maxDockerfile+1), nil); err == nil {
		t.Fatal("no error for an oversized Dockerfile")
	}
}

func TestSplitCommands(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string
	}{
		{`a b && c 'd e' ; f|g`, `[[a b] [c d e] [f] [g]]`},
		{`x "a \"q\" $b" c\ d`, `[[x a "q" $b c d]]`},
		{`cmd > out.log 2>&1 || (cat out.log)`, `[[cmd] [cat out.log]]`},
		{`echo $(nproc) ${HOME}/x # comment && y`, `[[echo $(nproc) ${HOME}/x]]`},
		{`'unterminated`, `[[unterminated]]`},
	}
	for _, tt := range tests {
		if got := fmt.Sprint(splitCommands(tt.in)); got != tt.want {
			t.Errorf("splitCommands(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func FuzzExtract(f *testing.F) {
	f.Add("FROM x\nRUN pip install -r r.txt 'a==1' && conda env create -f e.yml", "b>=2\n-r r.txt\n")
	f.Add("# escape=`\nFROM x AS y\nARG A=${B:-c}\nENV D $A\nRUN [\"pip\",\"install\",\"$D\"]\nCOPY a b /c/\n", "")
	f.Add("RUN <<EOF\nx\nEOF\nRUN conda run -n q python -m pip install 'x[y]==1; python_version<\"3.12\"'", "dependencies: [python=3.9, {pip: [-r r.txt]}]")
	f.Fuzz(func(t *testing.T, dockerfile, file string) {
		read := func(string) ([]byte, error) { return []byte(file), nil }
		r, err := Extract(dockerfile, read)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, p := range r.Applied() {
			if seen[p.Name] {
				t.Fatalf("package %s installed twice: %v", p.Name, r.Packages)
			}
			seen[p.Name] = true
			if p.Spec == "" || strings.ContainsAny(p.Spec, "\n$") {
				t.Fatalf("bad spec %q", p.Spec)
			}
		}
		var doc map[string]any
		if err := yaml.Unmarshal([]byte(r.CondaFile("x")), &doc); err != nil {
			t.Fatalf("conda file does not parse: %v", err)
		}
	})
}
