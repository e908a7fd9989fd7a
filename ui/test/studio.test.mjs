// Browser tests of the studio against the real ciel binary: a pipeline
// submitted from the CLI is watched in the graph until every node is
// green (from the server's event stream), a step's log shows its output,
// Re-run and Cancel work, the jobs list shows new jobs live, an MLflow
// run's metric is charted, two runs are compared, the MLflow client's run
// link opens the run's page, and the sign-in refuses a wrong token. Each
// test saves a screenshot under ui/test-results/.
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Studio, curvePixels } from './harness.mjs';

const testdata = path.join(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), 'testdata');
let studio;
let job;

before(async () => {
  studio = await Studio.start();
  copyFileSync(path.join(testdata, 'pipeline.yml'), path.join(studio.dir, 'pipeline.yml'));
  for (const f of ['log_metrics.py', 'log_compare.py']) copyFileSync(path.join(testdata, f), path.join(studio.dir, f));
});

after(async () => {
  await studio?.stop();
});

/** nodeStates reads each graph node's step and status. */
const nodeStates = (page) =>
  page.$$eval('svg.graph g.node', (gs) => Object.fromEntries(gs.map((g) => [g.getAttribute('data-step'), g.getAttribute('data-status')])));

test('a pipeline submitted from the CLI lights up in the graph until every node is green', async () => {
  job = (await studio.ciel('job', 'create', '--file', 'pipeline.yml', '--query', 'name', '-o', 'tsv')).trim();
  const page = await studio.page();
  // The page follows the job's event stream rather than polling the job.
  const reads = [];
  page.on('request', (r) => reads.push(new URL(r.url()).pathname + new URL(r.url()).search));
  await page.goto(`${studio.url}/workspaces/ws/jobs/${job}`);
  await page.waitForSelector('svg.graph g.node[data-step="pick"]');
  assert.equal(await page.locator('svg.graph path.edge').count(), 4, 'prep->train_a, prep->train_b, train_a->pick, train_b->pick');

  const seen = new Set();
  const deadline = Date.now() + 60_000;
  let states = {};
  for (;;) {
    states = await nodeStates(page);
    for (const s of Object.values(states)) seen.add(s);
    if (Object.values(states).every((s) => s === 'Completed')) break;
    assert.ok(!Object.values(states).some((s) => s === 'Failed'), `a step failed: ${JSON.stringify(states)}`);
    assert.ok(Date.now() < deadline, `not all green in 60 s: ${JSON.stringify(states)}`);
    await page.waitForTimeout(150);
  }
  assert.deepEqual(Object.keys(states).sort(), ['pick', 'prep', 'train_a', 'train_b']);
  // The page watched the steps change: it saw them before they completed.
  assert.ok([...seen].some((s) => s !== 'Completed'), `only ever saw ${[...seen]}`);
  // Green is the colour of a completed node, and of its status badge.
  const fill = await page.$eval('svg.graph g.node[data-step="pick"] rect', (r) => getComputedStyle(r).fill);
  const ok = await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--ok-bg').trim());
  assert.equal(hex(fill), ok.toLowerCase());
  await page.locator('.title-row .badge', { hasText: 'Completed' }).waitFor();
  assert.ok(reads.includes(`/api/v1/workspaces/ws/events?job=${job}`), `no event stream in ${reads}`);
  // One read at first and one as each step or the job ends, at most: no 1 s loop.
  const jobReads = reads.filter((u) => u === `/api/v1/workspaces/ws/jobs/${job}`).length;
  assert.ok(jobReads >= 1 && jobReads <= 7, `${jobReads} reads of the job: ${reads}`);
  assert.deepEqual(page.errors, []);
  console.log('screenshot:', await studio.shot(page, 'pipeline-graph'));
  await page.context().close();
});

test("a step's panel shows its inputs, outputs and command, and its log shows its output", async () => {
  assert.ok(job, 'the graph test submitted the job');
  const page = await studio.page();
  await page.goto(`${studio.url}/workspaces/ws/jobs/${job}`);
  const node = page.locator('svg.graph g.node[data-step="train_a"]');
  await node.focus();
  await page.keyboard.press('Enter');
  assert.match(page.url(), /\?step=train_a$/);
  const panel = page.locator('.step[data-step="train_a"]');
  await panel.waitFor();
  await page.locator('pre.log', { hasText: 'training a with lr 0.1 on 5 rows' }).waitFor({ timeout: 20_000 });
  const log = await page.locator('pre.log').textContent();
  assert.ok(!log.includes('training b'), 'the log holds only train_a lines');
  assert.match(await panel.locator('pre.command').textContent(), /training a with lr/);
  // The data input links to the step that made it; lr is a literal.
  assert.equal(await panel.getByRole('link', { name: 'prep.data' }).count(), 1);
  assert.match(await panel.locator('table', { hasText: 'Inputs' }).textContent(), /lr\s*0\.1/);
  // The output downloads as a tar from the API.
  const href = await panel.getByRole('link', { name: 'Download output model of train_a' }).getAttribute('href');
  const res = await page.request.get(`${studio.url}${href}`);
  assert.equal(res.status(), 200);
  assert.equal(res.headers()['content-type'], 'application/x-tar');
  assert.ok((await res.body()).includes('model.txt'));
  // The log's search keeps the matching lines only.
  await page.getByRole('searchbox', { name: 'Search the log' }).fill('no such text');
  assert.equal((await page.locator('pre.log').textContent()).trim(), '');
  await page.getByRole('searchbox', { name: 'Search the log' }).fill('');
  assert.deepEqual(page.errors, []);
  console.log('screenshot:', await studio.shot(page, 'step-log'));
  await page.context().close();
});

