// A job's page: its status with cancel and re-run, the pipeline graph
// lighting up as steps run, and the selected step's details and live log.
import { api, type Job, type Step } from '../api';
import { h, replace, type Child } from '../dom';
import { duration, num, terminal, when } from '../format';
import { PipelineGraph } from '../graph';
import { watchJob } from '../live';
import { LogView } from '../log';
import { badge, crumbs, errorBox, kv, runButtons, wsPath } from '../parts';
import { setQuery, type Page, type Params } from '../router';

/** jobPage shows job p.name of workspace p.ws; ?step= selects a step. */
export function jobPage(p: Params, q: URLSearchParams): Page {
  const { ws, name } = p;
  let job: Job | undefined;
  let step = q.get('step') ?? '';
  let logStep: string | undefined;
  const title = h('h1', null, name);
  const status = h('span', { class: 'status-slot' });
  const message = h('div', { 'aria-live': 'polite' });
  const cancel = h('button', { type: 'button', class: 'danger', disabled: true, 'aria-label': 'Cancel job' }, 'Cancel');
  const rerun = h('button', { type: 'button', disabled: true, 'aria-label': 'Re-run job' }, 'Re-run');
  const info = h('div', { class: 'info' });
  const graph = new PipelineGraph((s) => selectStep(s));
  const graphBox = h('div', { class: 'graph-box', hidden: true }, graph.el);
  const panel = h('aside', { class: 'panel', 'aria-label': 'Step details' });
  const log = new LogView('Log');
  const logTitle = h('h2', null, 'Log');

  runButtons(cancel, rerun, message, {
    cancel: () => api.cancelJob(ws, name),
    rerun: async () => wsPath(ws, 'jobs', (await api.rerunJob(ws, name)).name),
  });

  const pipeline = () => !!job?.jobs && Object.keys(job.jobs).length > 0;

  function selectStep(s: string): void {
    step = s;
    const nq = new URLSearchParams(location.search);
    nq.set('step', s);
    setQuery(nq);
    graph.select(s);
    drawPanel();
  }

  function drawPanel(): void {
    if (!job) return;
    const s = pipeline() ? job.jobs?.[step] : undefined;
    if (pipeline() && !s) {
      replace(panel, h('p', { class: 'muted' }, 'Select a step in the graph to see its inputs, outputs, command and log.'));
      followLogOf('');
      return;
    }
    replace(panel, s ? stepDetails(ws, job, s) : jobOutputs(ws, job));
    followLogOf(s ? s.name : 'main');
  }

  function followLogOf(s: string): void {
    if (s === logStep) return;
    logStep = s;
    if (!s) {
      log.close();
      logTitle.textContent = 'Log';
      return;
    }
    logTitle.textContent = pipeline() ? `Log of ${s}` : 'Log';
    log.follow(api.jobStreamURL(ws, name, pipeline() ? s : undefined));
  }

  const stop = watchJob(
    ws,
    name,
    (j) => {
      job = j;
      title.textContent = j.display_name || j.name;
      replace(status, badge(j.status));
      cancel.disabled = terminal(j.status);
      rerun.disabled = false;
      replace(
        info,
        kv([
          ['Name', j.name],
          ['Type', j.type],
          ['Experiment', j.experiment_name],
          ['Created', when(j.creation_context?.created_at)],
          ['Started', when(j.start_time)],
          ['Duration', duration(j.start_time, j.end_time)],
          ['Compute', j.compute],
          ['MLflow run', j.run_id ? h('a', { href: wsPath(ws, 'runs', j.run_id) }, j.run_id) : ''],
          ['Error', j.error ? h('span', { class: 'error-text' }, j.error) : ''],
        ]),
      );
      graphBox.hidden = !pipeline();
      if (pipeline()) graph.update(j.jobs ?? {});
      if (step) graph.select(step);
      drawPanel();
    },
    (e) => replace(message, errorBox(e)),
  );

  const el = h(
    'section',
    { class: 'job-page' },
    crumbs(['Workspaces', '/'], [ws, wsPath(ws, 'jobs')], [name]),
    h('div', { class: 'title-row' }, title, status, h('div', { class: 'actions' }, cancel, rerun)),
    message,
    info,
    graphBox,
    h('div', { class: 'split' }, panel, h('div', { class: 'log-col' }, logTitle, log.el)),
  );
  return {
    title: `${name} · Jobs`,
    el,
    dispose: () => {
      stop();
      log.close();
    },
  };
}

