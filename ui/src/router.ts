// History routing: every page has a plain URL a user can share, and
// in-page links move without reloading. The MLflow client's links
// (<tracking uri>/#/experiments/<id>/runs/<run>, tracking uri being
// /ws/<ws>) are mapped onto the studio's own URLs.

/** A page: its element and what to stop when the user leaves it. */
export interface Page {
  el: HTMLElement;
  title: string;
  dispose?: () => void;
}

/** Params are a route's path segments by name, and the URL's query. */
export interface Params {
  [name: string]: string;
}

type Render = (p: Params, q: URLSearchParams) => Page;

interface Route {
  re: RegExp;
  names: string[];
  render: Render;
}

const routes: Route[] = [];

/** route registers render for a path pattern such as "/workspaces/:ws/jobs/:name". */
export function route(pattern: string, render: Render): void {
  const names: string[] = [];
  const re = pattern.replace(/:(\w+)/g, (_, n) => {
    names.push(n);
    return '([^/]+)';
  });
  routes.push({ re: new RegExp(`^${re}/?$`), names, render });
}

/** mlflowFragment maps an MLflow UI link's path and fragment to a studio path, or returns null. */
export function mlflowFragment(path: string, hash: string): string | null {
  const ws = /^\/ws\/([^/]+)\/?$/.exec(path);
  if (!ws) return null;
  const base = `/workspaces/${ws[1]}`;
  const f = hash.replace(/^#/, '').split('?')[0];
  let m = /^\/experiments\/([^/]+)\/runs\/([^/]+)/.exec(f);
  if (m) return `${base}/runs/${m[2]}`;
  m = /^\/experiments\/([^/]+)/.exec(f);
  if (m) return `${base}/experiments/${m[1]}`;
  return `${base}/experiments`;
}

let current: Page | undefined;
let outlet: HTMLElement;
let onChange: (path: string) => void = () => {};

/** navigate moves to url, adding a history entry unless replace is set. */
export function navigate(url: string, replace = false): void {
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  render();
}

/** setQuery rewrites the current URL's query without a new history entry or a re-render. */
export function setQuery(q: URLSearchParams): void {
  const s = q.toString();
  history.replaceState(null, '', location.pathname + (s ? `?${s}` : ''));
}

function render(first = false): void {
  const fragment = mlflowFragment(location.pathname, location.hash);
  if (fragment) history.replaceState(null, '', fragment);
  current?.dispose?.();
  current = undefined;
  const path = location.pathname;
  const q = new URLSearchParams(location.search);
  let page: Page | undefined;
  for (const r of routes) {
    const m = r.re.exec(path);
    if (!m) continue;
    const p: Params = {};
    r.names.forEach((n, i) => (p[n] = decodeURIComponent(m[i + 1])));
    page = r.render(p, q);
    break;
  }
  if (!page) {
    const el = document.createElement('section');
    el.innerHTML = '<h1>Not found</h1><p>No studio page has this address. <a href="/">Workspaces</a></p>';
    page = { el, title: 'Not found' };
  }
  current = page;
  outlet.replaceChildren(page.el);
  document.title = `${page.title} · ciel studio`;
  onChange(path);
  // Move focus to the new page's heading for keyboard and screen reader
  // users, on moves within the app; a page just loaded keeps the browser's
  // start, so that Tab goes through the skip link and the navigation.
  const heading = page.el.querySelector('h1');
  if (heading && !first) {
    heading.setAttribute('tabindex', '-1');
    heading.focus({ preventScroll: true });
  }
}

/** start renders the current URL into el and takes over in-page links. */
export function start(el: HTMLElement, changed: (path: string) => void): void {
  outlet = el;
  onChange = changed;
  window.addEventListener('popstate', () => render());
  document.addEventListener('click', (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = (e.target as Element).closest?.('a');
    if (!a || a.target || a.hasAttribute('download')) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || url.pathname.startsWith('/api/') || /^\/ws\/[^/]+\/api/.test(url.pathname)) return;
    e.preventDefault();
    navigate(url.pathname + url.search);
  });
  render(true);
}
