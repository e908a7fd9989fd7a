package azp

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Render prints an expanded pipeline as Azure Pipelines YAML in its
// canonical shape (stages: with jobs: with steps:), which is what
// `ciel pipelines expand` shows. Parsing the output gives the same
// Pipeline back, apart from positions.
func Render(p *Pipeline) ([]byte, error) {
	if p == nil {
		return nil, fmt.Errorf("render pipeline: nil pipeline")
	}
	root := &yamlMap{}
	root.str("name", p.Name)
	root.add("trigger", renderTrigger(p.Trigger))
	root.add("pr", renderTrigger(p.PR))
	if len(p.Schedules) > 0 {
		seq := seqNode()
		for _, s := range p.Schedules {
			m := &yamlMap{}
			m.str("cron", s.Cron)
			m.str("displayName", s.DisplayName)
			m.add("branches", renderFilter(s.Branches))
			m.boolean("always", s.Always)
			m.boolean("batch", s.Batch)
			seq.Content = append(seq.Content, m.node())
		}
		root.add("schedules", seq)
	}
	root.add("parameters", renderParameters(p.Parameters))
	root.add("variables", renderVariables(p.Variables))
	root.add("resources", renderResources(p.Resources))
	root.add("pool", renderPool(p.Pool))
	stages := seqNode()
	for _, s := range p.Stages {
		stages.Content = append(stages.Content, renderStage(s))
	}
	root.add("stages", stages)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(root.node()); err != nil {
		return nil, fmt.Errorf("render pipeline: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("render pipeline: %w", err)
	}
	return buf.Bytes(), nil
}

// yamlMap builds a mapping node, leaving out empty values.
type yamlMap struct{ content []*yaml.Node }

func (m *yamlMap) add(key string, v *yaml.Node) {
	if v == nil {
		return
	}
	m.content = append(m.content, scalarNode(key), v)
}

func (m *yamlMap) str(key, v string) {
	if v != "" {
		m.add(key, scalarNode(v))
	}
}

func (m *yamlMap) boolean(key string, v bool) {
	if v {
		m.add(key, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"})
	}
}

func (m *yamlMap) integer(key string, v int) {
	if v != 0 {
		m.add(key, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(v)})
	}
}

func (m *yamlMap) strings(key string, v []string, always bool) {
	if len(v) == 0 && !always {
		return
	}
	seq := seqNode()
	for _, s := range v {
		seq.Content = append(seq.Content, scalarNode(s))
	}
	m.add(key, seq)
}

func (m *yamlMap) stringMap(key string, v map[string]string) {
	if len(v) == 0 {
		return
	}
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	sub := &yamlMap{}
	for _, k := range keys {
		sub.add(k, scalarNode(v[k]))
	}
	m.add(key, sub.node())
}

func (m *yamlMap) node() *yaml.Node {
	return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: m.content}
}

func seqNode() *yaml.Node { return &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"} }

// scalarNode is a string scalar; multi-line text prints as a | block.
func scalarNode(s string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	if strings.Contains(s, "\n") && !strings.ContainsAny(s, "\t\r") && strings.TrimRight(s, " \n") == strings.TrimRight(s, "\n") {
		n.Style = yaml.LiteralStyle
	}
	return n
}

func renderFilter(f Filter) *yaml.Node {
	if len(f.Include) == 0 && len(f.Exclude) == 0 {
		return nil
	}
	m := &yamlMap{}
	m.strings("include", f.Include, false)
	m.strings("exclude", f.Exclude, false)
	return m.node()
}

func renderTrigger(t *Trigger) *yaml.Node {
	if t == nil {
		return nil
	}
	if t.None {
		return scalarNode("none")
	}
	m := &yamlMap{}
	m.boolean("batch", t.Batch)
	m.add("branches", renderFilter(t.Branches))
	m.add("paths", renderFilter(t.Paths))
	m.add("tags", renderFilter(t.Tags))
	for _, kb := range []struct {
		key string
		b   *bool
	}{{"autoCancel", t.AutoCancel}, {"drafts", t.Drafts}} {
		if kb.b != nil {
			m.add(kb.key, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(*kb.b)})
		}
	}
	return m.node()
}

func renderParameters(ps []Parameter) *yaml.Node {
	if len(ps) == 0 {
		return nil
	}
	seq := seqNode()
	for _, p := range ps {
		m := &yamlMap{}
		m.str("name", p.Name)
		m.str("displayName", p.DisplayName)
		m.str("type", p.Type)
		if p.Default != nil {
			m.add("default", valueToNode(p.Default, &yaml.Node{}))
		}
		if len(p.Values) > 0 {
			m.add("values", valueToNode(p.Values, &yaml.Node{}))
		}
		seq.Content = append(seq.Content, m.node())
	}
	return seq
}

