// Compare of 2 to 10 MLflow runs: a parallel-coordinates chart over their
// params and metrics, one metric's curves overlaid (a series per run) and
// a diff of their params, the differing rows marked.
import { api, type Run } from '../api';
import { bucketSeries, MetricChart, saveChartView, type Series, type XAxis } from '../chart';
import { h, replace } from '../dom';
import { crumbs, errorBox, wsPath } from '../parts';
import type { Page, Params } from '../router';
import { parallelCoordinates } from './parcoords';
import './compare.css';

/** The most runs one compare shows (as the issue and MLflow's UI bound it). */
export const maxCompare = 10;

/** compareURL is the compare page of runs. */
export const compareURL = (ws: string, runs: string[]) => `${wsPath(ws, 'compare')}?runs=${runs.map(encodeURIComponent).join(',')}`;

/** comparePage compares the runs of ?runs=a,b,...; ?metric= picks the charted metric, ?x= step, time or relative, ?smooth= its smoothing, ?logy=1 a log scale. */
export function comparePage(p: Params, q: URLSearchParams): Page {
  const { ws } = p;
  const ids = [...new Set((q.get('runs') ?? '').split(',').map((s) => s.trim()).filter(Boolean))];
  const body = h('div', { class: 'reserve' }, h('p', { class: 'muted' }, 'Loading…'));
  let chart: MetricChart | undefined;
  let disposed = false;
  const page: Page = {
    title: `Compare ${ids.length} runs · ${ws}`,
    el: h('section', { class: 'compare-page' }, crumbs(['Workspaces', '/'], [ws, wsPath(ws, 'jobs')], ['Experiments', wsPath(ws, 'experiments')], ['Compare']), h('h1', null, `Compare ${ids.length} runs`), body),
    dispose: () => {
      disposed = true;
      chart?.destroy();
    },
  };
  if (ids.length < 2 || ids.length > maxCompare) {
    replace(body, h('p', { class: 'error', role: 'alert' }, `Pick 2 to ${maxCompare} runs to compare (?runs=a,b,...); this address names ${ids.length}.`));
    return page;
  }

  Promise.all(ids.map((id) => api.run(ws, id))).then(
    (runs) => {
      if (!disposed) replace(body, details(runs));
    },
    (e) => replace(body, errorBox(e)),
  );

  function details(runs: Run[]): HTMLElement[] {
    const label = (r: Run) => r.info.run_name || r.info.run_id;
    const keys = [...new Set(runs.flatMap((r) => (r.data.metrics ?? []).map((m) => m.key)))].sort();
    const want = q.get('metric') ?? '';
    const metric = h('select', { id: 'compare-metric', 'aria-label': 'Metric' }, keys.map((k) => h('option', { value: k, selected: k === want }, k)));
    const xq = q.get('x') ?? 'step';
    const x = h(
      'select',
      { 'aria-label': 'X axis' },
      h('option', { value: 'step', selected: xq === 'step' }, 'x: step'),
      h('option', { value: 'time', selected: xq === 'time' }, 'x: wall time'),
      h('option', { value: 'relative', selected: xq === 'relative' }, 'x: relative time (s)'),
    );
    const sm = h('input', { type: 'range', min: 0, max: 0.99, step: 0.01, value: q.get('smooth') ?? '0', 'aria-label': 'Smoothing' });
    const logY = h('input', { type: 'checkbox', checked: q.get('logy') === '1' });
    const state = h('span', { class: 'muted small', 'aria-live': 'polite' });
    const chartBox = h('div', { class: 'chart', id: 'compare-chart', role: 'img', 'aria-label': 'Metric chart' });
    let seq = 0;
    const cache = new Map<string, Promise<Series>>();

    async function redraw(): Promise<void> {
      const key = metric.value;
      saveChartView(key, x.value, sm.value, logY.checked);
      const mine = ++seq;
      state.textContent = 'loading…';
      try {
        // A run without the metric has no curve; the others still draw.
        const with_ = runs.filter((r) => (r.data.metrics ?? []).some((m) => m.key === key));
        const series = await Promise.all(
          with_.map((r) => {
            const k = `${r.info.run_id}\n${key}`;
            if (!cache.has(k)) cache.set(k, bucketSeries(ws, r.info.run_id, key, label(r)).catch((e) => (cache.delete(k), Promise.reject(e))));
            return cache.get(k)!;
          }),
        );
        if (mine !== seq || disposed) return;
        chart ??= new MetricChart(chartBox);
        chart.draw(series, x.value as XAxis, Number(sm.value), { logY: logY.checked });
        const n = series.reduce((a, s) => a + (s.count ?? s.points.length), 0);
        state.textContent = `${key}: ${series.length} runs, ${n} points`;
        chartBox.setAttribute('aria-label', `Chart of ${key} for ${series.map((s) => s.key).join(', ')}`);
      } catch (e) {
        if (mine === seq) replace(state, errorBox(e));
      }
    }
    metric.addEventListener('change', redraw);
    x.addEventListener('change', redraw);
    logY.addEventListener('change', redraw);
    sm.addEventListener('input', redraw);
    if (keys.length) queueMicrotask(redraw);

    const onlyDiff = h('input', { type: 'checkbox', id: 'only-diff' });
    const paramTable = h('div');
    const drawParams = () => replace(paramTable, paramsDiff(runs, label, onlyDiff.checked));
    onlyDiff.addEventListener('change', drawParams);
    drawParams();

    return [
      h(
        'ul',
        { class: 'compare-runs' },
        runs.map((r) => h('li', null, h('a', { href: wsPath(ws, 'runs', r.info.run_id) }, label(r)), ' ', h('code', { class: 'muted small' }, r.info.run_id))),
      ),
      h('section', { class: 'pc-section' }, h('h2', null, 'Parallel coordinates'), parallelCoordinates(runs, label) ?? h('p', { class: 'muted' }, 'These runs logged no param or metric.')),
      keys.length
        ? h('section', { class: 'chart-section' }, h('h2', null, 'Metrics'), h('div', { class: 'toolbar' }, metric, x, h('label', null, 'smoothing ', sm), h('label', null, logY, ' log y'), state), chartBox)
        : h('p', { class: 'muted' }, 'None of these runs logged a metric.'),
      h('section', null, h('h2', null, 'Parameters'), h('label', null, onlyDiff, ' only the params that differ'), paramTable),
    ];
  }

  return page;
}

