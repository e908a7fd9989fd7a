// Browser tests of the studio's online endpoint pages against the real
// ciel binary: an endpoint with two deployments (scoring scripts on the
// host's python3, which start in about a second), its traffic split
// changed in the page and read back with `ciel online-endpoint show`, and
// the Test panel scoring a request. Screenshots go under ui/test-results/.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Studio } from './harness.mjs';

let studio;

before(async () => {
  studio = await Studio.start();
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

test("an endpoint's traffic split changed in the studio is what `ciel online-endpoint show` shows, and the Test panel scores", async () => {
  const t0 = Date.now();
  write('model.pkl', 'not really a model');
  write('ep.yml', 'name: svc\nauth_mode: key\n');
  for (const d of ['blue', 'green']) {
    write(`${d}/score.py`, `import json\ndef init():\n    pass\ndef run(raw):\n    return {"from": "${d}", "got": json.loads(raw)}\n`);
    write(`${d}.yml`, `name: ${d}\nendpoint_name: svc\nmodel: ./model.pkl\ncode_configuration:\n  code: ./${d}\n  scoring_script: score.py\n`);
  }
  await studio.ciel('online-endpoint', 'create', '--file', 'ep.yml');
  await studio.ciel('online-deployment', 'create', '--file', 'blue.yml', '--all-traffic');
  await studio.ciel('online-deployment', 'create', '--file', 'green.yml');
  console.log(`endpoint with two deployments up in ${Date.now() - t0} ms`);

  const page = await studio.page();
  await page.goto(`${studio.url}/workspaces/ws/endpoints`);
  await page.locator('#endpoints tbody tr', { hasText: 'blue=100' }).waitFor();
  await page.getByRole('link', { name: 'svc', exact: true }).click();
  await page.waitForURL(/\/workspaces\/ws\/endpoints\/svc$/);
  await page.locator('#deployments tbody tr').nth(1).waitFor();
  assert.deepEqual(await page.locator('#deployments tbody tr').evaluateAll((rs) => rs.map((r) => r.dataset.deployment)), ['blue', 'green']);
  assert.equal(await page.locator('#traffic-now').textContent(), 'blue=100');

  // A split that does not add up to 100 cannot be saved.
  const blue = page.getByLabel('blue', { exact: true });
  const green = page.getByLabel('green', { exact: true });
  const save = page.getByRole('button', { name: 'Save traffic' });
  await green.fill('30');
  assert.equal(await save.isDisabled(), true);
  assert.match(await page.locator('#traffic output.sum').textContent(), /Total 130%/);
  await blue.fill('70');
  assert.equal(await save.isDisabled(), false);
  await save.click();
  await page.locator('#traffic-now', { hasText: 'blue=70 green=30' }).waitFor();
  await page.locator('.traffic-msg', { hasText: 'Saved' }).waitFor();

  const shown = JSON.parse(await studio.ciel('online-endpoint', 'show', '--name', 'svc', '-o', 'json'));
  assert.deepEqual(shown.traffic, { blue: 70, green: 30 });

  // The Test panel scores a request with the deployment picked, and shows the answer.
  await page.locator('#score-body').fill('{"data": [[4, 5]]}');
  await page.locator('#score-deployment').selectOption('green');
  await page.locator('#score-send').click();
  const answer = page.locator('pre.score-answer');
  await answer.waitFor();
  assert.equal(await answer.getAttribute('data-status'), '200');
  assert.equal(await answer.getAttribute('data-deployment'), 'green');
  assert.deepEqual(JSON.parse(await answer.textContent()), { from: 'green', got: { data: [[4, 5]] } });
  console.log('screenshot:', await studio.shot(page, 'endpoint-traffic'));
  // Not JSON: refused in the page, nothing sent.
  await page.locator('#score-body').fill('{nope');
  await page.locator('#score-send').click();
  await page.locator('.test .error', { hasText: 'not JSON' }).waitFor();
  assert.deepEqual(page.errors, []);
  await page.context().close();
});
