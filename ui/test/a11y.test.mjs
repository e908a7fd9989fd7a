// Browser tests of the studio on a phone, with the keyboard, in both
// themes, against the real ciel binary: the main pages (workspaces, jobs, a
// pipeline job's graph, experiments, a run, models, endpoints) at a 390x844
// viewport in light and dark colour schemes do not scroll sideways (wide
// tables scroll in their own box), have text that contrasts with what is
// behind it, and give every link, button and field a name (as Chromium's
// accessibility tree computes it); the two schemes differ. Tab reaches the
// navigation and a job's row, and Enter opens the job. Screenshots of the
// job page on a phone, light and dark, go under ui/test-results/.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Studio } from './harness.mjs';

const testdata = path.join(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), 'testdata');
const phone = { width: 390, height: 844 };
let studio;
let job;
let runID;

before(async () => {
  studio = await Studio.start();
  copyFileSync(path.join(testdata, 'pipeline.yml'), path.join(studio.dir, 'pipeline.yml'));
  copyFileSync(path.join(testdata, 'log_metrics.py'), path.join(studio.dir, 'log_metrics.py'));
  job = (await studio.ciel('job', 'create', '--file', 'pipeline.yml', '--query', 'name', '-o', 'tsv')).trim();
  const out = await studio.python('log_metrics.py');
  runID = (/^ids: \S+ (\S+)$/m.exec(out) ?? assert.fail(`no ids in: ${out}`))[1];
  mkdirSync(path.join(studio.dir, 'mdl'), { recursive: true });
  writeFileSync(path.join(studio.dir, 'mdl', 'model.txt'), 'a model\n');
  await studio.ciel('model', 'create', '--name', 'phone-model', '--path', 'mdl');
  writeFileSync(path.join(studio.dir, 'ep.yml'), 'name: phone-ep\nauth_mode: key\n');
  await studio.ciel('online-endpoint', 'create', '--file', 'ep.yml');
  await studio.ciel('job', 'stream', '--name', job);
});

after(async () => {
  await studio?.stop();
});

/** pages are the main pages, each with what shows once its data is in. */
const pages = () => [
  { name: 'workspaces', path: '/workspaces', ready: (p) => p.getByRole('link', { name: 'ws', exact: true }) },
  { name: 'jobs', path: '/workspaces/ws/jobs', ready: (p) => p.locator('#jobs tbody tr', { hasText: 'studio diamond' }) },
  { name: 'job', path: `/workspaces/ws/jobs/${job}`, ready: (p) => p.locator('svg.graph g.node[data-step="pick"][data-status="Completed"]') },
  { name: 'experiments', path: '/workspaces/ws/experiments', ready: (p) => p.getByRole('link', { name: 'studio-chart' }) },
  { name: 'run', path: `/workspaces/ws/runs/${runID}`, ready: (p) => p.locator('#chart[data-points]') },
  { name: 'models', path: '/workspaces/ws/models', ready: (p) => p.getByRole('link', { name: 'phone-model' }) },
  { name: 'endpoints', path: '/workspaces/ws/endpoints', ready: (p) => p.getByRole('link', { name: 'phone-ep' }) },
];

/** open opens a studio page on a phone in scheme and waits for its data. */
async function open(pg, scheme) {
  const page = await studio.page(phone);
  await page.emulateMedia({ colorScheme: scheme });
  await page.goto(studio.url + pg.path);
  await pg.ready(page).first().waitFor({ timeout: 20_000 });
  return page;
}

