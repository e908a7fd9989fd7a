// Browser tests of the studio's CI/CD and Data Factory pages against the
// real ciel binary: a pipeline run started by a real `git push` to a
// repository ciel hosts, watched live until its steps are green, one
// step's own log, its artifact and the ML job it submitted; and a Data
// Factory pipeline (a Wait, then a Copy between local-folder datastores)
// started from the page, its activity runs followed live to Succeeded with
// the rows copied. Screenshots go under ui/test-results/.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { Studio } from './harness.mjs';

const run = promisify(execFile);
let studio;

before(async () => {
  studio = await Studio.start();
});

after(async () => {
  await studio?.stop();
});

/** write puts a file under dir (the work folder by default). */
function write(rel, text, dir = studio.dir) {
  const file = path.join(dir, rel);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}

async function git(cwd, ...args) {
  const env = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com' };
  const { stdout } = await run('git', args, { cwd, env, timeout: 60_000 });
  return stdout.trim();
}

const ciYAML = `trigger:
  branches:
    include: [main]
stages:
- stage: Build
  jobs:
  - job: build
    steps:
    - script: |
        echo "warming up"
        sleep 4
      displayName: Warm up
    - script: |
        echo "studio-marker from $(Build.SourceVersion)"
        mkdir -p out && echo weights > out/model.txt
      displayName: Train
    - task: AzureCLI@2
      displayName: Submit job
      inputs:
        azureSubscription: ml-connection
        scriptType: bash
        scriptLocation: inlineScript
        inlineScript: |
          az ml job create -f hi.yml --query name -o tsv
    - task: PublishBuildArtifacts@1
      inputs:
        PathtoPublish: out
        ArtifactName: Model
`;

test('a pipeline run from a git push is watched live until its steps are green, with a step log, its artifact and its job', async () => {
  await studio.ciel('repos', 'create', '--name', 'churn');
  await studio.ciel('pipelines', 'create', '--name', 'retrain', '--repository', 'churn');
  const src = path.join(studio.dir, 'churn');
  mkdirSync(src);
  write('azure-pipelines.yml', ciYAML, src);
  write('hi.yml', 'type: command\ncommand: echo hi from the ci run\n', src);
  await git(src, 'init', '-q', '-b', 'main');
  await git(src, 'add', '.');
  await git(src, 'commit', '-qm', 'first');
  const head = await git(src, 'rev-parse', 'HEAD');

  const page = await studio.page();
  await page.goto(`${studio.url}/workspaces/ws/pipelines`);
  await page.getByRole('link', { name: 'CI/CD' }).first().waitFor();
  assert.equal(await page.getByRole('link', { name: 'CI/CD' }).first().getAttribute('aria-current'), 'page');
  await page.locator('#ci-pipelines').getByRole('link', { name: 'retrain' }).click();
  await page.waitForURL(/\/workspaces\/ws\/pipelines\/retrain$/);
  await page.getByText('No runs yet').waitFor();
  // The push's run appears in the open page's list without a reload.
  const t0 = Date.now();
  await git(src, 'push', '-q', `${studio.api}/git/ws/churn.git`, 'main');
  const row = page.locator('#ci-runs tbody tr').first();
  await row.waitFor();
  assert.match(await row.textContent(), /individualCI/);
  assert.match(await row.textContent(), new RegExp(head.slice(0, 8)));
  await studio.shot(page, 'ci-pipeline');
  await row.getByRole('link').click();
  await page.waitForURL(/\/workspaces\/ws\/pipeline-runs\/1$/);

  // Live: the 4 s warm-up step is seen running, then every step green,
  // with no reload of the page.
  await page.locator('.step[data-step="Warm up"][data-status="inProgress"]').waitFor({ timeout: 60_000 });
  const seenRunning = Date.now() - t0;
  await page.locator('.title-row .badge', { hasText: 'succeeded' }).waitFor({ timeout: 120_000 });
  const statuses = await page.locator('.step').evaluateAll((els) => els.map((e) => `${e.dataset.step}=${e.dataset.status}`));
  assert.ok(statuses.length >= 4, `steps: ${statuses}`);
  for (const s of statuses) assert.match(s, /=succeeded$/, `steps: ${statuses}`);
  console.log(`warm-up seen running ${seenRunning} ms after the push; run green in ${Date.now() - t0} ms`);

  // One step's log: its own lines, not the step before it.
  await page.locator('.step[data-step="Train"]').click();
  assert.match(page.url(), /\?job=0&step=\d+$/);
  const log = page.locator('pre.log');
  await page.locator('pre.log', { hasText: `studio-marker from ${head}` }).waitFor();
  assert.doesNotMatch(await log.textContent(), /warming up/);
  await page.getByLabel('Search the log').fill('studio-marker');
  assert.equal((await log.textContent()).trim(), `studio-marker from ${head}`);

  // The artifact downloads as a tar; the job the run submitted links to its page.
  const link = page.getByRole('link', { name: 'Download artifact Model' });
  await link.waitFor();
  const res = await page.request.get(new URL(await link.getAttribute('href'), studio.url).href);
  assert.equal(res.status(), 200);
  assert.ok((await res.body()).includes('weights'));
  await studio.shot(page, 'ci-run');
  const jobLink = page.locator('#ci-created a').first();
  await jobLink.waitFor();
  const jobName = await jobLink.textContent();
  await jobLink.click();
  await page.waitForURL(new RegExp(`/workspaces/ws/jobs/${jobName}$`));
  await page.locator('h1', { hasText: jobName }).waitFor();
  await page.goBack();

  // Re-run queues a manual run of the same branch; Cancel stops it during its warm-up.
  await page.getByRole('button', { name: 'Re-run' }).click();
  await page.waitForURL(/\/workspaces\/ws\/pipeline-runs\/2$/);
  await page.locator('.info', { hasText: 'manual' }).waitFor();
  await page.locator('.step[data-step="Warm up"][data-status="inProgress"]').waitFor({ timeout: 60_000 });
  await page.getByRole('button', { name: 'Cancel run' }).click();
  await page.locator('.title-row .badge', { hasText: 'canceled' }).waitFor({ timeout: 60_000 });
  const shown = JSON.parse(await studio.ciel('pipelines', 'runs', 'show', '--id', '2', '-o', 'json'));
  assert.equal(shown.result, 'canceled');
  assert.deepEqual(page.errors, []);
});

