package trigger

import (
	"context"
	"time"
)

// Loop calls pass at once and then every tick (a second when tick is not
// positive) until ctx is done, handing each error to warn unless ctx is
// done by then. It is the firing loop of Azure ML schedules and of Data
// Factory triggers: each pass fires what has come due.
func Loop(ctx context.Context, tick time.Duration, pass func(context.Context) error, warn func(error)) {
	if tick <= 0 {
		tick = time.Second
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		if err := pass(ctx); err != nil && ctx.Err() == nil {
			warn(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			// select picks at random when both are ready: a tick that
			// races the cancel must not start another pass.
			if ctx.Err() != nil {
				return
			}
		}
	}
}
