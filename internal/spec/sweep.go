package spec

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/ciel-mlops/ciel/internal/sweep"
	"gopkg.in/yaml.v3"
)

// JobSweep is Azure ML's sweep job: one trial command run many times with
// values drawn from a search space.
const JobSweep = "sweep"

// Sampling algorithms of a sweep.
const (
	SamplingRandom   = "random"
	SamplingGrid     = "grid"
	SamplingBayesian = "bayesian"
)

// Random sampling's rules (sampling_algorithm.rule).
const (
	RuleRandom = "random"
	RuleSobol  = "sobol"
)

// Sweep is what a sweep job (or a sweep step of a pipeline) adds to the
// trial it runs: the trial itself is the job's command, code and environment
// (an inline trial) or its Component (trial: ./train.yml).
type Sweep struct {
	SearchSpace map[string]*SearchParam `json:"search_space"`
	Algorithm   string                  `json:"sampling_algorithm"`
	// Seed is the random sampler's seed; nil when the file gives none.
	Seed *int64 `json:"seed,omitempty"`
	// Rule is random sampling's rule: "" (or random) for independent
	// draws, sobol for a scrambled Sobol sequence.
	Rule             string            `json:"rule,omitempty"`
	Goal             string            `json:"goal"` // maximize or minimize
	PrimaryMetric    string            `json:"primary_metric"`
	MaxTotalTrials   int               `json:"max_total_trials,omitempty"`
	MaxConcurrent    int               `json:"max_concurrent_trials,omitempty"`
	TimeoutSeconds   int               `json:"timeout,omitempty"`
	TrialTimeout     int               `json:"trial_timeout,omitempty"`
	EarlyTermination *EarlyTermination `json:"early_termination,omitempty"`
	Pos              Pos               `json:"pos"`
}

// SearchParam is one search-space entry as written. Choice values are kept
// as their YAML text, which is what a trial's command receives; a value
// that is a nested mapping of parameters (a conditional search space) is ""
// in Values and the mapping in Nested at the same index.
type SearchParam struct {
	Type   string   `json:"type"`
	Values []string `json:"values,omitempty"`
	// Nested is nil unless a value is a mapping; then it has one entry per
	// value, nil for the scalars.
	Nested   []map[string]*SearchParam `json:"nested,omitempty"`
	MinValue float64                   `json:"min_value,omitempty"`
	MaxValue float64                   `json:"max_value,omitempty"`
	Mu       float64                   `json:"mu,omitempty"`
	Sigma    float64                   `json:"sigma,omitempty"`
	Q        float64                   `json:"q,omitempty"`
	Upper    int                       `json:"upper,omitempty"`
	Pos      Pos                       `json:"pos"`
}

// EarlyTermination is a sweep's early_termination policy as written.
type EarlyTermination struct {
	Type                 string  `json:"type"` // bandit, median_stopping, truncation_selection
	EvaluationInterval   int     `json:"evaluation_interval,omitempty"`
	DelayEvaluation      int     `json:"delay_evaluation,omitempty"`
	SlackFactor          float64 `json:"slack_factor,omitempty"`
	SlackAmount          float64 `json:"slack_amount,omitempty"`
	TruncationPercentage int     `json:"truncation_percentage,omitempty"`
	Pos                  Pos     `json:"pos"`
}