func renderVariables(vs []Variable) *yaml.Node {
	if len(vs) == 0 {
		return nil
	}
	seq := seqNode()
	for _, v := range vs {
		m := &yamlMap{}
		if v.Group != "" {
			m.str("group", v.Group)
		} else {
			m.str("name", v.Name)
			m.add("value", scalarNode(v.Value))
			m.boolean("readonly", v.Readonly)
		}
		seq.Content = append(seq.Content, m.node())
	}
	return seq
}

func renderResources(r Resources) *yaml.Node {
	if len(r.Repositories) == 0 {
		return nil
	}
	seq := seqNode()
	for _, repo := range r.Repositories {
		m := &yamlMap{}
		m.str("repository", repo.Alias)
		m.str("type", repo.Type)
		m.str("name", repo.Name)
		m.str("ref", repo.Ref)
		m.str("endpoint", repo.Endpoint)
		seq.Content = append(seq.Content, m.node())
	}
	m := &yamlMap{}
	m.add("repositories", seq)
	return m.node()
}

func renderPool(p *Pool) *yaml.Node {
	if p == nil {
		return nil
	}
	m := &yamlMap{}
	m.str("name", p.Name)
	m.str("vmImage", p.VMImage)
	m.strings("demands", p.Demands, false)
	return m.node()
}

func renderStage(s *Stage) *yaml.Node {
	m := &yamlMap{}
	m.str("stage", s.Name)
	m.str("displayName", s.DisplayName)
	m.strings("dependsOn", s.DependsOn, s.DependsOnSet)
	m.str("condition", s.Condition)
	m.add("variables", renderVariables(s.Variables))
	m.add("pool", renderPool(s.Pool))
	jobs := seqNode()
	for _, j := range s.Jobs {
		jobs.Content = append(jobs.Content, renderJob(j))
	}
	m.add("jobs", jobs)
	return m.node()
}

func renderJob(j *Job) *yaml.Node {
	m := &yamlMap{}
	if j.Deployment != nil {
		m.str("deployment", j.Name)
	} else {
		m.str("job", j.Name)
	}
	m.str("displayName", j.DisplayName)
	m.strings("dependsOn", j.DependsOn, j.DependsOnSet)
	m.str("condition", j.Condition)
	m.boolean("continueOnError", j.ContinueOnError)
	m.integer("timeoutInMinutes", j.TimeoutInMinutes)
	m.integer("cancelTimeoutInMinutes", j.CancelTimeout)
	m.add("variables", renderVariables(j.Variables))
	m.add("pool", renderPool(j.Pool))
	steps := seqNode()
	for _, s := range j.Steps {
		steps.Content = append(steps.Content, renderStep(s))
	}
	if j.Deployment != nil {
		m.str("environment", j.Deployment.Environment)
		deploy := &yamlMap{}
		deploy.add("steps", steps)
		runOnce := &yamlMap{}
		runOnce.add("deploy", deploy.node())
		strategy := &yamlMap{}
		strategy.add("runOnce", runOnce.node())
		m.add("strategy", strategy.node())
		return m.node()
	}
	m.add("strategy", renderStrategy(j.Strategy))
	m.add("steps", steps)
	return m.node()
}

func renderStrategy(s *Strategy) *yaml.Node {
	if s == nil {
		return nil
	}
	m := &yamlMap{}
	if s.MatrixExpr != "" {
		m.str("matrix", s.MatrixExpr)
	} else if len(s.Matrix) > 0 {
		legs := &yamlMap{}
		for _, leg := range s.Matrix {
			vars := &yamlMap{}
			for _, v := range leg.Variables {
				vars.add(v.Name, scalarNode(v.Value))
			}
			legs.add(leg.Name, vars.node())
		}
		m.add("matrix", legs.node())
	}
	m.integer("parallel", s.Parallel)
	m.integer("maxParallel", s.MaxParallel)
	return m.node()
}

func renderStep(s *Step) *yaml.Node {
	m := &yamlMap{}
	if s.Kind == StepTask {
		ref := s.Task.Name
		if s.Task.Version != "" {
			ref += "@" + s.Task.Version
		}
		m.add("task", scalarNode(ref))
	} else {
		m.add(string(s.Kind), scalarNode(s.Script))
	}
	m.stringMap("inputs", s.Inputs)
	m.str("displayName", s.DisplayName)
	m.str("name", s.Name)
	m.str("condition", s.Condition)
	m.boolean("continueOnError", s.ContinueOnError)
	if !s.Enabled {
		m.add("enabled", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "false"})
	}
	m.stringMap("env", s.Env)
	m.integer("timeoutInMinutes", s.TimeoutInMinutes)
	m.integer("retryCountOnTaskFailure", s.RetryCount)
	m.str("workingDirectory", s.WorkingDirectory)
	m.boolean("failOnStderr", s.FailOnStderr)
	keys := make([]string, 0, len(s.Options))
	for k := range s.Options {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		m.add(k, scalarNode(s.Options[k]))
	}
	return m.node()
}
