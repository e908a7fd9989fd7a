package engine

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
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

// computeCache holds computes read recently, by "ws/name".
type computeCache struct {
	mu sync.Mutex
	m  map[string]cachedCompute
}

type cachedCompute struct {
	c     spec.Compute
	found bool
	at    time.Time
}

// computeSpec reads compute name of workspace ws; false when it is the
// built-in local one or cannot be read (the plan checked it existed).
func (e *Engine) computeSpec(ctx context.Context, ws, name string) (spec.Compute, bool) {
	if name == LocalCompute {
		return spec.Compute{}, false
	}
	key := ws + "/" + name
	cc := &e.computes
	cc.mu.Lock()
	if c, ok := cc.m[key]; ok && time.Since(c.at) < computeFresh {
		cc.mu.Unlock()
		return c.c, c.found
	}
	cc.mu.Unlock()
	var c spec.Compute
	a, err := e.cfg.Store.GetAsset(ctx, ws, store.KindCompute, name, "")
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return spec.Compute{}, false // not kept: the next step reads again
	case json.Unmarshal(a.Spec, &c) != nil:
		err = errors.New("unreadable")
	}
	found := err == nil
	if !found {
		c = spec.Compute{}
	}
	cc.mu.Lock()
	if cc.m == nil {
		cc.m = map[string]cachedCompute{}
	}
	cc.m[key] = cachedCompute{c: c, found: found, at: time.Now()}
	cc.mu.Unlock()
	return c, found
}
