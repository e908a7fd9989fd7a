// Browser tests of the studio's asset pages and an endpoint's live panels
// against the real ciel binary: the CLI creates a compute, a data asset,
// an environment (a conda file with scikit-learn, built by the first job
// that uses it), a component; a job trains a scikit-learn model in that
// environment; the model is registered and served. Then a burst of scoring
// requests shows in the endpoint's live charts, the deployment's log shows
// its worker's lines, the environment's page its build log, and the lists
// what the CLI created. Screenshots go under ui/test-results/.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Studio } from './harness.mjs';

let studio;

before(async () => {
  studio = await Studio.start();
  const t0 = Date.now();
  write('data.csv', 'a,b\n1,2\n3,4\n');
  write(
    'env.yml',
    `name: sklearn-env
version: "1"
description: scikit-learn for training and serving
image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest
conda_file:
  dependencies:
    - python=3.11
    - pip:
        - scikit-learn==1.9.1
`,
  );
  write(
    'src/train.py',
    `import argparse, os, pickle
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
p = argparse.ArgumentParser()
p.add_argument("--data", required=True)
p.add_argument("--model", required=True)
a = p.parse_args()
print("rows in", a.data, ":", sum(1 for _ in open(a.data)))
X, y = load_breast_cancer(return_X_y=True)
m = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)
print(f"training accuracy: {m.score(X, y):.3f}")
os.makedirs(a.model, exist_ok=True)
with open(os.path.join(a.model, "model.pkl"), "wb") as f:
    pickle.dump(m, f)
`,
  );
  write(
    'train.yml',
    `$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
name: train_model
version: "1"
display_name: Train a classifier
type: command
inputs:
  data:
    type: uri_file
  max_iter:
    type: integer
    default: 1000
outputs:
  model:
    type: uri_folder
code: ./src
environment: azureml:sklearn-env:1
command: python train.py --data \${{inputs.data}} --model \${{outputs.model}}
`,
  );
  write(
    'job.yml',
    `$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json
type: command
display_name: train for serving
code: ./src
command: python train.py --data \${{inputs.data}} --model \${{outputs.model}}
environment: azureml:sklearn-env:1
compute: azureml:cpu-cluster
inputs:
  data:
    type: uri_file
    path: azureml:training_data:1
outputs:
  model:
    type: uri_folder
`,
  );
  write(
    'serve/score.py',
    `import json, os, pickle
def init():
    global model
    with open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model", "model.pkl"), "rb") as f:
        model = pickle.load(f)
    print("model loaded", flush=True)
def run(raw):
    return model.predict(json.loads(raw)["input_data"]).tolist()
`,
  );
  write('ep.yml', 'name: bc-svc\nauth_mode: key\n');
  write(
    'blue.yml',
    `name: blue
endpoint_name: bc-svc
model: azureml:bc-model:1
code_configuration:
  code: ./serve
  scoring_script: score.py
environment: azureml:sklearn-env:1
instance_count: 1
`,
  );
  await studio.ciel('compute', 'create', '--name', 'cpu-cluster', '--type', 'amlcompute', '--min-instances', '0', '--max-instances', '2', '--size', 'Standard_DS3_v2');
  await studio.ciel('data', 'create', '--name', 'training_data', '--version', '1', '--type', 'uri_file', '--path', './data.csv');
  await studio.ciel('environment', 'create', '--file', 'env.yml');
  await studio.ciel('component', 'create', '--file', 'train.yml');
  const job = JSON.parse(await studio.ciel('job', 'create', '--file', 'job.yml', '-o', 'json')).name;
  await studio.ciel('job', 'stream', '--name', job);
  studio.job = job;
  await studio.ciel('model', 'create', '--name', 'bc-model', '--version', '1', '--path', `azureml://jobs/${job}/outputs/model`);
  await studio.ciel('online-endpoint', 'create', '--file', 'ep.yml');
  await studio.ciel('online-deployment', 'create', '--file', 'blue.yml', '--all-traffic');
  console.log(`environment built, model trained and served in ${Date.now() - t0} ms`);
});

after(async () => {
  await studio?.stop();
});

/** write puts a file under the work folder. */
function write(rel, text) {
  const file = path.join(studio.dir, rel);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
}

/** The first rows of scikit-learn's breast cancer data set (30 features). */
const row = [17.99, 10.38, 122.8, 1001, 0.1184, 0.2776, 0.3001, 0.1471, 0.2419, 0.07871, 1.095, 0.9053, 8.589, 153.4, 0.006399, 0.04904, 0.05373, 0.01587, 0.03003, 0.006193, 25.38, 17.33, 184.6, 2019, 0.1622, 0.6656, 0.7119, 0.2654, 0.4601, 0.1189];

