package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ciel-mlops/ciel/internal/blob"
	"github.com/ciel-mlops/ciel/internal/compute"
	"github.com/ciel-mlops/ciel/internal/envs"
	"github.com/ciel-mlops/ciel/internal/spec"
	"github.com/ciel-mlops/ciel/internal/store"
)

// Artifact keys in a step's Outputs for what it wrote to ./outputs and
// ./logs, Azure ML's convention for files kept with the job, and for the
// per-process logs of a distributed step (./user_logs, where Azure ML
// keeps std_log_process_<rank>.txt).
const (
	ArtifactOutputs  = "artifacts/outputs"
	ArtifactLogs     = "artifacts/logs"
	ArtifactUserLogs = "artifacts/user_logs"
)

// ArtifactKeys are the artifact keys in the order their folders are merged.
var ArtifactKeys = []string{ArtifactOutputs, ArtifactLogs, ArtifactUserLogs}

// artifactFolder is the folder of the step's working directory an
// artifact key is collected from.
func artifactFolder(key string) string { return strings.TrimPrefix(key, "artifacts/") }

// ArtifactsOutput is Azure ML's default output of every command job: a step
// that declares an output of this name and leaves it empty gets what it
// wrote to ./outputs and ./logs in it, as outputs/... and logs/..., so a
// later step can read ${{parent.jobs.a.outputs.artifacts}}/outputs/x.
const ArtifactsOutput = "artifacts"

// runStep runs one step to a terminal status (with retries) and returns its
// final record, already durable.
func (r *jobRun) runStep(ps *PlanStep, st store.Step) store.Step {
	e := r.e
	dir := filepath.Join(e.JobDir(r.job.Workspace, r.job.Name), filepath.FromSlash(ps.Name))
	logPath := filepath.Join(dir, "std_log.txt")
	inputs, err := r.inputDigests(ps)
	if err != nil {
		return r.fail(st, err.Error(), logPath)
	}
	key := reuseKey(ps, inputs)
	if done, ok := r.tryReuse(ps, st, key, dir, logPath); ok {
		return done
	}

	// The observer (tracking) is told before the step waits for a slot, so
	// the runs of a wide pipeline's steps are created together, in a few
	// commits, and not one by one while a slot is held.
	var observed []string
	if obs := e.cfg.Observer; obs != nil {
		if observed, err = obs.StepStarting(r.ctx, r.info(ps.Name, st.Attempt+1)); err != nil {
			return r.fail(st, fmt.Sprintf("step tracking: %v", err), logPath)
		}
	}

	// Wait for a slot before touching the disk, so a wide pipeline does not
	// hold a log file open per waiting step.
	sem := e.semaphore(r.job.Workspace, ps.Compute, e.concurrency(r.ctx, r.job.Workspace, ps.Compute))
	slots := stepSlots(ps, cap(sem))
	if !e.takeSlots(r.ctx, sem, slots) {
		return r.stopped(st)
	}
	// The slots are given back as soon as the process is done, before the
	// result is made durable, so the next step starts during the commit.
	held := true
	release := func() {
		if held {
			held = false
			for range slots {
				<-sem
			}
		}
	}
	defer release()

	if err := mkdirOnce(dir); err != nil {
		return r.fail(st, fmt.Sprintf("create step directory: %v", err), logPath)
	}
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return r.fail(st, fmt.Sprintf("open step log: %v", err), logPath)
	}
	defer logf.Close()

	for {
		st.Attempt++
		now := time.Now().UTC()
		st.Status, st.StartedAt, st.EndedAt, st.Error, st.ExitCode = StatusPreparing, &now, nil, "", nil
		e.rec.put(st, false)
		res, err := r.attempt(ps, &st, dir, logPath, logf, inputs, observed)
		if r.ctx.Err() != nil {
			release()
			return r.stopped(st)
		}
		if err == nil && res.ExitCode == 0 && !res.TimedOut {
			release()
			return r.complete(ps, st, key, res.Collected)
		}
		msg := ""
		switch {
		case err != nil:
			msg = err.Error()
		case res.TimedOut:
			msg = fmt.Sprintf("timed out after %ds (limits.timeout)", ps.TimeoutSecs)
		default:
			msg = fmt.Sprintf("exited with code %d", res.ExitCode)
			code := res.ExitCode
			st.ExitCode = &code
		}
		if st.Attempt <= ps.MaxRetries {
			fmt.Fprintf(logf, "[ciel] attempt %d %s; retrying (%d of %d retries)\n", st.Attempt, msg, st.Attempt, ps.MaxRetries)
			continue
		}
		release()
		return r.fail(st, msg, logPath)
	}
}

