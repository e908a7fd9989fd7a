// Metric charts with uPlot, built for long series: one chart shows one or
// more metrics of a run against step or time, with smoothing and
// drag-to-zoom (double-click resets).
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Metric } from './api';

/** A series to draw: a metric's name and its points. */
export interface Series {
  key: string;
  points: Metric[];
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

/** align joins several series on one x axis (step, or time in seconds), null where a series has no point. */
export function align(series: Series[], x: 'step' | 'time'): uPlot.AlignedData {
  const xs = new Set<number>();
  const maps = series.map((s) => {
    const m = new Map<number, number>();
    for (const p of s.points) {
      const k = x === 'step' ? p.step : p.timestamp / 1000;
      m.set(k, p.value);
      xs.add(k);
    }
    return m;
  });
  const sorted = Float64Array.from(xs).sort();
  return [sorted, ...maps.map((m) => Array.from(sorted, (k) => (m.has(k) ? (m.get(k) as number) : null)))];
}

/** MetricChart is a uPlot chart that follows its container's width. */
export class MetricChart {
  private plot?: uPlot;
  private ro: ResizeObserver;

  constructor(
    private box: HTMLElement,
    private height = 320,
  ) {
    this.ro = new ResizeObserver(() => this.plot?.setSize({ width: this.width(), height: this.height }));
    this.ro.observe(box);
  }

  /** draw replaces the chart with series against x, smoothed by w. */
  draw(series: Series[], x: 'step' | 'time', w: number): void {
    this.plot?.destroy();
    const data = align(series, x);
    const ys = data.slice(1).map((d) => smooth(d as (number | null)[], w));
    const dark = matchMedia('(prefers-color-scheme: dark)').matches;
    const axis = { stroke: dark ? '#c9d1d9' : '#333', grid: { stroke: dark ? '#30363d' : '#e5e5e5' }, ticks: { stroke: dark ? '#30363d' : '#ccc' } };
    this.plot = new uPlot(
      {
        width: this.width(),
        height: this.height,
        scales: { x: { time: x === 'time' } },
        cursor: { drag: { x: true, y: false } },
        axes: [axis, axis],
        series: [{ label: x }, ...series.map((s, i) => ({ label: s.key, stroke: palette[i % palette.length], width: 1.5, spanGaps: true, points: { show: data[0].length <= 200 } }))],
      },
      [data[0], ...ys] as uPlot.AlignedData,
      this.box,
    );
    this.box.setAttribute('data-points', String(data[0].length));
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
