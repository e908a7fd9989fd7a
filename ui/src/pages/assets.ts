// The asset pages: data, environments, components and computes of a
// workspace, each a list (one row per name, its latest version) and a
// page per version, at URLs a user can share. An environment's page shows
// its definition and the log of its build; a component's its interface and
// command; a data asset's its path and the jobs that read it; a compute's
// its size and instance settings.
import './assets.css';
import { api, type Job } from '../api';
import { assets, type Asset, type AssetKind } from '../api_assets';
import { h, replace, type Child } from '../dom';
import { when } from '../format';
import { crumbs, errorBox, kv, load, wsPath } from '../parts';
import type { Page, Params } from '../router';

/** What differs between the kinds: names, list columns and the detail panels. */
interface KindView {
  kind: AssetKind;
  title: string;
  singular: string;
  create: string;
  versioned: boolean;
  columns: [string, (a: Asset) => Child][];
  detail: (ws: string, a: Asset) => Child[];
}

/** byVersion orders versions numerically where they are numbers, newest first. */
const byVersion = (a: Asset, b: Asset) => {
  const x = Number(a.version);
  const y = Number(b.version);
  if (Number.isFinite(x) && Number.isFinite(y)) return y - x;
  return (b.version ?? '').localeCompare(a.version ?? '') || b.created_at.localeCompare(a.created_at);
};

/** latestByName keeps each name's newest version, with the count of its versions. */
function latestByName(list: Asset[]): { a: Asset; n: number }[] {
  const m = new Map<string, Asset[]>();
  for (const a of list) m.set(a.name, [...(m.get(a.name) ?? []), a]);
  return [...m.entries()].sort(([x], [y]) => x.localeCompare(y)).map(([, vs]) => ({ a: vs.sort(byVersion)[0], n: vs.length }));
}

const code = (s?: string) => (s ? h('code', null, s) : '');
const pre = (text: string, cls = 'definition', label?: string) => h('pre', { class: cls, tabindex: 0, 'aria-label': label ?? null }, text);

/** envLabel writes a component's environment reference. */
function envLabel(e: any): string {
  if (!e) return '';
  if (typeof e === 'string') return e;
  if (e.ref) return e.ref;
  if (e.inline) return e.inline.image ? `inline (${e.inline.image})` : 'inline';
  return '';
}

/** envLink links an azureml:name:version or name@latest reference to its environment page. */
function envLink(ws: string, ref: string): Child {
  const m = /^azureml:([^:@/]+)(?::([^:@/]+)|@latest)?$/.exec(ref);
  if (!m) return code(ref);
  return h('a', { href: wsPath(ws, 'environments', m[1], ...(m[2] ? [m[2]] : [])) }, h('code', null, ref));
}

/** portsTable lists a component's inputs or outputs. */
function portsTable(id: string, ports: Record<string, any> | undefined, withDefault: boolean): Child {
  const names = Object.keys(ports ?? {}).sort();
  if (!names.length) return h('p', { class: 'muted' }, 'None.');
  const cols = withDefault ? ['Name', 'Type', 'Default', 'Optional', 'Description'] : ['Name', 'Type', 'Mode', 'Description'];
  return h(
    'table',
    { class: 'grid', id },
    h('thead', null, h('tr', null, cols.map((c) => h('th', { scope: 'col' }, c)))),
    h(
      'tbody',
      null,
      names.map((n) => {
        const p = ports![n] ?? {};
        return h(
          'tr',
          { 'data-port': n },
          h('td', null, h('code', null, n)),
          h('td', null, p.type ?? ''),
          withDefault ? [h('td', null, p.default ?? ''), h('td', null, p.optional ? 'yes' : '')] : h('td', null, p.mode ?? ''),
          h('td', null, p.description ?? ''),
        );
      }),
    ),
  );
}

/** buildLogPanel shows an environment version's build log, or why there is none. */
function buildLogPanel(ws: string, a: Asset): HTMLElement {
  const box = h('div', { id: 'build-log-box' });
  load(box, assets.buildLog(ws, a.name, a.version ?? ''), (text) => {
    const el = pre(text, 'log build-log', `Build log of ${a.name}:${a.version}`);
    el.id = 'build-log';
    return el;
  });
  return box;
}

