package engine

import (
	"context"
	"io"

	"github.com/ciel-mlops/ciel/internal/spec"
	"github.com/ciel-mlops/ciel/internal/store"
)

// The engine's tests live in package engine_test (they use the SQLite store,
// whose tracking half imports engine); these give them the internals they
// check.

// BuildPlan exposes planning.
func (e *Engine) BuildPlan(ctx context.Context, ws string, job *spec.Job) (*Plan, error) {
	return e.buildPlan(ctx, ws, job)
}

// ReuseKey exposes the reuse key.
func ReuseKey(ps *PlanStep, inputs map[string]string) string { return reuseKey(ps, inputs) }

// PrefixWriter exposes the line prefixer.
func PrefixWriter(w io.Writer, p string) io.Writer { return prefixWriter(w, p) }

// ComputeName exposes compute name normalisation.
func ComputeName(name string) string { return localCompute(name) }

// FollowCountingReads follows a job as Follow does, counting the reads of
// each step's log.
func (e *Engine) FollowCountingReads(ctx context.Context, ws, name string, w io.Writer) (map[string]int, error) {
	f := e.newFollower(ctx, w, nil)
	reads := map[string]int{}
	f.readLog = func(ctx context.Context, j store.Job, s store.Step, offset, limit int64, remote RemoteLog) ([]byte, error) {
		reads[s.Name]++
		return e.ReadStepLog(ctx, j, s, offset, limit, remote)
	}
	err := f.run(ws, name, "", nil)
	return reads, err
}
