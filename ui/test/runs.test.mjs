// Browser tests of the studio's experiment and run pages against the real
// ciel binary, with runs logged by the real mlflow client
// (testdata/log_artifacts.py): the artifacts browser and each preview,
// the compare of three runs (parallel coordinates, params diff), the run
// chart's smoothing, log scale, relative time and zoom, and the runs
// table's column picker and filter errors. Screenshots go under
// ui/test-results/.
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Studio } from './harness.mjs';

const testdata = path.join(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), 'testdata');
let studio;
let ids;

before(async () => {
  studio = await Studio.start();
  copyFileSync(path.join(testdata, 'log_artifacts.py'), path.join(studio.dir, 'log_artifacts.py'));
  const out = await studio.python('log_artifacts.py');
  ids = (/^ids: (.+)$/m.exec(out) ?? assert.fail(`no ids in: ${out}`))[1].split(' ');
  assert.equal(ids.length, 3);
});

after(async () => {
  await studio?.stop();
});

/** openExperiment opens the studio-runs experiment's runs table. */
async function openExperiment(page) {
  await page.goto(`${studio.url}/workspaces/ws/experiments`);
  await page.getByRole('link', { name: 'studio-runs' }).click();
  await page.locator('#runs tbody tr', { hasText: 'runs-2' }).waitFor();
}

/** pick clicks the artifact at p in the tree (its folders opened first) and waits for its preview. */
async function pick(page, p) {
  const parts = p.split('/');
  for (let i = 1; i < parts.length; i++) {
    const dir = page.locator(`#artifact-tree .artifact-dir[data-path="${parts.slice(0, i).join('/')}"]`);
    if ((await dir.getAttribute('aria-expanded')) !== 'true') await dir.click();
  }
  await page.locator(`#artifact-tree .artifact-file[data-path="${p}"]`).click();
  await page.locator('#artifact-preview .artifact-head code', { hasText: p }).waitFor();
  await page.locator('#artifact-preview .artifact-body[data-ready]').waitFor();
}

