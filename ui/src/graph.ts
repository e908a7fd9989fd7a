// The pipeline graph: steps as nodes, data bindings between them as edges,
// laid out left to right by dagre and drawn as SVG. A node's colour (and
// its text) follows its step's status; re-laying out happens only when the
// set of steps or bindings changes, so a running pipeline's graph does not
// jump while its nodes change colour.
import { Graph, layout } from '@dagrejs/dagre';
import type { Step } from './api';
import { svg } from './dom';
import { statusClass } from './format';

const nodeW = 190;
const nodeH = 48;
const binding = /^\$\{\{\s*parent\.jobs\.([^.\s]+)\.outputs\.([^}\s]+)\s*\}\}$/;

/** An edge: output port of one step bound to an input of another. */
export interface Edge {
  from: string;
  port: string;
  to: string;
  input: string;
}

/** edgesOf reads the data bindings between steps from their inputs. */
export function edgesOf(steps: Record<string, Step>): Edge[] {
  const out: Edge[] = [];
  for (const s of Object.values(steps)) {
    for (const [input, v] of Object.entries(s.inputs ?? {})) {
      const m = typeof v === 'string' ? binding.exec(v) : null;
      if (m && steps[m[1]]) out.push({ from: m[1], port: m[2], to: s.name, input });
    }
  }
  return out.sort((a, b) => `${a.from}.${a.port}>${a.to}`.localeCompare(`${b.from}.${b.port}>${b.to}`));
}

/** PipelineGraph draws a pipeline's steps and keeps their colours current. */
export class PipelineGraph {
  readonly el: SVGSVGElement;
  private shape = '';
  private nodes = new Map<string, SVGGElement>();
  private selected = '';

  constructor(private onSelect: (step: string) => void) {
    this.el = svg('svg', { class: 'graph', role: 'group', 'aria-label': 'Pipeline graph' });
  }

  /** update draws steps, laying them out again only if the graph's shape changed. */
  update(all: Record<string, Step>): void {
    // A sweep's trials are the sweep node's children, not nodes of their own.
    const steps = Object.fromEntries(Object.entries(all).filter(([, s]) => !s.trial));
    const edges = edgesOf(steps);
    const shape = JSON.stringify([Object.keys(steps).sort(), edges]);
    if (shape !== this.shape) {
      this.shape = shape;
      this.layout(steps, edges);
    }
    for (const [name, s] of Object.entries(steps)) {
      const g = this.nodes.get(name);
      if (!g) continue;
      const status = s.reused_from ? 'Reused' : s.status || 'NotStarted';
      g.setAttribute('class', `node ${s.reused_from ? 'st-reused' : statusClass(s.status)}${name === this.selected ? ' selected' : ''}`);
      g.setAttribute('data-status', status);
      g.setAttribute('aria-label', `Step ${name}: ${status}`);
      const label = g.querySelector('.status');
      if (label) label.textContent = status;
    }
  }

  /** select marks a step as the one shown in the side panel. */
  select(step: string): void {
    this.selected = step;
    for (const [name, g] of this.nodes) g.classList.toggle('selected', name === step);
  }

  private layout(steps: Record<string, Step>, edges: Edge[]): void {
    const g = new Graph({ multigraph: true });
    g.setGraph({ rankdir: 'LR', nodesep: 24, ranksep: 60, marginx: 8, marginy: 8 });
    g.setDefaultEdgeLabel(() => ({}));
    const names = Object.keys(steps).sort();
    for (const n of names) g.setNode(n, { width: nodeW, height: nodeH });
    for (const e of edges) g.setEdge(e.from, e.to, {}, `${e.port}>${e.input}`);
    layout(g);
    const { width = 0, height = 0 } = g.graph();
    this.el.replaceChildren();
    this.el.setAttribute('viewBox', `0 0 ${Math.ceil(width)} ${Math.ceil(height)}`);
    this.el.setAttribute('width', String(Math.ceil(width)));
    this.el.setAttribute('height', String(Math.ceil(height)));
    this.el.append(
      svg('defs', {}, svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, svg('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead' }))),
    );
    for (const e of g.edges()) {
      const pts = g.edge(e).points ?? [];
      if (pts.length === 0) continue;
      const d = pts.map((p: { x: number; y: number }, i: number) => `${i ? 'L' : 'M'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ');
      const [port, input] = String(e.name).split('>');
      this.el.append(svg('path', { class: 'edge', d, 'marker-end': 'url(#arrow)' }, svg('title', {}, `${e.v}.${port} → ${e.w}.${input}`)));
    }
    this.nodes.clear();
    for (const n of names) {
      const { x = 0, y = 0 } = g.node(n);
      const node = svg(
        'g',
        { class: 'node', tabindex: 0, role: 'button', 'data-step': n, transform: `translate(${(x - nodeW / 2).toFixed(1)},${(y - nodeH / 2).toFixed(1)})` },
        svg('rect', { width: nodeW, height: nodeH, rx: 8 }),
        svg('text', { x: 12, y: 20, class: 'name' }, n.length > 24 ? `${n.slice(0, 23)}…` : n),
        svg('text', { x: 12, y: 37, class: 'status' }, ''),
      );
      node.addEventListener('click', () => this.onSelect(n));
      node.addEventListener('keydown', (ev) => {
        if (ev.key === 'Enter' || ev.key === ' ') {
          ev.preventDefault();
          this.onSelect(n);
        }
      });
      this.nodes.set(n, node);
      this.el.append(node);
    }
  }
}