/** usedBy lists the workspace's jobs whose inputs name data asset a (azureml:name:version or name@latest). */
function usedBy(ws: string, a: Asset): HTMLElement {
  const box = h('div', { id: 'data-jobs' });
  const refs = [`azureml:${a.name}:${a.version}`, `${a.name}:${a.version}`];
  const latest = `azureml:${a.name}@latest`;
  const names = (v: unknown): string[] => {
    if (typeof v === 'string') return [v];
    if (v && typeof v === 'object') return Object.values(v as Record<string, unknown>).flatMap(names);
    return [];
  };
  const uses = (j: Job) => {
    const all = [...names(j.inputs), ...Object.values(j.jobs ?? {}).flatMap((s) => names(s.inputs))];
    return all.some((x) => refs.includes(x) || x === latest);
  };
  load(box, api.jobs(ws), (jobs: Job[]) => {
    const hits = jobs.filter(uses);
    if (!hits.length) return h('p', { class: 'muted' }, 'No job of this workspace names it in its inputs.');
    return h(
      'ul',
      null,
      hits.map((j) => h('li', null, h('a', { href: wsPath(ws, 'jobs', j.name) }, j.display_name || j.name), ' ', h('span', { class: 'muted small' }, `${j.status} · ${when(j.creation_context?.created_at)}`))),
    );
  });
  return box;
}

/** producedBy links the job a data path written as azureml://jobs/<job>/outputs/<o> came from. */
function producedBy(ws: string, path: string): Child {
  const m = /^azureml:\/\/jobs\/([^/]+)\/outputs\/([^/]+)/.exec(path ?? '');
  return m ? h('a', { href: wsPath(ws, 'jobs', m[1]) }, `job ${m[1]}, output ${m[2]}`) : '';
}

const views: Record<AssetKind, KindView> = {
  data: {
    kind: 'data',
    title: 'Data',
    singular: 'data asset',
    create: 'ciel data create --name <name> --path <path> --type uri_file',
    versioned: true,
    columns: [
      ['Type', (a) => a.spec.type ?? ''],
      ['Path', (a) => code(a.spec.path)],
    ],
    detail: (ws, a) => [
      kv([
        ['Type', a.spec.type],
        ['Path', code(a.spec.path)],
        ['Produced by', producedBy(ws, a.spec.path)],
        ['Description', a.spec.description],
        ['Tags', Object.entries(a.spec.tags ?? {}).map(([k, v]) => `${k}=${v}`).join(' ')],
        ['Created', when(a.created_at)],
      ]),
      h('h2', null, 'Jobs that read it'),
      usedBy(ws, a),
    ],
  },
  environments: {
    kind: 'environments',
    title: 'Environments',
    singular: 'environment',
    create: 'ciel environment create --file <env.yml>',
    versioned: true,
    columns: [
      ['Image', (a) => code(a.spec.image)],
      ['Defined by', (a) => (a.spec.conda_file ? 'conda file' : a.spec.build_path ? 'build context' : 'image')],
    ],
    detail: (ws, a) => [
      kv([
        ['Image', code(a.spec.image)],
        ['Build context', a.spec.build_path ? h('span', null, code(a.spec.build_path), a.spec.dockerfile_path ? [' · ', code(a.spec.dockerfile_path)] : '') : ''],
        ['OS', a.spec.os_type],
        ['Description', a.spec.description],
        ['Created', when(a.created_at)],
      ]),
      a.spec.conda_file ? [h('h2', null, 'Conda file'), pre(a.spec.conda_file, 'definition', 'Conda file')] : null,
      h('h2', null, 'Build log'),
      buildLogPanel(ws, a),
    ],
  },
  components: {
    kind: 'components',
    title: 'Components',
    singular: 'component',
    create: 'ciel component create --file <component.yml>',
    versioned: true,
    columns: [
      ['Type', (a) => a.spec.type ?? ''],
      ['Display name', (a) => a.spec.display_name ?? ''],
    ],
    detail: (ws, a) => [
      kv([
        ['Type', a.spec.type],
        ['Display name', a.spec.display_name],
        ['Environment', a.spec.environment ? envLink(ws, envLabel(a.spec.environment)) : ''],
        ['Code', code(a.spec.code)],
        ['Deterministic', a.spec.is_deterministic === false ? 'no' : 'yes'],
        ['Description', a.spec.description],
        ['Created', when(a.created_at)],
      ]),
      h('h2', null, 'Inputs'),
      portsTable('component-inputs', a.spec.inputs, true),
      h('h2', null, 'Outputs'),
      portsTable('component-outputs', a.spec.outputs, false),
      a.spec.command ? [h('h2', null, 'Command'), h('pre', { class: 'command', id: 'component-command' }, a.spec.command)] : null,
      a.spec.jobs ? [h('h2', null, 'Steps'), h('p', null, Object.keys(a.spec.jobs).sort().join(', '))] : null,
    ],
  },
  computes: {
    kind: 'computes',
    title: 'Computes',
    singular: 'compute',
    create: 'ciel compute create --name <name> --type local',
    versioned: false,
    columns: [
      ['Type', (a) => a.spec.type || 'local'],
      ['Size', (a) => a.spec.size ?? ''],
      ['Instances', (a) => instances(a)],
      ['Max concurrency', (a) => String(a.spec.max_concurrency ?? '')],
    ],
    detail: (_ws, a) => [
      kv([
        ['Type', a.spec.type || 'local'],
        ['Size', a.spec.size],
        ['Min instances', String(a.spec.min_instances ?? 0)],
        ['Max instances', a.spec.max_instances ? String(a.spec.max_instances) : ''],
        ['Max concurrency', a.spec.max_concurrency ? String(a.spec.max_concurrency) : ''],
        ['Description', a.spec.description],
        ['Created', when(a.created_at)],
      ]),
      h('p', { class: 'muted small' }, 'Locally every compute runs steps as processes; amlcompute\'s max_instances becomes how many run at once.'),
    ],
  },
};

