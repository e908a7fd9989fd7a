// A run's artifacts browser: the tree of its files (folders listed when
// opened), each downloadable, and a preview of the one picked: the head of
// a text file, an image (SVG too, as an <img>, so its scripts never run),
// JSON formatted and foldable, a CSV's first rows as a table, and an
// MLmodel's flavors and signature. Previews read a bounded head of the
// file (an HTTP Range request), so a large artifact never fills the page.
import { artifactBase, modelSource, runArtifacts, runSource, type ArtifactFile, type ArtifactSource } from '../api_runs';
import { h, replace, type Child } from '../dom';
import { errorBox, kv } from '../parts';
import { setQuery } from '../router';
import { parseCSV, parseMLmodel, type MLmodel, type SigColumn } from './artifact_formats';
import './artifacts.css';

/** Bytes read for a text, CSV or MLmodel preview. */
export const textLimit = 64 * 1024;
/** Bytes read for a JSON preview (parsed whole, so bounded: beyond it, shown as text). */
const jsonLimit = 1024 * 1024;
/** Images larger than this are not previewed, only offered for download. */
const imageLimit = 10 * 1024 * 1024;
/** Rows of a CSV shown. */
const csvRows = 100;

const imageTypes: Record<string, string> = { png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', svg: 'image/svg+xml', webp: 'image/webp', bmp: 'image/bmp' };

const ext = (p: string) => (/\.([A-Za-z0-9]+)$/.exec(p)?.[1] ?? '').toLowerCase();
const base = (p: string) => p.slice(p.lastIndexOf('/') + 1);

/** size is a byte count for people. */
export function size(n?: number | null): string {
  if (n === undefined || n === null) return '';
  if (n < 1024) return `${n} B`;
  const u = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < u.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${u[i]}`;
}

/**
 * artifactsPanel browses run's artifacts (artifactURI is the run's
 * artifact root); the file picked is kept as ?artifact= in the URL. It
 * returns the panel and a dispose that frees the image it holds.
 */
export function artifactsPanel(ws: string, run: string, experiment: string, artifactURI: string | undefined, q: URLSearchParams): { el: HTMLElement; dispose: () => void } {
  const root = artifactBase(ws, artifactURI);
  const tree = h('ul', { class: 'artifact-tree', id: 'artifact-tree', 'aria-label': 'Artifacts' });
  const preview = h('div', { class: 'artifact-preview', id: 'artifact-preview', 'aria-live': 'polite' }, h('p', { class: 'muted' }, 'Pick a file to preview it.'));
  const el = h('section', { class: 'artifacts' }, h('h2', null, 'Artifacts'), h('div', { class: 'artifact-panes' }, h('nav', { class: 'artifact-nav' }, tree), preview));
  let blobURL = '';
  let ctl: AbortController | undefined;
  const dispose = () => {
    ctl?.abort();
    if (blobURL) URL.revokeObjectURL(blobURL);
    blobURL = '';
  };
  if (!root) {
    replace(el, h('h2', null, 'Artifacts'), h('p', { class: 'muted' }, artifactURI ? `This run keeps its artifacts outside ciel (${artifactURI}).` : 'This run has no artifact location.'));
    return { el, dispose };
  }
  const want = q.get('artifact') ?? '';
  const own = runSource(ws, run, root);
  const models = h('ul', { class: 'artifact-tree', id: 'logged-models', 'aria-label': 'Logged models' });
  const modelsBox = h('div', { hidden: true }, h('h3', { class: 'small' }, 'Logged models'), models);
  tree.after(modelsBox);

  /** fill lists folder dir of src into list ul, opening the folders on the way to want. */
  async function fill(ul: HTMLElement, src: ArtifactSource, dir: string): Promise<number> {
    replace(ul, h('li', { class: 'muted' }, 'Loading…'));
    let files: ArtifactFile[];
    try {
      files = await src.list(dir);
    } catch (e) {
      replace(ul, h('li', null, errorBox(e)));
      return 0;
    }
    if (!files.length) {
      replace(ul, h('li', { class: 'muted' }, dir ? 'Empty folder.' : 'No artifact logged.'));
      return 0;
    }
    // Folders first, each group by name.
    files.sort((a, b) => Number(!!b.is_dir) - Number(!!a.is_dir) || a.path.localeCompare(b.path));
    replace(ul, files.map((f) => (f.is_dir ? folder(f.path, base(f.path), src) : file(f, src))));
    return files.length;
  }

  /** folder is a folder of src that lists itself when first opened; label names it in the tree. */
  function folder(dir: string, label: string, src: ArtifactSource): HTMLElement {
    const sub = h('ul', { hidden: true });
    const key = src.key + dir;
    const btn = h('button', { type: 'button', class: 'artifact-dir', 'aria-expanded': 'false', 'data-path': key }, label);
    let loaded = false;
    const open = (yes: boolean) => {
      btn.setAttribute('aria-expanded', String(yes));
      sub.hidden = !yes;
      if (yes && !loaded) {
        loaded = true;
        void fill(sub, src, dir);
      }
    };
    btn.addEventListener('click', () => open(btn.getAttribute('aria-expanded') !== 'true'));
    if (want.startsWith(key.endsWith('/') ? key : `${key}/`)) open(true);
    return h('li', null, btn, sub);
  }

  function file(f: ArtifactFile, src: ArtifactSource): HTMLElement {
    const key = src.key + f.path;
    const btn = h('button', { type: 'button', class: 'artifact-file', 'data-path': key }, base(f.path));
    btn.addEventListener('click', () => {
      el.querySelectorAll('.artifact-file[aria-current]').forEach((b) => b.removeAttribute('aria-current'));
      btn.setAttribute('aria-current', 'true');
      const nq = new URLSearchParams(location.search);
      nq.set('artifact', key);
      setQuery(nq);
      void show(f, src);
    });
    if (key === want) queueMicrotask(() => btn.click());
    return h('li', null, btn, h('span', { class: 'muted small' }, ` ${size(f.file_size)}`));
  }

  async function show(f: ArtifactFile, src: ArtifactSource): Promise<void> {
    dispose();
    ctl = new AbortController();
    const signal = ctl.signal;
    const url = src.url(f.path);
    const head = h(
      'div',
      { class: 'artifact-head' },
      h('code', null, f.path),
      h('span', { class: 'muted small' }, size(f.file_size)),
      h('a', { href: url, download: base(f.path), class: 'button', id: 'artifact-download' }, 'Download'),
    );
    const body = h('div', { class: 'artifact-body' }, h('p', { class: 'muted' }, 'Loading…'));
    replace(preview, head, body);
    try {
      const content = await render(f, url, signal);
      if (!signal.aborted) replace(body, content);
    } catch (e) {
      if (!signal.aborted) replace(body, errorBox(e));
    }
    // For tests and assistive tools: the preview is drawn.
    if (!signal.aborted) body.setAttribute('data-ready', 'true');
  }

  async function render(f: ArtifactFile, url: string, signal: AbortSignal): Promise<Child> {
    const x = ext(f.path);
    const kind = base(f.path) === 'MLmodel' ? 'mlmodel' : imageTypes[x] ? 'image' : x === 'json' ? 'json' : x === 'csv' || x === 'tsv' ? 'csv' : 'text';
    preview.setAttribute('data-kind', kind);
    if (kind === 'image') {
      if ((f.file_size ?? 0) > imageLimit) return h('p', { class: 'muted' }, `An image of ${size(f.file_size)}: too large to preview (over ${size(imageLimit)}); download it.`);
      const r = await runArtifacts.head(url, imageLimit, signal);
      // A blob of the image's own type: the proxy serves every file as
      // octet-stream, and an SVG shown through <img> runs no script.
      blobURL = URL.createObjectURL(new Blob([r.bytes as BlobPart], { type: imageTypes[x] }));
      return h('img', { src: blobURL, alt: `Artifact ${f.path}`, class: 'artifact-image' });
    }
    const limit = kind === 'json' ? jsonLimit : textLimit;
    const r = await runArtifacts.head(url, limit, signal);
    const cut = r.truncated ? h('p', { class: 'muted small artifact-cut' }, `Showing the first ${size(r.bytes.length)} of ${r.size !== null ? size(r.size) : 'a longer file'}; download it for the rest.`) : null;
    if (kind === 'text' && r.bytes.subarray(0, 8192).includes(0)) return h('p', { class: 'muted' }, 'A binary file: no preview; download it.');
    const text = new TextDecoder('utf-8', { fatal: false }).decode(r.bytes);
    if (kind === 'json' && !r.truncated) {
      try {
        return [h('div', { class: 'json-view', id: 'json-view' }, jsonNode(JSON.parse(text), 0)), cut];
      } catch (e) {
        return [h('p', { class: 'error' }, `Not valid JSON (${(e as Error).message}); shown as text.`), h('pre', { class: 'artifact-text' }, text)];
      }
    }
    if (kind === 'csv') return [csvTable(text, r.truncated, x === 'tsv' ? '\t' : ','), cut];
    if (kind === 'mlmodel') return [mlmodelView(parseMLmodel(text)), h('details', null, h('summary', null, 'MLmodel file'), h('pre', { class: 'artifact-text' }, text)), cut];
    return [h('pre', { class: 'artifact-text', id: 'artifact-text' }, text), cut];
  }

  // The run's own files, then the models it logged (MLflow 3 keeps those
  // apart): the preview pane shows once either has something.
  const ownCount = fill(tree, own, '');
  const modelCount = runArtifacts.loggedModels(ws, experiment, run).then(
    (ms) => {
      replace(models, ms.map((m) => folder('', `${m.info.name} (${m.info.model_id})`, modelSource(ws, m.info.model_id))));
      modelsBox.hidden = !ms.length;
      return ms.length;
    },
    () => 0,
  );
  void Promise.all([ownCount, modelCount]).then(([a, b]) => (preview.hidden = a + b === 0));
  return { el, dispose };
}

/** jsonNode renders a parsed JSON value: objects and arrays as foldable <details>, open for the first levels. */
function jsonNode(v: unknown, depth: number): Child {
  if (v === null || typeof v !== 'object') return h('span', { class: `json-${v === null ? 'null' : typeof v}` }, JSON.stringify(v));
  const entries: [string, unknown][] = Array.isArray(v) ? v.map((x, i) => [String(i), x]) : Object.entries(v as Record<string, unknown>);
  const label = Array.isArray(v) ? `[${entries.length}]` : `{${entries.length}}`;
  if (!entries.length) return h('span', null, Array.isArray(v) ? '[]' : '{}');
  return h(
    'details',
    { open: depth < 2 },
    h('summary', null, label),
    h(
      'ul',
      null,
      entries.map(([k, x]) => h('li', null, h('span', { class: 'json-key' }, Array.isArray(v) ? `${k}: ` : `${JSON.stringify(k)}: `), jsonNode(x, depth + 1))),
    ),
  );
}

/** csvTable is the first csvRows rows of a CSV head (a cut last line dropped), its first row the header. */
function csvTable(text: string, truncated: boolean, sep: string): HTMLElement {
  const rows = parseCSV(text, sep, csvRows + 1, truncated);
  if (!rows.length) return h('p', { class: 'muted' }, 'An empty file.');
  const [head, ...rest] = rows;
  return h(
    'div',
    { class: 'scroll-x' },
    h(
      'table',
      { class: 'grid compact', id: 'csv-preview' },
      h('caption', { class: 'muted small' }, `First ${rest.length} rows`),
      h('thead', null, h('tr', null, head.map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null, rest.map((r) => h('tr', null, r.map((c) => h('td', null, c))))),
    ),
  );
}

/** mlmodelView shows an MLmodel's facts, its flavors and its signature's inputs and outputs as tables. */
function mlmodelView(m: MLmodel): Child {
  const sig = (title: string, id: string, cols: SigColumn[] | null) =>
    cols
      ? h(
          'table',
          { class: 'grid compact', id },
          h('caption', null, title),
          h('thead', null, h('tr', null, ['Name', 'Type', 'Shape', 'Required'].map((c) => h('th', { scope: 'col' }, c)))),
          h('tbody', null, cols.map((c) => h('tr', null, h('td', null, c.name ?? h('span', { class: 'muted' }, '(unnamed)')), h('td', null, c.type), h('td', null, c.shape ?? ''), h('td', null, c.required === false ? 'no' : 'yes')))),
        )
      : null;
  return h(
    'div',
    { class: 'mlmodel-view', id: 'mlmodel-view' },
    kv(Object.entries(m.facts).map(([k, v]) => [k, v])),
    h('h3', null, 'Flavors'),
    h('ul', { id: 'mlmodel-flavors' }, Object.entries(m.flavors).map(([name, attrs]) => h('li', null, h('strong', null, name), attrs.length ? h('span', { class: 'muted small' }, ` ${attrs.join(', ')}`) : null))),
    h('h3', null, 'Signature'),
    m.inputs || m.outputs ? [sig('Inputs', 'sig-inputs', m.inputs), sig('Outputs', 'sig-outputs', m.outputs)] : h('p', { class: 'muted' }, 'The model has no signature.'),
  );
}
