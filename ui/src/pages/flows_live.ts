// Live state of a CI/CD run or a Data Factory run, and of their lists: a
// run's event stream (GET .../pipeline-runs/{id}/events,
// .../datafactory/pipelineruns/{id}/events) sends "run" with the run's whole
// state at once and after each change, then "end"; a list's
// (.../pipeline-runs/events, .../datafactory/pipelineruns/events) sends
// "runs" with the latest runs. The page draws each state as it comes;
// nothing polls.

/** How long to wait before reopening a stream the server refused, in milliseconds. */
const reopenMs = 3000;

/** watchRun calls onState with each "run" state url sends, until "end" or stop. */
export function watchRun<T>(url: string, onState: (s: T) => void, onEnd: () => void, onError: (e: unknown) => void): () => void {
  return watchStream(url, 'run', onState, onEnd, onError);
}

/** watchList calls onList with each "runs" list url sends, until stop. */
export function watchList<T>(url: string, onList: (l: T) => void, onError: (e: unknown) => void): () => void {
  return watchStream(url, 'runs', onList, () => {}, onError);
}

function watchStream<T>(url: string, event: string, onState: (s: T) => void, onEnd: () => void, onError: (e: unknown) => void): () => void {
  let es: EventSource | undefined;
  let timer: number | undefined;
  let closed = false;
  const open = () => {
    if (closed) return;
    const src = new EventSource(url);
    es = src;
    src.addEventListener(event, (e) => {
      try {
        onState(JSON.parse((e as MessageEvent).data) as T);
      } catch (err) {
        onError(err);
      }
    });
    src.addEventListener('end', () => {
      closed = true;
      src.close();
      onEnd();
    });
    src.onerror = () => {
      // CONNECTING: the browser reconnects by itself (after a resync too);
      // CLOSED: the server refused the stream; try again a little later.
      if (!closed && src.readyState === EventSource.CLOSED) {
        onError(new Error('the live stream was refused; retrying'));
        timer = window.setTimeout(open, reopenMs);
      }
    };
  };
  open();
  return () => {
    closed = true;
    es?.close();
    window.clearTimeout(timer);
  };
}

/** ciStatus is what a CI/CD run, job or step shows: its result once completed, else its status. */
export function ciStatus(x: { status: string; result?: string }): string {
  return x.status === 'completed' && x.result ? x.result : x.status;
}

/** shortSHA is a commit's first 8 hex digits. */
export const shortSHA = (sha?: string) => (sha ?? '').slice(0, 8);

/** branchName drops refs/heads/ from a ref. */
export const branchName = (ref?: string) => (ref ?? '').replace(/^refs\/heads\//, '');

/** size writes a byte count as B, KiB, MiB. */
export function size(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1 << 20) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1 << 20)).toFixed(1)} MiB`;
}
