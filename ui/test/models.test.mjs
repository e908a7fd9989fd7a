// Browser tests of the studio's model registry pages against the real ciel
// binary: a pipeline run from the CLI on a registered data asset, a model
// registered from its output, and the model version's page showing the
// lineage, whose job link opens the job's page. Screenshots go under
// ui/test-results/.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Studio } from './harness.mjs';

const testdata = path.join(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), 'testdata');
let studio;

before(async () => {
  studio = await Studio.start();
  copyFileSync(path.join(testdata, 'model_pipeline.yml'), path.join(studio.dir, 'model_pipeline.yml'));
});

after(async () => {
  await studio?.stop();
});

test("a model registered from a pipeline's output shows its lineage, and the job link opens the job", async () => {
  mkdirSync(path.join(studio.dir, 'rows'));
  writeFileSync(path.join(studio.dir, 'rows', 'rows.txt'), '1\n2\n3\n');
  writeFileSync(path.join(studio.dir, 'rows.yml'),
    'name: rows\nversion: 1\ntype: uri_folder\npath: ./rows\ntags: {datafactory.pipeline: ingest, datafactory.runId: run-42}\n');
  await studio.ciel('data', 'create', '--file', 'rows.yml');
  // Submitted as a step of a CI run would submit it: the CLI tags the job with the run and commit.
  const ci = { TF_BUILD: 'True', BUILD_DEFINITIONNAME: 'cd', BUILD_BUILDID: '7', BUILD_SOURCEBRANCH: 'refs/heads/main',
    BUILD_SOURCEVERSION: '0123456789abcdef0123456789abcdef01234567', BUILD_REPOSITORY_NAME: 'mlops' };
  const job = (await studio.cielWith(ci, 'job', 'create', '--file', 'model_pipeline.yml', '--query', 'name', '-o', 'tsv')).trim();
  await studio.ciel('job', 'stream', '--name', job);
  await studio.ciel('model', 'create', '--name', 'm', '--path', `azureml://jobs/${job}/outputs/model`, '--tags', 'team=ml');

  const page = await studio.page();
  await page.goto(`${studio.url}/workspaces/ws/models`);
  const row = page.locator('#models tbody tr', { hasText: 'm' });
  await row.waitFor();
  assert.match(await row.textContent(), /^m1/, 'the name, then the latest version 1');
  await row.getByRole('link', { name: 'm', exact: true }).click();
  await page.waitForURL(/\/workspaces\/ws\/models\/m\/1$/);

  const lineage = page.locator('#lineage');
  await lineage.waitFor();
  assert.match(await lineage.textContent(), new RegExp(`azureml://jobs/${job}/outputs/model`));
  assert.match(await page.locator('dl.kv').first().textContent(), /team=ml/);
  // The data that flowed in: the train step's input, the asset, and what its tags say produced it.
  const input = page.locator('#lineage-inputs tbody tr');
  assert.equal(await input.count(), 1);
  const cells = await input.locator('td').allTextContents();
  assert.equal(cells[0], 'train.data');
  assert.equal(cells[1], 'azureml:rows:1');
  assert.match(cells[3], /datafactory\.runId=run-42/);
  assert.equal(await page.locator('#versions tbody tr').count(), 1);
  // The CI run and commit that submitted the job.
  const ciRun = lineage.locator('.lineage-ci');
  assert.equal(await ciRun.textContent(), 'CI run cd #7 on main at 0123456789ab');
  assert.equal(await ciRun.locator('a').getAttribute('href'), '/workspaces/ws/pipeline-runs/7');
  console.log('screenshot:', await studio.shot(page, 'model-lineage'));

  // The step link and the job link open the job page.
  assert.equal(await lineage.locator('a.lineage-step').getAttribute('href'), `/workspaces/ws/jobs/${job}?step=train`);
  await lineage.locator('a.lineage-job').click();
  await page.waitForURL(new RegExp(`/workspaces/ws/jobs/${job}$`));
  await page.locator('h1', { hasText: 'studio model lineage' }).waitFor();
  await page.locator('.title-row .badge', { hasText: 'Completed' }).waitFor();
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test("an MLflow model's page shows the signature of its MLmodel file", async () => {
  mkdirSync(path.join(studio.dir, 'mlm'));
  writeFileSync(path.join(studio.dir, 'mlm', 'MLmodel'), [
    'flavors:',
    '  python_function:',
    '    loader_module: mlflow.sklearn',
    '    python_version: 3.11.2',
    'signature:',
    '  inputs: \'[{"type": "double", "name": "x"}]\'',
    '  outputs: \'[{"type": "long"}]\'',
    'mlflow_version: 2.19.0',
    '',
  ].join('\n'));
  writeFileSync(path.join(studio.dir, 'mlm', 'model.pkl'), 'not really a model');
  await studio.ciel('model', 'create', '--name', 'sig', '--path', 'mlm', '--type', 'mlflow_model');
  await studio.ciel('model', 'create', '--name', 'sig', '--path', 'mlm', '--type', 'mlflow_model');
  const page = await studio.page();
  await page.goto(`${studio.url}/workspaces/ws/models/sig`);
  await page.waitForURL(/\/workspaces\/ws\/models\/sig\/2$/); // the latest version
  const sig = page.locator('pre.signature-text');
  await sig.waitFor();
  assert.match(await sig.textContent(), /^inputs: '\[\{"type": "double", "name": "x"\}\]'\noutputs: '\[\{"type": "long"\}\]'/);
  assert.equal(await page.locator('#versions tbody tr').count(), 2);
  await page.locator('#versions').getByRole('link', { name: '1', exact: true }).click();
  await page.waitForURL(/\/workspaces\/ws\/models\/sig\/1$/);
  await page.locator('h1', { hasText: 'version 1' }).waitFor();
  assert.deepEqual(page.errors, []);
  console.log('screenshot:', await studio.shot(page, 'model-signature'));
  await page.context().close();
});
