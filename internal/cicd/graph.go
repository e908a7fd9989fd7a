package cicd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/ciel-mlops/ciel/internal/cicd/agent"
	"github.com/ciel-mlops/ciel/internal/cicd/azp"
)

// outcome is how a stage or a job (all its legs) ended; done is closed
// once result and outputs are final, so readers that waited on it need no
// lock.
type outcome struct {
	done    chan struct{}
	result  string   // an agent status
	outputs *azp.Map // "step.var" (a job), "leg.step.var" (a matrix), "job.step.var" (a stage)
	jobs    *azp.Map // a stage's: job name -> {result, outputs}, for stageDependencies
}

func newOutcome() *outcome {
	return &outcome{done: make(chan struct{}), outputs: azp.NewMap(), jobs: azp.NewMap()}
}

// graphRun runs a plan: every stage and job waits in its own goroutine for
// what it depends on, then jobs take a slot of the agent pool.
type graphRun struct {
	s    *Service
	rc   *recorder
	p    Pipeline
	plan *runPlan
	log  io.Writer

	stages map[string]*outcome            // lower-case stage name
	jobs   map[string]map[string]*outcome // lower-case stage, job
	mu     sync.Mutex
	result []string // per plannedJob.index
}

// runGraph runs every stage and job of plan and returns each job's result
// in timeline order.
func (s *Service) runGraph(ctx context.Context, rc *recorder, p Pipeline, plan *runPlan, log io.Writer) []string {
	g := &graphRun{s: s, rc: rc, p: p, plan: plan, log: log, stages: map[string]*outcome{},
		jobs: map[string]map[string]*outcome{}, result: make([]string, len(plan.jobs()))}
	for _, st := range plan.stages {
		g.stages[strings.ToLower(st.name)] = newOutcome()
		g.jobs[strings.ToLower(st.name)] = map[string]*outcome{}
		for _, j := range st.jobs {
			g.jobs[strings.ToLower(st.name)][strings.ToLower(j.name)] = newOutcome()
		}
	}
	var wg sync.WaitGroup
	for _, st := range plan.stages {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g.runStage(ctx, st)
		}()
	}
	wg.Wait()
	return g.result
}

// runStage waits for the stage's dependencies, evaluates its condition and
// runs its jobs.
func (g *graphRun) runStage(ctx context.Context, st *planStage) {
	out := g.stages[strings.ToLower(st.name)]
	defer close(out.done)
	deps := azp.NewMap()
	status := depStatus{results: map[string]string{}, canceled: ctx.Err() != nil}
	for _, d := range st.deps {
		o := g.stages[strings.ToLower(d)]
		<-o.done
		status.results[strings.ToLower(d)] = o.result
		deps.Set(d, dependency(o.result, o.outputs))
	}
	status.canceled = ctx.Err() != nil
	env := &azp.Env{Named: azp.NewMap(), Status: status}
	env.Named.Set("variables", varMap(st.vars))
	env.Named.Set("dependencies", deps)
	run, err := azp.EvalCondition(st.spec.Condition, env)
	if err != nil {
		fmt.Fprintf(g.log, "##[error]stage %s (%s): condition: %v\n", st.name, st.spec.Pos, err)
	}
	if !run {
		res := agent.StatusSkipped
		if err != nil {
			res = agent.StatusFailed
		}
		for _, j := range st.jobs {
			jo := g.jobs[strings.ToLower(st.name)][strings.ToLower(j.name)]
			for _, leg := range j.legs {
				g.finishJob(leg, res)
			}
			jo.result = res
			close(jo.done)
		}
		out.result = res
		return
	}
	var wg sync.WaitGroup
	for _, j := range st.jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g.runGroup(ctx, st, j)
		}()
	}
	wg.Wait()
	var results []string
	for _, j := range st.jobs {
		jo := g.jobs[strings.ToLower(st.name)][strings.ToLower(j.name)]
		results = append(results, jo.result)
		for _, k := range jo.outputs.Keys() {
			v, _ := jo.outputs.Get(k)
			out.outputs.Set(j.name+"."+k, v)
		}
		out.jobs.Set(j.name, dependency(jo.result, jo.outputs))
	}
	out.result = aggregate(results)
}

