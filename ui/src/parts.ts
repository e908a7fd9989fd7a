// Pieces every page uses: status badges, error boxes, key/value lists, and
// a loader that fills a placeholder once data arrives.
import { ApiError } from './api';
import { h, replace, type Child } from './dom';
import { statusClass } from './format';
import { navigate } from './router';

/** badge shows a status with its colour and its name (colour is never the only cue). */
export function badge(status: string, reused = false): HTMLElement {
  const cls = reused ? 'st-reused' : statusClass(status);
  return h('span', { class: `badge ${cls}` }, reused ? 'Reused' : status || 'Unknown');
}

/** errorBox says what went wrong, with the server's message. */
export function errorBox(e: unknown): HTMLElement {
  const msg = e instanceof ApiError ? `${e.message} (HTTP ${e.status} ${e.code})` : e instanceof Error ? e.message : String(e);
  return h('p', { class: 'error', role: 'alert' }, msg);
}

/** kv is a definition list of the entries whose value is not empty. */
export function kv(entries: [string, Child][]): HTMLElement {
  return h(
    'dl',
    { class: 'kv' },
    entries.filter(([, v]) => v !== undefined && v !== null && v !== '').map(([k, v]) => [h('dt', null, k), h('dd', null, v)]),
  );
}

/** load shows "Loading…" in a box, then what fill makes of the data, or the error. */
export function load<T>(box: HTMLElement, data: Promise<T>, fill: (d: T) => Child): void {
  replace(box, h('p', { class: 'muted', 'aria-live': 'polite' }, 'Loading…'));
  data.then(
    (d) => replace(box, fill(d)),
    (e) => replace(box, errorBox(e)),
  );
}

/** crumbs is the breadcrumb trail at the top of a page. */
export function crumbs(...items: [string, string?][]): HTMLElement {
  return h(
    'nav',
    { class: 'crumbs', 'aria-label': 'Breadcrumb' },
    h(
      'ol',
      null,
      items.map(([label, href]) => h('li', null, href ? h('a', { href }, label) : h('span', { 'aria-current': 'page' }, label))),
    ),
  );
}

/** wsPath is the studio URL of a workspace page. */
export function wsPath(ws: string, ...rest: string[]): string {
  return ['/workspaces', ws, ...rest].map((s, i) => (i === 0 ? s : encodeURIComponent(s))).join('/');
}

/**
 * runButtons makes Cancel ask for the run's cancellation and Re-run start
 * a new run and open the page whose URL it returns (undefined: nothing to
 * re-run); what goes wrong is said in message.
 */
export function runButtons(
  cancel: HTMLButtonElement,
  rerun: HTMLButtonElement,
  message: HTMLElement,
  act: { cancel: () => Promise<unknown>; rerun: () => Promise<string | undefined> },
): void {
  cancel.addEventListener('click', async () => {
    cancel.disabled = true;
    try {
      await act.cancel();
      replace(message, h('p', { class: 'muted' }, 'Cancel requested.'));
    } catch (e) {
      replace(message, errorBox(e));
    }
  });
  rerun.addEventListener('click', async () => {
    rerun.disabled = true;
    try {
      const url = await act.rerun();
      if (url) navigate(url);
      else rerun.disabled = false;
    } catch (e) {
      replace(message, errorBox(e));
      rerun.disabled = false;
    }
  });
}
