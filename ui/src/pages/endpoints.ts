// Online endpoints: a workspace's endpoints, and one endpoint's page with
// its deployments, an editable traffic split (saved as `ciel online-endpoint
// update --traffic` saves it) and a Test panel that scores a request as
// `ciel online-endpoint invoke` does.
import { serving, type OnlineDeployment, type OnlineEndpoint } from '../api';
import { h, replace } from '../dom';
import { statusClass, when } from '../format';
import { crumbs, errorBox, kv, load, wsPath } from '../parts';
import type { Page, Params } from '../router';
import { DeploymentLogs, LiveMetrics } from './endpoint_live';

/** trafficText writes a split as "blue=90 green=10". */
const trafficText = (t: Record<string, number> | null) =>
  Object.entries(t ?? {})
    .sort()
    .map(([d, v]) => `${d}=${v}`)
    .join(' ');

/** stateBadge shows a provisioning state in the colour of the job status it matches. */
const stateBadge = (s: string) => {
  const like = s === 'Succeeded' ? 'Completed' : s === 'Creating' || s === 'Updating' ? 'Running' : s;
  return h('span', { class: `badge ${statusClass(like)}` }, s || 'Unknown');
};

/** endpointsPage lists a workspace's online endpoints. */
export function endpointsPage(p: Params): Page {
  const ws = p.ws;
  const box = h('div', { class: 'reserve' });
  load(box, serving.endpoints(ws), (eps: OnlineEndpoint[]) => {
    if (!eps.length) return h('p', { class: 'muted' }, 'No online endpoints yet. Create one with: ciel online-endpoint create --name <name>');
    return h(
      'table',
      { class: 'grid', id: 'endpoints' },
      h('caption', { class: 'sr-only' }, `Online endpoints of ${ws}`),
      h('thead', null, h('tr', null, ['Endpoint', 'State', 'Traffic', 'Auth', 'Scoring URI'].map((c) => h('th', { scope: 'col' }, c)))),
      h(
        'tbody',
        null,
        eps
          .sort((a, b) => a.name.localeCompare(b.name))
          .map((e) =>
            h(
              'tr',
              null,
              h('td', null, h('a', { href: wsPath(ws, 'endpoints', e.name) }, e.name)),
              h('td', null, stateBadge(e.provisioning_state)),
              h('td', null, trafficText(e.traffic)),
              h('td', null, e.auth_mode),
              h('td', null, h('code', null, e.scoring_uri)),
            ),
          ),
      ),
    );
  });
  return { title: `Endpoints · ${ws}`, el: h('section', null, crumbs(['Workspaces', '/'], [ws, wsPath(ws)], ['Endpoints']), h('h1', null, 'Online endpoints'), box) };
}

