package sqldb

import (
	"slices"
	"sync"

	"github.com/ciel-mlops/ciel/internal/tracking"
)

// runCacheLimit bounds how many runs runCache remembers; past it the cache
// starts afresh. A run's data is a few hundred bytes in the common case.
const runCacheLimit = 100_000

// runCache keeps the data of runs that reads loaded (params, tags, latest
// metrics, inputs and outputs), so the pages of a search, a second search
// and GetRun read them from memory instead of five queries per page.
//
// Writers call forget after their transaction commits. Loads guard
// against a write that commits while they read the database: they take a
// snapshot of each run's write sequence before reading, and keep what
// they read only if no write came in between. Forgetting a run that is
// not cached still records its sequence, so such a race is seen.
type runCache struct {
	mu      sync.Mutex
	seq     uint64 // last sequence handed out
	epoch   uint64 // bumped when the cache starts afresh
	entries map[string]*runCacheEntry
}

type runCacheEntry struct {
	seq  uint64   // sequence of the last write to the run
	data *runData // nil when not cached
}

// runData is what loadRunData fills in a run.
type runData struct {
	params       []tracking.Param
	tags         []tracking.Tag
	metrics      []tracking.Metric
	inputs       []tracking.DatasetInput
	modelInputs  []tracking.ModelInput
	modelOutputs []tracking.ModelOutput
}

// runCacheSnapshot is what a load saw before it read the database.
type runCacheSnapshot struct {
	epoch uint64
	seqs  map[string]uint64
}

func newRunCache() *runCache {
	return &runCache{entries: make(map[string]*runCacheEntry)}
}

// forget drops the cached data of runs after a write to them.
func (c *runCache) forget(runIDs ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.makeRoom(len(runIDs))
	for _, id := range runIDs {
		c.seq++
		if e, ok := c.entries[id]; ok {
			e.seq, e.data = c.seq, nil
		} else {
			c.entries[id] = &runCacheEntry{seq: c.seq}
		}
	}
}

// makeRoom starts afresh when n more entries would pass the limit; the
// new epoch keeps loads begun before from filling the new map.
func (c *runCache) makeRoom(n int) {
	if len(c.entries)+n > runCacheLimit {
		c.entries = make(map[string]*runCacheEntry)
		c.epoch++
	}
}

// fill sets the data of the runs that are cached and returns the others,
// with the snapshot to store them under once loaded.
func (c *runCache) fill(runs []tracking.Run) (missing []*tracking.Run, snap runCacheSnapshot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	snap = runCacheSnapshot{epoch: c.epoch, seqs: make(map[string]uint64)}
	for i := range runs {
		r := &runs[i]
		e := c.entries[r.Info.RunID]
		if e != nil && e.data != nil {
			d := e.data
			r.Params, r.Tags, r.Metrics = d.params, d.tags, d.metrics
			r.Inputs, r.ModelInputs, r.ModelOutputs = d.inputs, d.modelInputs, d.modelOutputs
			continue
		}
		if e != nil {
			snap.seqs[r.Info.RunID] = e.seq
		}
		missing = append(missing, r)
	}
	return missing, snap
}

// store keeps the loaded data of runs unless a write to them came after
// snap was taken.
func (c *runCache) store(runs []*tracking.Run, snap runCacheSnapshot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if snap.epoch != c.epoch {
		return
	}
	c.makeRoom(len(runs))
	if snap.epoch != c.epoch {
		return
	}
	for _, r := range runs {
		id := r.Info.RunID
		e := c.entries[id]
		var seq uint64
		if e != nil {
			seq = e.seq
		}
		if seq != snap.seqs[id] {
			continue // written since the load read it
		}
		if e == nil {
			e = &runCacheEntry{seq: seq}
			c.entries[id] = e
		}
		// Clipped, so a caller's append copies rather than writing into
		// what other readers share.
		e.data = &runData{
			params: slices.Clip(r.Params), tags: slices.Clip(r.Tags), metrics: slices.Clip(r.Metrics),
			inputs: slices.Clip(r.Inputs), modelInputs: slices.Clip(r.ModelInputs), modelOutputs: slices.Clip(r.ModelOutputs),
		}
	}
}
