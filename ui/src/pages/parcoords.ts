// A parallel-coordinates chart of runs, hand-written SVG (a dozen axes and
// ten lines need no library): one vertical axis per param or metric, one
// line per run through its values. Numeric axes are linear from min to
// max; a param with words for values gets its values spaced evenly.
import type { Run } from '../api';
import { h, svg } from '../dom';

/** Axis is one vertical axis: a param or a metric (the run's latest value). */
export interface Axis {
  kind: 'param' | 'metric';
  key: string;
  /** values are each run's value on the axis, in the runs' order; undefined when the run lacks it. */
  values: (string | number | undefined)[];
}

/** The most axes drawn: the differing params first, then the metrics, then the rest. */
export const maxAxes = 12;

export const palette = ['#2f80ed', '#eb5757', '#27ae60', '#f2994a', '#9b51e0', '#00a3a3', '#d4a017', '#e0559b', '#5b6b7f', '#8d6e63'];

/** axesOf picks the axes of runs: params whose values differ, then metrics, then same-valued params. */
export function axesOf(runs: Run[]): Axis[] {
  const params = [...new Set(runs.flatMap((r) => (r.data.params ?? []).map((p) => p.key)))].sort();
  const metrics = [...new Set(runs.flatMap((r) => (r.data.metrics ?? []).map((m) => m.key)))].sort();
  const pAxis = (key: string): Axis => ({ kind: 'param', key, values: runs.map((r) => (r.data.params ?? []).find((p) => p.key === key)?.value) });
  const mAxis = (key: string): Axis => ({ kind: 'metric', key, values: runs.map((r) => (r.data.metrics ?? []).find((m) => m.key === key)?.value) });
  const ps = params.map(pAxis);
  const differs = (a: Axis) => new Set(a.values.map(String)).size > 1;
  return [...ps.filter(differs), ...metrics.map(mAxis), ...ps.filter((a) => !differs(a))].slice(0, maxAxes);
}

/** scaleOf maps an axis' values to [0, 1] (0 at the bottom), and names its ticks. */
function scaleOf(a: Axis): { at: (v: string | number | undefined) => number | null; ticks: [number, string][] } {
  const present = a.values.filter((v): v is string | number => v !== undefined && v !== '');
  const nums = present.map(Number);
  if (present.length && nums.every(Number.isFinite)) {
    const lo = Math.min(...nums);
    const hi = Math.max(...nums);
    const span = hi - lo;
    const fmt = (n: number) => (Math.abs(n) >= 1e4 || (n !== 0 && Math.abs(n) < 1e-3) ? n.toExponential(2) : String(Number(n.toPrecision(4))));
    return {
      at: (v) => (v === undefined || v === '' ? null : span ? (Number(v) - lo) / span : 0.5),
      ticks: span ? [[0, fmt(lo)], [1, fmt(hi)]] : [[0.5, fmt(lo)]],
    };
  }
  const cats = [...new Set(present.map(String))].sort();
  const pos = (i: number) => (cats.length === 1 ? 0.5 : i / (cats.length - 1));
  return { at: (v) => (v === undefined ? null : pos(cats.indexOf(String(v)))), ticks: cats.map((c, i) => [pos(i), c.length > 14 ? `${c.slice(0, 13)}…` : c]) };
}

/** parallelCoordinates draws runs (labelled by label) over their axes; null when they share no param or metric. */
export function parallelCoordinates(runs: Run[], label: (r: Run) => string): HTMLElement | null {
  const axes = axesOf(runs);
  if (!axes.length) return null;
  const W = 960;
  const H = 340;
  const top = 56;
  const bottom = 28;
  const left = 60;
  const right = 60;
  const step = axes.length > 1 ? (W - left - right) / (axes.length - 1) : 0;
  const xOf = (i: number) => (axes.length > 1 ? left + i * step : W / 2);
  const yOf = (f: number) => top + (1 - f) * (H - top - bottom);
  const scales = axes.map(scaleOf);
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'parcoords', id: 'parcoords', role: 'img', 'aria-label': `Parallel coordinates of ${runs.length} runs over ${axes.length} axes` });

  axes.forEach((a, i) => {
    const x = xOf(i);
    const g = svg('g', { class: `pc-axis pc-${a.kind}`, 'data-axis': `${a.kind}:${a.key}` });
    g.append(svg('line', { x1: x, x2: x, y1: yOf(1), y2: yOf(0) }));
    const name = a.key.length > 16 ? `${a.key.slice(0, 15)}…` : a.key;
    g.append(svg('text', { x, y: 18, 'text-anchor': 'middle', class: 'pc-name' }, svg('title', {}, `${a.kind} ${a.key}`), name));
    g.append(svg('text', { x, y: 34, 'text-anchor': 'middle', class: 'pc-kind' }, a.kind));
    for (const [f, t] of scales[i].ticks) g.append(svg('text', { x: x + 5, y: yOf(f) + 4, class: 'pc-tick' }, t));
    root.append(g);
  });

  runs.forEach((r, ri) => {
    // A run missing an axis' value breaks its line there.
    let d = '';
    let pen = false;
    axes.forEach((a, i) => {
      const f = scales[i].at(a.values[ri]);
      if (f === null) {
        pen = false;
        return;
      }
      d += `${pen ? 'L' : 'M'}${xOf(i).toFixed(1)},${yOf(f).toFixed(1)}`;
      pen = true;
    });
    const path = svg('path', { d, class: 'pc-line', stroke: palette[ri % palette.length], 'data-run': r.info.run_id }, svg('title', {}, label(r)));
    root.append(path);
  });

  const legend = h(
    'ul',
    { class: 'pc-legend' },
    runs.map((r, ri) => {
      const li = h('li', { 'data-run': r.info.run_id }, h('span', { class: 'swatch', style: `background:${palette[ri % palette.length]}` }), ` ${label(r)}`);
      // Hovering a run's name brings its line forward.
      li.addEventListener('mouseenter', () => root.querySelector(`path[data-run="${CSS.escape(r.info.run_id)}"]`)?.classList.add('hot'));
      li.addEventListener('mouseleave', () => root.querySelector(`path[data-run="${CSS.escape(r.info.run_id)}"]`)?.classList.remove('hot'));
      return li;
    }),
  );
  return h('figure', { class: 'pc-figure' }, h('div', { class: 'scroll-x' }, root), h('figcaption', null, legend));
}
