// Metric charts with uPlot, built for long series: one chart shows one or
// more series (metrics of a run, or one metric of several runs) against
// step or time, with smoothing and drag-to-zoom (double-click resets). A
// series read in buckets (a long history summed up by the server) is drawn
// as its line with the band of each bucket's exact min and max behind it.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { api, type Bucket } from './api';
import { setQuery } from './router';

/** A point to draw; min and max, when set, span what its bucket held. */
export interface Point {
  step: number;
  timestamp: number;
  value: number;
  min?: number | null;
  max?: number | null;
}

/** A series to draw: its label and its points. */
export interface Series {
  key: string;
  points: Point[];
  /** count is how many points the series stands for (more than points.length when bucketed). */
  count?: number;
}

/** Buckets asked for per series: enough for a wide screen, bounded however long the history. */
export const maxPoints = 2000;

const toNum = (v: number | string | null): number | null => (v === null ? null : Number(v));

/** bucketSeries reads run's metric key as a series of at most maxPoints buckets. */
export async function bucketSeries(ws: string, run: string, key: string, label = key): Promise<Series> {
  const r = await api.metricBuckets(ws, run, key, maxPoints);
  const points = (r.buckets ?? []).map((b: Bucket) => ({ step: b.step, timestamp: b.timestamp, value: Number(b.value), min: toNum(b.min), max: toNum(b.max) }));
  return { key: label, points, count: r.points };
}

const palette = ['#2f80ed', '#eb5757', '#27ae60', '#f2994a', '#9b51e0', '#00a3a3', '#d4a017', '#e0559b'];

/** smooth is an exponential moving average with weight w in [0, 1) (0: none), as TensorBoard's slider. */
export function smooth(ys: (number | null)[], w: number): (number | null)[] {
  if (w <= 0) return ys;
  let acc = 0;
  let n = 0;
  return ys.map((y) => {
    if (y === null || !Number.isFinite(y)) return y;
    acc = acc * w + (1 - w) * y;
    n++;
    // Debiased as TensorBoard does, so early points are not pulled to 0.
    return acc / (1 - Math.pow(w, n));
  });
}

/** XAxis is what a chart's x axis measures: the step, the wall time, or the seconds since the series' first point. */
export type XAxis = 'step' | 'time' | 'relative';

/** ChartOptions are a chart's y-axis choices. */
export interface ChartOptions {
  /** logY draws y on a log scale (values <= 0 are left out). */
  logY?: boolean;
}

/** align joins several series on one x axis (step, time or relative time in seconds), null where a series has no point. */
export function align(series: Series[], x: XAxis, pick: (p: Point) => number | null = (p) => p.value): uPlot.AlignedData {
  const xs = new Set<number>();
  const maps = series.map((s) => {
    const m = new Map<number, number | null>();
    const t0 = s.points.length ? Math.min(...s.points.map((p) => p.timestamp)) : 0;
    for (const p of s.points) {
      const k = x === 'step' ? p.step : x === 'time' ? p.timestamp / 1000 : (p.timestamp - t0) / 1000;
      m.set(k, pick(p));
      xs.add(k);
    }
    return m;
  });
  const sorted = Float64Array.from(xs).sort();
  return [sorted, ...maps.map((m) => Array.from(sorted, (k) => m.get(k) ?? null))];
}

/** banded tells whether a series has a bucket whose min and max differ (a summed-up history). */
const banded = (s: Series) => s.points.some((p) => p.min != null && p.max != null && p.min !== p.max);

/** variation is the sum of the absolute steps between a series' drawn values: smoothing lowers it. */
export function variation(ys: (number | null)[]): number {
  let v = 0;
  let prev: number | null = null;
  for (const y of ys) {
    if (y === null || !Number.isFinite(y)) continue;
    if (prev !== null) v += Math.abs(y - prev);
    prev = y;
  }
  return v;
}

/** positive keeps the values a log scale can draw. */
const positive = (ys: (number | null)[]) => ys.map((y) => (y !== null && y > 0 ? y : null));

/** fade is a palette colour at a low opacity, for bands. */
const fade = (c: string) => `${c}33`;

/** MetricChart is a uPlot chart that follows its container's width. */
export class MetricChart {
  private plot?: uPlot;
  private ro: ResizeObserver;
  private draws = 0;

  constructor(
    private box: HTMLElement,
    private height = 320,
  ) {
    this.ro = new ResizeObserver(() => this.plot?.setSize({ width: this.width(), height: this.height }));
    this.ro.observe(box);
  }