// runGroup waits for the job's dependencies in its stage and runs its legs,
// at most maxParallel at once.
func (g *graphRun) runGroup(ctx context.Context, st *planStage, j *planGroup) {
	stageJobs := g.jobs[strings.ToLower(st.name)]
	out := stageJobs[strings.ToLower(j.name)]
	defer close(out.done)
	deps := azp.NewMap()
	results := map[string]string{}
	for _, d := range j.deps {
		o := stageJobs[strings.ToLower(d)]
		<-o.done
		results[strings.ToLower(d)] = o.result
		deps.Set(d, dependency(o.result, o.outputs))
	}
	stageDeps := azp.NewMap()
	for _, d := range st.deps {
		// The stage waited for these before starting its jobs.
		stageDeps.Set(d, g.stages[strings.ToLower(d)].jobs)
	}
	newEnv := func() *azp.Env {
		status := depStatus{results: results, canceled: ctx.Err() != nil}
		env := &azp.Env{Named: azp.NewMap(), Status: status}
		env.Named.Set("dependencies", deps)
		env.Named.Set("stageDependencies", stageDeps)
		return env
	}
	legs := j.legs
	if j.matrixExpr != "" {
		var err error
		if legs, err = g.expandMatrix(j, newEnv()); err != nil {
			fmt.Fprintf(g.log, "##[error]%v\n", err)
			out.result = g.finishJob(j.legs[0], agent.StatusFailed)
			return
		}
		if len(legs) == 0 {
			out.result = g.finishJob(j.legs[0], agent.StatusSkipped)
			return
		}
	}
	var limit chan struct{}
	if j.maxParallel > 0 {
		limit = make(chan struct{}, j.maxParallel)
	}
	legResults := make([]string, len(legs))
	legOutputs := make([]map[string]string, len(legs))
	var wg sync.WaitGroup
	for i, leg := range legs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			legResults[i], legOutputs[i] = g.runLeg(ctx, leg, newEnv, limit)
		}()
	}
	wg.Wait()
	for i, leg := range legs {
		for k, v := range legOutputs[i] {
			if j.matrix {
				k = leg.leg + "." + k
			}
			out.outputs.Set(k, v)
		}
	}
	out.result = aggregate(legResults)
}

// runLeg evaluates the job's $[ ] variables and condition, waits for a
// slot (its matrix's, then the pool's) and runs it.
func (g *graphRun) runLeg(ctx context.Context, j *plannedJob, newEnv func() *azp.Env, limit chan struct{}) (string, map[string]string) {
	vars := clone(j.vars)
	env := newEnv()
	env.Named.Set("variables", varMap(vars))
	for _, v := range j.spec.Variables {
		src := strings.TrimSpace(v.Value)
		if v.Group != "" || !strings.HasPrefix(src, "$[") || !strings.HasSuffix(src, "]") {
			continue
		}
		val, err := azp.Eval(strings.TrimSpace(src[2:len(src)-1]), env)
		if err != nil {
			fmt.Fprintf(g.log, "##[error]job %s (%s): variable %s: %v\n", j.name, j.spec.Pos, v.Name, err)
			return g.finishJob(j, agent.StatusFailed), nil
		}
		vars[v.Name] = exprString(val)
		env.Named.Set("variables", varMap(vars))
	}
	run, err := azp.EvalCondition(j.spec.Condition, env)
	if err != nil {
		fmt.Fprintf(g.log, "##[error]job %s (%s): condition: %v\n", j.name, j.spec.Pos, err)
		return g.finishJob(j, agent.StatusFailed), nil
	}
	if !run {
		return g.finishJob(j, agent.StatusSkipped), nil
	}
	if limit != nil {
		select {
		case limit <- struct{}{}:
			defer func() { <-limit }()
		case <-ctx.Done():
			return g.finishJob(j, agent.StatusCanceled), nil
		}
	}
	if err := g.s.pool.acquire(ctx); err != nil {
		return g.finishJob(j, agent.StatusCanceled), nil
	}
	defer g.s.pool.release()
	res, outputs := g.s.runJob(ctx, g.rc, j, vars, g.p, g.plan.repos, g.log)
	g.mu.Lock()
	g.result[j.index] = res
	g.mu.Unlock()
	return res, outputs
}

