// Live updates, in one place: the pages ask for changes here and never poll
// on their own. A job's page and the jobs list each hold one EventSource on
// the server's event stream (GET /api/v1/workspaces/{ws}/events); a change
// is applied as it comes, and the state is read again only when the stream
// cannot tell it (a "resync", an error, a step the page has not seen, or
// the outputs and metrics a step has once it ends).
import { api, type Job, type Step } from './api';
import { terminal } from './format';

/** Change is one event of the stream: a job's state, or a step's (engine.Change). */
export interface Change {
  seq?: number;
  workspace: string;
  job: string;
  step?: string;
  status: string;
  attempt?: number;
  reused_from?: string;
  error?: string;
  started_at?: string;
  ended_at?: string;
}

/** How long a reread waits for more changes before it reads, in milliseconds. */
const rereadMs = 250;
/** How long to wait before reopening a stream the server refused, in milliseconds. */
const reopenMs = 3000;

/** eventsURL is the workspace's event stream, of one job when job is set. */
export const eventsURL = (ws: string, job?: string) =>
  `/api/v1/workspaces/${encodeURIComponent(ws)}/events${job ? `?job=${encodeURIComponent(job)}` : ''}`;

/** Stream is an EventSource that reopens itself when the server refused it (EventSource gives up on an HTTP error). */
class Stream {
  private es?: EventSource;
  private timer?: number;
  private closed = false;

  constructor(
    private url: string,
    private handlers: Record<string, (e: MessageEvent) => void>,
    private onTrouble: () => void,
  ) {
    this.open();
  }

  private open(): void {
    if (this.closed) return;
    const es = new EventSource(this.url);
    this.es = es;
    for (const [name, fn] of Object.entries(this.handlers)) es.addEventListener(name, fn as EventListener);
    es.addEventListener('resync', () => this.onTrouble());
    es.onerror = () => {
      if (this.closed) return;
      this.onTrouble();
      // CONNECTING: the browser retries by itself; CLOSED: it gave up.
      if (es.readyState === EventSource.CLOSED) this.timer = window.setTimeout(() => this.open(), reopenMs);
    };
  }

  close(): void {
    this.closed = true;
    this.es?.close();
    window.clearTimeout(this.timer);
  }
}

/** debounce runs fn once, rereadMs after the last call. */
function debounce(fn: () => void): { (): void; cancel(): void } {
  let t: number | undefined;
  const d = () => {
    window.clearTimeout(t);
    t = window.setTimeout(fn, rereadMs);
  };
  d.cancel = () => window.clearTimeout(t);
  return d;
}

/** parse reads an event's Change, or undefined when its data is not one. */
function parse(e: MessageEvent): Change | undefined {
  try {
    const c = JSON.parse(e.data);
    return c && typeof c.status === 'string' ? (c as Change) : undefined;
  } catch {
    return undefined;
  }
}

/** applyTo copies a change's state onto a job or a step. */
function applyTo(x: Job | Step, c: Change): void {
  x.status = c.status;
  if (c.started_at) x.start_time = c.started_at;
  if (c.ended_at) x.end_time = c.ended_at;
  if (c.error !== undefined) x.error = c.error;
  if (c.reused_from) (x as Step).reused_from = c.reused_from;
  if (c.attempt) (x as Step).attempt = c.attempt;
}

/** watchJob calls onJob with the job now and on every change until it ends or stop is called. */
export function watchJob(ws: string, name: string, onJob: (j: Job) => void, onError: (e: unknown) => void): () => void {
  const ctl = new AbortController();
  let job: Job | undefined;
  let last = '';
  let stream: Stream | undefined;
  const show = () => {
    if (!job) return;
    const key = JSON.stringify(job);
    if (key === last) return;
    last = key;
    onJob(structuredClone(job));
  };
  const read = async () => {
    try {
      job = await api.job(ws, name, ctl.signal);
      show();
    } catch (e) {
      if (!ctl.signal.aborted) onError(e);
    }
  };
  const reread = debounce(read);
  const onChange = (e: MessageEvent) => {
    const c = parse(e);
    if (!c || !job || c.job !== name) return reread();
    if (!c.step) {
      applyTo(job, c);
      // The job's outputs and metrics are known once it ends.
      if (terminal(c.status)) reread();
    } else {
      const s = job.jobs?.[c.step];
      if (!s) return reread();
      applyTo(s, c);
      if (terminal(c.status)) reread();
    }
    show();
  };
  read().then(() => {
    if (ctl.signal.aborted) return;
    stream = new Stream(
      eventsURL(ws, name),
      {
        job: onChange,
        step: onChange,
        // The job is over: read its final state once and stop following.
        end: () => {
          stream?.close();
          reread();
        },
      },
      reread,
    );
  });
  return () => {
    ctl.abort();
    reread.cancel();
    stream?.close();
  };
}

/** watchJobs calls onChange with every change of a workspace's jobs (steps left out), and onResync when the list should be read again. */
export function watchJobs(ws: string, onChange: (c: Change) => void, onResync: () => void): () => void {
  const resync = debounce(onResync);
  const stream = new Stream(
    eventsURL(ws),
    {
      job: (e) => {
        const c = parse(e);
        if (c) onChange(c);
        else resync();
      },
    },
    resync,
  );
  return () => {
    resync.cancel();
    stream.close();
  };
}

/** followLog streams a log to onLine, one line at a time, until it ends (waiting for it while it answers 404). */
export function followLog(url: string, onLine: (line: string) => void, onEnd: (err?: unknown) => void): () => void {
  const ctl = new AbortController();
  (async () => {
    let res = await fetch(url, { signal: ctl.signal });
    // 404: the step is planned but not recorded yet; its log comes once it is.
    while (res.status === 404) {
      await new Promise((r) => window.setTimeout(r, reopenMs / 3));
      res = await fetch(url, { signal: ctl.signal });
    }
    if (!res.ok || !res.body) throw new Error(`log stream: HTTP ${res.status}`);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let rest = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      rest += value;
      const lines = rest.split('\n');
      rest = lines.pop() ?? '';
      for (const l of lines) onLine(l);
    }
    if (rest) onLine(rest);
  })().then(
    () => onEnd(),
    (e) => {
      if (!ctl.signal.aborted) onEnd(e);
    },
  );
  return () => ctl.abort();
}
