// CI/CD pages: the workspace's pipelines and hosted repositories, a
// pipeline's runs, and a run's stages, jobs and steps lighting up live
// with each step's live log, its artifacts and the ML jobs it started.
import './flows.css';
import { ApiError } from '../api';
import { cicd, type CIJob, type CIPipeline, type CIRun, type CIStep, type Repository } from '../api_flows';
import { h, replace, type Child } from '../dom';
import { duration, when } from '../format';
import { LogView } from '../log';
import { badge, crumbs, errorBox, kv, runButtons, load, wsPath } from '../parts';
import { navigate, setQuery, type Page, type Params } from '../router';
import { branchName, ciStatus, shortSHA, size, watchList, watchRun } from './flows_live';

const runPath = (ws: string, id: number | string) => wsPath(ws, 'pipeline-runs', String(id));

/** runsTable lists CI/CD runs: number, status, trigger, commit, branch, times. */
function runsTable(ws: string, runs: CIRun[], withPipeline: boolean): HTMLElement {
  if (runs.length === 0) return h('p', { class: 'muted' }, 'No runs yet. A push to a branch the pipeline triggers on starts one.');
  return h(
    'table',
    { class: 'grid', id: 'ci-runs' },
    h('caption', { class: 'sr-only' }, 'Pipeline runs'),
    h('thead', null, h('tr', null, ['Run', withPipeline ? 'Pipeline' : null, 'Status', 'Trigger', 'Commit', 'Branch', 'Queued', 'Duration'].filter(Boolean).map((c) => h('th', { scope: 'col' }, c)))),
    h(
      'tbody',
      null,
      runs.map((r) =>
        h(
          'tr',
          { 'data-run': r.id },
          h('td', null, h('a', { href: runPath(ws, r.id) }, `#${r.buildNumber}`)),
          withPipeline ? h('td', null, h('a', { href: wsPath(ws, 'pipelines', r.definition.name) }, r.definition.name)) : null,
          h('td', null, badge(ciStatus(r))),
          h('td', null, r.reason),
          h('td', null, h('code', { title: r.sourceVersion }, shortSHA(r.sourceVersion))),
          h('td', null, branchName(r.sourceBranch)),
          h('td', null, when(r.queueTime)),
          h('td', { class: 'num' }, duration(r.startTime, r.finishTime)),
        ),
      ),
    ),
  );
}

/** liveRuns keeps box showing the latest runs (of pipeline), as they change. */
function liveRuns(box: HTMLElement, ws: string, pipeline: string | undefined, withPipeline: boolean): () => void {
  replace(box, h('p', { class: 'muted', 'aria-live': 'polite' }, 'Loading…'));
  return watchList<CIRun[]>(cicd.runsEventsURL(ws, pipeline), (list) => replace(box, runsTable(ws, list, withPipeline)), (e) => replace(box, errorBox(e)));
}

/** cicdPage lists a workspace's pipelines, repositories and latest runs. */
export function cicdPage(p: Params): Page {
  const ws = p.ws;
  const pipes = h('div', { class: 'reserve' });
  const repos = h('div');
  const runs = h('div');
  load(pipes, cicd.pipelines(ws), (list: CIPipeline[]) =>
    list.length === 0
      ? h('p', { class: 'muted' }, 'No pipelines. Create one with: ciel pipelines create --name <name> --repository <repo> --yml-path azure-pipelines.yml')
      : h(
          'table',
          { class: 'grid', id: 'ci-pipelines' },
          h('caption', { class: 'sr-only' }, 'Pipelines'),
          h('thead', null, h('tr', null, ['Pipeline', 'Repository', 'YAML', 'Created'].map((c) => h('th', { scope: 'col' }, c)))),
          h(
            'tbody',
            null,
            list.map((x) =>
              h(
                'tr',
                null,
                h('td', null, h('a', { href: wsPath(ws, 'pipelines', x.name) }, x.name)),
                h('td', null, x.repository.type === 'TfsGit' ? x.repository.name : h('code', null, x.repository.url)),
                h('td', null, h('code', null, x.process.yamlFilename)),
                h('td', null, when(x.createdDate)),
              ),
            ),
          ),
        ),
  );
  load(repos, cicd.repos(ws), (list: Repository[]) =>
    list.length === 0
      ? h('p', { class: 'muted' }, 'No repositories. Create one with: ciel repos create --name <name>')
      : h(
          'table',
          { class: 'grid', id: 'ci-repos' },
          h('caption', { class: 'sr-only' }, 'Repositories'),
          h('thead', null, h('tr', null, ['Repository', 'Default branch', 'Clone URL'].map((c) => h('th', { scope: 'col' }, c)))),
          h('tbody', null, list.map((r) => h('tr', null, h('td', null, r.name), h('td', null, branchName(r.defaultBranch)), h('td', null, h('code', null, r.remoteUrl))))),
        ),
  );
  const stopRuns = liveRuns(runs, ws, undefined, true);
  return {
    dispose: stopRuns,
    title: `CI/CD · ${ws}`,
    el: h(
      'section',
      null,
      crumbs(['Workspaces', '/'], [ws, wsPath(ws)], ['CI/CD']),
      h('h1', null, 'CI/CD pipelines'),
      pipes,
      h('h2', null, 'Latest runs'),
      runs,
      h('h2', null, 'Repositories'),
      repos,
    ),
  };
}

