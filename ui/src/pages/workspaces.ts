// The workspace picker: the studio's home page.
import { api } from '../api';
import { h } from '../dom';
import { when } from '../format';
import { load, wsPath } from '../parts';
import type { Page } from '../router';

/** workspacesPage lists the workspaces, each linking to its jobs. */
export function workspacesPage(): Page {
  const box = h('div', { class: 'reserve' });
  load(box, api.workspaces(), (list) =>
    list.length === 0
      ? h('p', null, 'No workspace yet: create one with ', h('code', null, 'ciel workspace create -n NAME'), '.')
      : h(
          'table',
          { class: 'grid' },
          h('caption', { class: 'sr-only' }, 'Workspaces'),
          h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Description'), h('th', { scope: 'col' }, 'Created'), h('th', { scope: 'col' }, 'Pages'))),
          h(
            'tbody',
            null,
            list.map((w) =>
              h(
                'tr',
                null,
                h('td', null, h('a', { href: wsPath(w.name, 'jobs') }, w.display_name || w.name)),
                h('td', null, w.description ?? ''),
                h('td', null, when(w.created_at)),
                h('td', { class: 'links' }, h('a', { href: wsPath(w.name, 'jobs') }, 'Jobs'), ' ', h('a', { href: wsPath(w.name, 'experiments') }, 'Experiments')),
              ),
            ),
          ),
        ),
  );
  return { title: 'Workspaces', el: h('section', null, h('h1', null, 'Workspaces'), box) };
}
