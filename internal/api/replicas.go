package api

import (
	"context"
	"sync"
	"time"
)

// heartbeats is what keepReplica needs of the store.
type heartbeats interface {
	// Heartbeat records that this server lives until until, reached by
	// the others at address.
	Heartbeat(ctx context.Context, until time.Time, address string) error
	// MarkStranded ends the Data Factory runs of servers that stopped.
	MarkStranded(ctx context.Context, msg string, at time.Time) ([]string, error)
}

// keepReplica, for a server sharing its store with others, renews the
// server's heartbeat (with the address the others reach it at) every third
// of lease and, every lease, settles the
// CI/CD and Data Factory runs of servers that stopped renewing theirs
// (jobs have leases of their own: engine/leases.go). The returned func
// stops it.
func (s *server) keepReplica(st heartbeats, lease time.Duration, address string) func() {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(lease / 3)
		defer tick.Stop()
		for n := 1; ; n++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if err := st.Heartbeat(ctx, time.Now().Add(lease), address); err != nil && ctx.Err() == nil {
				s.log.Warn("renew this server's heartbeat", "err", err)
			}
			if n%3 == 0 {
				s.recoverStranded(ctx, st)
			}
		}
	}()
	return func() {
		cancel()
		wg.Wait()
	}
}

// recoverStranded closes the CI/CD and Data Factory runs left open by
// servers that stopped.
func (s *server) recoverStranded(ctx context.Context, st heartbeats) {
	if s.cicd != nil {
		if err := s.cicd.Recover(ctx, false); err != nil && ctx.Err() == nil {
			s.log.Warn("settle the CI/CD runs of stopped servers", "err", err)
		}
	}
	if s.dataflow != nil {
		if ids, err := st.MarkStranded(ctx, "the server running it stopped", time.Now()); err != nil && ctx.Err() == nil {
			s.log.Warn("settle the Data Factory runs of stopped servers", "err", err)
		} else if len(ids) > 0 {
			s.log.Warn("data factory runs of a stopped server recorded Failed", "runs", len(ids))
		}
	}
}