// attempt prepares the working directory and runs the command once.
func (r *jobRun) attempt(ps *PlanStep, st *store.Step, dir, logPath string, logf io.Writer, inputs map[string]string, observed []string) (compute.Result, error) {
	e := r.e
	x, remote, err := e.executor(r.ctx, r.job.Workspace, ps.Compute)
	if err != nil {
		return compute.Result{}, err
	}
	if remote {
		// The notes say how local compute stands in for an image; a
		// remote one runs the image itself.
		return r.attemptRemote(x, ps, st, dir, logPath, logf, inputs, observed)
	}
	if st.Attempt == 1 {
		for _, n := range ps.Env.Notes {
			fmt.Fprintf(logf, "[ciel] %s\n", n)
		}
	}
	env, err := e.cfg.Envs.Ensure(r.ctx, envs.Spec{Image: ps.Env.Image, CondaFile: ps.Env.CondaFile}, prefixWriter(logf, "[ciel] "))
	if err != nil {
		return compute.Result{}, fmt.Errorf("environment: %w", err)
	}
	for _, n := range env.Notes {
		fmt.Fprintf(logf, "[ciel] %s\n", n)
	}
	wd := filepath.Join(dir, "wd")
	if err := resetDir(wd); err != nil {
		return compute.Result{}, err
	}
	if ps.Code != "" {
		if err := blob.Materialize(r.ctx, e.cfg.Blobs, ps.Code, wd, false); err != nil {
			return compute.Result{}, fmt.Errorf("materialise code: %w", err)
		}
	}
	// Azure ML starts a job with ./outputs in place; what lands there is
	// kept with the job.
	if err := mkdirOnce(filepath.Join(wd, "outputs")); err != nil {
		return compute.Result{}, fmt.Errorf("create ./outputs: %w", err)
	}
	paths, err := r.materialiseInputs(ps, dir, inputs)
	if err != nil {
		return compute.Result{}, err
	}
	outDir := filepath.Join(dir, "outputs")
	if len(ps.Outputs) > 0 {
		if err := resetDir(outDir); err != nil {
			return compute.Result{}, err
		}
	}
	for name, o := range ps.Outputs {
		p := filepath.Join(outDir, name)
		if err := os.MkdirAll(p, 0o700); err != nil {
			return compute.Result{}, fmt.Errorf("create output %s: %w", name, err)
		}
		if o.Type == spec.TypeURIFile {
			p = filepath.Join(p, name)
		}
		paths["outputs."+name] = p
	}
	script, vars, err := renderCommand(ps, paths)
	if err != nil {
		return compute.Result{}, err
	}
	procEnv := r.stepEnv(ps, env, vars, observed)
	if ps.Parallel != nil {
		driver, err := installParallelDriver(dir)
		if err != nil {
			return compute.Result{}, err
		}
		procEnv = append(procEnv, parallelDriverEnv+"="+driver)
	}
	now := time.Now().UTC()
	st.Status, st.StartedAt = StatusRunning, &now
	args := []string{"/bin/bash", "-c", script}
	if argv, ok := directArgv(script, procEnv, wd); ok {
		// bash would set PWD before it exec'd the program.
		args, procEnv = argv, append(procEnv, "PWD="+wd)
	}
	task := compute.Task{
		Dir: wd, Args: args, Env: procEnv, LogPath: logPath,
		Timeout: time.Duration(ps.TimeoutSecs) * time.Second,
		OnStart: func(pgid int) { st.PID = pgid; e.rec.put(*st, false) },
	}
	if f, ok := logf.(*os.File); ok {
		task.Log = f // runStep's, open for the step's ciel lines
	}
	res, err := x.Run(r.ctx, task)
	r.collectArtifacts(st, wd)
	return res, err
}

// stepEnv is the complete environment of a step's process: the server's,
// the environment's PATH, ciel's variables, what the observer added, the
// step's environment_variables, then the inputs and outputs.
func (r *jobRun) stepEnv(ps *PlanStep, env envs.Env, vars, observed []string) []string {
	out := make([]string, 0, len(os.Environ())+len(ps.EnvVars)+len(vars)+len(observed)+8)
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PATH=") && env.BinDir != "" {
			kv = "PATH=" + env.BinDir + string(os.PathListSeparator) + kv[len("PATH="):]
		}
		out = append(out, kv)
	}
	if env.VirtualEnv != "" {
		out = append(out, "VIRTUAL_ENV="+env.VirtualEnv)
	}
	return append(out, r.stepVars(ps, vars, observed)...)
}

