package curated

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// ErrNotFound is wrapped by Lookup's error for a name the catalogue lacks.
var ErrNotFound = errors.New("no such curated environment")

// Ref is a reference to a curated environment as a job file writes it.
type Ref struct {
	// Name is the environment name as written, without AzureML-.
	Name string
	// Version is the version asked for, "" for the latest.
	Version string
	// Label is the label asked for ("latest"), "" when none.
	Label string
}

// workspacePrefix starts the names Azure gives curated environments inside
// a workspace (AzureML-sklearn-1.5).
const workspacePrefix = "azureml-"

// ParseRef recognises the references that name a curated environment:
//
//	azureml://registries/azureml/environments/<name>[/labels/<l>|/versions/<v>]
//	azureml:AzureML-<name>[@<label>|:<version>]   (azureml: may be left out)
//
// ok is false for anything else: a workspace environment, another registry.
func ParseRef(ref string) (Ref, bool) {
	if rest, ok := strings.CutPrefix(ref, "azureml://registries/"); ok {
		parts := strings.Split(rest, "/")
		if len(parts) < 3 || parts[0] != Registry || parts[1] != "environments" || parts[2] == "" {
			return Ref{}, false
		}
		r := Ref{Name: parts[2]}
		switch {
		case len(parts) == 3:
		case len(parts) == 5 && parts[3] == "labels" && parts[4] != "":
			r.Label = parts[4]
		case len(parts) == 5 && parts[3] == "versions" && parts[4] != "":
			r.Version = parts[4]
		default:
			return Ref{}, false
		}
		if !r.valid() {
			return Ref{}, false
		}
		return r, true
	}
	rest := strings.TrimPrefix(ref, "azureml:")
	if len(rest) <= len(workspacePrefix) || !strings.EqualFold(rest[:len(workspacePrefix)], workspacePrefix) {
		return Ref{}, false
	}
	rest = rest[len(workspacePrefix):]
	r := Ref{}
	if name, label, ok := strings.Cut(rest, "@"); ok {
		r.Name, r.Label = name, label
	} else if name, version, ok := strings.Cut(rest, ":"); ok {
		r.Name, r.Version = name, version
	} else {
		r.Name = rest
	}
	if !r.valid() {
		return Ref{}, false
	}
	return r, true
}

// refPartRE is what a name, version or label may be: Azure's asset name
// characters.
var refPartRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$`)

func (r Ref) valid() bool {
	return refPartRE.MatchString(r.Name) && (r.Version == "" || refPartRE.MatchString(r.Version)) &&
		(r.Label == "" || refPartRE.MatchString(r.Label))
}

// Match is the environment a reference found, and how.
type Match struct {
	Environment
	// Note is set when the reference did not name the environment exactly:
	// an older or retired name, a version or label other than the latest.
	Note string
}

// Lookup finds the environment r names: by its exact name; else, for an
// older name such as sklearn-1.0-ubuntu20.04-py38-cpu or Minimal, the
// environment that succeeded it (the same name without OS, Python and
// device parts; else the same framework at the nearest version).
func (c *Catalogue) Lookup(r Ref) (Match, error) {
	m, ok := c.find(r.Name)
	if !ok {
		return Match{}, fmt.Errorf("%w %q in registry %s; the catalogue has: %s", ErrNotFound, r.Name, Registry, strings.Join(c.Names(), ", "))
	}
	var notes []string
	if m.Note != "" {
		notes = append(notes, m.Note)
	}
	if r.Version != "" {
		notes = append(notes, fmt.Sprintf("ciel keeps one version of %s (from %s@%s); version %s resolves to it", m.Name, c.Source.Repository, shortCommit(c.Source.Commit), r.Version))
	}
	if r.Label != "" && r.Label != "latest" {
		notes = append(notes, fmt.Sprintf("label %s of %s resolves to its only version", r.Label, m.Name))
	}
	m.Note = strings.Join(notes, "; ")
	return m, nil
}

func (c *Catalogue) find(name string) (Match, bool) {
	if e, ok := c.Get(name); ok {
		return Match{Environment: e}, true
	}
	q := parseName(name)
	var best *Environment
	bestScore := -1
	for i := range c.Environments {
		e := &c.Environments[i]
		n := parseName(e.Name)
		score := 0
		switch {
		case q.norm == n.norm:
			score = 1 << 20
		case q.family != "" && q.family == n.family:
			score = 1<<19 - versionDistance(q.version, n.version)
		case q.version == "" && strings.HasPrefix(n.norm, q.norm+"-"):
			score = 1<<19 - len(n.norm) // "Minimal": the shortest minimal-... name

		default:
			continue
		}
		if q.gpu == e.GPU {
			score += 1 << 18
		}
		if score > bestScore {
			best, bestScore = e, score
		}
	}
	if best == nil {
		return Match{}, false
	}
	how := "an older name of"
	if parseName(best.Name).norm != q.norm {
		how = "retired; the nearest curated environment ciel has is"
	}
	return Match{Environment: *best, Note: fmt.Sprintf("%s is %s %s", name, how, best.Name)}, true
}

// nameParts is an environment name taken apart.
type nameParts struct {
	norm    string // lower-cased, without OS, Python and device parts
	family  string // the parts before the version ("sklearn", "acpt-pytorch")
	version string // the framework version ("1.5"), "" when none
	gpu     bool   // a gpu or cuda part
}

var (
	// platformPart matches the parts of a name that say where it runs.
	platformPart = regexp.MustCompile(`^(ubuntu\d[\d.]*|py\d+|cpu|gpu|cuda[\d.]*|openmpi[\d.]*)$`)
	versionPart  = regexp.MustCompile(`^\d+(\.\d+)*$`)
)

// familyAliases are framework names whose curated environments changed
// name: PyTorch's are ACPT's now.
var familyAliases = map[string]string{"pytorch": "acpt-pytorch"}

func parseName(name string) nameParts {
	var p nameParts
	var keep, fam []string
	for _, part := range strings.Split(strings.ToLower(name), "-") {
		if part == "gpu" || strings.HasPrefix(part, "cuda") {
			p.gpu = true
		}
		if platformPart.MatchString(part) {
			continue
		}
		keep = append(keep, part)
		if p.version == "" && versionPart.MatchString(part) {
			p.version = part
		} else if p.version == "" {
			fam = append(fam, part)
		}
	}
	p.norm = strings.Join(keep, "-")
	p.family = strings.Join(fam, "-")
	if a, ok := familyAliases[p.family]; ok {
		p.family = a
	}
	return p
}

// versionDistance is how far apart two major.minor versions are, in
// minors; 0 when either is absent.
func versionDistance(a, b string) int {
	if a == "" || b == "" {
		return 0
	}
	rank := func(v string) int {
		parts := strings.SplitN(v, ".", 3)
		major, _ := strconv.Atoi(parts[0])
		minor := 0
		if len(parts) > 1 {
			minor, _ = strconv.Atoi(parts[1])
		}
		return min(major, 999)*1000 + min(minor, 999)
	}
	d := rank(a) - rank(b)
	if d < 0 {
		d = -d
	}
	return min(d, 1<<17)
}

func shortCommit(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}