/** endpointPage shows endpoint p.name: its deployments, traffic split and Test panel. */
export function endpointPage(p: Params): Page {
  const { ws, name } = p;
  const info = h('div', { class: 'reserve' });
  const deps = h('div');
  const traffic = h('form', { class: 'traffic', id: 'traffic', 'aria-label': 'Traffic split' });
  const test = h('div', { class: 'test', id: 'test' });
  const live = new LiveMetrics(ws, name);
  const logs = new DeploymentLogs(ws, name);
  const refresh = () =>
    Promise.all([serving.endpoint(ws, name), serving.deployments(ws, name)]).then(
      ([e, ds]) => {
        replace(info, kv([
          ['State', stateBadge(e.provisioning_state)],
          ['Scoring URI', h('code', null, e.scoring_uri)],
          ['Auth', e.auth_mode],
          ['Traffic', h('span', { id: 'traffic-now' }, trafficText(e.traffic) || 'none')],
          ['Mirrored', trafficText(e.mirror_traffic)],
          ['Description', e.description],
          ['Created', when(e.creation_context?.created_at)],
        ]));
        replace(deps, deploymentsTable(ds));
        logs.update(ds);
        drawTraffic(e, ds);
        drawTest(ds);
      },
      (err) => replace(info, errorBox(err)),
    );

  function drawTraffic(e: OnlineEndpoint, ds: OnlineDeployment[]): void {
    const sum = h('output', { class: 'sum', 'aria-live': 'polite' });
    const msg = h('div', { class: 'traffic-msg', 'aria-live': 'polite' });
    const save = h('button', { type: 'submit' }, 'Save traffic');
    const inputs = ds.map((d) =>
      h('input', { type: 'number', min: 0, max: 100, step: 1, name: d.name, id: `traffic-${d.name}`, value: String(e.traffic?.[d.name] ?? 0) }),
    );
    const total = () => inputs.reduce((s, i) => s + (Number(i.value) || 0), 0);
    const check = () => {
      const t = total();
      const ok = inputs.every((i) => Number.isInteger(Number(i.value)) && Number(i.value) >= 0) && (t === 100 || t === 0);
      sum.textContent = `Total ${t}%`;
      sum.classList.toggle('bad', !ok);
      save.disabled = !ok;
    };
    inputs.forEach((i) => i.addEventListener('input', check));
    replace(
      traffic,
      h(
        'table',
        { class: 'grid compact' },
        h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Deployment'), h('th', { scope: 'col' }, 'Traffic %'))),
        h('tbody', null, ds.map((d, k) => h('tr', null, h('td', null, h('label', { for: `traffic-${d.name}` }, d.name)), h('td', null, inputs[k])))),
      ),
      h('div', { class: 'toolbar' }, save, sum, h('span', { class: 'muted small' }, 'The split must add up to 100 (or 0 for none).')),
      msg,
    );
    traffic.onsubmit = async (ev: Event) => {
      ev.preventDefault();
      save.disabled = true;
      const split: Record<string, number> = {};
      for (const i of inputs) split[i.name] = Number(i.value);
      try {
        await serving.setTraffic(ws, name, split);
        await refresh();
        traffic.querySelector('.traffic-msg')?.replaceChildren(h('p', { class: 'muted saved' }, `Saved: ${trafficText(split)}`));
      } catch (err) {
        replace(msg, errorBox(err));
        save.disabled = false;
      }
    };
    check();
  }

  function drawTest(ds: OnlineDeployment[]): void {
    if (test.childElementCount) return; // keep what the user typed across refreshes
    const body = h('textarea', { class: 'score-body', id: 'score-body', 'aria-label': 'Request body (JSON)', spellcheck: 'false' }, '{"data": [[1, 2, 3]]}');
    const dep = h('select', { id: 'score-deployment', 'aria-label': 'Deployment' }, h('option', { value: '' }, 'By traffic split'), ds.map((d) => h('option', { value: d.name }, d.name)));
    const send = h('button', { type: 'button', id: 'score-send' }, 'Send');
    const answer = h('div', { class: 'answer', 'aria-live': 'polite' });
    send.addEventListener('click', async () => {
      try {
        JSON.parse(body.value);
      } catch (err) {
        replace(answer, errorBox(new Error(`The request body is not JSON: ${(err as Error).message}`)));
        return;
      }
      send.disabled = true;
      replace(answer, h('p', { class: 'muted' }, 'Sending…'));
      const t0 = performance.now();
      try {
        const r = await serving.score(ws, name, body.value, dep.value || undefined);
        const ms = Math.round(performance.now() - t0);
        replace(
          answer,
          h('p', { class: 'muted' }, `HTTP ${r.status}${r.deployment ? ` from ${r.deployment}` : ''} in ${ms} ms`),
          h('pre', { class: 'score-answer', 'data-status': String(r.status), 'data-deployment': r.deployment }, r.body),
        );
      } catch (err) {
        replace(answer, errorBox(err));
      } finally {
        send.disabled = false;
      }
    });
    replace(test, body, h('div', { class: 'toolbar' }, dep, send), answer);
  }

  refresh();
  return {
    title: `${name} · endpoints · ${ws}`,
    el: h(
      'section',
      null,
      crumbs(['Workspaces', '/'], [ws, wsPath(ws)], ['Endpoints', wsPath(ws, 'endpoints')], [name]),
      h('h1', null, name),
      info,
      h('h2', null, 'Deployments'),
      deps,
      h('h2', null, 'Live'),
      live.el,
      h('h2', null, 'Traffic'),
      traffic,
      h('h2', null, 'Test'),
      test,
      h('h2', null, 'Logs'),
      logs.el,
    ),
    dispose: () => {
      live.close();
      logs.close();
    },
  };
}

/** deploymentsTable lists deployments with their model, state and instances. */
function deploymentsTable(ds: OnlineDeployment[]): HTMLElement {
  if (!ds.length) return h('p', { class: 'muted' }, 'No deployments yet.');
  return h(
    'table',
    { class: 'grid', id: 'deployments' },
    h('thead', null, h('tr', null, ['Deployment', 'State', 'Model', 'Environment', 'Instances', 'Created'].map((c) => h('th', { scope: 'col' }, c)))),
    h(
      'tbody',
      null,
      ds
        .sort((a, b) => a.name.localeCompare(b.name))
        .map((d) =>
          h(
            'tr',
            { 'data-deployment': d.name },
            h('td', null, d.name),
            h('td', null, stateBadge(d.provisioning_state), d.error ? h('div', { class: 'error small' }, d.error) : null),
            h('td', null, d.model ? h('code', null, d.model) : ''),
            h('td', null, d.environment ? h('code', null, d.environment) : ''),
            h('td', { class: 'num' }, `${(d.instances ?? []).filter((i) => i.state === 'Running' || i.state === 'Ready').length}/${d.instance_count}`),
            h('td', null, when(d.creation_context?.created_at)),
          ),
        ),
    ),
  );
}