// stepVars is what ciel adds to a step's environment: its own variables,
// what the observer added, the step's environment_variables, then the
// inputs and outputs.
func (r *jobRun) stepVars(ps *PlanStep, vars, observed []string) []string {
	out := make([]string, 0, len(ps.EnvVars)+len(vars)+len(observed)+4)
	out = append(out,
		"CIEL_STEP="+r.job.Workspace+"/"+r.job.Name+"/"+ps.Name,
		"CIEL_JOB="+r.job.Name,
		"AZUREML_RUN_ID="+r.job.Name,
		"PYTHONUNBUFFERED=1",
	)
	out = append(out, observed...)
	for _, k := range sortedKeys(ps.EnvVars) {
		out = append(out, k+"="+ps.EnvVars[k])
	}
	return append(out, vars...)
}

// info describes a step of this job to the observer.
func (r *jobRun) info(step string, attempt int) StepInfo {
	return StepInfo{Workspace: r.job.Workspace, Job: r.job.Name, JobType: r.job.Type, Experiment: r.job.ExperimentName,
		Display: r.job.DisplayName, Step: step, Attempt: attempt, Parent: r.parent}
}

// under returns s as a step whose run's parent is the run of step parent.
func (s StepInfo) under(parent string) StepInfo {
	s.Parent = parent
	return s
}

// inputDigests resolves every input to a literal or a tree digest, with
// upstream outputs taken from the completed steps.
func (r *jobRun) inputDigests(ps *PlanStep) (map[string]string, error) {
	out := make(map[string]string, len(ps.Inputs))
	for name, in := range ps.Inputs {
		switch {
		case in.Value != nil:
			out[name] = "value:" + *in.Value
		case in.Digest != "":
			out[name] = in.Digest
		case in.URI != "":
			d, err := r.fetchInput(name, in.URI)
			if err != nil {
				return nil, err
			}
			out[name] = d
		case in.From != nil:
			up := r.steps[in.From.Step]
			d, ok := up.Outputs[in.From.Port]
			if !ok {
				return nil, fmt.Errorf("input %s: step %s produced no output %q", name, in.From.Step, in.From.Port)
			}
			out[name] = d
		}
	}
	return out, nil
}

// materialiseInputs writes data inputs under dir/inputs (read-only) and
// returns the value of every ${{inputs.x}}.
func (r *jobRun) materialiseInputs(ps *PlanStep, dir string, digests map[string]string) (map[string]string, error) {
	paths := make(map[string]string, len(ps.Inputs)+len(ps.Outputs))
	inDir := filepath.Join(dir, "inputs")
	if len(ps.Inputs) > 0 {
		if err := resetDir(inDir); err != nil {
			return nil, err
		}
	}
	for name, in := range ps.Inputs {
		d := digests[name]
		if in.Value != nil {
			paths["inputs."+name] = *in.Value
			continue
		}
		target := filepath.Join(inDir, name)
		if err := blob.Materialize(r.ctx, r.e.cfg.Blobs, d, target, true); err != nil {
			return nil, fmt.Errorf("materialise input %s: %w", name, err)
		}
		p := target
		if in.Type == spec.TypeURIFile {
			tree, err := blob.GetTree(r.ctx, r.e.cfg.Blobs, d)
			if err != nil {
				return nil, fmt.Errorf("input %s: %w", name, err)
			}
			if len(tree.Entries) == 1 {
				p = filepath.Join(target, filepath.FromSlash(tree.Entries[0].Path))
			}
		}
		paths["inputs."+name] = p
	}
	return paths, nil
}

// collectArtifacts keeps what the step wrote to ./outputs and ./logs; an
// empty folder keeps nothing.
func (r *jobRun) collectArtifacts(st *store.Step, wd string) {
	for _, key := range ArtifactKeys {
		p := filepath.Join(wd, artifactFolder(key))
		if _, err := os.Stat(p); err != nil {
			continue
		}
		d, err := blob.IngestDir(context.Background(), r.e.cfg.Blobs, p)
		if err != nil || d == blob.EmptyTreeDigest {
			continue
		}
		if st.Outputs == nil {
			st.Outputs = map[string]string{}
		}
		st.Outputs[key] = d
	}
}