test("a run's artifacts are listed as a tree, downloadable, and each kind is previewed", async () => {
  const page = await studio.page();
  await openExperiment(page);
  await page.locator('#runs tbody tr', { hasText: 'runs-0' }).getByRole('link', { name: 'runs-0' }).click();
  await page.waitForURL(`**/workspaces/ws/runs/${ids[0]}**`);
  const tree = page.locator('#artifact-tree');
  await tree.locator('.artifact-file[data-path="notes.txt"]').waitFor();
  // Folders first, then files, each by name.
  assert.deepEqual(await tree.locator(':scope > li > button').evaluateAll((bs) => bs.map((b) => b.dataset.path)), [
    'model', 'plots', 'big.log', 'metrics.json', 'notes.txt', 'predictions.csv',
  ]);

  // Text: shown whole, and the download link serves the same bytes.
  await pick(page, 'notes.txt');
  assert.equal(await page.locator('#artifact-text').textContent(), 'trained on iris\nsecond line\n');
  const href = await page.locator('#artifact-download').getAttribute('href');
  assert.equal(await page.locator('#artifact-download').getAttribute('download'), 'notes.txt');
  assert.equal(await page.evaluate((u) => fetch(u).then((r) => r.text()), href), 'trained on iris\nsecond line\n');
  assert.match(page.url(), /[?&]artifact=notes\.txt/);
  console.log('screenshot:', await studio.shot(page, 'artifact-text'));

  // A long text: only its head crosses the wire and shows, and the page says so.
  const sizes = [];
  page.on('response', (r) => r.url().endsWith('/big.log') && sizes.push(r.headers()['content-length']));
  await pick(page, 'big.log');
  const big = await page.locator('#artifact-text').textContent();
  assert.ok(big.startsWith('line 000000 of a long training log\n'), big.slice(0, 40));
  assert.ok(big.length <= 64 * 1024, `preview of ${big.length} chars`);
  assert.ok(!big.includes('line 019999'), 'the end of the file is not loaded');
  assert.match(await page.locator('.artifact-cut').textContent(), /^Showing the first 64 KB of 6\d\d KB; download it for the rest\.$/);
  assert.deepEqual(sizes, ['65536'], 'one ranged read of 64 KiB');

  // A PNG, drawn from a blob of its bytes.
  await pick(page, 'plots/gradient.png');
  const img = page.locator('#artifact-preview img.artifact-image');
  await page.waitForFunction(() => document.querySelector('#artifact-preview img')?.complete && document.querySelector('#artifact-preview img').naturalWidth > 0);
  assert.deepEqual(await img.evaluate((i) => [i.naturalWidth, i.naturalHeight, i.src.slice(0, 5)]), [64, 32, 'blob:']);
  console.log('screenshot:', await studio.shot(page, 'artifact-png'));

  // An SVG, as an <img>: drawn, but never put in the page, so its script never runs.
  await pick(page, 'plots/shape.svg');
  await page.waitForFunction(() => document.querySelector('#artifact-preview img')?.naturalWidth === 40);
  assert.equal(await page.evaluate(() => window.svgRan), undefined);
  assert.equal(await page.locator('#artifact-preview svg, #artifact-preview script').count(), 0);

  // JSON: formatted, objects and arrays foldable.
  await pick(page, 'metrics.json');
  const json = page.locator('#json-view');
  assert.match(await json.textContent(), /"accuracy": 0\.93/);
  assert.match(await json.textContent(), /"classes": \[3\]0: "setosa"1: "versicolor"2: "virginica"/);
  const classes = json.locator('details details').first();
  assert.equal(await classes.getAttribute('open'), '');
  await classes.locator('summary').click();
  assert.equal(await classes.getAttribute('open'), null, 'a click folds the array');
  console.log('screenshot:', await studio.shot(page, 'artifact-json'));

  // CSV: the header and the first 100 of 300 rows, quotes undone.
  await pick(page, 'predictions.csv');
  const csv = page.locator('#csv-preview');
  assert.deepEqual(await csv.locator('thead th').allTextContents(), ['id', 'label', 'note, quoted']);
  assert.equal(await csv.locator('tbody tr').count(), 100);
  assert.deepEqual(await csv.locator('tbody tr').first().locator('td').allTextContents(), ['0', '0', 'row 0']);
  console.log('screenshot:', await studio.shot(page, 'artifact-csv'));

  // The sklearn model's MLmodel: its flavors, and its signature as tables.
  await pick(page, 'model/MLmodel');
  assert.match(await page.locator('#mlmodel-flavors').textContent(), /python_function.*loader_module: mlflow\.sklearn.*sklearn.*sklearn_version: /s);
  assert.deepEqual(await page.locator('#sig-inputs tbody tr').evaluateAll((rs) => rs.map((r) => [...r.cells].slice(0, 2).map((c) => c.textContent))), [
    ['sepal_length', 'double'],
    ['sepal_width', 'double'],
  ]);
  // model.predict gave a numpy array: the output is a tensor.
  assert.deepEqual(await page.locator('#sig-outputs tbody tr td').allTextContents(), ['(unnamed)', 'tensor int64', '(-1)', 'yes']);
  assert.match(await page.locator('#mlmodel-view dl.kv').textContent(), /mlflow_version3\.\d+/);
  console.log('screenshot:', await studio.shot(page, 'artifact-mlmodel'));

  // A binary file (the model's zip) is offered for download, not shown.
  await pick(page, 'model/model.skops');
  assert.equal(await page.locator('#artifact-preview .artifact-body').textContent(), 'A binary file: no preview; download it.');

  // The model logged with log_model (MLflow 3 keeps it apart from the run's artifacts).
  const clf = page.locator('#logged-models .artifact-dir', { hasText: /^clf \(m-/ });
  await clf.click();
  const mlmodel = page.locator('#logged-models .artifact-file', { hasText: /^MLmodel$/ });
  await mlmodel.click();
  await page.locator('#artifact-preview .artifact-head code', { hasText: /^MLmodel$/ }).waitFor();
  await page.locator('#sig-inputs').waitFor();
  assert.equal(await page.locator('#sig-inputs tbody tr').count(), 2);
  assert.match(await page.locator('#artifact-download').getAttribute('href'), /\/logged-models\/m-[^/]+\/artifacts\/files\?artifact_file_path=MLmodel$/);
  assert.match(page.url(), /artifact=%3Amodel%3Am-[^&]+%2FMLmodel/);
  console.log('screenshot:', await studio.shot(page, 'artifact-logged-model'));

  // The picked file is in the URL: a reload opens the same preview.
  await page.reload();
  await page.locator('#logged-models .artifact-file[aria-current]', { hasText: 'MLmodel' }).waitFor();
  await page.locator('#sig-inputs').waitFor();
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('three runs are compared: one line per run across the parallel coordinates, differing params marked', async () => {
  const page = await studio.page();
  await openExperiment(page);
  for (const n of ['runs-0', 'runs-1', 'runs-2']) await page.getByRole('checkbox', { name: `Select run ${n}` }).check();
  await page.getByRole('button', { name: 'Compare', exact: true }).click();
  await page.waitForURL(/\/workspaces\/ws\/compare\?runs=/);
  const pc = page.locator('#parcoords');
  await pc.waitFor();
  const lines = pc.locator('path.pc-line');
  assert.equal(await lines.count(), 3);
  assert.deepEqual((await lines.evaluateAll((ls) => ls.map((l) => l.dataset.run))).sort(), [...ids].sort());
  const ds = await lines.evaluateAll((ls) => ls.map((l) => l.getAttribute('d')));
  assert.equal(new Set(ds).size, 3, 'the runs draw three different lines');
  // Each line crosses every axis: differing params first, then the metrics, then the same-valued params.
  const axes = await pc.locator('g.pc-axis').evaluateAll((gs) => gs.map((g) => g.dataset.axis));
  assert.deepEqual(axes, ['param:alpha', 'param:solver', 'metric:loss', 'metric:rmse', 'param:layers']);
  for (const d of ds) assert.equal((d.match(/[ML]/g) ?? []).join(''), 'MLLLL', d);
  // alpha 0.1 < 0.5 < 0.9: the lines cross the alpha axis from the bottom up, in that order.
  const ys = await lines.evaluateAll((ls) => Object.fromEntries(ls.map((l) => [l.dataset.run, Number(/^M[\d.]+,([\d.]+)/.exec(l.getAttribute('d'))[1])])));
  assert.ok(ys[ids[0]] > ys[ids[1]] && ys[ids[1]] > ys[ids[2]], JSON.stringify(ys));

  const diff = page.locator('#params-diff');
  assert.deepEqual(await diff.locator('tbody tr.differs').evaluateAll((rs) => rs.map((r) => r.dataset.param)), ['alpha', 'solver']);
  assert.equal(await diff.locator('tr[data-param="layers"]').getAttribute('class'), null);
  assert.match(await diff.locator('tr[data-param="solver"] th').textContent(), /\(differs\)/);
  await page.locator('#compare-chart[data-series="3"]').waitFor();
  console.log('screenshot:', await studio.shot(page, 'compare-parcoords'));
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

/** pixels sums the chart canvas' pixel bytes, a fingerprint of what is drawn. */
const pixels = (page) => page.$eval('#chart canvas', (c) => c.getContext('2d').getImageData(0, 0, c.width, c.height).data.reduce((a, b, i) => (a + b * ((i % 251) + 1)) % 1e9, 0));

test("a run's chart: smoothing changes the drawn curve; log y, relative time, drag-zoom and reset", async () => {
  const page = await studio.page();
  await page.goto(`${studio.url}/workspaces/ws/runs/${ids[2]}`);
  const chart = page.locator('#chart[data-points="200"]');
  await chart.waitFor();
  assert.equal(await chart.getAttribute('aria-label'), 'Chart of loss: 200 points');
  const raw = Number(await chart.getAttribute('data-variation'));
  const before = await pixels(page);
  await page.locator('#smoothing').fill('0.9');
  await page.waitForFunction((v) => Number(document.querySelector('#chart').dataset.variation) !== v, raw);
  const smoothed = Number(await chart.getAttribute('data-variation'));
  assert.ok(smoothed < raw / 3, `variation ${raw} smoothed to ${smoothed}`);
  assert.notEqual(await pixels(page), before, 'the canvas changed');
  assert.match(page.url(), /smooth=0\.9/);
  console.log('screenshot:', await studio.shot(page, 'chart-smoothing'));

  await page.locator('#log-y').check();
  await page.locator('#chart[data-log-y="true"]').waitFor();
  await page.locator('#chart-x').selectOption('relative');
  await page.locator('#chart[data-x="relative"]').waitFor();

  // Drag across the middle of the plot zooms x; Reset zoom undoes it.
  const over = await page.locator('#chart .u-over').boundingBox();
  await page.mouse.move(over.x + over.width * 0.3, over.y + over.height / 2);
  await page.mouse.down();
  await page.mouse.move(over.x + over.width * 0.6, over.y + over.height / 2, { steps: 5 });
  await page.mouse.up();
  await page.locator('#chart[data-zoomed="true"]').waitFor();
  console.log('screenshot:', await studio.shot(page, 'chart-zoomed-log'));
  await page.getByRole('button', { name: 'Reset zoom' }).click();
  await page.locator('#chart[data-zoomed="false"]').waitFor();
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('the runs table keeps the picked columns in the URL, and a refused filter says why', async () => {
  const page = await studio.page();
  await openExperiment(page);
  const heads = () => page.locator('#runs thead th').allTextContents();
  assert.ok((await heads()).includes('loss'));
  await page.locator('details.cols summary').click();
  await page.getByRole('checkbox', { name: 'metric loss' }).uncheck();
  await page.waitForFunction(() => ![...document.querySelectorAll('#runs thead th')].some((t) => t.textContent === 'loss'));
  const url = page.url();
  assert.match(decodeURIComponent(url), /cols=m:rmse,p:alpha,p:layers,p:solver/);
  // The link opens the same view.
  const other = await studio.page();
  await other.goto(url);
  await other.locator('#runs tbody tr', { hasText: 'runs-2' }).waitFor();
  assert.deepEqual((await other.locator('#runs thead th').allTextContents()).slice(5), ['rmse', 'alpha', 'layers', 'solver']);
  await other.context().close();

  const filter = page.locator('#run-filter');
  await filter.fill('metrics.rmse <');
  await page.getByRole('button', { name: 'Search' }).click();
  const err = page.locator('#run-filter-error');
  await err.waitFor();
  assert.match(await err.textContent(), /^The filter was refused: .+/);
  assert.equal(await filter.getAttribute('aria-invalid'), 'true');
  console.log('screenshot:', await studio.shot(page, 'runs-filter-error'));

  await filter.fill("params.solver = 'saga'");
  await page.getByRole('button', { name: 'Search' }).click();
  await page.locator('#runs tbody tr', { hasText: 'runs-1' }).waitFor();
  assert.equal(await page.locator('#runs tbody tr').count(), 1);
  assert.ok(await err.isHidden());
  assert.equal(await filter.getAttribute('aria-invalid'), null);
  console.log('screenshot:', await studio.shot(page, 'runs-columns-filter'));
  assert.deepEqual(page.errors.filter((e) => !/400/.test(e)), []);
  await page.context().close();
});
