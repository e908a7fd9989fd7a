package cicd

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ciel-mlops/ciel/internal/cicd/azp"
	"github.com/ciel-mlops/ciel/internal/spec"
)

// runPlan is a run's expanded pipeline as a graph: stages after the stages
// they depend on, jobs of a stage after the jobs they depend on, and each
// job as written (a group) split into the jobs that run: one per matrix leg
// or parallel slice.
type runPlan struct {
	stages []*planStage
	// repos are the pipeline's resources.repositories by alias.
	repos map[string]azp.Repository
}

// planStage is one stage and the stages it waits for.
type planStage struct {
	name  string
	spec  *azp.Stage
	deps  []string
	vars  map[string]string
	jobs  []*planGroup
	index int // position in runPlan.stages
}

// planGroup is a job as written and the jobs it runs as.
type planGroup struct {
	name        string
	spec        *azp.Job
	deps        []string
	legs        []*plannedJob
	matrix      bool // legs are matrix legs or parallel slices
	maxParallel int  // 0: no limit beyond the pool's
	// matrixExpr is a run-time matrix ("$[ ... ]"): legs holds one
	// placeholder job until the group's dependencies are done and the
	// expression gives the legs.
	matrixExpr string
}

// plannedJob is one job that runs: a job, a matrix leg or a parallel slice.
type plannedJob struct {
	stage string
	name  string // "Train", or "Train.linux" for a leg
	leg   string // "" unless a leg
	spec  *azp.Job
	vars  map[string]string
	index int // position in Run.Jobs
}

// jobs lists the plan's jobs in the order the run's timeline shows them.
func (p *runPlan) jobs() []*plannedJob {
	var out []*plannedJob
	for _, st := range p.stages {
		for _, g := range st.jobs {
			out = append(out, g.legs...)
		}
	}
	return out
}

// plan checks out the run's commit, expands the pipeline's YAML there
// (reading templates of other hosted repositories), resolves variable
// groups and builds the run's graph.
func (s *Service) plan(ctx context.Context, p Pipeline, r Run) (*runPlan, error) {
	dir, err := os.MkdirTemp(filepath.Join(s.cfg.Dir, "agent"), "expand-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if _, err := s.cfg.Repos.Checkout(ctx, r.Workspace, p.Repository, r.SourceVersion, dir+"/s"); err != nil {
		return nil, fmt.Errorf("check out %s at %s: %w", p.Repository, r.SourceVersion, err)
	}
	params := map[string]any{}
	for k, v := range r.Parameters {
		params[k] = v
	}
	n := 0
	repos := func(repo azp.Repository) (fs.FS, error) {
		n++
		dest := filepath.Join(dir, "r"+strconv.Itoa(n))
		if err := s.checkoutResource(ctx, r.Workspace, repo, dest); err != nil {
			return nil, err
		}
		return os.DirFS(dest), nil
	}
	pl, err := azp.Config{Variables: predefined(p, r), Repos: repos}.Expand(os.DirFS(dir+"/s"), p.YAMLPath, params)
	if err != nil {
		return nil, err
	}
	base := predefined(p, r)
	if err := s.applyVariables(ctx, r.Workspace, base, pl.Variables); err != nil {
		return nil, err
	}
	out := &runPlan{repos: map[string]azp.Repository{}}
	for _, repo := range pl.Resources.Repositories {
		out.repos[repo.Alias] = repo
	}
	for i, st := range pl.Stages {
		ps := &planStage{name: st.Name, spec: st, deps: st.DependsOn, vars: clone(base), index: i}
		if !st.DependsOnSet && i > 0 {
			ps.deps = []string{pl.Stages[i-1].Name}
		}
		if err := s.applyVariables(ctx, r.Workspace, ps.vars, st.Variables); err != nil {
			return nil, err
		}
		for _, j := range st.Jobs {
			g, err := s.planGroup(ctx, r.Workspace, st, j, ps.vars)
			if err != nil {
				return nil, err
			}
			ps.jobs = append(ps.jobs, g)
		}
		out.stages = append(out.stages, ps)
	}
	if err := out.check(); err != nil {
		return nil, err
	}
	idx := 0
	for _, j := range out.jobs() {
		j.index = idx
		idx++
	}
	return out, nil
}

