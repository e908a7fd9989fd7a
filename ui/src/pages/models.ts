// The model registry: a workspace's models, and one version's page with
// its versions, aliases, tags, MLmodel signature and lineage (the job and
// step that produced it, the data that flowed in and what made that data).
import { serving, type Model, type ModelVersion } from '../api';
import { h, replace, type Child } from '../dom';
import { when } from '../format';
import { badge, crumbs, errorBox, kv, load, wsPath } from '../parts';
import { navigate, type Page, type Params } from '../router';

/** tagList writes tags as "k=v" chips. */
function tagList(tags?: Record<string, string>): Child {
  const e = Object.entries(tags ?? {});
  if (!e.length) return null;
  return h('ul', { class: 'chips' }, e.map(([k, v]) => h('li', null, h('code', null, `${k}=${v}`))));
}

/** modelsPage lists a workspace's registered models with their latest version and aliases. */
export function modelsPage(p: Params): Page {
  const ws = p.ws;
  const box = h('div', { class: 'reserve' });
  load(box, serving.models(ws), (models: Model[]) => {
    if (!models.length) return h('p', { class: 'muted' }, 'No models yet. Register one with: ciel model create --name <name> --path <path>');
    return h(
      'table',
      { class: 'grid', id: 'models' },
      h('caption', { class: 'sr-only' }, `Models of ${ws}`),
      h('thead', null, h('tr', null, ['Model', 'Latest version', 'Aliases', 'Tags', 'Created'].map((c) => h('th', { scope: 'col' }, c)))),
      h(
        'tbody',
        null,
        models
          .sort((a, b) => a.name.localeCompare(b.name))
          .map((m) =>
            h(
              'tr',
              null,
              h('td', null, m.latest_version ? h('a', { href: wsPath(ws, 'models', m.name, String(m.latest_version)) }, m.name) : m.name),
              h('td', { class: 'num' }, m.latest_version ? String(m.latest_version) : ''),
              h(
                'td',
                null,
                Object.entries(m.aliases ?? {}).map(([a, v]) => h('a', { class: 'alias', href: wsPath(ws, 'models', m.name, String(v)) }, `@${a} → ${v}`)),
              ),
              h('td', null, tagList(m.tags)),
              h('td', null, when(m.creation_context?.created_at)),
            ),
          ),
      ),
    );
  });
  return { title: `Models · ${ws}`, el: h('section', null, crumbs(['Workspaces', '/'], [ws, wsPath(ws)], ['Models']), h('h1', null, 'Models'), box) };
}

/** modelLatestPage opens a model's latest version. */
export function modelLatestPage(p: Params): Page {
  const box = h('div');
  serving.model(p.ws, p.name).then(
    (m) => (m.latest_version ? navigate(wsPath(p.ws, 'models', p.name, String(m.latest_version)), true) : replace(box, h('p', null, 'This model has no ready version.'))),
    (e) => replace(box, errorBox(e)),
  );
  return { title: p.name, el: h('section', null, h('h1', null, p.name), box) };
}

/** modelVersionPage shows version p.version of model p.name. */
export function modelVersionPage(p: Params): Page {
  const { ws, name, version } = p;
  const versions = h('div', { class: 'versions' });
  const detail = h('div', { class: 'reserve' });
  const signature = h('div', { class: 'signature' });
  load(versions, serving.versions(ws, name), (vs: ModelVersion[]) =>
    h(
      'table',
      { class: 'grid compact', id: 'versions' },
      h('caption', null, 'Versions'),
      h('thead', null, h('tr', null, ['Version', 'Aliases', 'Status', 'Created'].map((c) => h('th', { scope: 'col' }, c)))),
      h(
        'tbody',
        null,
        vs
          .sort((a, b) => Number(b.version) - Number(a.version))
          .map((v) =>
            h(
              'tr',
              { 'aria-current': v.version === version ? 'true' : null },
              h('td', null, v.version === version ? h('strong', null, v.version) : h('a', { href: wsPath(ws, 'models', name, v.version) }, v.version)),
              h('td', null, (v.aliases ?? []).map((a) => `@${a}`).join(' ')),
              h('td', null, v.archived ? 'Archived' : v.status),
              h('td', null, when(v.creation_context?.created_at)),
            ),
          ),
      ),
    ),
  );
  load(detail, serving.version(ws, name, version), (v) => {
    if (v.type === 'mlflow_model' && v.path) {
      serving.mlmodel(ws, v.path).then(
        (text) => replace(signature, text ? mlmodelBox(text) : h('p', { class: 'muted' }, 'No MLmodel file found.')),
        (e) => replace(signature, errorBox(e)),
      );
    }
    return [
      kv([
        ['Type', v.type],
        ['Status', badge(v.archived ? 'Archived' : v.status)],
        ['Stage', v.stage],
        ['Aliases', v.aliases?.length ? v.aliases.map((a) => h('code', { class: 'alias' }, `@${a}`)) : ''],
        ['Tags', tagList(v.tags)],
        ['Description', v.description],
        ['Path', v.path ? h('code', null, v.path) : ''],
        ['Created', when(v.creation_context?.created_at)],
      ]),
      h('h2', null, 'Lineage'),
      lineage(ws, v),
      v.type === 'mlflow_model' ? [h('h2', null, 'MLmodel'), signature] : null,
    ];
  });
  return {
    title: `${name}:${version} · ${ws}`,
    el: h(
      'section',
      null,
      crumbs(['Workspaces', '/'], [ws, wsPath(ws)], ['Models', wsPath(ws, 'models')], [`${name}:${version}`]),
      h('h1', null, `${name} `, h('span', { class: 'muted' }, `version ${version}`)),
      h('div', { class: 'split-r' }, h('div', null, detail), h('div', null, versions)),
    ),
  };
}