// expandMatrix evaluates run-time matrix job j's expression with the
// environment its $[ ] variables get and returns its legs, in key order.
// The first leg takes the placeholder's place in the run's timeline; the
// others are added at its end. No legs (an empty object) leaves the
// placeholder for the caller to skip.
func (g *graphRun) expandMatrix(j *planGroup, env *azp.Env) ([]*plannedJob, error) {
	ph := j.legs[0]
	env.Named.Set("variables", varMap(ph.vars))
	src := strings.TrimSpace(j.matrixExpr)
	if !strings.HasPrefix(src, "$[") || !strings.HasSuffix(src, "]") {
		return nil, fmt.Errorf("job %s (%s): matrix: %q is neither a mapping of legs nor a $[ ] expression", j.name, j.spec.Pos, src)
	}
	val, err := azp.Eval(strings.TrimSpace(src[2:len(src)-1]), env)
	if err != nil {
		return nil, fmt.Errorf("job %s (%s): matrix %s: %w", j.name, j.spec.Pos, src, err)
	}
	names, legVars, err := parseMatrix(val)
	if err != nil {
		return nil, fmt.Errorf("job %s (%s): matrix %s: %w", j.name, j.spec.Pos, src, err)
	}
	if len(names) == 0 {
		fmt.Fprintf(g.log, "job %s (%s): matrix %s has no legs; skipping the job\n", j.name, j.spec.Pos, src)
		return nil, nil
	}
	legs := make([]*plannedJob, len(names))
	for i, name := range names {
		lv := clone(ph.vars)
		for k, v := range legVars[i] {
			lv[k] = v
		}
		lv["System.JobPositionInPhase"], lv["System.TotalJobsInPhase"] = strconv.Itoa(i+1), strconv.Itoa(len(names))
		legs[i] = &plannedJob{stage: ph.stage, name: j.name + "." + name, leg: name, spec: ph.spec, vars: lv, index: ph.index}
	}
	g.rc.save(func(r *Run) {
		r.Jobs[ph.index].Name = legs[0].name
		for _, leg := range legs[1:] {
			leg.index = len(r.Jobs)
			r.Jobs = append(r.Jobs, RunJob{Stage: leg.stage, Name: leg.name, DisplayName: leg.spec.DisplayName, Status: "pending"})
		}
	})
	g.mu.Lock()
	for _, leg := range legs {
		for len(g.result) <= leg.index {
			g.result = append(g.result, "")
		}
	}
	g.mu.Unlock()
	return legs, nil
}