// planGroup splits job j into the jobs it runs as.
func (s *Service) planGroup(ctx context.Context, ws string, st *azp.Stage, j *azp.Job, stageVars map[string]string) (*planGroup, error) {
	g := &planGroup{name: j.Name, spec: j, deps: j.DependsOn}
	vars := clone(stageVars)
	// Group variables are resolved here; the agent applies the job's other
	// variables itself.
	for _, v := range j.Variables {
		if v.Group != "" {
			if err := s.applyVariables(ctx, ws, vars, []azp.Variable{v}); err != nil {
				return nil, err
			}
		}
	}
	strat := j.Strategy
	switch {
	case strat != nil && strat.MatrixExpr != "" && len(strat.Matrix) == 0:
		g.matrix, g.maxParallel, g.matrixExpr = true, strat.MaxParallel, strat.MatrixExpr
		g.legs = []*plannedJob{{stage: st.Name, name: j.Name, spec: j, vars: vars}}
	case strat != nil && len(strat.Matrix) > 0:
		g.matrix, g.maxParallel = true, strat.MaxParallel
		for i, leg := range strat.Matrix {
			lv := clone(vars)
			for _, v := range leg.Variables {
				lv[v.Name] = v.Value
			}
			lv["System.JobPositionInPhase"], lv["System.TotalJobsInPhase"] = strconv.Itoa(i+1), strconv.Itoa(len(strat.Matrix))
			g.legs = append(g.legs, &plannedJob{stage: st.Name, name: j.Name + "." + leg.Name, leg: leg.Name, spec: j, vars: lv})
		}
	case strat != nil && strat.Parallel > 1:
		g.matrix, g.maxParallel = true, strat.MaxParallel
		for i := 1; i <= strat.Parallel; i++ {
			lv := clone(vars)
			lv["System.JobPositionInPhase"], lv["System.TotalJobsInPhase"] = strconv.Itoa(i), strconv.Itoa(strat.Parallel)
			leg := strconv.Itoa(i)
			g.legs = append(g.legs, &plannedJob{stage: st.Name, name: j.Name + "." + leg, leg: leg, spec: j, vars: lv})
		}
	default:
		g.legs = []*plannedJob{{stage: st.Name, name: j.Name, spec: j, vars: vars}}
	}
	return g, nil
}

// applyVariables sets vs over vars, resolving "- group: G" entries from the
// workspace's variable groups; a missing group is an error naming it.
func (s *Service) applyVariables(ctx context.Context, ws string, vars map[string]string, vs []azp.Variable) error {
	for _, v := range vs {
		if v.Group == "" {
			vars[v.Name] = v.Value
			continue
		}
		g, err := s.cfg.Store.GetVariableGroup(ctx, ws, v.Group)
		if err != nil {
			return fmt.Errorf("variable group %q: %w (create it with ciel pipelines variable-group create --name %s)", v.Group, err, v.Group)
		}
		for k, val := range g.Variables {
			vars[k] = val
		}
	}
	return nil
}

// check verifies every dependsOn names a stage or a job of the same stage
// and that nothing depends on itself, directly or not.
func (p *runPlan) check() error {
	stages := map[string]*planStage{}
	for _, st := range p.stages {
		stages[strings.ToLower(st.name)] = st
	}
	stageDeps := map[string][]string{}
	for _, st := range p.stages {
		for _, d := range st.deps {
			if stages[strings.ToLower(d)] == nil {
				return spec.Errorf(st.spec.Pos, "stage %s depends on %q, which is not a stage of this pipeline", st.name, d)
			}
		}
		stageDeps[strings.ToLower(st.name)] = st.deps
		jobs := map[string][]string{}
		for _, g := range st.jobs {
			jobs[strings.ToLower(g.name)] = g.deps
		}
		for _, g := range st.jobs {
			for _, d := range g.deps {
				if _, ok := jobs[strings.ToLower(d)]; !ok {
					return spec.Errorf(g.spec.Pos, "job %s depends on %q, which is not a job of stage %s", g.name, d, st.name)
				}
			}
			if cycle(jobs, strings.ToLower(g.name)) {
				return spec.Errorf(g.spec.Pos, "job %s depends on itself through dependsOn", g.name)
			}
		}
	}
	for _, st := range p.stages {
		if cycle(stageDeps, strings.ToLower(st.name)) {
			return spec.Errorf(st.spec.Pos, "stage %s depends on itself through dependsOn", st.name)
		}
	}
	return nil
}

// cycle reports whether start reaches itself through deps (lower-case
// names).
func cycle(deps map[string][]string, start string) bool {
	seen := map[string]bool{}
	stack := append([]string(nil), deps[start]...)
	for len(stack) > 0 {
		n := strings.ToLower(stack[len(stack)-1])
		stack = stack[:len(stack)-1]
		if n == start {
			return true
		}
		if seen[n] {
			continue
		}
		seen[n] = true
		stack = append(stack, deps[n]...)
	}
	return false
}

// checkoutResource writes repository resource repo, hosted by ciel, at its
// ref into dest. Its name is "<repo>" (this workspace) or
// "<workspace>/<repo>"; only type: git is hosted here.
func (s *Service) checkoutResource(ctx context.Context, ws string, repo azp.Repository, dest string) error {
	if repo.Type != "" && !strings.EqualFold(repo.Type, "git") {
		return fmt.Errorf("repository %s has type %s: only type: git repositories hosted by ciel can be read", repo.Alias, repo.Type)
	}
	rws, name := ws, repo.Name
	if a, b, ok := strings.Cut(repo.Name, "/"); ok {
		rws, name = a, b
	}
	if name == "" {
		return fmt.Errorf("repository %s: name: is required (a repository hosted by ciel)", repo.Alias)
	}
	ref := repo.Ref
	if ref == "" {
		ref = "refs/heads/main"
	}
	if _, err := s.cfg.Repos.Checkout(ctx, rws, name, ref, dest); err != nil {
		return fmt.Errorf("check out repository %s (%s at %s): %w", repo.Alias, repo.Name, ref, err)
	}
	return nil
}