/** ciPipelinePage shows pipeline p.name with its runs and a button that queues one. */
export function ciPipelinePage(p: Params): Page {
  const { ws, name } = p;
  const info = h('div', { class: 'info' });
  const runs = h('div', { class: 'reserve' });
  const message = h('div', { 'aria-live': 'polite' });
  const branch = h('input', { type: 'text', id: 'ci-branch', placeholder: 'default branch', 'aria-label': 'Branch to run' });
  const queue = h('button', { type: 'button', 'aria-label': 'Run pipeline' }, 'Run pipeline');
  queue.addEventListener('click', async () => {
    queue.disabled = true;
    try {
      const r = await cicd.queue(ws, name, branch.value.trim());
      navigate(runPath(ws, r.id));
    } catch (e) {
      replace(message, errorBox(e));
      queue.disabled = false;
    }
  });
  load(info, cicd.pipeline(ws, name), (x) =>
    kv([
      ['Repository', x.repository.type === 'TfsGit' ? x.repository.name : x.repository.url],
      ['Clone URL', h('code', null, x.repository.url)],
      ['YAML', h('code', null, x.process.yamlFilename)],
      ['Created', when(x.createdDate)],
    ]),
  );
  const stopRuns = liveRuns(runs, ws, name, false);
  return {
    dispose: stopRuns,
    title: `${name} · CI/CD`,
    el: h(
      'section',
      null,
      crumbs(['Workspaces', '/'], [ws, wsPath(ws)], ['CI/CD', wsPath(ws, 'pipelines')], [name]),
      h('div', { class: 'title-row' }, h('h1', null, name), h('div', { class: 'actions' }, branch, queue)),
      message,
      info,
      h('h2', null, 'Runs'),
      runs,
    ),
  };
}

/** stepLogFilter keeps the lines of the n-th step that started in a job's log: from its "Starting:" line to its "Finishing:" line. */
export function stepLogFilter(n: number): (line: string) => boolean {
  let started = -1;
  let inside = false;
  return (line) => {
    if (line.startsWith('##[section]Starting: ')) {
      started++;
      inside = started === n;
      return inside;
    }
    if (inside && line.startsWith('##[section]Finishing: ')) {
      inside = false;
      return true;
    }
    return inside;
  };
}

/** startedBefore counts the steps of a job before index i that printed a "Starting:" line (all but skipped and pending ones). */
function startedBefore(steps: CIStep[], i: number): number {
  return steps.slice(0, i).filter((s) => s.status !== 'skipped' && s.status !== 'pending').length;
}

