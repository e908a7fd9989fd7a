package engine

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/ciel-mlops/ciel/internal/spec"
	"github.com/ciel-mlops/ciel/internal/store"
)

// computeFresh is how long a compute's record, once read, serves the steps
// that start after it. Each step needs its compute twice (its concurrency,
// its type), so a wide pipeline read it from the store a thousand times a
// second; a change (ciel compute update --max-concurrency, or a compute
// deleted) still reaches the steps that start a second later, on every
// server that shares the store.
const computeFresh = time.Second

// cachedCompute is a compute as read from the store; found is false for
// one that is missing or unreadable.
type cachedCompute struct {
	c     spec.Compute
	found bool
}

// computeSpec reads compute name of workspace ws; false when it is the
// built-in local one or cannot be read (the plan checked it existed).
func (e *Engine) computeSpec(ctx context.Context, ws, name string) (spec.Compute, bool) {
	if name == LocalCompute {
		return spec.Compute{}, false
	}
	key := [2]string{ws, name}
	if c, ok := e.computes.get(key, computeFresh); ok {
		return c.c, c.found
	}
	a, err := e.cfg.Store.GetAsset(ctx, ws, store.KindCompute, name, "")
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return spec.Compute{}, false // not kept: the next step reads again
	}
	var c spec.Compute
	found := err == nil && json.Unmarshal(a.Spec, &c) == nil
	if !found {
		c = spec.Compute{}
	}
	e.computes.put(key, cachedCompute{c: c, found: found})
	return c, found
}
