// A live log: follows a log stream (a job's, or one step's with ?step=),
// scrolls with new lines while the reader is at the bottom, and filters by
// a search text.
import { followLog } from './live';
import { h } from './dom';

/** Most lines kept in the page; older ones are dropped first. */
const maxLines = 20000;

/** LogView shows and follows one step's log. */
export class LogView {
  readonly el: HTMLElement;
  private pre: HTMLPreElement;
  private state: HTMLElement;
  private search: HTMLInputElement;
  private lines: string[] = [];
  private stop?: () => void;

  constructor(label: string) {
    this.pre = h('pre', { class: 'log', tabindex: 0, 'aria-label': label, 'aria-live': 'off' });
    this.state = h('span', { class: 'muted small', 'aria-live': 'polite' }, '');
    this.search = h('input', { type: 'search', placeholder: 'Search the log', 'aria-label': 'Search the log' });
    this.search.addEventListener('input', () => this.redraw());
    this.el = h('div', { class: 'logview' }, h('div', { class: 'toolbar' }, this.search, this.state), this.pre);
  }

  /** follow streams url's lines, those keep accepts when it is given (it is called once a line, in order). */
  follow(url: string, keep?: (line: string) => boolean): void {
    this.close();
    this.lines = [];
    this.redraw();
    this.state.textContent = 'following…';
    let pending: string[] = [];
    let scheduled = false;
    const flush = () => {
      scheduled = false;
      const atBottom = this.pre.scrollTop + this.pre.clientHeight >= this.pre.scrollHeight - 4;
      this.lines.push(...pending);
      if (this.lines.length > maxLines) this.lines.splice(0, this.lines.length - maxLines);
      const q = this.search.value;
      const add = q ? pending.filter((l) => l.includes(q)) : pending;
      pending = [];
      if (add.length) this.pre.append(add.join('\n') + '\n');
      if (atBottom) this.pre.scrollTop = this.pre.scrollHeight;
    };
    this.stop = followLog(
      url,
      (line) => {
        if (keep && !keep(line)) return;
        pending.push(line);
        if (!scheduled) {
          scheduled = true;
          window.setTimeout(flush, 50);
        }
      },
      (err) => {
        flush();
        this.state.textContent = err ? `stream ended: ${err instanceof Error ? err.message : String(err)}` : `${this.lines.length} lines · ended`;
      },
    );
  }

  /** close stops following. */
  close(): void {
    this.stop?.();
    this.stop = undefined;
  }

  private redraw(): void {
    const q = this.search.value;
    const shown = q ? this.lines.filter((l) => l.includes(q)) : this.lines;
    this.pre.textContent = shown.length ? shown.join('\n') + '\n' : '';
  }
}
