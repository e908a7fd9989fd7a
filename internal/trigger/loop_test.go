package trigger

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestLoop: the first pass runs at once, later ones every tick; a pass's
// error reaches warn; the loop returns when its context is done.
func TestLoop(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	passes, warned := 0, 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		Loop(ctx, time.Millisecond, func(context.Context) error {
			passes++
			if passes == 3 {
				cancel()
			}
			return errors.New("boom")
		}, func(err error) { warned++ })
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Loop did not return after its context was cancelled")
	}
	// The third pass cancelled ctx before returning its error: not warned.
	if passes != 3 || warned != 2 {
		t.Errorf("passes %d, warned %d; want 3 and 2", passes, warned)
	}
}