const factoryFiles = {
  'linkedService/lake.json': { name: 'lake', properties: { type: 'AzureBlobStorage', typeProperties: { connectionString: 'DefaultEndpointsProtocol=https;AccountName=lake;EndpointSuffix=core.windows.net;' } } },
  'dataset/landing_csv.json': {
    name: 'landing_csv',
    properties: {
      linkedServiceName: { referenceName: 'lake', type: 'LinkedServiceReference' },
      parameters: { file: { type: 'string' } },
      type: 'DelimitedText',
      typeProperties: {
        location: { type: 'AzureBlobStorageLocation', fileName: { value: '@dataset().file', type: 'Expression' }, folderPath: 'incoming', container: 'landing' },
        columnDelimiter: ',',
        firstRowAsHeader: true,
        quoteChar: '"',
      },
    },
  },
  'dataset/lake_parquet.json': {
    name: 'lake_parquet',
    properties: {
      linkedServiceName: { referenceName: 'lake', type: 'LinkedServiceReference' },
      parameters: { file: { type: 'string' } },
      type: 'Parquet',
      typeProperties: { location: { type: 'AzureBlobStorageLocation', fileName: { value: '@dataset().file', type: 'Expression' }, folderPath: 'ingested', container: 'curated' } },
    },
  },
  'trigger/nightly.json': {
    name: 'nightly',
    properties: {
      type: 'ScheduleTrigger',
      typeProperties: { recurrence: { frequency: 'Day', interval: 1, startTime: '2026-01-01T02:00:00Z', timeZone: 'UTC', schedule: { hours: [2], minutes: [0] } } },
      pipelines: [{ pipelineReference: { referenceName: 'ingest', type: 'PipelineReference' } }],
    },
  },
  'pipeline/ingest.json': {
    name: 'ingest',
    properties: {
      parameters: { fileName: { type: 'string', defaultValue: 'orders.csv' } },
      activities: [
        { name: 'Settle', type: 'Wait', typeProperties: { waitTimeInSeconds: 3 } },
        {
          name: 'CsvToParquet',
          type: 'Copy',
          dependsOn: [{ activity: 'Settle', dependencyConditions: ['Succeeded'] }],
          inputs: [{ referenceName: 'landing_csv', type: 'DatasetReference', parameters: { file: '@pipeline().parameters.fileName' } }],
          outputs: [{ referenceName: 'lake_parquet', type: 'DatasetReference', parameters: { file: "@replace(pipeline().parameters.fileName, '.csv', '.parquet')" } }],
          typeProperties: { source: { type: 'DelimitedTextSource' }, sink: { type: 'ParquetSink' } },
        },
      ],
    },
  },
};

