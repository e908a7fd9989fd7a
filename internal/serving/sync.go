package serving

import (
	"context"
	"time"
)

// syncLoop reads the Store every cfg.SyncEvery until the Manager closes,
// so that this server's front end serves what other server replicas
// changed.
func (m *Manager) syncLoop() {
	defer m.wg.Done()
	t := time.NewTicker(m.cfg.SyncEvery)
	defer t.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-t.C:
		}
		if err := m.sync(m.ctx); err != nil && m.ctx.Err() == nil {
			m.log.Warn("serving: read what other replicas changed", "err", err)
		}
	}
}

// sync brings the front end in line with the Store: endpoints created,
// changed (traffic, keys) or deleted by another replica, and deployments it
// provisioned (this server follows their pods on a kubernetes compute, or
// runs its own workers otherwise), updated or deleted.
func (m *Manager) sync(ctx context.Context) error {
	// What went live here after this is not in the lists yet: it stays.
	listed := time.Now()
	eps, err := m.cfg.Store.ListEndpoints(ctx, "")
	if err != nil {
		return err
	}
	deps, err := m.cfg.Store.ListDeployments(ctx, "", "")
	if err != nil {
		return err
	}
	var gone []runner
	m.mu.Lock()
	defer func() {
		m.mu.Unlock()
		for _, r := range gone {
			m.drain(ctx, r)
		}
	}()
	m.pruneGone()
	stored := map[string]bool{}
	for _, e := range eps {
		stored[e.Name] = true
		if m.live[e.Name] == nil && !m.goneSince(endpointKey(e.Workspace, e.Name), listed) {
			m.addLive(e)
		}
	}
	for name, ep := range m.live {
		if !stored[name] && ep.added.Before(listed) {
			delete(m.live, name)
			m.front.setEndpoint(name, nil)
			gone = append(gone, runners(ep.pools)...)
		}
	}
	named := map[string]bool{}
	for _, d := range deps {
		named[depKey(d.Workspace, d.Endpoint, d.Name)] = true
		if !m.goneSince(depKey(d.Workspace, d.Endpoint, d.Name), listed) {
			m.syncDeployment(d)
		}
	}
	for _, ep := range m.live {
		for name, p := range ep.pools {
			if !named[depKey(ep.ws, ep.name, name)] && !m.busy[depKey(ep.ws, ep.name, name)] && p.added.Before(listed) {
				delete(ep.pools, name)
				gone = append(gone, runners(map[string]*pool{name: p})...)
			}
		}
	}
	for _, e := range eps {
		if ep := m.live[e.Name]; ep != nil && ep.ws == e.Workspace {
			m.reroute(ep, e)
		}
	}
	return nil
}

// syncDeployment brings up a provisioned deployment this server does not
// serve, or serves at an older version. Callers hold m.mu.
func (m *Manager) syncDeployment(d Deployment) {
	k := depKey(d.Workspace, d.Endpoint, d.Name)
	ep := m.live[d.Endpoint]
	if ep == nil || ep.ws != d.Workspace || m.busy[k] || d.Plan == nil || d.State != StateSucceeded {
		return
	}
	if p := ep.pools[d.Name]; p != nil && p.running() != nil && p.version.Equal(d.UpdatedAt) {
		return
	}
	m.busy[k] = true
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.mu.Lock()
		var old runner
		if p := ep.pools[d.Name]; p != nil {
			old = p.running()
		}
		m.mu.Unlock()
		err := m.bringUp(d)
		m.mu.Lock()
		delete(m.busy, k)
		m.mu.Unlock()
		if err != nil {
			m.log.Warn("serving: bring up a deployment another replica provisioned", "endpoint", d.Endpoint, "deployment", d.Name, "err", err)
			return
		}
		if old != nil {
			m.drain(m.ctx, old)
		}
	}()
}

// runners are the serving runners of pools.
func runners(pools map[string]*pool) []runner {
	var out []runner
	for _, p := range pools {
		if r := p.running(); r != nil {
			out = append(out, r)
		}
	}
	return out
}

// endpointKey names an endpoint in m.gone.
func endpointKey(ws, name string) string { return "endpoint/" + ws + "/" + name }

// goneSince reports whether key is being deleted here, or was deleted after
// a read of the store at listed. Callers hold m.mu.
func (m *Manager) goneSince(key string, listed time.Time) bool {
	t, ok := m.gone[key]
	return ok && (t.IsZero() || !t.Before(listed))
}

// markGone records that key is being deleted (done false) or was deleted
// now. Callers hold m.mu.
func (m *Manager) markGone(key string, done bool) {
	if done {
		m.gone[key] = time.Now()
	} else {
		m.gone[key] = time.Time{}
	}
}

// pruneGone forgets deletions no sync can still have read around. Callers
// hold m.mu.
func (m *Manager) pruneGone() {
	for k, t := range m.gone {
		if !t.IsZero() && time.Since(t) > time.Minute {
			delete(m.gone, k)
		}
	}
}
