// Package curated is ciel's copy of Azure ML's curated environments (the
// "azureml" registry: sklearn-1.5, lightgbm-3.3, acpt-pytorch-2.8-cuda12.6,
// minimal-py311-inference, ...): for each, the Python version and the pip
// requirements, with Azure's pins, that its image installs.
//
// The catalogue is data embedded in the binary (catalogue.yaml), generated
// from the public Azure/azureml-assets repository by
// scripts/gen-curated-envs.sh, which also records, for each Python version
// ciel may build with, which pins cannot install there and what replaces
// them. Looking an environment up and resolving it never touches the
// network; building it is the environment builder's job (package envs).
//
// It is not a registry service: it holds one version of each environment,
// and nothing can be added to it at run time.
package curated

import (
	_ "embed"
	"fmt"
	"slices"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

//go:generate ../../../scripts/gen-curated-envs.sh

//go:embed catalogue.yaml
var catalogueYAML []byte

// Registry is the name of the registry the catalogue stands for, as in
// azureml://registries/azureml/environments/<name>.
const Registry = "azureml"

// Version is the version every catalogue environment has: ciel keeps one,
// taken from azureml-assets at the commit Catalogue.Source names.
const Version = "1"

// Catalogue is the set of curated environments.
type Catalogue struct {
	// Source is where the environments were read from.
	Source Source `yaml:"source" json:"source"`
	// Platform is the platform the substitutions were computed for, in uv's
	// terms ("x86_64-manylinux_2_28").
	Platform string `yaml:"platform" json:"platform"`
	// Pythons are the Python versions substitutions were computed for.
	Pythons []string `yaml:"pythons" json:"pythons"`
	// Environments are sorted by name.
	Environments []Environment `yaml:"environments" json:"environments"`
}

// Source names the azureml-assets commit the catalogue was generated from.
type Source struct {
	Repository string `yaml:"repository" json:"repository"`
	Commit     string `yaml:"commit" json:"commit"`
	Date       string `yaml:"date" json:"date"`
}

// Environment is one curated environment.
type Environment struct {
	// Name is the registry name ("sklearn-1.5"); in a workspace Azure shows
	// it as AzureML-<Name>.
	Name string `yaml:"name" json:"name"`
	// Path is the environment's folder in the assets repository.
	Path        string            `yaml:"path" json:"path"`
	Description string            `yaml:"description,omitempty" json:"description,omitempty"`
	Tags        map[string]string `yaml:"tags,omitempty" json:"tags,omitempty"`
	Categories  []string          `yaml:"categories,omitempty" json:"categories,omitempty"`
	OSType      string            `yaml:"os_type,omitempty" json:"os_type,omitempty"`
	// Image is the image Azure publishes for it.
	Image string `yaml:"image" json:"image"`
	// BaseImage is the FROM of its Dockerfile.
	BaseImage string `yaml:"base_image,omitempty" json:"base_image,omitempty"`
	// Python is the Python minor version its image has ("3.10").
	Python string `yaml:"python" json:"python"`
	// Requirements are pip requirement lines with Azure's pins, conda
	// packages translated to pip.
	Requirements []string `yaml:"requirements" json:"requirements"`
	// Unpinned names the packages Azure pins to their newest release when
	// it builds the image ({{latest-pypi-version}}); they are unpinned in
	// Requirements.
	Unpinned []string `yaml:"unpinned,omitempty" json:"unpinned,omitempty"`
	// Upgrades are what Azure's Dockerfile pip-installs with --upgrade after
	// the rest, over what those packages ask for (mostly security bumps of
	// dependencies). They are not in Requirements: resolved together with
	// them they can force a package back to an ancient release.
	Upgrades []string `yaml:"upgrades,omitempty" json:"upgrades,omitempty"`
	// GPU is true for an environment built for CUDA.
	GPU bool `yaml:"gpu,omitempty" json:"gpu,omitempty"`
	// Notes say what the translation from Azure's files left out.
	Notes []string `yaml:"notes,omitempty" json:"notes,omitempty"`
	// Substitutions are, by Python version, the pins that cannot install
	// there and what replaces each.
	Substitutions map[string][]Substitution `yaml:"substitutions,omitempty" json:"substitutions,omitempty"`
	// Unresolved says, by Python version, why the requirements (after
	// substitution) did not resolve together when the catalogue was made.
	Unresolved map[string]string `yaml:"unresolved,omitempty" json:"unresolved,omitempty"`
}

// Substitution replaces one of Azure's pins on one Python version.
type Substitution struct {
	From   string `yaml:"from" json:"from"`
	To     string `yaml:"to" json:"to"`
	Reason string `yaml:"reason" json:"reason"`
}

// Parse reads a catalogue and checks it: names unique and sorted, every
// environment with a Python and an image, every substitution replacing a
// requirement it has.
func Parse(data []byte) (*Catalogue, error) {
	var c Catalogue
	if err := yaml.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("parse curated catalogue: %w", err)
	}
	for i, e := range c.Environments {
		if e.Name == "" || e.Python == "" || e.Image == "" {
			return nil, fmt.Errorf("curated catalogue: environment %d (%q) lacks a name, python or image", i, e.Name)
		}
		if i > 0 && c.Environments[i-1].Name >= e.Name {
			return nil, fmt.Errorf("curated catalogue: %q is out of order or repeated", e.Name)
		}
		for py, subs := range e.Substitutions {
			for _, s := range subs {
				if !slices.Contains(e.Requirements, s.From) {
					return nil, fmt.Errorf("curated catalogue: %s: substitution for Python %s replaces %q, which it does not require", e.Name, py, s.From)
				}
			}
		}
	}
	return &c, nil
}

// Default returns the catalogue built into ciel.
var Default = sync.OnceValue(func() *Catalogue {
	c, err := Parse(catalogueYAML)
	if err != nil {
		panic(err) // the embedded file is generated and tested; this is a build defect
	}
	return c
})

// Get returns the environment named name exactly (case-insensitively).
func (c *Catalogue) Get(name string) (Environment, bool) {
	for _, e := range c.Environments {
		if strings.EqualFold(e.Name, name) {
			return e, true
		}
	}
	return Environment{}, false
}

// Names lists the environments' names.
func (c *Catalogue) Names() []string {
	out := make([]string, len(c.Environments))
	for i, e := range c.Environments {
		out[i] = e.Name
	}
	return out
}
