// An online endpoint's live panels: charts of each deployment's requests/s,
// p50 and p99 latency and error rate, fed one sample a second by the
// server's metrics stream (Server-Sent Events computed from the counters
// its Prometheus /metrics exports), and a deployment's log followed as its
// workers write it (`ciel online-deployment get-logs`).
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './assets.css';
import { assets, type DeploymentSample, type MetricsSample } from '../api_assets';
import type { OnlineDeployment } from '../api';
import { h, replace } from '../dom';
import { LogView } from '../log';

/** Samples kept per chart: five minutes at one a second. */
const windowSize = 300;
/** How long to wait before reopening a stream the server ended or refused, in milliseconds. */
const reopenMs = 3000;

const palette = ['#2f80ed', '#eb5757', '#27ae60', '#f2994a', '#9b51e0', '#00a3a3', '#d4a017', '#e0559b'];

/** A chart's quantity: its title, the sample field it draws and how its values read. */
interface Quantity {
  id: string;
  title: string;
  pick: (s: DeploymentSample) => number | null;
  fmt: (v: number | null) => string;
  /** top is the y axis's fixed top, when the quantity has one. */
  top?: number;
}

const fixed = (digits: number, unit: string) => (v: number | null) => (v === null ? '–' : `${v.toFixed(digits)}${unit}`);

const quantities: Quantity[] = [
  { id: 'rps', title: 'Requests / s', pick: (s) => s.requests_per_second, fmt: fixed(1, '') },
  { id: 'p50', title: 'p50 latency (ms)', pick: (s) => s.p50_ms, fmt: fixed(1, ' ms') },
  { id: 'p99', title: 'p99 latency (ms)', pick: (s) => s.p99_ms, fmt: fixed(1, ' ms') },
  { id: 'errors', title: 'Error rate (%)', pick: (s) => (s.requests_per_second > 0 ? s.error_rate * 100 : null), fmt: fixed(0, '%'), top: 100 },
];

/** label names a deployment in the charts; "" is the requests that reached none. */
const label = (d: string) => d || '(no deployment)';

/** LiveMetrics is the charts panel of one endpoint. */
export class LiveMetrics {
  readonly el: HTMLElement;
  private state = h('span', { class: 'muted small', 'aria-live': 'polite' }, 'connecting…');
  private readout = h('div', { class: 'live-readout' });
  private boxes = new Map<string, HTMLElement>();
  private plots = new Map<string, uPlot>();
  private names: string[] = [];
  private times: number[] = [];
  /** values[quantity id][deployment index] is that deployment's series. */
  private values = new Map<string, (number | null)[][]>();
  private peaks = new Map<string, number>();
  private es?: EventSource;
  private timer?: number;
  private closed = false;
  private ro: ResizeObserver;

  constructor(
    private ws: string,
    private endpoint: string,
  ) {
    const grid = h('div', { class: 'live-charts' });
    for (const q of quantities) {
      const box = h('div', { class: 'live-chart', id: `live-${q.id}`, role: 'img', 'aria-label': `${q.title}, last five minutes, by deployment` });
      this.boxes.set(q.id, box);
      grid.append(h('figure', null, h('figcaption', null, q.title), box));
    }
    this.el = h('div', { class: 'live', id: 'live-metrics' }, h('div', { class: 'toolbar' }, this.state), grid, this.readout);
    this.ro = new ResizeObserver(() => {
      for (const [id, p] of this.plots) p.setSize({ width: this.width(id), height: 160 });
    });
    this.ro.observe(grid);
    this.open();
  }

  private open(): void {
    if (this.closed) return;
    const es = new EventSource(assets.metricsStreamURL(this.ws, this.endpoint));
    this.es = es;
    es.addEventListener('open', () => (this.state.textContent = 'live · one sample a second'));
    es.addEventListener('sample', (e) => {
      try {
        this.add(JSON.parse((e as MessageEvent).data) as MetricsSample);
      } catch {
        // a sample that does not parse is skipped; the next one comes in a second
      }
    });
    es.addEventListener('end', () => {
      es.close();
      this.state.textContent = 'the endpoint is gone';
    });
    es.onerror = () => {
      if (this.closed) return;
      this.state.textContent = 'reconnecting…';
      if (es.readyState === EventSource.CLOSED) this.timer = window.setTimeout(() => this.open(), reopenMs);
    };
  }

  /** add appends a sample to every chart, redrawing them when a deployment came or went. */
  private add(s: MetricsSample): void {
    const names = s.deployments.map((d) => d.deployment);
    const changed = names.join('\x00') !== this.names.join('\x00');
    if (changed) this.rename(names);
    this.times.push(Date.parse(s.time) / 1000);
    const drop = Math.max(0, this.times.length - windowSize);
    this.times.splice(0, drop);
    for (const q of quantities) {
      const series = this.values.get(q.id)!;
      s.deployments.forEach((d, i) => {
        const v = q.pick(d);
        series[i].push(v);
        series[i].splice(0, drop);
        if (v !== null) this.peaks.set(q.id, Math.max(this.peaks.get(q.id) ?? 0, v));
      });
      const data = [this.times.slice(), ...series.map((x) => x.slice())] as uPlot.AlignedData;
      if (changed || !this.plots.has(q.id)) this.draw(q, data);
      else this.plots.get(q.id)!.setData(data);
      const box = this.boxes.get(q.id)!;
      box.dataset.points = String(this.times.length);
      box.dataset.peak = String(this.peaks.get(q.id) ?? 0);
    }
    this.showReadout(s.deployments);
  }