// Distribution returns the sampling distribution of p.
func (p *SearchParam) Distribution() (sweep.Distribution, error) {
	switch p.Type {
	case "choice":
		vals := make([]any, len(p.Values))
		for i, v := range p.Values {
			vals[i] = v
			if i < len(p.Nested) && p.Nested[i] != nil {
				b, err := space(p.Nested[i])
				if err != nil {
					return nil, fmt.Errorf("values[%d]: %w", i, err)
				}
				vals[i] = b
			}
		}
		return sweep.Choice{Values: vals}, nil
	case "randint":
		return sweep.RandInt{Upper: p.Upper}, nil
	case "uniform":
		return sweep.Uniform{MinValue: p.MinValue, MaxValue: p.MaxValue}, nil
	case "loguniform":
		return sweep.LogUniform{MinValue: p.MinValue, MaxValue: p.MaxValue}, nil
	case "normal":
		return sweep.Normal{Mu: p.Mu, Sigma: p.Sigma}, nil
	case "lognormal":
		return sweep.LogNormal{Mu: p.Mu, Sigma: p.Sigma}, nil
	case "quniform":
		return sweep.QUniform{MinValue: p.MinValue, MaxValue: p.MaxValue, Q: p.Q}, nil
	case "qloguniform":
		return sweep.QLogUniform{MinValue: p.MinValue, MaxValue: p.MaxValue, Q: p.Q}, nil
	case "qnormal":
		return sweep.QNormal{Mu: p.Mu, Sigma: p.Sigma, Q: p.Q}, nil
	case "qlognormal":
		return sweep.QLogNormal{Mu: p.Mu, Sigma: p.Sigma, Q: p.Q}, nil
	}
	return nil, fmt.Errorf("unknown distribution type %q", p.Type)
}

// Space returns the search space of s as distributions.
func (s *Sweep) Space() (sweep.SearchSpace, error) { return space(s.SearchSpace) }

func space(params map[string]*SearchParam) (sweep.SearchSpace, error) {
	out := sweep.SearchSpace{}
	for name, p := range params {
		d, err := p.Distribution()
		if err != nil {
			return nil, &sweep.ParamError{Param: name, Err: err}
		}
		out[name] = d
	}
	return out, nil
}

// Policy returns the early termination policy of s, or nil for none.
func (s *Sweep) Policy() sweep.Policy {
	et := s.EarlyTermination
	if et == nil {
		return nil
	}
	switch et.Type {
	case "bandit":
		return sweep.Bandit{SlackFactor: et.SlackFactor, SlackAmount: et.SlackAmount,
			EvaluationInterval: et.EvaluationInterval, DelayEvaluation: et.DelayEvaluation}
	case "median_stopping":
		return sweep.MedianStopping{EvaluationInterval: et.EvaluationInterval, DelayEvaluation: et.DelayEvaluation}
	case "truncation_selection":
		return sweep.TruncationSelection{TruncationPercentage: et.TruncationPercentage,
			EvaluationInterval: et.EvaluationInterval, DelayEvaluation: et.DelayEvaluation}
	}
	return nil
}

// distParams are the keys each distribution takes besides type.
var distParams = map[string][]string{
	"choice":      {"values"},
	"randint":     {"upper"},
	"uniform":     {"min_value", "max_value"},
	"loguniform":  {"min_value", "max_value"},
	"normal":      {"mu", "sigma"},
	"lognormal":   {"mu", "sigma"},
	"quniform":    {"min_value", "max_value", "q"},
	"qloguniform": {"min_value", "max_value", "q"},
	"qnormal":     {"mu", "sigma", "q"},
	"qlognormal":  {"mu", "sigma", "q"},
}

// searchSpaceRef matches ${{search_space.<name>}} in a trial command.
var searchSpaceRef = regexp.MustCompile(`\$\{\{(\s*)search_space\.`)

// sweepFields returns the keys a sweep job or step accepts beyond a job's
// own (name, inputs, outputs, ...).
func (d *decoder) sweepFields(st *jobState) map[string]fieldFunc {
	j := st.j
	if j.Sweep == nil {
		j.Sweep = &Sweep{}
	}
	s := j.Sweep
	return map[string]fieldFunc{
		"trial":              func(p string, v *yaml.Node) { d.trial(st, p, v) },
		"search_space":       func(p string, v *yaml.Node) { s.SearchSpace = d.searchSpace(p, v) },
		"sampling_algorithm": func(p string, v *yaml.Node) { d.sampling(s, p, v) },
		"objective": func(p string, v *yaml.Node) {
			d.fields(v, p, "objective", map[string]fieldFunc{
				"goal":           func(p string, v *yaml.Node) { s.Goal = d.goal(p, v) },
				"primary_metric": d.strInto(&s.PrimaryMetric),
			}, nil)
		},
		"limits": func(p string, v *yaml.Node) {
			d.fields(v, p, "sweep limits", map[string]fieldFunc{
				"max_total_trials":      d.nonNegativeInto(&s.MaxTotalTrials),
				"max_concurrent_trials": d.nonNegativeInto(&s.MaxConcurrent),
				"timeout":               d.nonNegativeInto(&s.TimeoutSeconds),
				"trial_timeout":         d.nonNegativeInto(&s.TrialTimeout),
			}, nil)
		},
		"early_termination": func(p string, v *yaml.Node) { s.EarlyTermination = d.earlyTermination(p, v) },
	}
}