test('Re-run submits the job again and Cancel stops the new one; the CLI agrees', async () => {
  assert.ok(job, 'the graph test submitted the job');
  const page = await studio.page();
  await page.goto(`${studio.url}/workspaces/ws/jobs/${job}`);
  await page.getByRole('button', { name: 'Re-run job', exact: true }).click();
  await page
    .waitForFunction((old) => !location.pathname.endsWith(`/${old}`), job, { timeout: 15_000 })
    .catch(async (e) => assert.fail(`no new job page: ${e.message}; page says: ${await page.locator('main').textContent()}`));
  const again = decodeURIComponent(new URL(page.url()).pathname.split('/').pop());
  const cancel = page.getByRole('button', { name: 'Cancel job', exact: true });
  await cancel.click({ timeout: 10_000 });
  await page.locator('.title-row .badge', { hasText: 'Canceled' }).waitFor({ timeout: 30_000 });
  assert.equal((await studio.ciel('job', 'show', '--name', again, '--query', 'status', '-o', 'tsv')).trim(), 'Canceled');
  assert.ok(await cancel.isDisabled(), 'a canceled job cannot be canceled again');
  assert.deepEqual(page.errors, []);
  console.log('screenshot:', await studio.shot(page, 'rerun-cancel'));
  await page.context().close();
});

test('the jobs list shows the job, and its search filters the rows', async () => {
  const page = await studio.page();
  await page.goto(`${studio.url}/workspaces/ws/jobs`);
  const row = page.locator('#jobs tbody tr', { hasText: job });
  await row.waitFor();
  assert.match(await row.textContent(), /Completed.*pipeline.*studio-graph/);
  // A job submitted while the list is open appears in it, from the workspace's event stream.
  const more = (await studio.ciel('job', 'create', '--file', 'pipeline.yml', '--query', 'name', '-o', 'tsv')).trim();
  await page.locator('#jobs tbody tr', { hasText: more }).waitFor({ timeout: 10_000 });
  await studio.ciel('job', 'cancel', '--name', more);
  await page.locator('#jobs tbody tr', { hasText: more }).locator('.badge', { hasText: 'Canceled' }).waitFor({ timeout: 15_000 });
  await page.getByRole('searchbox', { name: 'Search jobs' }).fill('no-such-job');
  assert.equal(await page.locator('#jobs tbody tr').count(), 0);
  assert.match(page.url(), /\?q=no-such-job$/);
  console.log('screenshot:', await studio.shot(page, 'jobs-list'));
  await page.context().close();
});

test('a metric logged with the mlflow client is charted, point for point', async () => {
  const out = await studio.python('log_metrics.py');
  const [, expID, runID] = /^ids: (\S+) (\S+)$/m.exec(out) ?? assert.fail(`no ids in: ${out}`);
  const page = await studio.page();
  await page.goto(`${studio.url}/workspaces/ws/experiments`);
  await page.getByRole('link', { name: 'studio-chart' }).click();
  const row = page.locator('#runs tbody tr', { hasText: 'chart-run' });
  await row.waitFor();
  // The table has the run's metric and param columns.
  const heads = await page.locator('#runs thead th').allTextContents();
  assert.ok(heads.includes('loss') && heads.includes('alpha'), `columns: ${heads}`);
  assert.match(await row.textContent(), /FINISHED/);
  await row.getByRole('link', { name: 'chart-run' }).click();
  await page.waitForURL(`**/workspaces/ws/runs/${runID}**`);
  const chart = page.locator('#chart[data-points="20"]');
  await chart.waitFor();
  // accuracy comes first by name: 20 points; pick loss too, 50 steps in all.
  await page.getByRole('checkbox', { name: 'loss' }).check();
  await page.locator('#chart[data-points="50"]').waitFor();
  assert.match(await page.locator('#chart').getAttribute('aria-label'), /accuracy, loss: 70 points/);
  // The curve is drawn: the canvas holds pixels of both series' colours.
  const drawn = await curvePixels(page, '#chart canvas');
  assert.ok(drawn.blue > 100 && drawn.red > 100, `curve pixels: ${JSON.stringify(drawn)}`);
  assert.deepEqual(page.errors, []);
  console.log('screenshot:', await studio.shot(page, 'metric-chart'));

  // The link the mlflow client prints opens the same run's page.
  await page.goto(`${studio.url}/ws/ws/#/experiments/${expID}/runs/${runID}`);
  await page.waitForURL(`**/workspaces/ws/runs/${runID}`);
  await page.locator('h1', { hasText: 'chart-run' }).waitFor();
  await page.context().close();
});