  /**
   * draw replaces the chart with series against x, smoothed by w (the raw
   * curves then drawn faintly behind, as TensorBoard does), y on a log
   * scale when opts.logY.
   */
  draw(series: Series[], x: XAxis, w: number, opts: ChartOptions = {}): void {
    this.plot?.destroy();
    const data = align(series, x);
    this.full = data[0].length ? [data[0][0], data[0][data[0].length - 1]] : [0, 0];
    const fit = opts.logY ? positive : (ys: (number | null)[]) => ys;
    const raw = data.slice(1).map((d) => fit(d as (number | null)[]));
    const ys = raw.map((d) => smooth(d, w));
    // Each bucketed series gets two more series, its max and min, filled
    // between as a band, drawn after (so under the cursor's legend) the lines.
    const bandSeries: uPlot.Series[] = [];
    const bandData: (number | null)[][] = [];
    const bands: uPlot.Band[] = [];
    series.forEach((s, i) => {
      if (!banded(s)) return;
      const c = palette[i % palette.length];
      const hi = 1 + series.length + bandData.length;
      bandData.push(fit(align([s], x, (p) => p.max ?? null)[1] as (number | null)[]), fit(align([s], x, (p) => p.min ?? null)[1] as (number | null)[]));
      bandSeries.push({ label: `${s.key} max`, stroke: fade(c), width: 1, spanGaps: true, points: { show: false } }, { label: `${s.key} min`, stroke: fade(c), width: 1, spanGaps: true, points: { show: false } });
      bands.push({ series: [hi, hi + 1], fill: fade(c) });
    });
    if (w > 0) {
      series.forEach((s, i) => {
        bandSeries.push({ label: `${s.key} (raw)`, stroke: fade(palette[i % palette.length]), width: 1, spanGaps: true, points: { show: false } });
        bandData.push(raw[i]);
      });
    }
    const dark = matchMedia('(prefers-color-scheme: dark)').matches;
    const axis = { stroke: dark ? '#c9d1d9' : '#333', grid: { stroke: dark ? '#30363d' : '#e5e5e5' }, ticks: { stroke: dark ? '#30363d' : '#ccc' } };
    this.plot = new uPlot(
      {
        width: this.width(),
        height: this.height,
        scales: { x: { time: x === 'time' }, y: opts.logY ? { distr: 3, log: 10 } : {} },
        cursor: { drag: { x: true, y: false } },
        hooks: {
          setScale: [
            (u, key) => {
              if (key !== 'x') return;
              const zoomed = u.scales.x.min! > this.full[0] || u.scales.x.max! < this.full[1];
              this.box.setAttribute('data-zoomed', String(zoomed));
            },
          ],
          // data-drawn counts the draws uPlot finished (its draw hook runs
          // once the canvas is painted): what tests and bench/studio wait for.
          draw: [() => this.box.setAttribute('data-drawn', String(++this.draws))],
        },
        axes: [axis, axis],
        series: [{ label: x }, ...series.map((s, i) => ({ label: s.key, stroke: palette[i % palette.length], width: 1.5, spanGaps: true, points: { show: data[0].length <= 200 } })), ...bandSeries],
        bands,
      },
      [data[0], ...ys, ...bandData] as uPlot.AlignedData,
      this.box,
    );
    this.box.setAttribute('data-points', String(data[0].length));
    this.box.setAttribute('data-series', String(series.length));
    this.box.setAttribute('data-bands', String(bands.length));
    this.box.setAttribute('data-x', x);
    this.box.setAttribute('data-log-y', String(!!opts.logY));
    this.box.setAttribute('data-variation', ys.length ? variation(ys[0]).toPrecision(6) : '0');
    this.box.setAttribute('data-zoomed', 'false');
  }

  private full: [number, number] = [0, 0];

  /** resetZoom shows the whole x range again after a drag-zoom (as a double-click on the chart does). */
  resetZoom(): void {
    this.plot?.setScale('x', { min: this.full[0], max: this.full[1] });
  }

  /** destroy removes the chart and stops following the container. */
  destroy(): void {
    this.ro.disconnect();
    this.plot?.destroy();
  }

  private width(): number {
    return Math.max(200, this.box.clientWidth);
  }
}

/**
 * saveChartView keeps a chart's view in the page's URL (?metric=, ?x=,
 * ?smooth=, ?logy=1), so a shared link draws the same chart.
 */
export function saveChartView(metric: string, x: string, smoothing: string, logY: boolean): void {
  const nq = new URLSearchParams(location.search);
  nq.set('metric', metric);
  nq.set('x', x);
  nq.set('smooth', smoothing);
  if (logY) nq.set('logy', '1');
  else nq.delete('logy');
  setQuery(nq);
}