/** lineage says what produced a version: the job and step (linked), the run, the code, and the data that flowed in. */
function lineage(ws: string, v: ModelVersion): HTMLElement {
  const l = v.lineage ?? {};
  const job = l.job || v.job_name;
  const stepLink = job && l.step ? h('a', { href: `${wsPath(ws, 'jobs', job)}?step=${encodeURIComponent(l.step)}`, class: 'lineage-step' }, l.step) : l.step;
  const inputs = l.inputs ?? [];
  return h(
    'div',
    { class: 'lineage', id: 'lineage' },
    kv([
      ['Source', l.source ? h('code', null, l.source) : ''],
      ['Job', job ? h('a', { href: wsPath(ws, 'jobs', job), class: 'lineage-job' }, job) : ''],
      ['Step', stepLink],
      ['Output', l.output],
      ['Component', l.component],
      ['Submitted by', submittedBy(ws, l.origin)],
      ['MLflow run', l.run_id || v.run_id ? h('a', { href: wsPath(ws, 'runs', (l.run_id || v.run_id)!) }, (l.run_id || v.run_id)!) : ''],
      ['Code', l.code ? h('code', null, l.code) : ''],
      ['Files', l.digest ? h('code', null, l.digest) : ''],
    ]),
    inputs.length
      ? h(
          'table',
          { class: 'grid', id: 'lineage-inputs' },
          h('caption', null, 'Input data'),
          h('thead', null, h('tr', null, ['Step input', 'Data asset', 'Digest', 'Produced by'].map((c) => h('th', { scope: 'col' }, c)))),
          h(
            'tbody',
            null,
            inputs.map((i) =>
              h(
                'tr',
                null,
                h('td', null, `${i.step}.${i.input}`),
                h('td', null, i.asset ? h('code', null, i.asset) : ''),
                h('td', null, h('code', { title: i.digest }, i.digest.replace(/^sha256:/, '').slice(0, 12))),
                h('td', null, submittedBy(ws, i.origin) || origin(i.origin)),
              ),
            ),
          ),
        )
      : h('p', { class: 'muted' }, 'No input data recorded.'),
  );
}

/**
 * submittedBy links the CI run (ci.* tags: pipeline, run, branch, commit)
 * or the Data Factory run (datafactory.* tags) that origin names; '' when
 * it names neither.
 */
function submittedBy(ws: string, o?: Record<string, string>): Child {
  if (!o) return '';
  if (o['ci.run']) {
    const commit = o['ci.commit'] ? ` at ${o['ci.commit'].slice(0, 12)}` : '';
    const branch = o['ci.branch'] ? ` on ${o['ci.branch'].replace(/^refs\/heads\//, '')}` : '';
    return h(
      'span',
      { class: 'lineage-ci' },
      h('a', { href: wsPath(ws, 'pipeline-runs', o['ci.run']), class: 'lineage-ci-run' }, `CI run ${o['ci.pipeline'] ?? ''} #${o['ci.run']}`),
      `${branch}${commit}`,
    );
  }
  const run = o['datafactory.pipelineRunId'];
  if (run) {
    const what = [o['datafactory.pipelineName'], o['datafactory.activityName']].filter(Boolean).join(' / ');
    return h('a', { href: wsPath(ws, 'data-factory', 'runs', run), class: 'lineage-factory-run' }, `Data Factory run ${what}`);
  }
  return '';
}

/** origin writes what produced a data asset: a Data Factory run or a CI run, from the asset's tags. */
function origin(o?: Record<string, string>): Child {
  const e = Object.entries(o ?? {});
  if (!e.length) return '';
  return h('ul', { class: 'chips' }, e.sort().map(([k, v]) => h('li', null, h('code', null, `${k}=${v}`))));
}

/** mlmodelBox shows an MLmodel file, its signature first when it has one. */
function mlmodelBox(text: string): Child {
  const sig = /^signature:\n((?:[ \t].*\n?)*)/m.exec(text);
  return [
    sig ? h('div', null, h('h3', null, 'Signature'), h('pre', { class: 'signature-text' }, sig[1].replace(/^ {2}/gm, ''))) : h('p', { class: 'muted' }, 'The MLmodel file has no signature.'),
    h('details', null, h('summary', null, 'MLmodel'), h('pre', null, text)),
  ];
}