// trial reads a sweep's trial: a component file or reference (which becomes
// the job's Component) or an inline command (which fills the job's command,
// code and environment).
func (d *decoder) trial(st *jobState, path string, v *yaml.Node) {
	j := st.j
	if v.Kind != yaml.MappingNode {
		j.Component = d.componentRef(path, v)
		if j.Component != nil && j.Component.Inline != nil && j.Component.Inline.Type != JobCommand {
			d.errorf(v, path, "a trial must be a command component, not a %s component", j.Component.Inline.Type)
		}
		return
	}
	d.fields(v, path, "a sweep trial", map[string]fieldFunc{
		"command": func(p string, v *yaml.Node) {
			j.Command, _ = d.str(p, v)
			j.Command = searchSpaceRef.ReplaceAllString(j.Command, "$${{${1}inputs.")
			st.cmdNode = v
		},
		"code":                  func(p string, v *yaml.Node) { j.Code = d.code(p, v) },
		"environment":           func(p string, v *yaml.Node) { j.Environment = d.envRef(p, v) },
		"environment_variables": d.mapInto(&j.EnvironmentVariables),
		"distribution":          func(p string, v *yaml.Node) { j.Distribution = d.distribution(p, v) },
		"type":                  func(p string, v *yaml.Node) { d.trialType(p, v) },
	}, []string{"resources", "identity", "services", "queue_settings"})
	if st.cmdNode == nil {
		d.errorf(v, path, "an inline trial needs command:")
	}
}

func (d *decoder) trialType(path string, v *yaml.Node) {
	if s, ok := d.str(path, v); ok && s != JobCommand {
		d.errorf(v, path, "a trial is a command, not %q", s)
	}
}

// goal reads an objective's goal, in any case (Azure ML writes both).
func (d *decoder) goal(path string, v *yaml.Node) string {
	s, ok := d.str(path, v)
	if !ok {
		return ""
	}
	g := strings.ToLower(s)
	if g != string(sweep.Maximize) && g != string(sweep.Minimize) {
		d.errorf(v, path, "expected maximize or minimize, got %q", s)
		return ""
	}
	return g
}

// sampling reads sampling_algorithm: a name, or a mapping with type (and
// seed for random).
func (d *decoder) sampling(s *Sweep, path string, v *yaml.Node) {
	check := func(n *yaml.Node, p, name string) {
		switch strings.ToLower(name) {
		case SamplingRandom, SamplingGrid, SamplingBayesian:
			s.Algorithm = strings.ToLower(name)
		case RuleSobol:
			d.errorf(n, p, "expected random, grid or bayesian, got %q (Sobol is a rule of random sampling: {type: random, rule: sobol})", name)
		default:
			d.errorf(n, p, "expected random, grid or bayesian, got %q", name)
		}
	}
	if v.Kind == yaml.ScalarNode {
		if name, ok := d.str(path, v); ok {
			check(v, path, name)
		}
		return
	}
	d.fields(v, path, "sampling_algorithm", map[string]fieldFunc{
		"type": func(p string, n *yaml.Node) {
			if name, ok := d.str(p, n); ok {
				check(n, p, name)
			}
		},
		"seed": func(p string, n *yaml.Node) {
			if i, ok := d.integer(p, n); ok {
				seed := int64(i)
				s.Seed = &seed
			}
		},
		"rule": func(p string, n *yaml.Node) {
			r, ok := d.str(p, n)
			switch r = strings.ToLower(r); {
			case !ok:
			case r == RuleRandom:
			case r == RuleSobol:
				s.Rule = RuleSobol
			default:
				d.errorf(n, p, "expected random or sobol, got %q", r)
			}
		},
		"logbase": func(string, *yaml.Node) {},
	}, nil)
}