/** instances writes a compute's min–max instance counts. */
function instances(a: Asset): string {
  const lo = a.spec.min_instances ?? 0;
  const hi = a.spec.max_instances;
  return hi ? `${lo}–${hi}` : '';
}

/** listPage lists a kind's assets, one row per name. */
function listPage(v: KindView) {
  return (p: Params): Page => {
    const ws = p.ws;
    const box = h('div', { class: 'reserve' });
    load(box, assets.list(ws, v.kind), (list: Asset[]) => {
      if (!list.length) return h('p', { class: 'muted' }, `No ${v.title.toLowerCase()} yet. Create one with: ${v.create}`);
      const head = ['Name', ...(v.versioned ? ['Version', 'Versions'] : []), ...v.columns.map(([c]) => c), 'Created'];
      return h(
        'table',
        { class: 'grid', id: `${v.kind}-list` },
        h('caption', { class: 'sr-only' }, `${v.title} of ${ws}`),
        h('thead', null, h('tr', null, head.map((c) => h('th', { scope: 'col' }, c)))),
        h(
          'tbody',
          null,
          latestByName(list).map(({ a, n }) =>
            h(
              'tr',
              { 'data-name': a.name },
              h('td', null, h('a', { href: wsPath(ws, v.kind, a.name, ...(v.versioned && a.version ? [a.version] : [])) }, a.name)),
              v.versioned ? [h('td', null, a.version ?? ''), h('td', { class: 'num' }, String(n))] : null,
              v.columns.map(([, f]) => h('td', null, f(a))),
              h('td', null, when(a.created_at)),
            ),
          ),
        ),
      );
    });
    return { title: `${v.title} · ${ws}`, el: h('section', null, crumbs(['Workspaces', '/'], [ws, wsPath(ws)], [v.title]), h('h1', null, v.title), box) };
  };
}

/** detailPage shows one version of an asset (the latest without :version), with links to its other versions. */
function detailPage(v: KindView) {
  return (p: Params): Page => {
    const { ws, name } = p;
    const version = v.versioned ? p.version : undefined;
    const box = h('div', { class: 'reserve' });
    const others = h('nav', { class: 'versions', 'aria-label': 'Versions' });
    load(box, assets.get(ws, v.kind, name, version), (a: Asset) => {
      if (v.versioned) {
        assets.versions(ws, v.kind, name).then(
          (vs) =>
            replace(
              others,
              h('span', { class: 'muted' }, 'Versions: '),
              vs.sort(byVersion).map((x, i) => [i ? ', ' : '', h('a', { href: wsPath(ws, v.kind, name, x.version ?? ''), 'aria-current': x.version === a.version ? 'page' : null }, x.version ?? '')]),
            ),
          (e) => replace(others, errorBox(e)),
        );
      }
      return [
        h('p', { class: 'muted small' }, code(a.id)),
        ...v.detail(ws, a),
        h('details', null, h('summary', null, 'Definition (JSON)'), pre(JSON.stringify(a.spec, (k, x) => (k === 'pos' ? undefined : x), 2))),
      ];
    });
    const label = version ? `${name}:${version}` : name;
    return {
      title: `${label} · ${v.title.toLowerCase()} · ${ws}`,
      el: h('section', null, crumbs(['Workspaces', '/'], [ws, wsPath(ws)], [v.title, wsPath(ws, v.kind)], [label]), h('h1', null, label), others, box),
    };
  };
}

/** assetRoutes are the pages' URL patterns and renderers, for main to register. */
export const assetRoutes: [string, (p: Params) => Page][] = (Object.values(views) as KindView[]).flatMap((v) => [
  [`/workspaces/:ws/${v.kind}`, listPage(v)] as [string, (p: Params) => Page],
  [`/workspaces/:ws/${v.kind}/:name`, detailPage(v)] as [string, (p: Params) => Page],
  ...(v.versioned ? [[`/workspaces/:ws/${v.kind}/:name/:version`, detailPage(v)] as [string, (p: Params) => Page]] : []),
]);