// artifactsTree is the folder of a step's artifacts: what it wrote to
// ./outputs under outputs/, to ./logs under logs/ (and a distributed
// step's user_logs/), from the digests collectArtifacts recorded in outs.
func artifactsTree(ctx context.Context, s blob.Store, outs map[string]string) (string, error) {
	var all blob.Tree
	if err := AppendArtifacts(ctx, s, &all, outs, ""); err != nil {
		return "", err
	}
	return blob.PutTree(ctx, s, all)
}

// AppendArtifacts appends to t the files of a step's artifacts (the
// digests in its outs), each at prefix + its folder (outputs/, logs/,
// user_logs/) + its path there.
func AppendArtifacts(ctx context.Context, s blob.Store, t *blob.Tree, outs map[string]string, prefix string) error {
	for _, key := range ArtifactKeys {
		d := outs[key]
		if d == "" {
			continue
		}
		tree, err := blob.GetTree(ctx, s, d)
		if err != nil {
			return fmt.Errorf("read %s: %w", key, err)
		}
		folder := prefix + artifactFolder(key) + "/"
		for _, e := range tree.Entries {
			e.Path = folder + e.Path
			t.Entries = append(t.Entries, e)
		}
	}
	return nil
}

// complete collects declared outputs and records success and reuse. An
// executor that stored the outputs itself gives their digests in collected
// (by "outputs/<name>"); otherwise they are read from the step's folder.
func (r *jobRun) complete(ps *PlanStep, st store.Step, key string, collected map[string]string) store.Step {
	dir := filepath.Join(r.e.JobDir(r.job.Workspace, r.job.Name), filepath.FromSlash(ps.Name))
	if st.Outputs == nil {
		st.Outputs = map[string]string{}
	}
	for name := range ps.Outputs {
		d, err := r.outputDigest(dir, name, collected)
		if err == nil && name == ArtifactsOutput && d == blob.EmptyTreeDigest {
			d, err = artifactsTree(r.ctx, r.e.cfg.Blobs, st.Outputs)
		}
		if err != nil {
			return r.fail(st, fmt.Sprintf("collect output %s: %v", name, err), filepath.Join(dir, "std_log.txt"))
		}
		st.Outputs[name] = d
	}
	if err := r.deliver(ps, st, filepath.Join(dir, "std_log.txt")); err != nil {
		return r.fail(st, err.Error(), filepath.Join(dir, "std_log.txt"))
	}
	now := time.Now().UTC()
	code := 0
	st.Status, st.EndedAt, st.ExitCode, st.PID = StatusCompleted, &now, &code, 0
	if ps.Deterministic {
		r.e.rec.putReuse(store.Reuse{Key: key, Workspace: r.job.Workspace, Job: r.job.Name, Step: ps.Name, Outputs: st.Outputs, CreatedAt: now})
	}
	r.endStep(&st)
	return st
}

// outputDigest is the tree digest of output name of the step in dir.
func (r *jobRun) outputDigest(dir, name string, collected map[string]string) (string, error) {
	if collected == nil {
		return blob.IngestDir(r.ctx, r.e.cfg.Blobs, filepath.Join(dir, "outputs", name))
	}
	d, ok := collected["outputs/"+name]
	if !ok {
		return "", fmt.Errorf("the executor collected no folder outputs/%s", name)
	}
	return d, nil
}

// tryReuse completes the step from an earlier identical run, if any.
func (r *jobRun) tryReuse(ps *PlanStep, st store.Step, key, dir, logPath string) (store.Step, bool) {
	if r.plan.ForceRerun || !ps.Deterministic {
		return st, false
	}
	prev, err := r.e.cfg.Store.GetReuse(r.ctx, r.job.Workspace, key)
	if err != nil {
		return st, false
	}
	for _, d := range prev.Outputs {
		if ok, err := r.e.cfg.Blobs.Has(r.ctx, d); err != nil || !ok {
			return st, false
		}
	}
	if err := os.MkdirAll(dir, 0o700); err == nil {
		msg := fmt.Sprintf("[ciel] reused: outputs of job %s step %s (component, code, environment and inputs unchanged); nothing ran\n", prev.Job, prev.Step)
		_ = os.WriteFile(logPath, []byte(msg), 0o600)
	}
	now := time.Now().UTC()
	code := 0
	st.Status, st.StartedAt, st.EndedAt, st.ExitCode = StatusCompleted, &now, &now, &code
	st.ReusedFrom, st.Outputs = prev.Job+"/"+prev.Step, prev.Outputs
	if err := r.deliver(ps, st, logPath); err != nil {
		return r.fail(st, err.Error(), logPath), true
	}
	r.endStep(&st)
	return st, true
}