// searchSpace reads search_space: parameter name -> distribution.
func (d *decoder) searchSpace(path string, v *yaml.Node) map[string]*SearchParam {
	if v.Kind != yaml.MappingNode {
		d.errorf(v, path, "expected a mapping of parameter names to distributions, got %s", describe(v))
		return nil
	}
	out := map[string]*SearchParam{}
	for _, p := range d.pairs(v, path) {
		pp := joinPath(path, p.name)
		if !isIdent(p.name) {
			d.errorf(p.key, path, "invalid parameter name %q: expected letters, digits, '_' or '-', starting with a letter or '_'", p.name)
			continue
		}
		if sp := d.searchParam(pp, d.resolve(p.val)); sp != nil {
			out[p.name] = sp
		}
	}
	d.checkNames(path, v, out)
	return out
}

// searchParam reads one distribution and checks it as the sampler will.
func (d *decoder) searchParam(path string, v *yaml.Node) *SearchParam {
	sp := &SearchParam{Pos: d.pos(v)}
	t := d.lookup(v, "type")
	if v.Kind != yaml.MappingNode || t == nil {
		d.errorf(v, path, "expected a mapping with type: (one of %s)", strings.Join(sortedKeys(distParams), ", "))
		return nil
	}
	sp.Type, _ = d.str(joinPath(path, "type"), t)
	want, ok := distParams[sp.Type]
	if !ok {
		d.errorf(t, joinPath(path, "type"), "unknown distribution %q; expected one of %s", sp.Type, strings.Join(sortedKeys(distParams), ", "))
		return nil
	}
	num := func(dst *float64) fieldFunc {
		return func(p string, n *yaml.Node) { *dst, _ = d.number(p, n) }
	}
	all := map[string]fieldFunc{
		"type":      func(string, *yaml.Node) {},
		"values":    func(p string, n *yaml.Node) { d.choiceValues(sp, p, n) },
		"upper":     func(p string, n *yaml.Node) { sp.Upper, _ = d.integer(p, n) },
		"min_value": num(&sp.MinValue), "max_value": num(&sp.MaxValue),
		"mu": num(&sp.Mu), "sigma": num(&sp.Sigma), "q": num(&sp.Q),
	}
	known := map[string]fieldFunc{"type": all["type"]}
	for _, k := range want {
		known[k] = all[k]
		if d.lookup(v, k) == nil {
			d.errorf(v, path, "a %s distribution needs %s", sp.Type, k)
			return nil
		}
	}
	before := len(d.s.errs)
	d.fields(v, path, "a "+sp.Type+" distribution", known, nil)
	if len(d.s.errs) > before {
		return nil
	}
	dist, err := sp.Distribution()
	if err == nil {
		err = dist.Validate()
	}
	if err != nil {
		d.errorf(v, path, "%v", err)
		return nil
	}
	return sp
}

// earlyTermination reads an early_termination policy.
func (d *decoder) earlyTermination(path string, v *yaml.Node) *EarlyTermination {
	et := &EarlyTermination{Pos: d.pos(v)}
	t := d.lookup(v, "type")
	if v.Kind != yaml.MappingNode || t == nil {
		d.errorf(v, path, "expected a mapping with type: bandit, median_stopping or truncation_selection")
		return nil
	}
	et.Type, _ = d.str(joinPath(path, "type"), t)
	num := func(dst *float64) fieldFunc {
		return func(p string, n *yaml.Node) { *dst, _ = d.number(p, n) }
	}
	known := map[string]fieldFunc{
		"type":                func(string, *yaml.Node) {},
		"evaluation_interval": d.nonNegativeInto(&et.EvaluationInterval),
		"delay_evaluation":    d.nonNegativeInto(&et.DelayEvaluation),
	}
	switch et.Type {
	case "bandit":
		known["slack_factor"], known["slack_amount"] = num(&et.SlackFactor), num(&et.SlackAmount)
	case "truncation_selection":
		known["truncation_percentage"] = d.nonNegativeInto(&et.TruncationPercentage)
	case "median_stopping":
	default:
		d.errorf(t, joinPath(path, "type"), "unknown policy %q; expected bandit, median_stopping or truncation_selection", et.Type)
		return nil
	}
	before := len(d.s.errs)
	d.fields(v, path, "a "+et.Type+" policy", known, nil)
	if len(d.s.errs) > before {
		return nil
	}
	s := &Sweep{EarlyTermination: et}
	if err := s.Policy().Validate(); err != nil {
		d.errorf(v, path, "%v", err)
		return nil
	}
	return et
}

