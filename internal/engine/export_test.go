package engine

import (
	"context"
	"io"

	"github.com/ciel-mlops/ciel/internal/spec"
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
