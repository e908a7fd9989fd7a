package serving

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ciel-mlops/ciel/internal/spec"
	"github.com/ciel-mlops/ciel/internal/store"
)

// checkDeployment checks what can be checked of a deployment spec before
// it is stored.
func checkDeployment(endpoint string, d *spec.OnlineDeployment) error {
	if err := spec.CheckEndpointName("deployment", d.Name); err != nil {
		return invalidf("%v", err)
	}
	if d.EndpointName != "" && d.EndpointName != endpoint {
		return invalidf("the file's endpoint_name is %s but the deployment is being made in endpoint %s", d.EndpointName, endpoint)
	}
	if d.InstanceCount < 0 || d.InstanceCount > spec.MaxInstanceCount {
		return invalidf("instance_count %d: expected 1 to %d", d.InstanceCount, spec.MaxInstanceCount)
	}
	if d.MaxBatchSize < 0 || d.MaxBatchSize > spec.MaxBatchSize || d.MaxBatchWaitMS < 0 {
		return invalidf("max_batch_size %d / max_batch_wait_ms %d: out of range", d.MaxBatchSize, d.MaxBatchWaitMS)
	}
	if d.Model == nil && d.CodeConfiguration == nil {
		return invalidf("deployment %s needs a model (an MLflow model serves without code) or a code_configuration", d.Name)
	}
	return nil
}