// checkSweep checks what a sweep needs once all its keys are read.
func (d *decoder) checkSweep(st *jobState, n *yaml.Node, path string) {
	j, s := st.j, st.j.Sweep
	if j.Component == nil && st.cmdNode == nil {
		if d.lookup(n, "trial") == nil {
			d.errorf(n, path, "a sweep needs trial: (an inline command or a component file)")
		}
		return
	}
	if len(s.SearchSpace) == 0 && d.lookup(n, "search_space") == nil {
		d.errorf(n, path, "a sweep needs search_space:")
	}
	if s.Algorithm == "" && d.lookup(n, "sampling_algorithm") == nil {
		d.errorf(n, path, "a sweep needs sampling_algorithm: (random, grid or bayesian)")
	}
	if s.PrimaryMetric == "" || s.Goal == "" {
		d.errorf(n, path, "a sweep needs objective: with goal (maximize or minimize) and primary_metric")
	}
	d.checkSampling(s, n, path)
	d.checkNestedSampling(s, path)
	if st.cmdNode != nil {
		ins := keySet(j.Inputs)
		// Every name written counts, even one whose distribution is wrong
		// (already reported).
		if ss := d.lookup(n, "search_space"); ss != nil && ss.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(ss.Content); i += 2 {
				ins[ss.Content[i].Value] = true
			}
		}
		for _, name := range s.paramNames() {
			ins[name] = true
		}
		cmdPath := joinPath(path, "trial.command")
		d.checkCommand(cmdPath, st.cmdNode, j.Command, commandPorts{inputs: ins, outputs: keySet(j.Outputs)})
		d.conditionalRefs(s, cmdPath, st.cmdNode, j.Command)
	}
}

// checkSampling checks that the sampler can serve the search space and
// limits, as Azure ML does when a sweep is submitted.
func (d *decoder) checkSampling(s *Sweep, n *yaml.Node, path string) {
	switch s.Algorithm {
	case SamplingGrid:
		for _, name := range sortedKeys(s.SearchSpace) {
			if p := s.SearchSpace[name]; p.Type != "choice" {
				d.errorAt(p.Pos, joinPath(path, "search_space."+name), "grid sampling supports only choice, not %s", p.Type)
			}
		}
	case SamplingBayesian:
		for _, name := range sortedKeys(s.SearchSpace) {
			if p := s.SearchSpace[name]; p.Type != "choice" && p.Type != "uniform" && p.Type != "quniform" {
				d.errorAt(p.Pos, joinPath(path, "search_space."+name), "bayesian sampling supports only choice, uniform and quniform, not %s", p.Type)
			}
		}
		if et := s.EarlyTermination; et != nil {
			d.errorAt(et.Pos, joinPath(path, "early_termination"), "bayesian sampling does not support early termination policies")
		}
	}
	if s.Rule != "" && s.Algorithm != SamplingRandom {
		if sa := d.lookup(n, "sampling_algorithm"); sa != nil {
			if r := d.lookup(sa, "rule"); r != nil {
				d.errorf(r, joinPath(path, "sampling_algorithm.rule"), "rule %s is random sampling's; %s sampling takes none", s.Rule, s.Algorithm)
			}
		}
	}
	if s.Algorithm != "" && s.Algorithm != SamplingGrid && s.MaxTotalTrials == 0 {
		d.errorf(n, path, "a %s sweep needs limits.max_total_trials", s.Algorithm)
	}
}
