// Data Factory pages: a workspace's factory (pipelines, linked services,
// datasets, triggers and recent runs), a pipeline's activities as a graph
// with a button that starts a run, and a run's activity runs live.
import './flows.css';
import { ApiError, type Step } from '../api';
import { factory, type ActivityRun, type FactoryResource, type FactoryRun, type FactoryRunState } from '../api_flows';
import { h, replace, type Child } from '../dom';
import { duration, when } from '../format';
import { PipelineGraph } from '../graph';
import { badge, crumbs, errorBox, kv, runButtons, load, wsPath } from '../parts';
import { navigate, setQuery, type Page, type Params } from '../router';
import { watchList, watchRun } from './flows_live';

const dfPath = (ws: string, ...rest: string[]) => wsPath(ws, 'data-factory', ...rest);
const done = (s: string) => s === 'Succeeded' || s === 'Failed' || s === 'Cancelled';

function grid(id: string, caption: string, cols: string[], rows: Child[][]): HTMLElement {
  return h(
    'table',
    { class: 'grid', id },
    h('caption', { class: 'sr-only' }, caption),
    h('thead', null, h('tr', null, cols.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, rows.map((r) => h('tr', null, r.map((c) => h('td', null, c))))),
  );
}

function runDuration(r: { runStart?: string; runEnd?: string; durationInMs?: number }): string {
  // duration takes moments; 1 stands for the epoch's first millisecond (0 reads as none).
  if (r.durationInMs !== undefined && r.runEnd) return duration(1, 1 + r.durationInMs);
  return duration(r.runStart, r.runEnd);
}

function runsTable(ws: string, runs: FactoryRun[], withPipeline: boolean): HTMLElement {
  if (runs.length === 0) return h('p', { class: 'muted' }, 'No runs yet.');
  const cols = ['Run', withPipeline ? 'Pipeline' : '', 'Status', 'Triggered by', 'Parameters', 'Started', 'Duration'].filter(Boolean);
  return grid(
    'df-runs',
    'Pipeline runs',
    cols,
    runs.map((r) =>
      [
        h('a', { href: dfPath(ws, 'runs', r.runId) }, h('code', null, r.runId.slice(0, 8))),
        withPipeline ? h('a', { href: dfPath(ws, 'pipelines', r.pipelineName) }, r.pipelineName) : null,
        badge(r.status),
        r.invokedBy?.invokedByType ?? r.invokedBy?.name ?? '',
        r.parameters && Object.keys(r.parameters).length ? h('code', null, JSON.stringify(r.parameters)) : '',
        when(r.runStart),
        runDuration(r),
      ].filter((c) => c !== null),
    ),
  );
}

/** liveRuns keeps box showing the latest runs (of pipeline), as they change. */
function liveRuns(box: HTMLElement, ws: string, pipeline: string | undefined, withPipeline: boolean): () => void {
  replace(box, h('p', { class: 'muted', 'aria-live': 'polite' }, 'Loading…'));
  return watchList<{ value: FactoryRun[] }>(factory.runsEventsURL(ws, pipeline), (l) => replace(box, runsTable(ws, l.value ?? [], withPipeline)), (e) => replace(box, errorBox(e)));
}

/** factoryPage is a workspace's Data Factory: its resources and latest runs. */
export function factoryPage(p: Params): Page {
  const ws = p.ws;
  const boxes = {
    pipelines: h('div', { class: 'reserve' }),
    linkedservices: h('div'),
    datasets: h('div'),
    triggers: h('div'),
    runs: h('div'),
  };
  const message = h('div', { 'aria-live': 'polite' });
  load(boxes.pipelines, factory.list(ws, 'pipelines'), (list) =>
    list.length === 0
      ? h('p', { class: 'muted' }, 'No pipelines. Import a factory with: ciel data-factory import --folder <adf folder>')
      : grid(
          'df-pipelines',
          'Pipelines',
          ['Pipeline', 'Activities', 'Parameters', 'Changed'],
          list.map((x) => [
            h('a', { href: dfPath(ws, 'pipelines', x.name) }, x.name),
            String((x.properties?.activities ?? []).length),
            Object.keys(x.properties?.parameters ?? {}).join(', '),
            when(x.systemData?.lastModifiedAt),
          ]),
        ),
  );
  load(boxes.linkedservices, factory.list(ws, 'linkedservices'), (list) =>
    grid('df-linked', 'Linked services', ['Linked service', 'Type'], list.map((x) => [x.name, x.properties?.type ?? ''])),
  );
  load(boxes.datasets, factory.list(ws, 'datasets'), (list) =>
    grid('df-datasets', 'Datasets', ['Dataset', 'Type', 'Linked service'], list.map((x) => [x.name, x.properties?.type ?? '', x.properties?.linkedServiceName?.referenceName ?? ''])),
  );
  const drawTriggers = () =>
    load(boxes.triggers, factory.list(ws, 'triggers'), (list) =>
      grid(
        'df-triggers',
        'Triggers',
        ['Trigger', 'Type', 'Pipelines', 'State', ''],
        list.map((x) => {
          const started = x.properties?.runtimeState === 'Started';
          const btn = h('button', { type: 'button', 'aria-label': `${started ? 'Stop' : 'Start'} trigger ${x.name}` }, started ? 'Stop' : 'Start');
          btn.addEventListener('click', async () => {
            btn.disabled = true;
            try {
              await factory.setTrigger(ws, x.name, !started);
              drawTriggers();
            } catch (e) {
              replace(message, errorBox(e));
              btn.disabled = false;
            }
          });
          const pipes = (x.properties?.pipelines ?? []).map((r: any) => r?.pipelineReference?.referenceName).filter(Boolean);
          if (x.properties?.pipeline?.pipelineReference?.referenceName) pipes.push(x.properties.pipeline.pipelineReference.referenceName);
          return [x.name, x.properties?.type ?? '', pipes.join(', '), badge(x.properties?.runtimeState ?? 'Stopped'), btn];
        }),
      ),
    );
  drawTriggers();
  const stopRuns = liveRuns(boxes.runs, ws, undefined, true);
  return {
    dispose: stopRuns,
    title: `Data Factory · ${ws}`,
    el: h(
      'section',
      null,
      crumbs(['Workspaces', '/'], [ws, wsPath(ws)], ['Data Factory']),
      h('h1', null, 'Data Factory'),
      message,
      h('h2', null, 'Pipelines'),
      boxes.pipelines,
      h('h2', null, 'Latest runs'),
      boxes.runs,
      h('h2', null, 'Triggers'),
      boxes.triggers,
      h('h2', null, 'Linked services'),
      boxes.linkedservices,
      h('h2', null, 'Datasets'),
      boxes.datasets,
    ),
  };
}

/** activitySteps shapes a pipeline's activities as graph nodes: dependsOn becomes an edge labelled with its conditions. */
export function activitySteps(pipeline: FactoryResource, status: Record<string, string> = {}): Record<string, Step> {
  const out: Record<string, Step> = {};
  for (const a of pipeline.properties?.activities ?? []) {
    const inputs: Record<string, string> = {};
    for (const d of a.dependsOn ?? []) {
      inputs[`after ${d.activity}`] = `\${{parent.jobs.${d.activity}.outputs.${(d.dependencyConditions ?? ['Succeeded']).join('|')}}}`;
    }
    out[a.name] = { name: a.name, status: status[a.name] ?? '', inputs, component: a.type };
  }
  return out;
}

/** defaults are the pipeline's parameters with their default values. */
function defaults(pipeline: FactoryResource): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries<any>(pipeline.properties?.parameters ?? {})) out[k] = v?.defaultValue ?? '';
  return out;
}