/** overflow lists what sticks out past the viewport's right edge, when the page scrolls sideways. */
const overflow = (page) =>
  page.evaluate(() => {
    const se = document.scrollingElement;
    if (se.scrollWidth <= innerWidth) return null;
    const wide = [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > innerWidth + 1)
      .filter((e) => !e.parentElement || e.parentElement.getBoundingClientRect().right <= innerWidth + 1)
      .slice(0, 5)
      .map((e) => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}${e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\s+/).join('.') : ''} (right ${Math.round(e.getBoundingClientRect().right)})`);
    return { scrollWidth: se.scrollWidth, innerWidth, wide };
  });

/**
 * lowContrast lists the visible texts whose colour contrasts less than 4.5:1
 * (WCAG AA) with the background they are drawn on, and returns the page's
 * own background and text colours. Disabled controls, which WCAG exempts,
 * are left out.
 */
const contrast = (page) =>
  page.evaluate(() => {
    const rgb = (c) => {
      const m = /rgba?\(([^)]+)\)/.exec(c);
      if (!m) return null;
      const [r, g, b, a = 1] = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
      return { r, g, b, a };
    };
    const lum = ({ r, g, b }) => {
      const f = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const ratio = (a, b) => {
      const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
      return (x + 0.05) / (y + 0.05);
    };
    const over = (top, under) => ({
      r: top.r * top.a + under.r * (1 - top.a),
      g: top.g * top.a + under.g * (1 - top.a),
      b: top.b * top.a + under.b * (1 - top.a),
      a: 1,
    });
    const background = (el) => {
      const layers = [];
      for (let e = el; e; e = e.parentElement) {
        const c = rgb(getComputedStyle(e).backgroundColor);
        if (c && c.a > 0) layers.push(c);
        if (c && c.a === 1) break;
      }
      let bg = { r: 255, g: 255, b: 255, a: 1 };
      for (const l of layers.reverse()) bg = over(l, bg);
      return bg;
    };
    const low = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.parentElement;
      const text = n.textContent.trim();
      if (!text || !el || el.closest('svg, canvas, .sr-only, .skip, :disabled, [aria-disabled="true"]')) continue;
      const box = el.getBoundingClientRect();
      const cs = getComputedStyle(el);
      if (box.width === 0 || box.height === 0 || cs.visibility === 'hidden' || Number(cs.opacity) === 0) continue;
      const bg = background(el);
      const fg = over(rgb(cs.color), bg);
      const r = ratio(fg, bg);
      if (r < 4.5) low.push(`${el.tagName.toLowerCase()}.${el.className} "${text.slice(0, 30)}": ${r.toFixed(2)} (${cs.color} on rgb(${Math.round(bg.r)}, ${Math.round(bg.g)}, ${Math.round(bg.b)}))`);
    }
    const body = getComputedStyle(document.body);
    return { low, bg: body.backgroundColor, fg: body.color };
  });

/** interactive are the roles of what a user operates, which must have a name. */
const interactive = new Set([
  'link', 'button', 'textbox', 'searchbox', 'checkbox', 'radio', 'combobox', 'listbox', 'spinbutton',
  'slider', 'switch', 'tab', 'menuitem', 'option', 'treeitem',
]);

/** unnamed lists the operable elements to which Chromium's accessibility tree gives no name. */
async function unnamed(page) {
  const cdp = await page.context().newCDPSession(page);
  const { nodes } = await cdp.send('Accessibility.getFullAXTree');
  const out = [];
  for (const n of nodes) {
    const role = n.role?.value;
    if (n.ignored || !interactive.has(role) || (n.name?.value ?? '').trim() !== '') continue;
    let what = `backend node ${n.backendDOMNodeId}`;
    try {
      const { node } = await cdp.send('DOM.describeNode', { backendNodeId: n.backendDOMNodeId });
      what = `<${node.localName} ${(node.attributes ?? []).join(' ')}>`;
    } catch {
      // a node gone since the snapshot: named by its id
    }
    out.push(`${role} ${what}`);
  }
  await cdp.detach();
  return out;
}

test('on a phone, in light and dark, the main pages fit the screen, contrast, and name every control', async () => {
  const failures = [];
  for (const pg of pages()) {
    const seen = {};
    for (const scheme of ['light', 'dark']) {
      const page = await open(pg, scheme);
      const where = `${pg.name} (${scheme})`;
      const o = await overflow(page);
      if (o) failures.push(`${where}: the page scrolls sideways, ${o.scrollWidth} px wide in ${o.innerWidth}: ${o.wide.join(', ')}`);
      const c = await contrast(page);
      seen[scheme] = c;
      for (const l of c.low) failures.push(`${where}: low contrast ${l}`);
      for (const u of await unnamed(page)) failures.push(`${where}: no accessible name: ${u}`);
      if (page.errors.length) failures.push(`${where}: console errors ${page.errors.join('; ')}`);
      if (pg.name === 'job') console.log('screenshot:', await studio.shot(page, `phone-${scheme}`));
      await page.context().close();
    }
    if (seen.light.bg === seen.dark.bg || seen.light.fg === seen.dark.fg) {
      failures.push(`${pg.name}: light and dark look the same: ${JSON.stringify(seen.light)} ${JSON.stringify(seen.dark)}`);
    }
  }
  assert.deepEqual(failures, []);
});

test('Tab reaches the navigation and a job row, and Enter opens the job', async () => {
  const page = await studio.page(phone);
  await page.goto(`${studio.url}/workspaces/ws/jobs`);
  const row = page.locator('#jobs tbody tr', { hasText: 'studio diamond' });
  await row.waitFor();
  const reached = [];
  let onJob = false;
  for (let i = 0; i < 40 && !onJob; i++) {
    await page.keyboard.press('Tab');
    const f = await page.evaluate(() => {
      const e = document.activeElement;
      return { text: e?.textContent?.trim() ?? '', href: e?.getAttribute('href') ?? '', inNav: !!e?.closest('nav.top'), inJobs: !!e?.closest('#jobs tbody') };
    });
    reached.push(f);
    onJob = f.inJobs && f.href.endsWith(`/jobs/${job}`);
  }
  const nav = reached.filter((f) => f.inNav).map((f) => f.text);
  for (const want of ['Jobs', 'Experiments', 'Models', 'Endpoints']) {
    assert.ok(nav.includes(want), `Tab never reached the ${want} link; it reached ${JSON.stringify(reached.map((f) => f.text))}`);
  }
  assert.ok(onJob, `Tab never reached the job's row: ${JSON.stringify(reached.map((f) => f.text))}`);
  // The focused element shows it is focused.
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, 'none', 'the focused job link has no focus outline');
  await page.keyboard.press('Enter');
  await page.waitForURL(`**/workspaces/ws/jobs/${job}`);
  await page.locator('svg.graph g.node[data-step="pick"]').waitFor();
  // On the job page, Tab reaches the graph's nodes too.
  let onNode = false;
  for (let i = 0; i < 40 && !onNode; i++) {
    await page.keyboard.press('Tab');
    onNode = await page.evaluate(() => !!document.activeElement?.closest('svg.graph g.node'));
  }
  assert.ok(onNode, 'Tab never reached a node of the pipeline graph');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});