// fail records a failed step with the tail of its log.
func (r *jobRun) fail(st store.Step, msg, logPath string) store.Step {
	if r.ctx.Err() != nil {
		return r.stopped(st)
	}
	now := time.Now().UTC()
	st.Status, st.EndedAt, st.PID = StatusFailed, &now, 0
	st.Error = errorTail(st.Name, msg, logPath)
	r.endStep(&st)
	return st
}

// stopped records a step stopped by a cancel. When the whole server is
// stopping, or has lost the job's lease, nothing is recorded: the step
// stays active and runs again on resume.
func (r *jobRun) stopped(st store.Step) store.Step {
	if r.held.Err() != nil {
		return st
	}
	now := time.Now().UTC()
	st.Status, st.EndedAt, st.PID = StatusCanceled, &now, 0
	r.endStep(&st)
	return st
}

// endStep records the terminal state of st, with its log kept (keepLog).
func (r *jobRun) endStep(st *store.Step) {
	r.keepLog(st)
	r.e.rec.put(*st, true)
}

// reuseKey hashes everything that decides a step's outputs.
func reuseKey(ps *PlanStep, inputs map[string]string) string {
	outs := make(map[string]string, len(ps.Outputs))
	for n, o := range ps.Outputs {
		outs[n] = o.Type
	}
	b, _ := json.Marshal(struct {
		Command, Code string
		Env           EnvPlan
		EnvVars       map[string]string
		Inputs        map[string]string
		Outputs       map[string]string
		// Omitted when nil, so the keys of steps that are not distributed
		// are what they were before distributions ran.
		Dist *DistPlan `json:",omitempty"`
	}{ps.Command, ps.Code, EnvPlan{Image: ps.Env.Image, CondaFile: ps.Env.CondaFile}, ps.EnvVars, inputs, outs, ps.Distribution})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// resetDir makes dir exist and be empty, even when an earlier attempt left
// read-only inputs in it.
func resetDir(dir string) error {
	if os.Mkdir(dir, 0o700) == nil {
		return nil // a first attempt's: there was nothing to clear
	}
	if err := blob.RemoveMaterialized(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("clear %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	return nil
}

// mkdirOnce is os.MkdirAll(dir, 0o700) for a folder that is usually new
// and whose parent usually exists: one mkdir, where MkdirAll first stats
// the folder and its parent (a step makes three folders; on a wide
// pipeline those stats showed in profiles).
func mkdirOnce(dir string) error {
	if os.Mkdir(dir, 0o700) == nil {
		return nil
	}
	return os.MkdirAll(dir, 0o700)
}

// prefixWriter prefixes every line written through it with p, however the
// writes split the lines.
func prefixWriter(w io.Writer, p string) io.Writer {
	return &prefixer{w: w, p: []byte(p), atStart: true}
}

type prefixer struct {
	w       io.Writer
	p       []byte
	atStart bool
}

func (x *prefixer) Write(b []byte) (int, error) {
	var out []byte
	for _, c := range b {
		if x.atStart {
			out = append(out, x.p...)
			x.atStart = false
		}
		out = append(out, c)
		if c == '\n' {
			x.atStart = true
		}
	}
	if _, err := x.w.Write(out); err != nil {
		return 0, err
	}
	return len(b), nil
}

// renderCommand is ps's command with its ${{...}} placeholders bound to
// paths ("inputs.x", "outputs.y"): the script and the variables it reads
// them from, wherever the step runs. A distributed step's script is the
// launcher that runs the command once per process, with its variables too.
func renderCommand(ps *PlanStep, paths map[string]string) (string, []string, error) {
	tmpl, err := spec.ParseCommand(ps.Command)
	if err != nil {
		return "", nil, fmt.Errorf("command: %w", err)
	}
	script, vars, err := tmpl.Render(func(kind, name string) (string, bool) {
		v, ok := paths[kind+"."+name]
		return v, ok
	})
	if err != nil {
		return "", nil, fmt.Errorf("command: %w", err)
	}
	if ps.Distribution == nil {
		return script, vars, nil
	}
	launcher, dvars, err := distributedLaunch(ps.Distribution, script)
	if err != nil {
		return "", nil, err
	}
	return launcher, append(vars, dvars...), nil
}
