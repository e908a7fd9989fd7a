// The MLflow experiments of a workspace.
import { api } from '../api';
import { h } from '../dom';
import { when } from '../format';
import { crumbs, load, wsPath } from '../parts';
import type { Page, Params } from '../router';

/** experimentsPage lists a workspace's experiments, most recently updated first. */
export function experimentsPage(p: Params): Page {
  const { ws } = p;
  const box = h('div', { class: 'reserve' });
  load(box, api.experiments(ws), (list) =>
    list.length === 0
      ? h('p', null, 'No experiment yet.')
      : h(
          'table',
          { class: 'grid', id: 'experiments' },
          h('caption', { class: 'sr-only' }, `Experiments of ${ws}`),
          h('thead', null, h('tr', null, ['Experiment', 'ID', 'Last update'].map((c) => h('th', { scope: 'col' }, c)))),
          h(
            'tbody',
            null,
            list.map((x) =>
              h('tr', null, h('td', null, h('a', { href: wsPath(ws, 'experiments', x.experiment_id) }, x.name)), h('td', { class: 'num' }, x.experiment_id), h('td', null, when(x.last_update_time))),
            ),
          ),
        ),
  );
  return { title: `Experiments · ${ws}`, el: h('section', null, crumbs(['Workspaces', '/'], [ws, wsPath(ws, 'jobs')], ['Experiments']), h('h1', null, 'Experiments'), box) };
}
