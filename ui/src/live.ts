// Live updates of a job, in one place: the pages ask for a job's changes
// here and never poll on their own. Today it polls the job (steps included)
// while it is not terminal; the server's event stream replaces the loop
// below when it lands, and no page changes.
import { api, type Job } from './api';
import { terminal } from './format';

/** How often a running job is read again, in milliseconds. */
const pollMs = 1000;

/** watchJob calls onJob with the job now and on every change until it ends or stop is called. */
export function watchJob(ws: string, name: string, onJob: (j: Job) => void, onError: (e: unknown) => void): () => void {
  const ctl = new AbortController();
  let timer: number | undefined;
  let last = '';
  const tick = async () => {
    try {
      const j = await api.job(ws, name, ctl.signal);
      const key = JSON.stringify(j);
      if (key !== last) {
        last = key;
        onJob(j);
      }
      if (terminal(j.status)) return;
    } catch (e) {
      if (ctl.signal.aborted) return;
      onError(e);
    }
    timer = window.setTimeout(tick, pollMs);
  };
  tick();
  return () => {
    ctl.abort();
    window.clearTimeout(timer);
  };
}

/** followLog streams a job's step logs to onLine, one line at a time ("[step] text" for pipelines), until the job ends. */
export function followLog(url: string, onLine: (line: string) => void, onEnd: (err?: unknown) => void): () => void {
  const ctl = new AbortController();
  (async () => {
    const res = await fetch(url, { signal: ctl.signal });
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
