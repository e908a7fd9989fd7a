// The browser tests' harness: a real ciel server in a throwaway CIEL_HOME,
// the ciel CLI against it, and headless Chromium (Debian's, driven by
// playwright-core; no browser download) on the studio.
//
// While the server does not serve the studio itself yet, the harness
// serves internal/ui/dist in front of it (and passes the API through), as
// the server will: index.html at every page URL, the assets under /assets.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, existsSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, '..', '..');
const dist = path.join(repo, 'internal', 'ui', 'dist');
export const results = path.join(repo, 'ui', 'test-results');

/** Studio is one test file's world: server, CLI, browser. */
export class Studio {
  /** start brings up ciel server, a workspace "ws", the studio's origin and Chromium. */
  static async start() {
    const s = new Studio();
    s.home = mkdtempSync(path.join(os.tmpdir(), 'ciel-studio-home-'));
    s.dir = mkdtempSync(path.join(os.tmpdir(), 'ciel-studio-work-'));
    await s.ciel('server', 'start', '--addr', '127.0.0.1:0');
    s.api = JSON.parse(await s.ciel('server', 'status', '-o', 'json')).url;
    await s.ciel('workspace', 'create', '--name', 'ws', '--resource-group', 'rg', '--location', 'eastus');
    await s.ciel('configure', '--defaults', 'workspace=ws');
    s.url = (await servesStudio(s.api)) ? s.api : await s.front();
    s.browser = await chromium.launch({
      executablePath: process.env.CIEL_CHROMIUM || 'chromium',
      headless: true,
      args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
    });
    mkdirSync(results, { recursive: true });
    return s;
  }

  /** ciel runs the CLI in the work folder and returns its stdout; it throws on a non-zero exit. */
  async ciel(...args) {
    const bin = process.env.CIEL_BIN || path.join(repo, 'bin', 'ciel');
    try {
      const { stdout } = await run(bin, args, { cwd: this.dir, env: this.env(), timeout: 120_000 });
      return stdout;
    } catch (e) {
      throw new Error(`ciel ${args.join(' ')}: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
    }
  }

  /** cielWith runs the CLI as ciel does, with extra environment variables. */
  async cielWith(extra, ...args) {
    const bin = process.env.CIEL_BIN || path.join(repo, 'bin', 'ciel');
    try {
      const { stdout } = await run(bin, args, { cwd: this.dir, env: this.env(extra), timeout: 120_000 });
      return stdout;
    } catch (e) {
      throw new Error(`ciel ${args.join(' ')}: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
    }
  }

  /** env is the environment of every command: this server, no token. */
  env(extra = {}) {
    return { ...process.env, CIEL_HOME: this.home, CIEL_URL: '', CIEL_TOKEN: '', ...extra };
  }

  /** page opens a new page of the given size (a laptop's by default), with console errors collected. */
  async page(viewport = { width: 1280, height: 900 }) {
    const ctx = await this.browser.newContext({ viewport, acceptDownloads: true });
    const page = await ctx.newPage();
    page.errors = [];
    page.on('pageerror', (e) => page.errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && page.errors.push(m.text()));
    return page;
  }

  /** shot saves a screenshot of page under ui/test-results and returns its path. */
  async shot(page, name) {
    const file = path.join(results, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    return file;
  }

  /**
   * tokenServer runs a second ciel server, in the foreground in its own
   * CIEL_HOME, that requires token, with a workspace "ws"; it returns its
   * URL and a stop function.
   */
  async tokenServer(token) {
    const home = mkdtempSync(path.join(os.tmpdir(), 'ciel-studio-token-'));
    const bin = process.env.CIEL_BIN || path.join(repo, 'bin', 'ciel');
    const env = { ...process.env, CIEL_HOME: home, CIEL_URL: '', CIEL_TOKEN: '' };
    const child = spawn(bin, ['server', 'run', '--addr', '127.0.0.1:0', '--token', token], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let errs = '';
    child.stderr.on('data', (d) => (errs += d));
    const stop = async () => {
      if (child.exitCode === null) {
        const done = new Promise((r) => child.once('exit', r));
        child.kill('SIGINT');
        await done;
      }
      rmSync(home, { recursive: true, force: true });
    };
    try {
      const url = await new Promise((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`no "listening on" from the server in 20 s: ${out}${errs}`)), 20_000);
        child.stdout.on('data', (d) => {
          out += d;
          const m = /listening on (\S+)/.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        });
        child.once('exit', (code) => reject(new Error(`server exited ${code}: ${out}${errs}`)));
      });
      await run(bin, ['workspace', 'create', '--name', 'ws', '--resource-group', 'rg', '--location', 'eastus'], {
        cwd: home,
        env: { ...env, CIEL_URL: url, CIEL_TOKEN: token },
        timeout: 60_000,
      });
      return { url, stop };
    } catch (e) {
      await stop();
      throw e;
    }
  }

