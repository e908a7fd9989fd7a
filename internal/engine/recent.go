package engine

import (
	"sync"
	"time"
)

// recentMax bounds a recent cache: past it, the cache starts over rather
// than grow (the PATHs of many environments, each with many commands).
const recentMax = 1024

// recent remembers values read or searched for lately, each for as long as
// its reader says it stays fresh: the engine's short-lived caches of what
// every step of a wide pipeline would otherwise look up again.
type recent[K comparable, V any] struct {
	mu sync.Mutex
	m  map[K]recentEntry[V]
}

type recentEntry[V any] struct {
	v  V
	at time.Time
}

// get returns k's value if it was put less than fresh ago.
func (c *recent[K, V]) get(k K, fresh time.Duration) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok || time.Since(e.at) >= fresh {
		var zero V
		return zero, false
	}
	return e.v, true
}

// put remembers v for k from now.
func (c *recent[K, V]) put(k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= recentMax {
		c.m = map[K]recentEntry[V]{}
	}
	c.m[k] = recentEntry[V]{v: v, at: time.Now()}
}
