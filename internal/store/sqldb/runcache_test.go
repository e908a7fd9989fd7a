package sqldb

import (
	"testing"

	"github.com/ciel-mlops/ciel/internal/tracking"
)

// TestRunCacheRaces plays the orders in which a load and a write can
// meet: the data a load read before a write committed must not be kept.
func TestRunCacheRaces(t *testing.T) {
	run := func() []tracking.Run { return []tracking.Run{{Info: tracking.RunInfo{RunID: "r1"}}} }
	loaded := func(missing []*tracking.Run) []*tracking.Run {
		for _, r := range missing {
			r.Params = []tracking.Param{{Key: "p", Value: "old"}}
		}
		return missing
	}
	tests := []struct {
		name       string
		between    func(c *runCache) // between the load's snapshot and its store
		after      func(c *runCache) // after the store
		wantCached bool
	}{
		{name: "no write", wantCached: true},
		{name: "write during the load", between: func(c *runCache) { c.forget("r1") }},
		{name: "write to another run", between: func(c *runCache) { c.forget("r2") }, wantCached: true},
		{name: "write after the load", after: func(c *runCache) { c.forget("r1") }},
		{name: "cache started afresh during the load", between: func(c *runCache) { c.makeRoom(runCacheLimit + 1) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newRunCache()
			c.forget("r1") // an earlier write: the run has an entry with no data
			missing, snap := c.fill(run())
			if len(missing) != 1 {
				t.Fatalf("first read found %d runs missing, want 1", len(missing))
			}
			if tt.between != nil {
				tt.between(c)
			}
			c.store(loaded(missing), snap)
			if tt.after != nil {
				tt.after(c)
			}
			runs := run()
			missing, _ = c.fill(runs)
			if cached := len(missing) == 0; cached != tt.wantCached {
				t.Fatalf("cached = %v, want %v", cached, tt.wantCached)
			}
			if tt.wantCached && (len(runs[0].Params) != 1 || runs[0].Params[0].Value != "old") {
				t.Errorf("cached data = %+v", runs[0].Params)
			}
		})
	}
}