/** factoryPipelinePage shows a pipeline's activity graph, starts runs with parameters, and lists its runs. */
export function factoryPipelinePage(p: Params): Page {
  const { ws, name } = p;
  const message = h('div', { 'aria-live': 'polite' });
  const graph = new PipelineGraph(() => {});
  const graphBox = h('div', { class: 'graph-box' }, graph.el);
  const params = h('textarea', { id: 'df-params', 'aria-label': 'Run parameters (JSON)', spellcheck: 'false' });
  const start = h('button', { type: 'button', id: 'df-create-run', disabled: true }, 'Create run');
  const definition = h('pre', { class: 'json' });
  const runs = h('div', { class: 'reserve' });
  factory.get(ws, 'pipelines', name).then(
    (pl) => {
      graph.update(activitySteps(pl));
      params.value = JSON.stringify(defaults(pl), null, 2);
      definition.textContent = JSON.stringify(pl.properties, null, 2);
      start.disabled = false;
    },
    (e) => replace(message, errorBox(e)),
  );
  start.addEventListener('click', async () => {
    let body: Record<string, unknown>;
    try {
      body = params.value.trim() ? JSON.parse(params.value) : {};
    } catch (e) {
      replace(message, errorBox(new Error(`parameters: not JSON: ${(e as Error).message}`)));
      return;
    }
    start.disabled = true;
    try {
      const r = await factory.createRun(ws, name, body);
      navigate(dfPath(ws, 'runs', r.runId));
    } catch (e) {
      replace(message, errorBox(e));
      start.disabled = false;
    }
  });
  const stopRuns = liveRuns(runs, ws, name, false);
  return {
    dispose: stopRuns,
    title: `${name} · Data Factory`,
    el: h(
      'section',
      null,
      crumbs(['Workspaces', '/'], [ws, wsPath(ws)], ['Data Factory', dfPath(ws)], [name]),
      h('h1', null, name),
      message,
      graphBox,
      h('div', { class: 'params-box flows-section' }, h('label', { for: 'df-params' }, 'Parameters (JSON)'), params, h('div', { class: 'actions' }, start)),
      h('h2', null, 'Runs'),
      runs,
      h('details', null, h('summary', null, 'Definition'), definition),
    ),
  };
}

