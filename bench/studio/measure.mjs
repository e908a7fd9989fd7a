// bench/studio's browser half: times cold navigations in headless Chromium
// (Debian's, driven by ui/'s playwright-core) on ciel's studio and on the
// MLflow UI, alternating, a new browser context for each, and prints the
// medians and ratios. The time is the page's own clock (performance.now(),
// whose origin is the navigation's start) read on the first animation frame
// where the page shows what is waited for, so the driver's overhead is not
// counted. See bench/studio/run.sh for what is waited for.
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';

const require = createRequire(new URL('../../ui/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const { values: a } = parseArgs({
  options: {
    reps: { type: 'string', default: '5' },
    runs: { type: 'string' },
    points: { type: 'string' },
    ciel: { type: 'string' },
    'ciel-ws': { type: 'string', default: 'bench' },
    'ciel-load': { type: 'string' },
    mlflow: { type: 'string' },
    'mlflow-load': { type: 'string' },
    shots: { type: 'string', default: '' },
    timeout: { type: 'string', default: '180000' },
  },
});
const reps = Number(a.reps);
const timeout = Number(a.timeout);
const cl = JSON.parse(readFileSync(a['ciel-load'], 'utf8'));
const ml = JSON.parse(readFileSync(a['mlflow-load'], 'utf8'));
const enc = encodeURIComponent;
const j = (v) => enc(JSON.stringify(v));

// Conditions, evaluated in the page on every animation frame; each returns
// performance.now() once the page shows what is waited for.
const cielRows = () => (document.querySelectorAll('#runs tbody tr').length > 0 ? performance.now() : 0);
const cielChart = () => (document.querySelector('#chart[data-drawn]') ? performance.now() : 0);
// The run name column is pinned: its cells are in ag-grid's left container.
const mlflowRows = () => ([...document.querySelectorAll('.ag-row a')].some((r) => /^run-\d+$/.test(r.textContent.trim())) ? performance.now() : 0);
const mlflowPlot = () => ([...document.querySelectorAll('.js-plotly-plot path.js-line')].some((p) => (p.getAttribute('d') ?? '').length > 20) ? performance.now() : 0);

const cases = [
  { ui: 'ciel', what: 'runs', url: `${a.ciel}/workspaces/${enc(a['ciel-ws'])}/experiments/${cl.experiment_id}`, cond: cielRows,
    check: () => document.querySelectorAll('#runs tbody tr').length },
  { ui: 'mlflow', what: 'runs', url: `${a.mlflow}/#/experiments/${ml.experiment_id}/runs`, cond: mlflowRows,
    check: () => document.querySelectorAll('.ag-center-cols-container .ag-row').length },
  { ui: 'ciel', what: 'chart', url: `${a.ciel}/workspaces/${enc(a['ciel-ws'])}/runs/${cl.run_id}?metric=loss`, cond: cielChart,
    check: () => `${document.querySelector('#chart')?.getAttribute('aria-label')} (${document.querySelector('#chart')?.getAttribute('data-points')} buckets drawn)` },
  { ui: 'mlflow', what: 'chart', url: `${a.mlflow}/#/experiments/${ml.experiment_id}/runs/${ml.run_id}/model-metrics`, cond: mlflowPlot,
    check: () => `${document.querySelectorAll('.js-plotly-plot').length} plot(s)` },
  { ui: 'mlflow', what: 'metric page', url: `${a.mlflow}/#/metric?runs=${j([ml.run_id])}&metric=${j('loss')}&experiments=${j([ml.experiment_id])}&plot_metric_keys=${j(['loss'])}&plot_layout=%7B%7D&x_axis=step&y_axis_scale=linear&line_smoothness=1&show_point=false&deselected_curves=%5B%5D&last_linear_y_axis_range=%5B%5D`, cond: mlflowPlot,
    check: () => `${document.querySelectorAll('.js-plotly-plot').length} plot(s)` },
];

const browser = await chromium.launch({
  executablePath: process.env.CIEL_CHROMIUM || 'chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
});
if (a.shots) mkdirSync(a.shots, { recursive: true });

/** once opens c.url in a new context and returns the page's time to c.cond, in ms. */
async function once(c, shot) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  try {
    const page = await ctx.newPage();
    await page.goto(c.url, { waitUntil: 'commit', timeout });
    const h = await page.waitForFunction(c.cond, null, { polling: 'raf', timeout });
    const ms = await h.jsonValue();
    const seen = await page.evaluate(c.check);
    if (shot) await page.screenshot({ path: path.join(a.shots, `${c.ui}-${c.what.replace(' ', '-')}.png`) });
    return { ms, seen };
  } finally {
    await ctx.close();
  }
}

const times = new Map(cases.map((c) => [c, []]));
for (let r = 1; r <= reps; r++) {
  for (const c of cases) {
    const { ms, seen } = await once(c, a.shots && r === reps);
    times.get(c).push(ms);
    console.error(`  rep ${r} ${c.ui.padEnd(6)} ${c.what.padEnd(11)} ${ms.toFixed(0).padStart(7)} ms  (${seen})`);
  }
}
await browser.close();

const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const med = (ui, what) => median(times.get(cases.find((c) => c.ui === ui && c.what === what)));
const row = (label, c, m, goal) => console.log(`${label.padEnd(62)} ${c.toFixed(0).padStart(8)} ms ${m.toFixed(0).padStart(8)} ms ${(m / c).toFixed(1).padStart(7)}x   ${goal}`);
console.log();
console.log(`studio benchmark: ciel studio vs MLflow UI, ${a.runs} runs, a ${a.points}-point metric, headless Chromium, medians of ${reps} cold navigations`);
console.log(`${'navigation until'.padEnd(62)} ${'ciel'.padStart(11)} ${'mlflow'.padStart(11)} ${'ratio'.padStart(8)}   goal`);
const rows = med('ciel', 'runs');
const chart = med('ciel', 'chart');
row('the runs table shows rows', rows, med('mlflow', 'runs'), `< 1000 ms, >= 5x: ${rows < 1000 && med('mlflow', 'runs') / rows >= 5 ? 'met' : 'NOT met'}`);
row("the run's chart of the long metric is drawn (MLflow: run page)", chart, med('mlflow', 'chart'), `< 1000 ms, >= 5x: ${chart < 1000 && med('mlflow', 'chart') / chart >= 5 ? 'met' : 'NOT met'}`);
row('    the same, MLflow: its metric page (the whole history)', chart, med('mlflow', 'metric page'), '');
