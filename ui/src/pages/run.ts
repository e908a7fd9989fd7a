// An MLflow run's page: its params, latest metrics and tags, a chart of
// the metrics a user picks against step, wall time or relative time
// (smoothing, drag-zoom, log scale), and its artifacts browser.
import { api, type Run } from '../api';
import { h, replace, type Child } from '../dom';
import { duration, num, when } from '../format';
import { bucketSeries, MetricChart, saveChartView, type XAxis } from '../chart';
import { artifactsPanel } from './artifacts';
import { badge, crumbs, errorBox, kv, wsPath } from '../parts';
import type { Page, Params } from '../router';

/** runPage shows run p.run; query: metric (comma-separated keys), x (step|time|relative), smooth (0-0.99), logy (1), artifact (a path). */
export function runPage(p: Params, q: URLSearchParams): Page {
  const { ws, run } = p;
  const heading = h('h1', null, run);
  const trail = h('div', null, crumbs(['Workspaces', '/'], [ws, wsPath(ws, 'jobs')], ['Experiments', wsPath(ws, 'experiments')], [run]));
  const body = h('div', { class: 'reserve' }, h('p', { class: 'muted' }, 'Loading…'));
  let chart: MetricChart | undefined;
  let disposed = false;
  let freeArtifacts = () => {};
  // The metrics the URL names are read while the run is: a long history is
  // the slowest answer, so it should not wait for the run's.
  const early = new Map((q.get('metric') ?? '').split(',').filter(Boolean).map((k) => [k, bucketSeries(ws, run, k)]));
  for (const p of early.values()) p.catch(() => {});

  api.run(ws, run).then(
    (r) => {
      if (disposed) return;
      heading.textContent = r.info.run_name || r.info.run_id;
      document.title = `${heading.textContent} · ciel studio`;
      replace(trail, crumbs(['Workspaces', '/'], [ws, wsPath(ws, 'jobs')], ['Experiments', wsPath(ws, 'experiments')], [r.info.experiment_id, wsPath(ws, 'experiments', r.info.experiment_id)], [heading.textContent]));
      replace(body, details(r));
    },
    (e) => replace(body, errorBox(e)),
  );

  function details(r: Run): Child {
    const arts = artifactsPanel(ws, r.info.run_id, r.info.experiment_id, r.info.artifact_uri, q);
    freeArtifacts = arts.dispose;
    const metrics = [...(r.data.metrics ?? [])].sort((a, b) => a.key.localeCompare(b.key));
    const params = [...(r.data.params ?? [])].sort((a, b) => a.key.localeCompare(b.key));
    const tags = [...(r.data.tags ?? [])].filter((t) => !t.key.startsWith('mlflow.log-model')).sort((a, b) => a.key.localeCompare(b.key));
    const chartBox = h('div', { class: 'chart', id: 'chart', role: 'img', 'aria-label': 'Metric chart' });
    const picked = new Set((q.get('metric') ?? metrics[0]?.key ?? '').split(',').filter(Boolean));
    const boxes = metrics.map((m) => {
      const cb = h('input', { type: 'checkbox', value: m.key, checked: picked.has(m.key) });
      cb.addEventListener('change', redraw);
      return h('label', null, cb, ` ${m.key}`);
    });
    const xq = q.get('x') ?? 'step';
    const x = h(
      'select',
      { 'aria-label': 'X axis', id: 'chart-x' },
      h('option', { value: 'step', selected: xq === 'step' }, 'x: step'),
      h('option', { value: 'time', selected: xq === 'time' }, 'x: wall time'),
      h('option', { value: 'relative', selected: xq === 'relative' }, 'x: relative time (s)'),
    );
    const sm = h('input', { type: 'range', id: 'smoothing', min: 0, max: 0.99, step: 0.01, value: q.get('smooth') ?? '0', 'aria-label': 'Smoothing' });
    const smOut = h('output', { for: 'smoothing', class: 'small' }, Number(sm.value).toFixed(2));
    const logY = h('input', { type: 'checkbox', id: 'log-y', checked: q.get('logy') === '1' });
    const reset = h('button', { type: 'button', id: 'reset-zoom', title: 'Or double-click the chart' }, 'Reset zoom');
    reset.addEventListener('click', () => chart?.resetZoom());
    const state = h('span', { class: 'muted small', 'aria-live': 'polite' });
    x.addEventListener('change', redraw);
    logY.addEventListener('change', redraw);
    // The curve follows the slider as it moves; the series are cached, so
    // only the drawing is redone.
    sm.addEventListener('input', () => {
      smOut.textContent = Number(sm.value).toFixed(2);
      void redraw();
    });
    const cache = new Map<string, ReturnType<typeof bucketSeries>>();
    let seq = 0;

    async function redraw(): Promise<void> {
      const keys = boxes.map((b) => b.querySelector('input') as HTMLInputElement).filter((i) => i.checked).map((i) => i.value);
      saveChartView(keys.join(','), x.value, sm.value, logY.checked);
      const mine = ++seq;
      state.textContent = 'loading…';
      try {
        const t0 = performance.now();
        const series = await Promise.all(
          keys.map((key) => {
            const first = early.get(key);
            early.delete(key);
            if (!cache.has(key)) cache.set(key, (first ?? bucketSeries(ws, run, key)).catch((e) => (cache.delete(key), Promise.reject(e))));
            return cache.get(key)!;
          }),
        );
        if (mine !== seq || disposed) return;
        chart ??= new MetricChart(chartBox);
        chart.draw(series, x.value as XAxis, Number(sm.value), { logY: logY.checked });
        const n = series.reduce((a, s) => a + (s.count ?? s.points.length), 0);
        state.textContent = `${n} points · ${Math.round(performance.now() - t0)} ms`;
        chartBox.setAttribute('aria-label', `Chart of ${keys.join(', ')}: ${n} points`);
      } catch (e) {
        if (mine === seq) replace(state, errorBox(e));
      }
    }
    if (metrics.length) queueMicrotask(redraw);

    return [
      kv([
        ['Status', badge(r.info.status)],
        ['Run ID', h('code', null, r.info.run_id)],
        ['Started', when(r.info.start_time)],
        ['Duration', duration(r.info.start_time, r.info.end_time)],
        ['Artifact URI', r.info.artifact_uri ? h('code', null, r.info.artifact_uri) : ''],
      ]),
      metrics.length
        ? h('section', { class: 'chart-section' }, h('h2', null, 'Metrics'), h('div', { class: 'toolbar' }, h('fieldset', { class: 'inline' }, h('legend', { class: 'sr-only' }, 'Metrics to chart'), boxes), x, h('label', null, 'smoothing ', sm, ' ', smOut), h('label', null, logY, ' log y'), reset, state), chartBox)
        : h('p', { class: 'muted' }, 'No metric logged.'),
      h(
        'div',
        { class: 'columns' },
        table('Latest metrics', metrics.map((m) => [m.key, num(m.value)])),
        table('Parameters', params.map((x) => [x.key, x.value])),
        table('Tags', tags.map((x) => [x.key, x.value])),
      ),
      arts.el,
    ];
  }

  return {
    title: `Run ${run}`,
    el: h('section', null, trail, heading, body),
    dispose: () => {
      disposed = true;
      chart?.destroy();
      freeArtifacts();
    },
  };
}

function table(caption: string, rows: [string, string][]): HTMLElement | null {
  if (!rows.length) return null;
  return h('table', { class: 'grid compact' }, h('caption', null, caption), h('tbody', null, rows.map(([k, v]) => h('tr', null, h('th', { scope: 'row' }, k), h('td', null, v)))));
}
