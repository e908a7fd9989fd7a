package serving

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ciel-mlops/ciel/internal/store"
)

// restore brings back what the Store holds: every endpoint at once, and in
// the background every deployment's last provisioned plan; a deployment a
// crash left Creating or Updating is provisioned again.
func (m *Manager) restore(ctx context.Context) error {
	eps, err := m.cfg.Store.ListEndpoints(ctx, "")
	if err != nil {
		return fmt.Errorf("restore endpoints: %w", err)
	}
	deps, err := m.cfg.Store.ListDeployments(ctx, "", "")
	if err != nil {
		return fmt.Errorf("restore deployments: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range eps {
		m.addLive(e)
	}
	for _, d := range deps {
		if m.live[d.Endpoint] == nil {
			continue
		}
		k := depKey(d.Workspace, d.Endpoint, d.Name)
		m.busy[k] = true
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			if d.Plan != nil {
				if err := m.bringUp(d); err != nil {
					m.log.Error("serving: restore deployment", "endpoint", d.Endpoint, "deployment", d.Name, "err", err)
				}
			}
			m.mu.Lock()
			delete(m.busy, k)
			if d.State == StateCreating || d.State == StateUpdating {
				m.startProvision(d, nil)
			}
			m.mu.Unlock()
		}()
	}
	return nil
}

// prepareAttempts is how often bringUp tries to prepare a deployment (its
// environment, files) before it records the failure and gives up, so that
// an update can fix it.
const prepareAttempts = 5

// recordFailure marks a deployment Failed with err, keeping its plan.
func (m *Manager) recordFailure(d Deployment, err error) {
	if logs, lerr := m.logFor(d.Workspace, d.Endpoint, d.Name); lerr == nil {
		logs.printf("[ciel] %v", err)
	}
	_, uerr := m.cfg.Store.UpdateDeployment(context.WithoutCancel(m.ctx), d.Workspace, d.Endpoint, d.Name, func(x *Deployment) error {
		x.State, x.Error, x.UpdatedAt = StateFailed, err.Error(), time.Now().UTC()
		return nil
	})
	if uerr != nil && !errors.Is(uerr, store.ErrNotFound) {
		m.log.Error("serving: record a failed deployment", "deployment", d.Name, "err", uerr)
	}
}

// bringUp starts a deployment's provisioned plan again after a restart.
// The deployment is routed to at once (answering 503 until a worker is
// ready) and its workers are retried until they start.
func (m *Manager) bringUp(d Deployment) error {
	logs, err := m.logFor(d.Workspace, d.Endpoint, d.Name)
	if err != nil {
		return err
	}
	logs.printf("[ciel] bringing deployment %s up on this server (%s)", d.Name, m.replica())
	p := m.poolFor(&d)
	m.mu.Lock()
	ep := m.live[d.Endpoint]
	if ep == nil {
		m.mu.Unlock()
		return fmt.Errorf("endpoint %s is gone", d.Endpoint)
	}
	ep.pools[d.Name] = p
	if e, err := m.cfg.Store.GetEndpoint(m.ctx, d.Workspace, d.Endpoint); err == nil {
		m.reroute(ep, e)
	}
	m.mu.Unlock()
	if d.Plan.Compute != "" {
		return m.bringUpRemote(d, logs)
	}
	var l launch
	for attempt, delay := 1, time.Second; ; attempt, delay = attempt+1, 2*delay {
		if l, err = m.prepare(m.ctx, &d, d.Plan, logs); err == nil {
			break
		}
		if attempt == prepareAttempts {
			m.recordFailure(d, fmt.Errorf("bring back up after a restart: %w", err))
			return err
		}
		logs.printf("[ciel] cannot prepare deployment %s: %v; trying again in %s", d.Name, err, delay)
		select {
		case <-m.ctx.Done():
			return m.ctx.Err()
		case <-time.After(delay):
		}
	}
	g := newGeneration(p, settingsOf(&d.Spec), l, logs, m.log)
	m.mu.Lock()
	if m.ctx.Err() != nil {
		m.mu.Unlock()
		return m.ctx.Err()
	}
	p.swap(g)
	p.version = d.UpdatedAt
	g.start(false)
	g.activate()
	m.mu.Unlock()
	return nil
}

// bringUpRemote follows the pods of a deployment on a kubernetes compute
// again after a restart; they ran on while the server was down.
func (m *Manager) bringUpRemote(d Deployment, logs *logSink) error {
	r, err := m.startRemote(m.ctx, &d, d.Plan, logs, false)
	if err != nil {
		m.recordFailure(d, fmt.Errorf("bring back up after a restart: %w", err))
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ctx.Err() != nil {
		go r.drain(context.Background())
		return m.ctx.Err()
	}
	r.home().swap(r)
	r.home().version = d.UpdatedAt
	r.activate()
	return nil
}