/** paramsDiff is a table of every param (rows) of every run (columns), rows whose values differ marked. */
function paramsDiff(runs: Run[], label: (r: Run) => string, onlyDiff: boolean): HTMLElement {
  const maps = runs.map((r) => new Map((r.data.params ?? []).map((p) => [p.key, p.value])));
  const keys = [...new Set(maps.flatMap((m) => [...m.keys()]))].sort();
  const rows = keys
    .map((k) => {
      const vals = maps.map((m) => m.get(k));
      return { k, vals, differs: new Set(vals).size > 1 };
    })
    .filter((r) => !onlyDiff || r.differs);
  if (!keys.length) return h('p', { class: 'muted' }, 'No param logged.');
  return h(
    'div',
    { class: 'scroll-x' },
    h(
      'table',
      { class: 'grid compact', id: 'params-diff' },
      h('caption', { class: 'sr-only' }, 'Parameters of the compared runs'),
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Param'), runs.map((r) => h('th', { scope: 'col' }, label(r))))),
      h(
        'tbody',
        null,
        rows.map((r) =>
          h(
            'tr',
            { class: r.differs ? 'differs' : null, 'data-param': r.k },
            // Not colour alone: a differing row says so in words too.
            h('th', { scope: 'row' }, r.k, r.differs ? h('span', { class: 'diff-mark' }, ' (differs)') : null),
            r.vals.map((v) => h('td', null, v ?? h('span', { class: 'muted' }, '—'))),
          ),
        ),
      ),
    ),
  );
}