function valueOf(v: unknown): Child {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object') {
    const o = v as Record<string, string>;
    return [o.type ? h('span', { class: 'muted' }, `${o.type} `) : null, h('code', null, o.path ?? JSON.stringify(v))];
  }
  return JSON.stringify(v);
}

function table(caption: string, rows: [Child, Child][]): HTMLElement | null {
  if (rows.length === 0) return null;
  return h('table', { class: 'grid compact' }, h('caption', null, caption), h('tbody', null, rows.map(([k, v]) => h('tr', null, h('th', { scope: 'row' }, k), h('td', null, v)))));
}

const bindingRe = /^\$\{\{\s*parent\.jobs\.([^.\s]+)\.outputs\.([^}\s]+)\s*\}\}$/;

function stepDetails(ws: string, job: Job, s: Step): HTMLElement {
  const inputs = Object.entries(s.inputs ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]): [Child, Child] => {
      const m = typeof v === 'string' ? bindingRe.exec(v) : null;
      if (m) return [k, [h('a', { href: `${wsPath(ws, 'jobs', job.name)}?step=${encodeURIComponent(m[1])}` }, `${m[1]}.${m[2]}`)]];
      return [k, valueOf(v)];
    });
  const outputs = Object.entries(s.outputs ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, o]): [Child, Child] => [
      k,
      o.digest
        ? h('a', { href: api.outputURL(ws, job.name, `${s.name}.${k}`), download: `${job.name}-${s.name}-${k}.tar`, 'aria-label': `Download output ${k} of ${s.name}` }, `Download ${o.type ?? ''} (tar)`)
        : h('span', { class: 'muted' }, 'not produced yet'),
    ]);
  const params = Object.entries(s.params ?? {}).sort(([a], [b]) => a.localeCompare(b)) as [Child, Child][];
  const metrics = Object.entries(s.metrics ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]): [Child, Child] => [k, num(v)]);
  const envVars = Object.entries(s.environment_variables ?? {}).sort(([a], [b]) => a.localeCompare(b)) as [Child, Child][];
  return h(
    'div',
    { class: 'step', 'data-step': s.name },
    h('h2', null, s.name, ' ', badge(s.status, !!s.reused_from)),
    kv([
      ['Component', s.component],
      ['Compute', s.compute],
      ['Started', when(s.start_time)],
      ['Duration', duration(s.start_time, s.end_time)],
      ['Attempt', s.attempt ? String(s.attempt) : ''],
      ['Exit code', s.exit_code !== undefined ? String(s.exit_code) : ''],
      ['Reused from', s.reused_from],
      ['Environment', s.environment ? h('code', null, s.environment) : ''],
      ['MLflow run', s.run_id ? h('a', { href: wsPath(ws, 'runs', s.run_id) }, s.run_id) : ''],
      ['Error', s.error ? h('span', { class: 'error-text' }, s.error) : ''],
    ]),
    s.command ? [h('h3', null, 'Command'), h('pre', { class: 'command' }, s.command)] : null,
    table('Inputs', inputs),
    table('Outputs', outputs),
    table('Parameters', params),
    table('Metrics', metrics),
    table('Environment variables', envVars),
  );
}

function jobOutputs(ws: string, job: Job): HTMLElement {
  const outputs = Object.entries(job.outputs ?? {}).map(([k, o]): [Child, Child] => [
    k,
    o.digest ? h('a', { href: api.outputURL(ws, job.name, k), download: `${job.name}-${k}.tar` }, 'Download (tar)') : h('span', { class: 'muted' }, 'not produced yet'),
  ]);
  const metrics = Object.entries(job.metrics ?? {}).map(([k, v]): [Child, Child] => [k, num(v)]);
  const params = Object.entries(job.params ?? {}) as [Child, Child][];
  return h('div', null, table('Outputs', outputs), table('Parameters', params), table('Metrics', metrics));
}
