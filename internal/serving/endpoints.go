package serving

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"time"

	"github.com/ciel-mlops/ciel/internal/spec"
	"github.com/ciel-mlops/ciel/internal/store"
)

// CreateEndpoint creates an endpoint with new keys. Its traffic may only
// name deployments it has, so a new endpoint's is empty or all zero.
func (m *Manager) CreateEndpoint(ctx context.Context, ws string, s *spec.OnlineEndpoint) (Endpoint, error) {
	if err := spec.CheckEndpointName("endpoint", s.Name); err != nil {
		return Endpoint{}, invalidf("%v", err)
	}
	mode := orDefault(s.AuthMode, spec.AuthKey)
	if mode != spec.AuthKey && mode != spec.AuthAMLToken {
		return Endpoint{}, invalidf("auth_mode %q: expected key or aml_token", s.AuthMode)
	}
	if err := checkTraffic(s.Traffic, s.MirrorTraffic, func(string) bool { return false }); err != nil {
		if sum(s.Traffic)+sum(s.MirrorTraffic) > 0 {
			return Endpoint{}, invalidf("a new endpoint has no deployments to send traffic to; create them, then: ciel online-endpoint update --name %s --traffic ...", s.Name)
		}
	}
	now := time.Now().UTC()
	e := Endpoint{
		Workspace: ws, Name: s.Name, Description: s.Description, Tags: s.Tags, AuthMode: mode, Compute: s.Compute,
		PrimaryKey: newSecret(), SecondaryKey: newSecret(), TokenSecret: newSecret(),
		State: StateSucceeded, CreatedAt: now, UpdatedAt: now,
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.cfg.Store.CreateEndpoint(ctx, e); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return Endpoint{}, &kindError{kind: store.ErrConflict, msg: fmt.Sprintf("an online endpoint named %s already exists on this server (names are unique per server, as per Azure region)", s.Name)}
		}
		return Endpoint{}, fmt.Errorf("create endpoint %s: %w", s.Name, err)
	}
	m.addLive(e)
	return e, nil
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// addLive registers an endpoint with the front end. Callers hold m.mu.
func (m *Manager) addLive(e Endpoint) *liveEndpoint {
	ep := &liveEndpoint{ws: e.Workspace, name: e.Name, pools: map[string]*pool{}, metrics: m.metrics.get(e.Name, ""),
		added: time.Now(), version: e.UpdatedAt}
	ep.auth.Store(authOf(e))
	ep.routes.Store(newRouteTable(e.Traffic, e.Mirror, ep.pools))
	m.live[e.Name] = ep
	m.front.setEndpoint(e.Name, ep)
	return ep
}

// reroute rebuilds an endpoint's routing from its stored traffic and the
// pools it has. Callers hold m.mu.
func (m *Manager) reroute(ep *liveEndpoint, e Endpoint) {
	if e.UpdatedAt.Before(ep.version) {
		return // read before a change already applied
	}
	ep.version = e.UpdatedAt
	pools := maps.Clone(ep.pools)
	ep.routes.Store(newRouteTable(e.Traffic, e.Mirror, pools))
	ep.auth.Store(authOf(e))
}

// GetEndpoint returns an endpoint.
func (m *Manager) GetEndpoint(ctx context.Context, ws, name string) (Endpoint, error) {
	e, err := m.cfg.Store.GetEndpoint(ctx, ws, name)
	return e, endpointNotFound(err, ws, name)
}

// endpointNotFound gives a missing endpoint a message that says what to do.
func endpointNotFound(err error, ws, name string) error {
	if errors.Is(err, store.ErrNotFound) {
		return &kindError{kind: store.ErrNotFound, msg: fmt.Sprintf("online endpoint %s not found in workspace %s; create it with: ciel online-endpoint create --name %s", name, ws, name)}
	}
	return err
}

// ListEndpoints returns a workspace's endpoints.
func (m *Manager) ListEndpoints(ctx context.Context, ws string) ([]Endpoint, error) {
	return m.cfg.Store.ListEndpoints(ctx, ws)
}

// ScoringURI returns the URI an endpoint is scored at.
func (m *Manager) ScoringURI(name string) string {
	return m.uri + "/endpoints/" + url.PathEscape(name) + "/score"
}

// EndpointUpdate is a change to an endpoint; nil fields change nothing.
type EndpointUpdate struct {
	Traffic     map[string]int
	Mirror      map[string]int
	Description *string
	Tags        map[string]string
}

