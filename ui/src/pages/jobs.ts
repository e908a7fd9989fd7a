// The jobs of a workspace: status, duration, experiment, with a search box
// and a status filter kept in the URL so a filtered list can be shared.
import { api, type Job } from '../api';
import { h, replace } from '../dom';
import { duration, when } from '../format';
import { watchJobs } from '../live';
import { badge, crumbs, errorBox, wsPath } from '../parts';
import { setQuery, type Page, type Params } from '../router';

const statuses = ['', 'Queued', 'Running', 'Completed', 'Failed', 'Canceled'];

/** jobsPage lists a workspace's jobs, newest first. */
export function jobsPage(p: Params, q: URLSearchParams): Page {
  const ws = p.ws;
  const search = h('input', { type: 'search', id: 'job-search', value: q.get('q') ?? '', placeholder: 'name, display name, experiment, type', 'aria-label': 'Search jobs' });
  const status = h('select', { id: 'job-status', 'aria-label': 'Filter by status' }, statuses.map((s) => h('option', { value: s, selected: s === (q.get('status') ?? '') }, s || 'Any status')));
  const count = h('p', { class: 'muted count', 'aria-live': 'polite' }, '');
  const body = h('tbody');
  const box = h('div', { class: 'reserve' }, h('p', { class: 'muted' }, 'Loading…'));
  let jobs: Job[] = [];

  const draw = () => {
    const text = search.value.trim().toLowerCase();
    const st = status.value;
    const nq = new URLSearchParams();
    if (text) nq.set('q', search.value.trim());
    if (st) nq.set('status', st);
    setQuery(nq);
    const shown = jobs.filter(
      (j) =>
        (!st || j.status === st) &&
        (!text || [j.name, j.display_name, j.experiment_name, j.type].some((s) => s?.toLowerCase().includes(text))),
    );
    count.textContent = `${shown.length} of ${jobs.length} jobs`;
    replace(
      body,
      shown.map((j) =>
        h(
          'tr',
          null,
          h('td', null, h('a', { href: wsPath(ws, 'jobs', j.name) }, j.display_name || j.name), j.display_name && j.display_name !== j.name ? h('div', { class: 'muted small' }, j.name) : null),
          h('td', null, badge(j.status)),
          h('td', null, j.type),
          h('td', null, j.experiment_name ?? ''),
          h('td', null, when(j.creation_context?.created_at)),
          h('td', { class: 'num' }, duration(j.start_time, j.end_time)),
        ),
      ),
    );
  };
  const fetchJobs = () =>
    api.jobs(ws).then(
      (list) => {
        jobs = list.sort((a, b) => (b.creation_context?.created_at ?? '').localeCompare(a.creation_context?.created_at ?? ''));
        replace(box, table);
        draw();
      },
      (e) => replace(box, errorBox(e)),
    );
  const table = h(
    'table',
    { class: 'grid', id: 'jobs' },
    h('caption', { class: 'sr-only' }, `Jobs of ${ws}`),
    h('thead', null, h('tr', null, ['Job', 'Status', 'Type', 'Experiment', 'Created', 'Duration'].map((c) => h('th', { scope: 'col' }, c)))),
    body,
  );
  search.addEventListener('input', draw);
  status.addEventListener('change', draw);
  fetchJobs();
  // A known job's row changes in place; a job the list lacks means a read
  // (one for a burst of changes: a new pipeline tells several at once).
  let pending: number | undefined;
  const stop = watchJobs(
    ws,
    (c) => {
      const j = jobs.find((x) => x.name === c.job);
      if (!j) {
        window.clearTimeout(pending);
        pending = window.setTimeout(fetchJobs, 200);
        return;
      }
      j.status = c.status;
      if (c.started_at) j.start_time = c.started_at;
      if (c.ended_at) j.end_time = c.ended_at;
      draw();
    },
    fetchJobs,
  );
  return {
    title: `Jobs · ${ws}`,
    el: h(
      'section',
      null,
      crumbs(['Workspaces', '/'], [ws]),
      h('h1', null, 'Jobs'),
      h('div', { class: 'toolbar', role: 'search' }, search, status, count),
      box,
    ),
    dispose: () => {
      stop();
      window.clearTimeout(pending);
    },
  };
}