  /** rename keeps the series of the deployments still there, in the new order, and starts empty ones for new ones. */
  private rename(names: string[]): void {
    for (const q of quantities) {
      const old = this.values.get(q.id) ?? [];
      this.values.set(
        q.id,
        names.map((n) => {
          const k = this.names.indexOf(n);
          return k >= 0 ? old[k] : this.times.map(() => null);
        }),
      );
    }
    this.names = names;
  }

  private draw(q: Quantity, data: uPlot.AlignedData): void {
    this.plots.get(q.id)?.destroy();
    const dark = matchMedia('(prefers-color-scheme: dark)').matches;
    const axis = { stroke: dark ? '#c9d1d9' : '#333', grid: { stroke: dark ? '#30363d' : '#e5e5e5' }, ticks: { stroke: dark ? '#30363d' : '#ccc' }, size: 48 };
    const box = this.boxes.get(q.id)!;
    box.replaceChildren();
    this.plots.set(
      q.id,
      new uPlot(
        {
          width: this.width(q.id),
          height: 160,
          scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, q.top ?? Math.max(1, max ?? 1)] } },
          axes: [axis, axis],
          legend: { show: true },
          series: [{}, ...this.names.map((n, i) => ({ label: label(n), stroke: palette[i % palette.length], width: 1.5, spanGaps: false, points: { show: false }, value: (_u: uPlot, v: number | null) => q.fmt(v) }))],
        },
        data,
        box,
      ),
    );
  }

  /** showReadout writes the last sample's numbers as a table, for reading and for assistive technology. */
  private showReadout(ds: DeploymentSample[]): void {
    replace(
      this.readout,
      h(
        'table',
        { class: 'grid compact', id: 'live-readout' },
        h('caption', null, 'Last second'),
        h('thead', null, h('tr', null, ['Deployment', 'Requests/s', 'p50', 'p99', 'Errors', 'Requests', 'Ready', 'Queued'].map((c) => h('th', { scope: 'col' }, c)))),
        h(
          'tbody',
          null,
          ds.map((d) =>
            h(
              'tr',
              { 'data-deployment': d.deployment },
              h('td', null, label(d.deployment)),
              h('td', { class: 'num rps' }, d.requests_per_second.toFixed(1)),
              h('td', { class: 'num p50' }, fixed(1, ' ms')(d.p50_ms)),
              h('td', { class: 'num p99' }, fixed(1, ' ms')(d.p99_ms)),
              h('td', { class: 'num errors' }, `${(d.error_rate * 100).toFixed(0)}%`),
              h('td', { class: 'num total' }, String(d.requests_total)),
              h('td', { class: 'num' }, String(d.ready_instances)),
              h('td', { class: 'num' }, String(d.queued_requests)),
            ),
          ),
        ),
      ),
    );
  }

  private width(id: string): number {
    return Math.max(220, this.boxes.get(id)?.clientWidth ?? 220);
  }

  /** close stops the stream and removes the charts. */
  close(): void {
    this.closed = true;
    this.es?.close();
    window.clearTimeout(this.timer);
    this.ro.disconnect();
    for (const p of this.plots.values()) p.destroy();
  }
}

/** DeploymentLogs shows one deployment's log at a time, following it. */
export class DeploymentLogs {
  readonly el: HTMLElement;
  private view = new LogView('Deployment log');
  private pick = h('select', { id: 'log-deployment', 'aria-label': 'Deployment whose log to show' });
  private shown = '';

  constructor(
    private ws: string,
    private endpoint: string,
  ) {
    this.pick.addEventListener('change', () => this.show(this.pick.value));
    this.el = h('div', { class: 'deployment-logs', id: 'deployment-logs' }, h('div', { class: 'toolbar' }, h('label', { for: 'log-deployment' }, 'Deployment'), this.pick), this.view.el);
  }

  /** update lists the deployments, following the first one's log unless one is shown already. */
  update(ds: OnlineDeployment[]): void {
    const names = ds.map((d) => d.name).sort();
    const now = Array.from(this.pick.options, (o) => o.value);
    if (names.join('\x00') !== now.join('\x00')) {
      replace(this.pick, names.map((n) => h('option', { value: n }, n)));
    }
    if (!names.length) {
      this.view.close();
      this.shown = '';
      return;
    }
    const want = names.includes(this.shown) ? this.shown : names[0];
    this.pick.value = want;
    if (want !== this.shown) this.show(want);
  }

  private show(dep: string): void {
    this.shown = dep;
    this.view.follow(assets.deploymentLogURL(this.ws, this.endpoint, dep));
  }

  /** close stops following. */
  close(): void {
    this.view.close();
  }
}