  /** stop ends the browser, the front and the server, and removes the folders. */
  async stop() {
    await this.browser?.close().catch(() => {});
    await new Promise((r) => (this.server ? this.server.close(r) : r()));
    await this.ciel('server', 'stop').catch(() => {});
    rmSync(this.home, { recursive: true, force: true });
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** front serves the built studio on a free port and passes API calls to the ciel server. */
  async front() {
    const api = new URL(this.api);
    const index = readFileSync(path.join(dist, 'index.html'));
    this.server = http.createServer((req, res) => {
      const p = new URL(req.url, 'http://x').pathname;
      if (p.startsWith('/api/') || /^\/ws\/[^/]+\/(api|ajax-api)\//.test(p)) {
        const headers = { ...req.headers, host: api.host };
        for (const h of ['origin', 'referer', 'sec-fetch-site', 'sec-fetch-mode', 'sec-fetch-dest']) delete headers[h];
        const up = http.request({ host: api.hostname, port: api.port, method: req.method, path: req.url, headers }, (r) => {
          res.writeHead(r.statusCode, r.headers);
          r.pipe(res);
        });
        up.on('error', (e) => res.destroy(e));
        req.pipe(up);
        return;
      }
      const file = path.join(dist, path.normalize(p));
      if (p.startsWith('/assets/') && file.startsWith(dist) && existsSync(file)) {
        res.writeHead(200, { 'content-type': p.endsWith('.css') ? 'text/css' : 'text/javascript' });
        res.end(readFileSync(file));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(index);
    });
    await new Promise((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${this.server.address().port}`;
  }

  /** python runs a script with the project's .venv Python (mlflow installed) against workspace ws. */
  async python(script) {
    const py = process.env.CIEL_PYTHON || path.join(repo, '.venv', 'bin', 'python');
    const { stdout } = await run(py, [script], {
      cwd: this.dir,
      env: { ...this.env(), MLFLOW_TRACKING_URI: `${this.api}/ws/ws` },
      timeout: 120_000,
    });
    return stdout.trim();
  }
}

/** servesStudio tells whether the ciel server itself answers the studio's page at /. */
async function servesStudio(base) {
  try {
    const res = await fetch(`${base}/`, { headers: { Accept: 'text/html' } });
    return res.ok && (res.headers.get('content-type') ?? '').startsWith('text/html');
  } catch {
    return false;
  }
}

/**
 * curvePixels counts the pixels of the canvas at selector drawn in the
 * studio's first two series colours (blue, then red), so a test can tell
 * that both curves were drawn.
 */
export function curvePixels(page, selector) {
  return page.$eval(selector, (c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let blue = 0;
    let red = 0;
    for (let i = 0; i < d.length; i += 4) {
      if (d[i] < 80 && d[i + 1] > 100 && d[i + 2] > 200) blue++;
      if (d[i] > 200 && d[i + 1] < 120 && d[i + 2] < 120) red++;
    }
    return { blue, red };
  });
}