test('a Data Factory pipeline started from the studio shows its activity runs live, Succeeded with the rows copied', async () => {
  const lake = path.join(studio.dir, 'lake');
  mkdirSync(lake);
  write('lake.yml', `name: lake\ntype: local\npath: ${lake}\n`);
  await studio.ciel('datastore', 'create', '--file', 'lake.yml');
  write('landing/incoming/week1.csv', 'id,item,qty\n1,apple,3\n2,"pear, green",5\n3,fig,7\n', lake);
  for (const [rel, doc] of Object.entries(factoryFiles)) write(`adf/${rel}`, JSON.stringify(doc, null, 2));
  await studio.ciel('data-factory', 'import', '--folder', path.join(studio.dir, 'adf'));

  const page = await studio.page();
  await page.goto(`${studio.url}/workspaces/ws/data-factory`);
  await page.locator('#df-linked', { hasText: 'AzureBlobStorage' }).waitFor();
  await page.locator('#df-datasets', { hasText: 'lake_parquet' }).waitFor();
  // A trigger started and stopped in the page is what `ciel data-factory trigger show` says.
  const trig = page.locator('#df-triggers tbody tr', { hasText: 'nightly' });
  assert.match(await trig.textContent(), /ScheduleTrigger.*ingest.*Stopped/);
  await page.getByRole('button', { name: 'Start trigger nightly' }).click();
  await trig.locator('.badge', { hasText: 'Started' }).waitFor();
  const shown = async () => JSON.parse(await studio.ciel('data-factory', 'trigger', 'show', '--name', 'nightly', '-o', 'json')).properties.runtimeState;
  assert.equal(await shown(), 'Started');
  await page.getByRole('button', { name: 'Stop trigger nightly' }).click();
  await trig.locator('.badge', { hasText: 'Stopped' }).waitFor();
  assert.equal(await shown(), 'Stopped');
  await studio.shot(page, 'factory');
  await page.locator('#df-pipelines').getByRole('link', { name: 'ingest' }).click();
  await page.waitForURL(/\/workspaces\/ws\/data-factory\/pipelines\/ingest$/);

  // The activities as a graph: two nodes, the dependsOn edge between them.
  await page.locator('svg.graph g.node').nth(1).waitFor();
  assert.deepEqual((await page.locator('svg.graph g.node').evaluateAll((ns) => ns.map((n) => n.dataset.step))).sort(), ['CsvToParquet', 'Settle']);
  assert.equal(await page.locator('svg.graph path.edge').count(), 1);
  assert.match(await page.locator('svg.graph path.edge title').textContent(), /Settle\.Succeeded → CsvToParquet/);

  // A second tab on the pipeline's page sees the run arrive and end in its list.
  const other = await studio.page();
  await other.goto(page.url());
  await other.getByText('No runs yet.').waitFor();
  await page.locator('#df-params').fill('{"fileName": "week1.csv"}');
  await studio.shot(page, 'factory-pipeline');
  const t0 = Date.now();
  await page.locator('#df-create-run').click();
  await page.waitForURL(/\/workspaces\/ws\/data-factory\/runs\/[0-9a-f-]+$/);
  // Live: the 3 s Wait is seen in progress, then the run and both activities succeed.
  await page.locator('#df-activity-runs tr', { hasText: 'Settle' }).locator('.badge', { hasText: 'InProgress' }).waitFor({ timeout: 30_000 });
  await page.locator('svg.graph g.node[data-step="Settle"][data-status="InProgress"]').waitFor();
  const seenRunning = Date.now() - t0;
  await page.locator('.title-row .badge', { hasText: 'Succeeded' }).waitFor({ timeout: 60_000 });
  const copy = page.locator('#df-activity-runs tr', { hasText: 'CsvToParquet' });
  await copy.locator('.badge', { hasText: 'Succeeded' }).waitFor();
  assert.equal(await copy.locator('.rows-read').textContent(), '3');
  assert.equal(await copy.locator('.rows-copied').textContent(), '3');
  await page.locator('svg.graph g.node[data-step="CsvToParquet"][data-status="Succeeded"]').waitFor();
  assert.match(await page.locator('.info').textContent(), /week1\.csv/);
  console.log(`Wait seen in progress ${seenRunning} ms after Create run; run Succeeded in ${Date.now() - t0} ms`);
  assert.ok(existsSync(path.join(lake, 'curated', 'ingested', 'week1.parquet')), 'the Copy wrote no Parquet file');
  await studio.shot(page, 'factory-run');
  // Picking an activity in the graph shows its runs alone, with a shareable URL.
  await page.locator('svg.graph g.node[data-step="Settle"]').click();
  assert.match(page.url(), /\?activity=Settle$/);
  assert.equal(await page.locator('#df-activity-runs tbody tr').count(), 1);
  await page.getByRole('button', { name: 'Show all' }).click();
  assert.equal(await page.locator('#df-activity-runs tbody tr').count(), 2);
  await other.locator('#df-runs tbody tr', { hasText: 'week1.csv' }).locator('.badge', { hasText: 'Succeeded' }).waitFor();
  assert.deepEqual(other.errors, []);

  // On a phone the run page fits the screen's width (wide tables scroll in place).
  const phone = await studio.page({ width: 390, height: 844 });
  await phone.goto(page.url());
  await phone.locator('#df-activity-runs tbody tr').nth(1).waitFor();
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  const wide = await phone.evaluate(() =>
    [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('#df-activity-runs, .graph-box'))
      .map((e) => `${e.tagName.toLowerCase()}.${e.className}`)
      .slice(0, 8),
  );
  assert.ok(overflow <= 0, `the page is ${overflow} px wider than a phone: ${wide}`);
  await studio.shot(phone, 'factory-run-phone');
  assert.deepEqual(phone.errors, []);

  // The run is listed on the factory page, with its parameters.
  await page.getByRole('link', { name: 'Data Factory' }).first().click();
  await page.locator('#df-runs tbody tr', { hasText: 'week1.csv' }).waitFor();
  assert.deepEqual(page.errors, []);
});