test("an endpoint's live charts show a burst of requests, and its deployment's log shows the worker's lines", async () => {
  const page = await studio.page();
  const t = Date.now();
  await page.goto(`${studio.url}/workspaces/ws/endpoints/bc-svc`);
  await page.locator('#deployments tbody tr[data-deployment="blue"]').waitFor();
  console.log(`page up in ${Date.now() - t} ms`);
  // The stream sends a sample a second: the readout appears with it.
  await page.locator('#live-readout tr[data-deployment="blue"]').waitFor({ timeout: 15_000 });

  // A burst through the API's score route (the Test panel's), which
  // scores at the scoring URI with the endpoint's key.
  const score = `${studio.api}/api/v1/workspaces/ws/online-endpoints/bc-svc/score`;
  const t0 = Date.now();
  let ok = 0;
  while (Date.now() - t0 < 3000) {
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => fetch(score, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ input_data: [row] }) }).then(async (r) => [r.status, await r.text()])),
    );
    for (const [status, body] of answers) {
      assert.equal(status, 200, body);
      assert.equal(body, '[0]');
      ok++;
    }
  }
  console.log(`${ok} requests scored in ${Date.now() - t0} ms`);

  // The charts' peaks (data-peak, the most a series reached in the
  // window) show the burst; the readout's total counts every request.
  await page.waitForFunction(() => Number(document.querySelector('#live-rps')?.dataset.peak) > 0 && Number(document.querySelector('#live-p50')?.dataset.peak) > 0, null, { timeout: 10_000 });
  await page.waitForFunction((n) => Number(document.querySelector('#live-readout tr[data-deployment="blue"] td.total')?.textContent) >= n, ok, { timeout: 10_000 });
  const peaks = await page.evaluate(() => Object.fromEntries(['rps', 'p50', 'p99', 'errors'].map((id) => [id, Number(document.getElementById(`live-${id}`).dataset.peak)])));
  console.log('chart peaks', JSON.stringify(peaks), `${Date.now() - t} ms after the page opened`);
  assert.ok(peaks.rps > 0 && peaks.p50 > 0 && peaks.p99 >= peaks.p50, JSON.stringify(peaks));
  assert.equal(peaks.errors, 0);
  assert.ok((await page.locator('#live-rps canvas').count()) > 0, 'the requests/s chart is drawn');
  await page.locator('#live-metrics').scrollIntoViewIfNeeded();
  await studio.shot(page, 'assets-endpoint-live');

  // The deployment's log: what `ciel online-deployment get-logs` prints.
  const cli = await studio.ciel('online-deployment', 'get-logs', '--name', 'blue', '--endpoint-name', 'bc-svc');
  assert.match(cli, /model loaded/);
  const log = page.locator('#deployment-logs pre.log');
  await page.waitForFunction(() => /model loaded/.test(document.querySelector('#deployment-logs pre.log')?.textContent ?? ''), null, { timeout: 10_000 });
  assert.match(await log.textContent(), /\[ciel\] deployment blue is ready/);
  assert.deepEqual(page.errors, []);
  console.log(`log shown ${Date.now() - t} ms after the page opened`);
  await page.locator('#deployment-logs').scrollIntoViewIfNeeded();
  await studio.shot(page, 'assets-deployment-log');
  console.log(`screenshots taken ${Date.now() - t} ms after the page opened`);
});

test("an environment's page shows its definition and the build log of the job that built it", async () => {
  const page = await studio.page();
  await page.goto(`${studio.url}/workspaces/ws/environments`);
  await page.locator('#environments-list tbody tr[data-name="sklearn-env"]').waitFor();
  await page.getByRole('link', { name: 'sklearn-env', exact: true }).click();
  await page.waitForURL(/\/workspaces\/ws\/environments\/sklearn-env\/1$/);
  await page.locator('#build-log').waitFor();
  const text = await page.locator('#build-log').textContent();
  assert.match(text, /building environment [0-9a-f]{12}/);
  assert.match(text, /environment ready in/);
  assert.match(await page.locator('pre.definition').first().textContent(), /scikit-learn==1\.9\.1/);
  assert.match(await page.locator('dl.kv').textContent(), /openmpi4\.1\.0-ubuntu22\.04/);
  assert.deepEqual(page.errors, []);
  await studio.shot(page, 'assets-environment');
});

test('the data, components and computes lists show what the CLI created, and their pages open', async () => {
  const page = await studio.page();
  await page.goto(`${studio.url}/workspaces/ws/data`);
  await page.locator('#data-list tbody tr[data-name="training_data"]').waitFor();
  assert.match(await page.locator('#data-list tbody tr[data-name="training_data"]').textContent(), /uri_file/);
  await page.getByRole('link', { name: 'training_data', exact: true }).click();
  await page.waitForURL(/\/workspaces\/ws\/data\/training_data\/1$/);
  // The job that read it, linked.
  await page.locator(`#data-jobs a[href="/workspaces/ws/jobs/${studio.job}"]`).waitFor();
  await studio.shot(page, 'assets-data');

  await page.getByRole('link', { name: 'Components', exact: true }).click();
  await page.waitForURL(/\/workspaces\/ws\/components$/);
  await page.locator('#components-list tbody tr[data-name="train_model"]').waitFor();
  await page.getByRole('link', { name: 'train_model', exact: true }).click();
  await page.waitForURL(/\/workspaces\/ws\/components\/train_model\/1$/);
  await page.locator('#component-inputs tr[data-port="max_iter"]').waitFor();
  assert.match(await page.locator('#component-inputs tr[data-port="max_iter"]').textContent(), /integer\s*1000/);
  assert.match(await page.locator('#component-outputs').textContent(), /model\s*uri_folder/);
  assert.match(await page.locator('#component-command').textContent(), /python train\.py --data \$\{\{inputs\.data\}\}/);
  await page.getByRole('link', { name: 'azureml:sklearn-env:1' }).waitFor();
  await studio.shot(page, 'assets-component');

  await page.getByRole('link', { name: 'Computes', exact: true }).click();
  await page.locator('#computes-list tbody tr[data-name="cpu-cluster"]').waitFor();
  assert.match(await page.locator('#computes-list tbody tr[data-name="cpu-cluster"]').textContent(), /amlcompute\s*Standard_DS3_v2\s*0–2/);
  await page.getByRole('link', { name: 'cpu-cluster', exact: true }).click();
  await page.waitForURL(/\/workspaces\/ws\/computes\/cpu-cluster$/);
  await page.locator('dl.kv', { hasText: 'Max instances' }).waitFor();
  assert.match(await page.locator('dl.kv').textContent(), /Max instances\s*2/);
  assert.deepEqual(page.errors, []);
  await studio.shot(page, 'assets-compute');
});
