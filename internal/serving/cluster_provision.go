package serving

import (
	"context"
	"fmt"
	"time"

	"github.com/ciel-mlops/ciel/internal/envs"
)

// firstPodWait bounds how long a provisioned deployment waits for its
// pods' addresses to reach the watch after the rollout ended.
const firstPodWait = 30 * time.Second

// placePlan records in p where d runs: the kubernetes compute it names, or
// its endpoint's, with a new instance token or the one it had (so that
// pods of the old and new revision of an update both take the front ends'
// requests). A deployment never moves between computes.
func (m *Manager) placePlan(ctx context.Context, ws, endpoint string, d *Deployment, p *Plan) error {
	e, err := m.GetEndpoint(ctx, ws, endpoint)
	if err != nil {
		return err
	}
	p.Compute = computeName(computeOf(&d.Spec, e))
	if old := d.Plan; old != nil && old.Compute != p.Compute {
		return invalidf("deployment %s runs on %s; a deployment cannot move to %s: create a new deployment and move the traffic",
			d.Name, orDefault(old.Compute, "this server's processes"), orDefault(p.Compute, "this server's processes"))
	}
	if p.Compute == "" {
		return nil
	}
	if _, err := m.cluster(ctx, ws, p.Compute); err != nil {
		return err
	}
	if p.EnvImage == "" && p.EnvCondaFile == "" {
		return invalidf("deployment %s runs on kubernetes compute %s, so its environment needs an image: (%s has none)", d.Name, p.Compute, p.EnvLabel)
	}
	p.InstanceToken = instanceToken()
	if d.Plan != nil && d.Plan.InstanceToken != "" {
		p.InstanceToken = d.Plan.InstanceToken
	}
	return nil
}

// startRemote runs d on its kubernetes compute: with apply, it makes the
// image, applies the pods and waits for them; without (a server starting
// again), it only follows the pods that run. The runner it returns routes
// to the pods as they become ready.
func (m *Manager) startRemote(ctx context.Context, d *Deployment, plan *Plan, logs *logSink, apply bool) (runner, error) {
	cl, err := m.cluster(ctx, d.Workspace, plan.Compute)
	if err != nil {
		return nil, err
	}
	key := ClusterKey{Workspace: d.Workspace, Endpoint: d.Endpoint, Name: d.Name}
	if apply {
		logs.printf("[ciel] environment: %s", plan.EnvLabel)
		for _, n := range plan.EnvNotes {
			logs.printf("[ciel] environment: %s", n)
		}
		image, err := cl.Image(ctx, envs.Spec{Image: plan.EnvImage, CondaFile: plan.EnvCondaFile}, logs.writer("[image] "))
		if err != nil {
			return nil, fmt.Errorf("image of environment %s: %w", plan.EnvLabel, err)
		}
		plan.Image = image
		cd, err := clusterDeployment(d, plan, image)
		if err != nil {
			return nil, err
		}
		logs.printf("[ciel] kubernetes compute %s: %d instance(s) of image %s", plan.Compute, cd.Instances, image)
		if err := cl.Apply(ctx, cd, logs.writer("[kube] ")); err != nil {
			return nil, err
		}
	}
	d.Plan = plan
	r := newRemote(m.poolFor(d), settingsOf(&d.Spec), plan.InstanceToken, logs)
	if err := cl.Watch(r.ctx, key, r.setPods); err != nil {
		r.drain(ctx)
		return nil, fmt.Errorf("watch the pods of deployment %s: %w", d.Name, err)
	}
	if apply {
		wctx, cancel := context.WithTimeout(ctx, firstPodWait)
		defer cancel()
		if err := r.waitFirst(wctx); err != nil {
			r.drain(ctx)
			return nil, fmt.Errorf("the pods of deployment %s are ready but none reached this server's watch within %s", d.Name, firstPodWait)
		}
	}
	return r, nil
}

// deleteRemote removes a deployment's pods from its cluster: the compute
// of its plan, or for one that never provisioned, of its spec or endpoint
// (a failed first rollout leaves pods too).
func (m *Manager) deleteRemote(ctx context.Context, d Deployment, e Endpoint) error {
	compute := placedOn(d, e)
	if compute == "" {
		return nil
	}
	cl, err := m.cluster(ctx, d.Workspace, compute)
	if err != nil {
		return fmt.Errorf("delete the pods of deployment %s: %w", d.Name, err)
	}
	return cl.Delete(ctx, ClusterKey{Workspace: d.Workspace, Endpoint: d.Endpoint, Name: d.Name})
}

// placedOn is the kubernetes compute d runs on, or would have if its first
// rollout had not failed ("" for this server's processes).
func placedOn(d Deployment, e Endpoint) string {
	if d.Plan != nil {
		return d.Plan.Compute
	}
	return computeName(computeOf(&d.Spec, e))
}

// remoteLogs returns the last lines of each pod's log of d ("" when d runs
// on this server).
func (m *Manager) remoteLogs(ctx context.Context, d Deployment, e Endpoint, lines int) string {
	compute := placedOn(d, e)
	if compute == "" {
		return ""
	}
	cl, err := m.cluster(ctx, d.Workspace, compute)
	if err == nil {
		var out string
		if out, err = cl.Logs(ctx, ClusterKey{Workspace: d.Workspace, Endpoint: d.Endpoint, Name: d.Name}, lines); err == nil {
			return out
		}
	}
	return fmt.Sprintf("[ciel] cannot read the pods' logs: %v\n", err)
}