test('two runs logged with the mlflow client are compared: overlaid curves and a params diff', async () => {
  const out = await studio.python('log_compare.py');
  const [, a, b] = /^ids: (\S+) (\S+)$/m.exec(out) ?? assert.fail(`no ids in: ${out}`);
  const page = await studio.page();
  await page.goto(`${studio.url}/workspaces/ws/experiments`);
  await page.getByRole('link', { name: 'studio-compare' }).click();
  const compare = page.getByRole('button', { name: 'Compare', exact: true });
  await page.getByRole('checkbox', { name: 'Select run compare-a' }).check();
  assert.ok(await compare.isDisabled(), 'one run is not a compare');
  await page.getByRole('checkbox', { name: 'Select run compare-b' }).check();
  await compare.click();
  await page.waitForURL(/\/workspaces\/ws\/compare\?runs=/);
  assert.deepEqual(new URL(page.url()).searchParams.get('runs').split(',').sort(), [a, b].sort());
  // One curve per run, each with its band of bucket min/max: 3,000 points a run, summed up by the server.
  const chart = page.locator('#compare-chart[data-series="2"][data-bands="2"]');
  await chart.waitFor();
  assert.match(await page.locator('.chart-section .toolbar').textContent(), /loss: 2 runs, 6000 points/);
  assert.match(await chart.getAttribute('aria-label'), /compare-a, compare-b|compare-b, compare-a/);
  const drawn = await curvePixels(page, '#compare-chart canvas');
  assert.ok(drawn.blue > 100 && drawn.red > 100, `curve pixels: ${JSON.stringify(drawn)}`);
  // The params diff: alpha differs and is marked, layers is the same.
  const alpha = page.locator('#params-diff tr[data-param="alpha"]');
  assert.equal(await alpha.getAttribute('class'), 'differs');
  assert.match(await alpha.textContent(), /alpha \(differs\).*0\.1.*0\.9|alpha \(differs\).*0\.9.*0\.1/);
  const layers = page.locator('#params-diff tr[data-param="layers"]');
  assert.equal(await layers.getAttribute('class'), null);
  await page.getByRole('checkbox', { name: 'only the params that differ' }).check();
  assert.equal(await layers.count(), 0);
  assert.equal(await alpha.count(), 1);
  assert.deepEqual(page.errors, []);
  console.log('screenshot:', await studio.shot(page, 'compare-runs'));
  // One run alone is refused with a message.
  await page.goto(`${studio.url}/workspaces/ws/compare?runs=${a}`);
  await page.getByRole('alert').filter({ hasText: 'Pick 2 to 10 runs' }).waitFor();
  await page.context().close();
});

test('the sign-in refuses a wrong token and lets the right one in', async () => {
  const srv = await studio.tokenServer('studio-s3cret');
  try {
    const page = await studio.page();
    // A studio page without a session is the sign-in page, which returns there after.
    const res = await page.goto(`${srv.url}/workspaces/ws/jobs`);
    assert.equal(res.status(), 401);
    const token = page.getByLabel('Server token');
    await token.fill('not-the-token');
    await token.press('Enter');
    await page.getByRole('alert').filter({ hasText: 'Wrong token' }).waitFor();
    assert.equal((await page.context().cookies()).length, 0, 'a wrong token sets no cookie');
    assert.equal(await page.locator('#jobs').count(), 0);
    console.log('screenshot:', await studio.shot(page, 'login-refused'));
    await page.getByLabel('Server token').fill('studio-s3cret');
    await page.getByLabel('Server token').press('Enter');
    await page.waitForURL(`${srv.url}/workspaces/ws/jobs`);
    await page.locator('h1', { hasText: 'Jobs' }).waitFor();
    // The studio's own API calls ride on the session: the (empty) jobs table loads.
    await page.locator('#jobs').waitFor();
    assert.match(await page.locator('.count').textContent(), /0 of 0 jobs/);
    assert.deepEqual(page.errors.filter((e) => !/401/.test(e)), []);
    console.log('screenshot:', await studio.shot(page, 'login-accepted'));
    await page.context().close();
  } finally {
    await srv.stop();
  }
});

function hex(rgb) {
  const m = /rgba?\((\d+), (\d+), (\d+)/.exec(rgb);
  return m ? '#' + m.slice(1, 4).map((n) => Number(n).toString(16).padStart(2, '0')).join('') : rgb;
}