// UpdateEndpoint changes an endpoint's traffic, mirrored traffic,
// description or tags. A traffic change takes effect at once and
// atomically: requests already routed finish where they went.
func (m *Manager) UpdateEndpoint(ctx context.Context, ws, name string, u EndpointUpdate) (Endpoint, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ep := m.live[name]
	e, err := m.cfg.Store.UpdateEndpoint(ctx, ws, name, func(e *Endpoint) error {
		traffic, mirror := e.Traffic, e.Mirror
		if u.Traffic != nil {
			traffic = u.Traffic
			mirror = withoutLive(mirror, traffic)
		}
		if u.Mirror != nil {
			mirror = u.Mirror
		}
		err := checkTraffic(traffic, mirror, func(d string) bool { return ep != nil && ep.pools[d] != nil })
		if err != nil {
			return err
		}
		e.Traffic, e.Mirror = dropZero(traffic), dropZero(mirror)
		if u.Description != nil {
			e.Description = *u.Description
		}
		if u.Tags != nil {
			e.Tags = u.Tags
		}
		e.UpdatedAt = time.Now().UTC()
		return nil
	})
	if err != nil {
		return Endpoint{}, endpointNotFound(err, ws, name)
	}
	if ep != nil {
		m.reroute(ep, e)
	}
	return e, nil
}

// withoutLive drops from a mirror split the deployments that now get live
// traffic, as Azure ML does when traffic moves to a mirrored deployment.
func withoutLive(mirror, traffic map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range mirror {
		if traffic[k] == 0 {
			out[k] = v
		}
	}
	return out
}

// dropZero returns m without its zero entries (nil when none are left).
func dropZero(m map[string]int) map[string]int {
	var out map[string]int
	for k, v := range m {
		if v != 0 {
			if out == nil {
				out = map[string]int{}
			}
			out[k] = v
		}
	}
	return out
}

// Credentials are what a caller authenticates with: the keys (auth_mode
// key) or a fresh token (aml_token).
type Credentials struct {
	AuthMode     string
	PrimaryKey   string
	SecondaryKey string
	Token        string
	Expires      time.Time
}

// Credentials returns an endpoint's keys, or a new aml_token for it.
func (m *Manager) Credentials(ctx context.Context, ws, name string) (Credentials, error) {
	e, err := m.GetEndpoint(ctx, ws, name)
	if err != nil {
		return Credentials{}, err
	}
	c := Credentials{AuthMode: e.AuthMode}
	if e.AuthMode == spec.AuthAMLToken {
		c.Expires = time.Now().Add(tokenLifetime).UTC().Truncate(time.Second)
		c.Token = signToken([]byte(e.TokenSecret), e.Name, c.Expires)
		return c, nil
	}
	c.PrimaryKey, c.SecondaryKey = e.PrimaryKey, e.SecondaryKey
	return c, nil
}

// RegenerateKey replaces an endpoint's primary or secondary key; the other
// keeps working, so callers can move over without an outage.
func (m *Manager) RegenerateKey(ctx context.Context, ws, name, which string) (Endpoint, error) {
	if which != "primary" && which != "secondary" {
		return Endpoint{}, invalidf("key type %q: expected primary or secondary", which)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, err := m.cfg.Store.UpdateEndpoint(ctx, ws, name, func(e *Endpoint) error {
		if e.AuthMode != spec.AuthKey {
			return invalidf("endpoint %s uses %s auth; it has no keys", name, e.AuthMode)
		}
		if which == "primary" {
			e.PrimaryKey = newSecret()
		} else {
			e.SecondaryKey = newSecret()
		}
		e.UpdatedAt = time.Now().UTC()
		return nil
	})
	if err != nil {
		return Endpoint{}, endpointNotFound(err, ws, name)
	}
	if ep := m.live[name]; ep != nil {
		ep.auth.Store(authOf(e))
	}
	return e, nil
}

// DeleteEndpoint stops routing to an endpoint, drains and stops its
// deployments and deletes it with them.
func (m *Manager) DeleteEndpoint(ctx context.Context, ws, name string) error {
	e, err := m.GetEndpoint(ctx, ws, name)
	if err != nil {
		return err
	}
	deps, err := m.cfg.Store.ListDeployments(ctx, ws, name)
	if err != nil {
		return fmt.Errorf("delete endpoint %s: %w", name, err)
	}
	for _, d := range deps {
		if err := m.deleteRemote(ctx, d, e); err != nil {
			return err
		}
	}
	m.mu.Lock()
	ek := endpointKey(ws, name)
	m.markGone(ek, false)
	for _, d := range deps {
		m.markGone(depKey(ws, name, d.Name), false)
	}
	defer func() {
		m.mu.Lock()
		m.markGone(ek, true)
		for _, d := range deps {
			m.markGone(depKey(ws, name, d.Name), true)
		}
		m.mu.Unlock()
	}()
	ep := m.live[name]
	delete(m.live, name)
	m.front.setEndpoint(name, nil)
	m.mu.Unlock()
	if ep != nil {
		for _, p := range ep.pools {
			if g := p.running(); g != nil {
				m.drain(ctx, g)
			}
		}
	}
	if err := m.cfg.Store.DeleteEndpoint(ctx, ws, name); err != nil {
		return endpointNotFound(err, ws, name)
	}
	m.metrics.drop(name, "")
	return nil
}

// drain drains a generation, waiting at most its request timeout (plus a
// grace period) for the requests it holds, even when ctx has ended.
func (m *Manager) drain(ctx context.Context, g runner) {
	c, cancel := context.WithTimeout(context.WithoutCancel(ctx), g.config().requestTimeout+10*time.Second)
	defer cancel()
	g.drain(c)
}