// CreateDeployment checks that the model, code and environment it names
// exist (as Azure ML does before it accepts a deployment), stores the new
// deployment as Creating and provisions it in the background: it builds the
// environment, starts the workers and waits for them to load the model; it
// is then Succeeded (and, with allTraffic, gets all the endpoint's traffic)
// or Failed with the reason in Error.
func (m *Manager) CreateDeployment(ctx context.Context, ws, endpoint string, s *spec.OnlineDeployment, allTraffic bool) (Deployment, error) {
	if err := checkDeployment(endpoint, s); err != nil {
		return Deployment{}, err
	}
	if _, err := m.GetEndpoint(ctx, ws, endpoint); err != nil {
		return Deployment{}, err
	}
	plan, err := m.resolve(ctx, ws, s)
	if err != nil {
		return Deployment{}, fmt.Errorf("deployment %s: %w", s.Name, err)
	}
	s.EndpointName = endpoint
	now := time.Now().UTC()
	d := Deployment{Workspace: ws, Endpoint: endpoint, Name: s.Name, Spec: *s, AllTraffic: allTraffic,
		State: StateCreating, CreatedAt: now, UpdatedAt: now}
	if err := m.placePlan(ctx, ws, endpoint, &d, plan); err != nil {
		return Deployment{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.cfg.Store.CreateDeployment(ctx, d); err != nil {
		switch {
		case errors.Is(err, store.ErrConflict):
			return Deployment{}, &kindError{kind: store.ErrConflict, msg: fmt.Sprintf("endpoint %s already has a deployment %s; change it with: ciel online-deployment update --file <file>", endpoint, s.Name)}
		case errors.Is(err, store.ErrNotFound):
			return Deployment{}, endpointNotFound(err, ws, endpoint)
		}
		return Deployment{}, fmt.Errorf("create deployment %s: %w", s.Name, err)
	}
	m.startProvision(d, plan)
	return d, nil
}

// UpdateDeployment checks what the new spec names, as CreateDeployment
// does, replaces the deployment's spec and provisions it in the background
// with no downtime: new workers start and load the model while the old ones
// serve, then take over, and the old ones finish what they hold and stop. A
// failed update leaves the old workers serving.
func (m *Manager) UpdateDeployment(ctx context.Context, ws, endpoint string, s *spec.OnlineDeployment) (Deployment, error) {
	if err := checkDeployment(endpoint, s); err != nil {
		return Deployment{}, err
	}
	old, err := m.GetDeployment(ctx, ws, endpoint, s.Name)
	if err != nil {
		return Deployment{}, err
	}
	plan, err := m.resolve(ctx, ws, s)
	if err != nil {
		return Deployment{}, fmt.Errorf("deployment %s: %w", s.Name, err)
	}
	s.EndpointName = endpoint
	old.Spec = *s
	if err := m.placePlan(ctx, ws, endpoint, &old, plan); err != nil {
		return Deployment{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := depKey(ws, endpoint, s.Name)
	if m.busy[k] {
		return Deployment{}, &kindError{kind: ErrBusy, msg: fmt.Sprintf("deployment %s is being provisioned; wait for it to finish (ciel online-deployment show --name %s --endpoint-name %s)", s.Name, s.Name, endpoint)}
	}
	d, err := m.cfg.Store.UpdateDeployment(ctx, ws, endpoint, s.Name, func(d *Deployment) error {
		d.Spec, d.State, d.Error, d.UpdatedAt = *s, StateUpdating, "", time.Now().UTC()
		return nil
	})
	if err != nil {
		return Deployment{}, deploymentNotFound(err, ws, endpoint, s.Name)
	}
	m.startProvision(d, plan)
	return d, nil
}

// deploymentNotFound gives a missing deployment a message that says what
// to do.
func deploymentNotFound(err error, ws, endpoint, name string) error {
	if errors.Is(err, store.ErrNotFound) {
		return &kindError{kind: store.ErrNotFound, msg: fmt.Sprintf("online deployment %s not found in endpoint %s (workspace %s); create it with: ciel online-deployment create --file <file>", name, endpoint, ws)}
	}
	return err
}

// startProvision marks a deployment busy and provisions it in the
// background with plan, what its spec resolved to when it was accepted
// (nil: resolve it then, as after a restart). Callers hold m.mu.
func (m *Manager) startProvision(d Deployment, plan *Plan) {
	k := depKey(d.Workspace, d.Endpoint, d.Name)
	m.busy[k] = true
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		err := m.provision(d, plan)
		m.mu.Lock()
		delete(m.busy, k)
		m.mu.Unlock()
		if err != nil {
			m.log.Warn("serving: provisioning failed", "endpoint", d.Endpoint, "deployment", d.Name, "err", err)
		}
	}()
}

// provision prepares and starts a new generation for d with plan (nil:
// resolve d's spec first), and swaps it in; the stored state says how it
// went.
func (m *Manager) provision(d Deployment, plan *Plan) error {
	ctx := m.ctx
	logs, err := m.logFor(d.Workspace, d.Endpoint, d.Name)
	if err == nil {
		logs.printf("[ciel] provisioning deployment %s of endpoint %s (%s)", d.Name, d.Endpoint, d.State)
		var g runner
		if g, err = m.startGeneration(ctx, &d, plan, logs); err == nil {
			err = m.activate(ctx, &d, g)
		}
	}
	if err != nil && m.ctx.Err() != nil {
		// The server is stopping: the deployment stays Creating or
		// Updating, and the next server provisions it again.
		return err
	}
	if err != nil {
		m.recordFailure(d, fmt.Errorf("provisioning failed: %w", err))
		return err
	}
	logs.printf("[ciel] deployment %s is ready", d.Name)
	return nil
}

// startGeneration resolves d's spec unless plan already holds it, prepares
// its files and environment, starts its workers and waits until every one
// has loaded the model.
func (m *Manager) startGeneration(ctx context.Context, d *Deployment, plan *Plan, logs *logSink) (runner, error) {
	if plan == nil {
		var err error
		if plan, err = m.resolve(ctx, d.Workspace, &d.Spec); err != nil {
			return nil, err
		}
		if err := m.placePlan(ctx, d.Workspace, d.Endpoint, d, plan); err != nil {
			return nil, err
		}
	}
	logs.printf("[ciel] model: %s; %s", orDefault(plan.ModelLabel, "none"), runMode(plan))
	if plan.Compute != "" {
		return m.startRemote(ctx, d, plan, logs, true)
	}
	l, err := m.prepare(ctx, d, plan, logs)
	if err != nil {
		return nil, err
	}
	d.Plan = plan
	p := m.poolFor(d)
	g := newGeneration(p, settingsOf(&d.Spec), l, logs, m.log)
	g.start(true)
	if err := g.waitReady(ctx); err != nil {
		m.drain(ctx, g)
		return nil, err
	}
	return g, nil
}

func runMode(p *Plan) string {
	if p.MLflow {
		return "MLflow model, no scoring script"
	}
	return "scoring script " + p.Script
}

// poolFor returns the pool of d: the serving one, or a new one.
func (m *Manager) poolFor(d *Deployment) *pool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if ep := m.live[d.Endpoint]; ep != nil {
		if p := ep.pools[d.Name]; p != nil {
			return p
		}
	}
	return newPool(d.Endpoint, d.Name, m.metrics.get(d.Endpoint, d.Name))
}

// activate swaps a ready generation in, routes to it, drains the one it
// replaces, and records the deployment as Succeeded.
func (m *Manager) activate(ctx context.Context, d *Deployment, g runner) error {
	m.mu.Lock()
	ep := m.live[d.Endpoint]
	if ep == nil || ep.ws != d.Workspace {
		m.mu.Unlock()
		m.drain(ctx, g)
		return fmt.Errorf("endpoint %s was deleted", d.Endpoint)
	}
	p := g.home()
	old := p.swap(g)
	g.activate()
	m.mu.Unlock()
	waitPulling(p, time.Second)

	stored, err := m.cfg.Store.UpdateDeployment(ctx, d.Workspace, d.Endpoint, d.Name, func(x *Deployment) error {
		x.State, x.Error, x.Plan, x.UpdatedAt = StateSucceeded, "", d.Plan, time.Now().UTC()
		return nil
	})
	if err != nil {
		if old != nil {
			p.swap(old)
		}
		m.drain(ctx, g)
		return fmt.Errorf("record deployment %s: %w", d.Name, err)
	}
	m.mu.Lock()
	ep.pools[d.Name] = p
	p.version = stored.UpdatedAt
	e, gerr := m.cfg.Store.GetEndpoint(ctx, d.Workspace, d.Endpoint)
	if gerr == nil {
		m.reroute(ep, e)
	}
	m.mu.Unlock()
	if old != nil {
		m.drain(ctx, old)
	}
	if stored.AllTraffic && d.State == StateCreating {
		if _, err := m.UpdateEndpoint(ctx, d.Workspace, d.Endpoint, EndpointUpdate{Traffic: map[string]int{d.Name: 100}}); err != nil {
			return fmt.Errorf("give deployment %s all traffic: %w", d.Name, err)
		}
	}
	return nil
}

// waitPulling waits until a pool has a worker taking requests, so the
// first request routed to a new deployment finds one.
func waitPulling(p *pool, within time.Duration) {
	deadline := time.Now().Add(within)
	for p.ready.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
}

// GetDeployment returns a deployment.
func (m *Manager) GetDeployment(ctx context.Context, ws, endpoint, name string) (Deployment, error) {
	if _, err := m.GetEndpoint(ctx, ws, endpoint); err != nil {
		return Deployment{}, err
	}
	d, err := m.cfg.Store.GetDeployment(ctx, ws, endpoint, name)
	return d, deploymentNotFound(err, ws, endpoint, name)
}

// ListDeployments returns an endpoint's deployments.
func (m *Manager) ListDeployments(ctx context.Context, ws, endpoint string) ([]Deployment, error) {
	if _, err := m.GetEndpoint(ctx, ws, endpoint); err != nil {
		return nil, err
	}
	return m.cfg.Store.ListDeployments(ctx, ws, endpoint)
}

// DeleteDeployment deletes a deployment that gets no traffic: it stops
// taking requests, finishes the ones it holds, and its workers stop.
func (m *Manager) DeleteDeployment(ctx context.Context, ws, endpoint, name string) error {
	e, err := m.GetEndpoint(ctx, ws, endpoint)
	if err != nil {
		return err
	}
	d, err := m.GetDeployment(ctx, ws, endpoint, name)
	if err != nil {
		return err
	}
	if e.Traffic[name] > 0 || e.Mirror[name] > 0 {
		return invalidf("deployment %s gets %d%% of endpoint %s's traffic (%d%% mirrored); move it first: ciel online-endpoint update --name %s --traffic ...",
			name, e.Traffic[name], endpoint, e.Mirror[name], endpoint)
	}
	m.mu.Lock()
	if m.busy[depKey(ws, endpoint, name)] {
		m.mu.Unlock()
		return &kindError{kind: ErrBusy, msg: fmt.Sprintf("deployment %s is being provisioned; delete it when that has finished", name)}
	}
	k := depKey(ws, endpoint, name)
	m.markGone(k, false)
	defer func() {
		m.mu.Lock()
		m.markGone(k, true)
		m.mu.Unlock()
	}()
	var p *pool
	if ep := m.live[endpoint]; ep != nil {
		p = ep.pools[name]
		delete(ep.pools, name)
		m.reroute(ep, e)
	}
	m.mu.Unlock()
	if p != nil {
		if g := p.running(); g != nil {
			m.drain(ctx, g)
		}
	}
	if err := m.deleteRemote(ctx, d, e); err != nil {
		return err
	}
	if err := m.cfg.Store.DeleteDeployment(ctx, ws, endpoint, name); err != nil {
		return deploymentNotFound(err, ws, endpoint, name)
	}
	m.metrics.drop(endpoint, name)
	return nil
}

// DeploymentLogs returns the last lines of a deployment's log: what its
// workers printed and what ciel did.
func (m *Manager) DeploymentLogs(ctx context.Context, ws, endpoint, name string, lines int) (string, error) {
	e, err := m.GetEndpoint(ctx, ws, endpoint)
	if err != nil {
		return "", err
	}
	d, err := m.GetDeployment(ctx, ws, endpoint, name)
	if err != nil {
		return "", err
	}
	if lines <= 0 {
		lines = 500
	}
	out, err := tailFile(m.logPath(ws, endpoint, name), lines)
	if err != nil {
		return "", err
	}
	return out + m.remoteLogs(ctx, d, e, lines), nil
}

// Instance is one worker process of a deployment as it runs now.
type Instance struct {
	Index int `json:"index"`
	PID   int `json:"pid,omitempty"`
	// Address is a pod's, on a kubernetes compute.
	Address string `json:"address,omitempty"`
	State   string `json:"state"` // Running or Starting
}

// Instances returns the worker processes of a deployment ("" when it runs
// none).
func (m *Manager) Instances(endpoint, name string) []Instance {
	m.mu.Lock()
	ep := m.live[endpoint]
	var p *pool
	if ep != nil {
		p = ep.pools[name]
	}
	m.mu.Unlock()
	if p == nil {
		return nil
	}
	if r := p.running(); r != nil {
		return r.instances()
	}
	return nil
}