// parseMatrix reads a run-time matrix's value: a JSON object of legs, each
// a JSON object of variables (strings; numbers and booleans as written).
// It returns the leg names in key order and each leg's variables.
func parseMatrix(val any) ([]string, []map[string]string, error) {
	s, ok := val.(string)
	if !ok {
		return nil, nil, fmt.Errorf("got %s, want a JSON object of legs as a string", exprString(val))
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil || dec.More() {
		if err == nil {
			err = errors.New("text after the object")
		}
		return nil, nil, fmt.Errorf("got %q, want a JSON object of legs ({\"leg\": {\"var\": \"value\"}}): %w", s, err)
	}
	if raw == nil {
		return nil, nil, fmt.Errorf("got %q, want a JSON object of legs ({\"leg\": {\"var\": \"value\"}})", s)
	}
	names := make([]string, 0, len(raw))
	for k := range raw {
		names = append(names, k)
	}
	sort.Strings(names)
	legVars := make([]map[string]string, len(names))
	for i, name := range names {
		if name == "" || strings.ContainsAny(name, ". ") {
			return nil, nil, fmt.Errorf("leg name %q: want a name without dots or spaces", name)
		}
		obj, ok := raw[name].(map[string]any)
		if !ok {
			return nil, nil, fmt.Errorf("leg %s: got %v, want a JSON object of variables", name, raw[name])
		}
		legVars[i] = map[string]string{}
		for k, v := range obj {
			switch v := v.(type) {
			case string:
				legVars[i][k] = v
			case json.Number:
				legVars[i][k] = v.String()
			case bool:
				legVars[i][k] = strconv.FormatBool(v)
			default:
				return nil, nil, fmt.Errorf("leg %s: variable %s: got %v, want a string, number or boolean", name, k, v)
			}
		}
	}
	return names, legVars, nil
}

// finishJob records job j as ended with result without having run.
func (g *graphRun) finishJob(j *plannedJob, result string) string {
	g.mu.Lock()
	g.result[j.index] = result
	g.mu.Unlock()
	g.rc.save(func(r *Run) { r.Jobs[j.index].Status, r.Jobs[j.index].Result = "completed", result })
	return result
}

// dependency is what dependencies.<name> (and stageDependencies.<s>.<name>)
// holds: result, as Azure spells it, and outputs.
func dependency(result string, outputs *azp.Map) *azp.Map {
	m := azp.NewMap()
	m.Set("result", azureResult(result))
	m.Set("outputs", outputs)
	return m
}

// azureResult spells an agent status the way dependencies.X.result does:
// Succeeded, SucceededWithIssues, Failed, Canceled, Skipped.
func azureResult(s string) string {
	if s == "" {
		return ""
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// aggregate is the result of a job from its legs' or of a stage from its
// jobs': failed over canceled over succeededWithIssues; skipped only when
// all were.
func aggregate(results []string) string {
	has := map[string]bool{}
	for _, r := range results {
		has[r] = true
	}
	switch {
	case has[agent.StatusFailed]:
		return agent.StatusFailed
	case has[agent.StatusCanceled]:
		return agent.StatusCanceled
	case has[agent.StatusSucceededWithIssues]:
		return agent.StatusSucceededWithIssues
	case has[agent.StatusSucceeded]:
		return agent.StatusSucceeded
	}
	return agent.StatusSkipped
}

func varMap(vars map[string]string) *azp.Map {
	m := azp.NewMap()
	for k, v := range vars {
		m.Set(k, v)
	}
	return m
}

// exprString is an expression value as a variable holds it.
func exprString(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case bool:
		if v {
			return "True"
		}
		return "False"
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

// depStatus answers succeeded(), failed(), ... for a job or a stage from
// the results of what it depends on (lower-case names), as Azure does: no
// dependencies means succeeded() unless the run is canceled.
type depStatus struct {
	results  map[string]string
	canceled bool
}

func (d depStatus) pick(names []string) ([]string, error) {
	if len(names) == 0 {
		out := make([]string, 0, len(d.results))
		for _, r := range d.results {
			out = append(out, r)
		}
		return out, nil
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		r, ok := d.results[strings.ToLower(n)]
		if !ok {
			return nil, fmt.Errorf("%q is not a dependency (list it in dependsOn)", n)
		}
		out = append(out, r)
	}
	return out, nil
}

// Succeeded reports whether every named dependency (all when none are
// named) succeeded, with or without issues, and the run goes on.
func (d depStatus) Succeeded(names ...string) (bool, error) {
	rs, err := d.pick(names)
	if err != nil || d.canceled {
		return false, err
	}
	for _, r := range rs {
		if r != agent.StatusSucceeded && r != agent.StatusSucceededWithIssues {
			return false, nil
		}
	}
	return true, nil
}

// Failed reports whether any named dependency (any when none are named)
// failed.
func (d depStatus) Failed(names ...string) (bool, error) {
	rs, err := d.pick(names)
	if err != nil {
		return false, err
	}
	for _, r := range rs {
		if r == agent.StatusFailed {
			return true, nil
		}
	}
	return false, nil
}

// SucceededOrFailed reports whether the run goes on.
func (d depStatus) SucceededOrFailed(names ...string) (bool, error) {
	_, err := d.pick(names)
	return err == nil && !d.canceled, err
}

// Canceled reports whether the run was canceled.
func (d depStatus) Canceled() (bool, error) { return d.canceled, nil }