/** rows reads rowsRead and rowsCopied from an activity run's output. */
function rowCounts(a: ActivityRun): [string, string] {
  const o = (a.output ?? {}) as Record<string, unknown>;
  const n = (v: unknown) => (typeof v === 'number' ? String(v) : '');
  return [n(o.rowsRead), n(o.rowsCopied)];
}

function jsonDetails(label: string, v: unknown): Child {
  if (v === null || v === undefined || (typeof v === 'object' && Object.keys(v as object).length === 0)) return '';
  return h('details', null, h('summary', null, label), h('pre', { class: 'json' }, JSON.stringify(v, null, 2)));
}

/** factoryRunPage shows run p.id live: status, parameters, the graph coloured by activity, and its activity runs (of one activity with ?activity=, picked in the graph). */
export function factoryRunPage(p: Params, q: URLSearchParams): Page {
  const { ws, id } = p;
  let only = q.get('activity') ?? '';
  const title = h('h1', null, `Run ${id.slice(0, 8)}`);
  const status = h('span', { class: 'status-slot' });
  const message = h('div', { 'aria-live': 'polite' });
  const cancel = h('button', { type: 'button', class: 'danger', disabled: true, 'aria-label': 'Cancel run' }, 'Cancel');
  const rerun = h('button', { type: 'button', disabled: true, 'aria-label': 'Re-run' }, 'Re-run');
  const info = h('div', { class: 'info' });
  const graph = new PipelineGraph((name) => pick(only === name ? '' : name));
  const graphBox = h('div', { class: 'graph-box', hidden: true }, graph.el);
  const acts = h('div', { class: 'reserve' }, h('p', { class: 'muted' }, 'Loading…'));
  const actsTitle = h('h2', null, 'Activity runs');
  let pipeline: FactoryResource | undefined;
  let state: FactoryRunState | undefined;

  runButtons(cancel, rerun, message, {
    cancel: () => factory.cancel(ws, id),
    rerun: async () => dfPath(ws, 'runs', (await factory.rerun(ws, id)).runId),
  });

  // pick shows the runs of one activity (or all with ""), in the URL too.
  const pick = (name: string) => {
    only = name;
    const nq = new URLSearchParams();
    if (name) nq.set('activity', name);
    setQuery(nq);
    graph.select(name);
    if (state) draw(state);
  };

  const drawGraph = () => {
    if (!pipeline || !state) return;
    // The latest attempt of each top-level activity colours its node.
    const st: Record<string, string> = {};
    for (const a of state.activityRuns) st[a.activityName] = a.status;
    graphBox.hidden = false;
    graph.update(activitySteps(pipeline, st));
    graph.select(only);
  };

  const draw = (s: FactoryRunState) => {
    state = s;
    const r = s.run;
    title.textContent = `${r.pipelineName} · ${r.runId.slice(0, 8)}`;
    replace(status, badge(r.status));
    cancel.disabled = done(r.status) || r.status === 'Canceling';
    rerun.disabled = !done(r.status);
    replace(
      info,
      kv([
        ['Run ID', h('code', null, r.runId)],
        ['Pipeline', h('a', { href: dfPath(ws, 'pipelines', r.pipelineName) }, r.pipelineName)],
        ['Triggered by', [...new Set([r.invokedBy?.invokedByType, r.invokedBy?.name].filter(Boolean))].join(' · ')],
        ['Started', when(r.runStart)],
        ['Duration', runDuration(r)],
        ['Parameters', r.parameters && Object.keys(r.parameters).length ? h('code', null, JSON.stringify(r.parameters)) : ''],
        ['Rerun of', r.referencePipelineRunId ? h('a', { href: dfPath(ws, 'runs', r.referencePipelineRunId) }, r.referencePipelineRunId) : ''],
        ['Message', r.message ? h('span', { class: r.status === 'Failed' ? 'error-text' : '' }, r.message) : ''],
      ]),
    );
    const shown = only ? s.activityRuns.filter((a) => a.activityName === only) : s.activityRuns;
    replace(
      actsTitle,
      only ? `Activity runs of ${only} ` : 'Activity runs',
      only ? h('button', { type: 'button', onclick: () => pick('') }, 'Show all') : null,
    );
    replace(
      acts,
      shown.length === 0
        ? h('p', { class: 'muted' }, 'No activity has started yet.')
        : grid(
            'df-activity-runs',
            'Activity runs',
            ['Activity', 'Type', 'Status', 'Started', 'Duration', 'Rows read', 'Rows copied', 'Input', 'Output', 'Error'],
            shown.map((a) => {
              const [read, copied] = rowCounts(a);
              return [
                h('span', { 'data-activity': a.activityName }, a.activityName, a.iteration !== undefined ? h('span', { class: 'muted small' }, ` [${a.iteration}]`) : null),
                a.activityType,
                badge(a.status),
                when(a.activityRunStart),
                duration(a.activityRunStart, a.activityRunEnd),
                h('span', { class: 'rows-read' }, read),
                h('span', { class: 'rows-copied' }, copied),
                jsonDetails('input', a.input),
                jsonDetails('output', a.output),
                a.error?.message ? h('span', { class: 'error-text' }, `${a.error.errorCode ?? ''} ${a.error.message}`) : '',
              ];
            }),
          ),
    );
    if (!pipeline) {
      factory.get(ws, 'pipelines', r.pipelineName).then(
        (pl) => {
          pipeline = pl;
          drawGraph();
        },
        () => {},
      );
    }
    drawGraph();
  };

  const stop = watchRun<FactoryRunState>(factory.eventsURL(ws, id), draw, () => {}, (e) => replace(message, errorBox(e)));
  factory.run(ws, id).catch((e) => {
    replace(message, errorBox(e));
    if (e instanceof ApiError && e.status < 500) stop();
  });
  return {
    title: `Run ${id.slice(0, 8)} · Data Factory`,
    el: h(
      'section',
      { class: 'job-page' },
      crumbs(['Workspaces', '/'], [ws, wsPath(ws)], ['Data Factory', dfPath(ws)], [id.slice(0, 8)]),
      h('div', { class: 'title-row' }, title, status, h('div', { class: 'actions' }, cancel, rerun)),
      message,
      info,
      graphBox,
      actsTitle,
      acts,
    ),
    dispose: stop,
  };
}
