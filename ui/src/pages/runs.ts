// An experiment's runs table: the metric and param columns a user picks,
// MLflow's filter syntax, sorting by any column and paging, each kept in
// the URL. The server sorts, filters and pages (runs/search), so the table
// costs the same at a hundred runs or a hundred thousand.
import { api, ApiError, type Run } from '../api';
import { h, replace } from '../dom';
import { duration, num, when } from '../format';
import { badge, crumbs, errorBox, wsPath } from '../parts';
import { navigate, setQuery, type Page, type Params } from '../router';
import { compareURL, maxCompare } from './compare';

const pageSizes = [25, 100, 500];

/** Columns shown when the user picked none: this many metrics and params from the page. */
const defaultCols = 6;

/** runsPage shows experiment p.id's runs. Query: filter, order (an MLflow order_by), cols (m:key,p:key), size. */
export function runsPage(p: Params, q: URLSearchParams): Page {
  const { ws, id } = p;
  const filter = h('input', { type: 'search', id: 'run-filter', value: q.get('filter') ?? '', placeholder: "metrics.rmse < 1 and params.alpha = '0.5'", 'aria-label': 'Filter runs (MLflow syntax)' });
  const size = h('select', { 'aria-label': 'Runs per page' }, pageSizes.map((n) => h('option', { value: n, selected: String(n) === (q.get('size') ?? '100') }, `${n} per page`)));
  const form = h('form', { class: 'toolbar', role: 'search' }, filter, h('button', { type: 'submit' }, 'Search'), size);
  // The server's word on a filter it cannot read, next to the box.
  const filterError = h('p', { class: 'error', id: 'run-filter-error', role: 'alert', hidden: true });
  filter.setAttribute('aria-describedby', 'run-filter-error');
  const colsBox = h('details', { class: 'cols' }, h('summary', null, 'Columns'));
  const box = h('div', { class: 'reserve tall' });
  const prev = h('button', { type: 'button', disabled: true }, '← Previous');
  const next = h('button', { type: 'button', disabled: true }, 'Next →');
  const where = h('span', { class: 'muted small', 'aria-live': 'polite' });
  const heading = h('h1', null, 'Runs');
  // Runs picked for a compare, kept across pages and sorts.
  const selected = new Set<string>();
  const compare = h('button', { type: 'button', id: 'compare', disabled: true }, 'Compare');
  const picks = h('span', { class: 'muted small', 'aria-live': 'polite' });
  const drawPicks = () => {
    compare.disabled = selected.size < 2 || selected.size > maxCompare;
    picks.textContent = selected.size ? `${selected.size} selected${selected.size > maxCompare ? ` (at most ${maxCompare})` : ''}` : `select 2 to ${maxCompare} runs to compare`;
  };
  drawPicks();
  compare.addEventListener('click', () => navigate(compareURL(ws, [...selected])));
  let order = q.get('order') ?? 'attributes.start_time DESC';
  let picked: string[] | null = q.get('cols') ? (q.get('cols') ?? '').split(',').filter(Boolean) : null;
  const tokens: string[] = [''];
  let pageIndex = 0;
  let nextToken = '';
  let ctl: AbortController | undefined;

  const keepURL = () => {
    const nq = new URLSearchParams();
    if (filter.value.trim()) nq.set('filter', filter.value.trim());
    if (order !== 'attributes.start_time DESC') nq.set('order', order);
    if (picked) nq.set('cols', picked.join(','));
    if (size.value !== '100') nq.set('size', size.value);
    setQuery(nq);
  };

  const fetchPage = () => {
    keepURL();
    ctl?.abort();
    ctl = new AbortController();
    const mine = ctl;
    const t0 = performance.now();
    api
      .searchRuns(ws, { experiment_ids: [id], filter: filter.value.trim(), order_by: [order], max_results: Number(size.value), page_token: tokens[pageIndex] || undefined })
      .then(
        (r) => {
          if (mine.signal.aborted) return;
          filterError.hidden = true;
          filter.removeAttribute('aria-invalid');
          nextToken = r.next_page_token ?? '';
          prev.disabled = pageIndex === 0;
          next.disabled = !nextToken;
          const runs = r.runs ?? [];
          where.textContent = `page ${pageIndex + 1} · ${runs.length} runs · ${Math.round(performance.now() - t0)} ms`;
          drawTable(runs);
        },
        (e) => {
          if (mine.signal.aborted) return;
          if (e instanceof ApiError && e.status === 400 && filter.value.trim()) {
            filterError.textContent = `The filter was refused: ${e.message}`;
            filterError.hidden = false;
            filter.setAttribute('aria-invalid', 'true');
            replace(box, h('p', { class: 'muted' }, 'Fix the filter (MLflow syntax, e.g. metrics.rmse < 1 and params.alpha = \'0.5\') and search again.'));
            return;
          }
          replace(box, errorBox(e));
        },
      );
  };

  const restart = () => {
    tokens.length = 1;
    pageIndex = 0;
    fetchPage();
  };

  function columnsOf(runs: Run[]): string[] {
    const ms = new Set<string>();
    const ps = new Set<string>();
    for (const r of runs) {
      for (const m of r.data.metrics ?? []) ms.add(m.key);
      for (const x of r.data.params ?? []) ps.add(x.key);
    }
    const cols = picked ?? [...[...ms].sort().slice(0, defaultCols).map((k) => `m:${k}`), ...[...ps].sort().slice(0, defaultCols).map((k) => `p:${k}`)];
    drawPicker([...ms].sort(), [...ps].sort(), cols);
    return cols;
  }

  function drawPicker(ms: string[], ps: string[], cols: string[]): void {
    const current = new Set(cols);
    const all = [...ms.map((k) => `m:${k}`), ...ps.map((k) => `p:${k}`), ...[...current].filter((c) => !ms.includes(c.slice(2)) && !ps.includes(c.slice(2)))];
    const boxes = all.map((c) => {
      const cb = h('input', { type: 'checkbox', value: c, checked: current.has(c) });
      cb.addEventListener('change', () => {
        picked = [...colsBox.querySelectorAll<HTMLInputElement>('input:checked')].map((i) => i.value);
        fetchPage();
      });
      return h('label', null, cb, ` ${c.startsWith('m:') ? 'metric' : 'param'} ${c.slice(2)}`);
    });
    replace(colsBox, h('summary', null, 'Columns'), h('fieldset', null, h('legend', { class: 'sr-only' }, 'Metric and param columns'), boxes));
  }

  function sortKey(col: string): string {
    if (col.startsWith('m:')) return `metrics.\`${col.slice(2)}\``;
    if (col.startsWith('p:')) return `params.\`${col.slice(2)}\``;
    return `attributes.${col}`;
  }

  function header(label: string, col: string): HTMLElement {
    const key = sortKey(col);
    const [ok, dir] = order.split(/ (?=ASC$|DESC$)/);
    const active = ok === key;
    const aria = active ? (dir === 'ASC' ? 'ascending' : 'descending') : 'none';
    const btn = h('button', { type: 'button', class: 'sort' }, label, active ? (dir === 'ASC' ? ' ▲' : ' ▼') : '');
    btn.addEventListener('click', () => {
      order = `${key} ${active && dir === 'DESC' ? 'ASC' : 'DESC'}`;
      restart();
    });
    return h('th', { scope: 'col', 'aria-sort': aria }, btn);
  }

  function drawTable(runs: Run[]): void {
    const cols = columnsOf(runs);
    const rows = runs.map((r) => {
      const m = new Map((r.data.metrics ?? []).map((x) => [x.key, x.value]));
      const ps = new Map((r.data.params ?? []).map((x) => [x.key, x.value]));
      const pick = h('input', { type: 'checkbox', class: 'pick', checked: selected.has(r.info.run_id), 'aria-label': `Select run ${r.info.run_name || r.info.run_id}` });
      pick.addEventListener('change', () => {
        if (pick.checked) selected.add(r.info.run_id);
        else selected.delete(r.info.run_id);
        drawPicks();
      });
      return h(
        'tr',
        null,
        h('td', { class: 'pick' }, pick),
        h('td', null, h('a', { href: wsPath(ws, 'runs', r.info.run_id) }, r.info.run_name || r.info.run_id)),
        h('td', null, badge(r.info.status)),
        h('td', null, when(r.info.start_time)),
        h('td', { class: 'num' }, duration(r.info.start_time, r.info.end_time)),
        cols.map((c) => h('td', { class: c.startsWith('m:') ? 'num' : '' }, c.startsWith('m:') ? num(m.get(c.slice(2))) : ps.get(c.slice(2)) ?? '')),
      );
    });
    replace(
      box,
      h(
        'div',
        { class: 'scroll-x' },
        h(
          'table',
          { class: 'grid', id: 'runs' },
          h('caption', { class: 'sr-only' }, 'Runs'),
          h('thead', null, h('tr', null, h('th', { scope: 'col', class: 'pick' }, h('span', { class: 'sr-only' }, 'Select')), header('Run', 'run_name'), header('Status', 'status'), header('Started', 'start_time'), h('th', { scope: 'col' }, 'Duration'), cols.map((c) => header(c.slice(2), c)))),
          h('tbody', null, rows),
        ),
      ),
      runs.length === 0 ? h('p', { class: 'muted' }, 'No run matches.') : null,
    );
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    restart();
  });
  size.addEventListener('change', restart);
  prev.addEventListener('click', () => {
    if (pageIndex > 0) pageIndex--;
    fetchPage();
  });
  next.addEventListener('click', () => {
    if (!nextToken) return;
    pageIndex++;
    tokens[pageIndex] = nextToken;
    fetchPage();
  });
  api.experiment(ws, id).then(
    (x) => {
      heading.textContent = `Runs of ${x.name}`;
      document.title = `${x.name} · ciel studio`;
    },
    () => {},
  );
  fetchPage();
  return {
    title: `Runs · ${ws}`,
    el: h(
      'section',
      null,
      crumbs(['Workspaces', '/'], [ws, wsPath(ws, 'jobs')], ['Experiments', wsPath(ws, 'experiments')], [id]),
      heading,
      form,
      filterError,
      h('div', { class: 'toolbar' }, colsBox, compare, picks),
      box,
      h('div', { class: 'pager' }, prev, next, where),
    ),
    dispose: () => ctl?.abort(),
  };
}