/** ciRunPage shows CI/CD run p.id live: its timeline, the selected job's or step's log, artifacts, and the ML jobs it created. ?job=&step= select. */
export function ciRunPage(p: Params, q: URLSearchParams): Page {
  const { ws, id } = p;
  let run: CIRun | undefined;
  let job = q.has('job') ? Number(q.get('job')) : -1;
  let step = q.has('step') ? Number(q.get('step')) : -1;
  let following = '';
  const title = h('h1', null, `Run #${id}`);
  const status = h('span', { class: 'status-slot' });
  const message = h('div', { 'aria-live': 'polite' });
  const cancel = h('button', { type: 'button', class: 'danger', disabled: true, 'aria-label': 'Cancel run' }, 'Cancel');
  const rerun = h('button', { type: 'button', disabled: true, 'aria-label': 'Re-run' }, 'Re-run');
  const info = h('div', { class: 'info' });
  const timeline = h('div', { class: 'panel', 'aria-label': 'Stages, jobs and steps' });
  const extras = h('div');
  const log = new LogView('Log');
  const logTitle = h('h2', null, 'Log');
  let artifactsRead = false;

  runButtons(cancel, rerun, message, {
    cancel: () => cicd.cancel(ws, id),
    rerun: async () => (run ? runPath(ws, (await cicd.queue(ws, run.definition.name, run.sourceBranch)).id) : undefined),
  });

  const select = (j: number, s: number) => {
    job = j;
    step = s;
    const nq = new URLSearchParams();
    if (j >= 0) nq.set('job', String(j));
    if (s >= 0) nq.set('step', String(s));
    setQuery(nq);
    draw();
  };

  // The log follows the selected job (or the whole run); a step is its
  // part of the job's log. It is opened again only when the choice moves,
  // or when a step that had not started has.
  const followLog = () => {
    if (!run) return;
    const j = run.jobs?.[job];
    const st = j?.steps?.[step];
    // The n-th step to start prints the job log's n-th "Starting:" line;
    // steps start in order, so n is known once the steps before it are.
    const n = st && j ? startedBefore(j.steps ?? [], step) : -1;
    const key = `${job}/${step}/${n}`;
    if (key === following) return;
    following = key;
    if (!j) {
      logTitle.textContent = 'Log of the run';
      log.follow(cicd.logURL(ws, id));
    } else if (st) {
      logTitle.textContent = `Log of ${st.displayName || st.name}`;
      log.follow(cicd.logURL(ws, id, job), stepLogFilter(n));
    } else {
      logTitle.textContent = `Log of job ${j.displayName || j.name}`;
      log.follow(cicd.logURL(ws, id, job));
    }
  };

  const stepButton = (j: number, s: CIStep, i: number) =>
    h(
      'button',
      { type: 'button', class: 'step', 'data-step': s.displayName || s.name, 'data-status': s.status, 'aria-pressed': String(job === j && step === i), onclick: () => select(j, i) },
      badge(s.status),
      h('span', null, s.displayName || s.name || `step ${i + 1}`),
      h('span', { class: 'dur muted small' }, duration(s.startTime, s.finishTime)),
    );

  const jobBox = (j: CIJob, i: number) =>
    h(
      'li',
      { class: 'job', 'data-job': j.name },
      h(
        'button',
        { type: 'button', class: 'job-head', 'aria-pressed': String(job === i && step < 0), onclick: () => select(i, -1) },
        badge(ciStatus(j)),
        h('span', null, j.displayName || j.name),
        h('span', { class: 'dur muted small' }, duration(j.startTime, j.finishTime)),
      ),
      h('ol', null, (j.steps ?? []).map((s, k) => h('li', null, stepButton(i, s, k)))),
    );

  const drawTimeline = (r: CIRun) => {
    const stages: { name: string; jobs: [CIJob, number][] }[] = [];
    (r.jobs ?? []).forEach((j, i) => {
      let st = stages.find((x) => x.name === j.stage);
      if (!st) stages.push((st = { name: j.stage, jobs: [] }));
      st.jobs.push([j, i]);
    });
    replace(
      timeline,
      h('button', { type: 'button', class: 'linkish', onclick: () => select(-1, -1) }, 'Whole log'),
      stages.length === 0 ? h('p', { class: 'muted' }, 'Not planned yet.') : null,
      h(
        'ol',
        { class: 'timeline' },
        stages.map((st) => h('li', { class: 'stage', 'data-stage': st.name }, h('h3', null, `Stage ${st.name}`), h('ol', null, st.jobs.map(([j, i]) => jobBox(j, i))))),
      ),
    );
  };

  const drawExtras = (r: CIRun) => {
    const created = (r.created ?? []).map((c): Child => {
      if (c.kind === 'job') return h('li', null, 'job ', h('a', { href: wsPath(ws, 'jobs', c.name) }, c.name));
      if (c.kind === 'model') return h('li', null, 'model ', h('a', { href: wsPath(ws, 'models', c.name, c.version ?? '') }, `${c.name}:${c.version}`));
      if (c.kind === 'online-endpoint') return h('li', null, 'endpoint ', h('a', { href: wsPath(ws, 'endpoints', c.name) }, c.name));
      return h('li', null, `${c.kind} ${c.name}`);
    });
    const artifacts = h('div', { id: 'ci-artifacts' });
    if (r.status === 'completed' && !artifactsRead) {
      artifactsRead = true;
      load(artifacts, cicd.artifacts(ws, id), (list) =>
        list.length === 0
          ? h('p', { class: 'muted' }, 'The run published no artifacts.')
          : h(
              'ul',
              null,
              list.map((a) =>
                h(
                  'li',
                  null,
                  h('a', { href: cicd.artifactURL(ws, id, a.name), download: `${a.name}.tar`, 'aria-label': `Download artifact ${a.name}` }, a.name),
                  h('span', { class: 'muted small' }, ` ${a.resource.files} files, ${size(a.resource.size)} (tar)`),
                ),
              ),
            ),
      );
      replace(
        extras,
        h('h2', null, 'Artifacts'),
        artifacts,
        h('h2', null, 'Created by this run'),
        created.length ? h('ul', { id: 'ci-created' }, created) : h('p', { class: 'muted' }, 'No jobs, models or endpoints.'),
      );
    } else if (r.status !== 'completed') {
      replace(extras, h('p', { class: 'muted' }, 'Artifacts and the jobs this run started are listed once it completes.'));
    }
  };

  const draw = () => {
    const r = run;
    if (!r) return;
    title.textContent = `${r.definition.name} #${r.buildNumber}`;
    replace(status, badge(ciStatus(r)));
    cancel.disabled = r.status === 'completed' || r.status === 'cancelling';
    rerun.disabled = r.status !== 'completed';
    const tr = r.testResults;
    replace(
      info,
      kv([
        ['Pipeline', h('a', { href: wsPath(ws, 'pipelines', r.definition.name) }, r.definition.name)],
        ['Trigger', r.reason],
        ['Branch', branchName(r.sourceBranch)],
        ['Commit', h('code', null, r.sourceVersion)],
        ['Pull request', r.pullRequest ? `#${r.pullRequest.number} ${branchName(r.pullRequest.sourceBranch)} → ${branchName(r.pullRequest.targetBranch)}` : ''],
        ['Queued', when(r.queueTime)],
        ['Started', when(r.startTime)],
        ['Duration', duration(r.startTime, r.finishTime)],
        ['Parameters', r.parameters && Object.keys(r.parameters).length ? h('code', null, JSON.stringify(r.parameters)) : ''],
        ['Tests', tr ? `${tr.passedTests} passed, ${tr.failedTests} failed, ${tr.skippedTests} skipped of ${tr.totalTests}` : ''],
        ['Error', r.error ? h('span', { class: 'error-text' }, r.error) : ''],
      ]),
    );
    drawTimeline(r);
    drawExtras(r);
    followLog();
  };

  const stop = watchRun<CIRun>(
    cicd.eventsURL(ws, id),
    (r) => {
      run = r;
      draw();
    },
    () => {},
    (e) => replace(message, errorBox(e)),
  );
  // A run id that is not there is said at once (the stream is refused).
  cicd.run(ws, id).catch((e) => {
    replace(message, errorBox(e));
    if (e instanceof ApiError && e.status < 500) stop();
  });

  return {
    title: `Run ${id} · CI/CD`,
    el: h(
      'section',
      { class: 'job-page' },
      crumbs(['Workspaces', '/'], [ws, wsPath(ws)], ['CI/CD', wsPath(ws, 'pipelines')], [`#${id}`]),
      h('div', { class: 'title-row' }, title, status, h('div', { class: 'actions' }, cancel, rerun)),
      message,
      info,
      h('div', { class: 'split' }, timeline, h('div', { class: 'log-col' }, logTitle, log.el)),
      extras,
    ),
    dispose: () => {
      stop();
      log.close();
    },
  };
}
