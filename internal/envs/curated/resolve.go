package curated

import (
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Resolved is a curated environment made concrete for one Python version.
type Resolved struct {
	// Python is the Python minor version the conda file asks for.
	Python string
	// CondaFile is a conda environment file (YAML text) with python and
	// every requirement as a pip requirement, substitutions applied.
	CondaFile string
	// Notes say, for the job log, where the result differs from Azure's
	// image: another Python, each substituted pin, unpinned packages.
	Notes []string
}

// Resolve makes e concrete for the Python version python ("3.11"), the one
// the machine will build with; "" means e's own. The rule, decided when the
// catalogue was generated and only applied here: a pin that has a wheel for
// that Python is kept; a pin released only as source is kept (Azure builds
// it from source too); any other pin is replaced by the nearest later
// version that has a wheel for that Python. Every replacement is a note.
func (e Environment) Resolve(python string) Resolved {
	if python == "" {
		python = e.Python
	}
	label := "curated env " + e.Name
	var notes []string
	if python != e.Python {
		notes = append(notes, fmt.Sprintf("%s: python %s -> %s: Azure's image has %s; this machine builds with %s", label, e.Python, python, e.Python, python))
	}
	reqs := slices.Clone(e.Requirements)
	subs, known := e.Substitutions[python]
	for _, s := range subs {
		if i := slices.Index(reqs, s.From); i >= 0 {
			reqs[i] = s.To
			notes = append(notes, fmt.Sprintf("%s: %s -> %s: %s", label, s.From, s.To, s.Reason))
		}
	}
	if !known && python != e.Python {
		notes = append(notes, fmt.Sprintf("%s: no substitutions were computed for Python %s; Azure's pins are used as given", label, python))
	}
	if len(e.Unpinned) > 0 {
		notes = append(notes, fmt.Sprintf("%s: Azure installs the newest release of %s when it builds the image; the newest release is installed here too", label, strings.Join(e.Unpinned, ", ")))
	}
	if len(e.Upgrades) > 0 {
		notes = append(notes, fmt.Sprintf("%s: Azure's image then upgrades %s over what its packages ask for; ciel resolves its packages in one go and leaves these to the resolver", label, strings.Join(e.Upgrades, ", ")))
	}
	if why, ok := e.Unresolved[python]; ok {
		notes = append(notes, fmt.Sprintf("%s: Azure's pins did not resolve together on Python %s when the catalogue was made (%s); the build may fail", label, python, why))
	}
	if e.GPU {
		notes = append(notes, fmt.Sprintf("%s is a GPU (CUDA) environment; its packages come from PyPI's default builds", label))
	}
	for _, n := range e.Notes {
		notes = append(notes, label+": "+n)
	}
	return Resolved{Python: python, CondaFile: condaFile(e.Name, python, reqs), Notes: notes}
}

// condaFile writes a conda environment file with every requirement under pip:.
func condaFile(name, python string, reqs []string) string {
	deps := []any{"python=" + python, "pip"}
	if len(reqs) > 0 {
		deps = append(deps, map[string][]string{"pip": reqs})
	}
	out, _ := yaml.Marshal(struct {
		Name         string   `yaml:"name"`
		Channels     []string `yaml:"channels"`
		Dependencies []any    `yaml:"dependencies"`
	}{name, []string{"conda-forge"}, deps}) // strings, lists and maps of strings always marshal
	return string(out)
}
