// How the studio writes times, durations and statuses.

/** duration writes the time from start to end (or now) as "1h 2m", "3m 4s" or "5.2s". */
export function duration(start?: string | number | null, end?: string | number | null): string {
  if (!start) return '';
  const a = new Date(start).getTime();
  const b = end ? new Date(end).getTime() : Date.now();
  const s = Math.max(0, (b - a) / 1000);
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${Math.floor(s % 60)}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

/** when writes a moment as local date and time to the second. */
export function when(t?: string | number | null): string {
  if (!t) return '';
  const d = new Date(t);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** statusClass maps a job, step or run status to the CSS class that colours it. */
export function statusClass(status: string): string {
  switch (status) {
    case 'Completed':
    case 'FINISHED':
    case 'Succeeded': // Data Factory's and Azure Pipelines' statuses
    case 'succeeded':
    case 'succeededWithIssues':
      return 'st-ok';
    case 'Reused':
      return 'st-reused';
    case 'Failed':
    case 'FAILED':
    case 'failed':
      return 'st-failed';
    case 'Canceled':
    case 'CancelRequested':
    case 'KILLED':
    case 'Cancelled':
    case 'Canceling':
    case 'canceled':
    case 'cancelling':
    case 'Skipped':
    case 'skipped':
      return 'st-canceled';
    case 'Running':
    case 'Starting':
    case 'Preparing':
    case 'Finalizing':
    case 'RUNNING':
    case 'InProgress':
    case 'inProgress':
      return 'st-running';
    case 'Queued':
    case 'NotStarted':
    case 'SCHEDULED':
    case 'pending':
    case 'notStarted':
      return 'st-queued';
    default:
      return 'st-other';
  }
}

/** terminal reports whether a job status will not change any more. */
export function terminal(status: string): boolean {
  return status === 'Completed' || status === 'Failed' || status === 'Canceled';
}

/** num writes a metric value compactly. */
export function num(v: number | undefined): string {
  if (v === undefined || v === null) return '';
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e6) ? v.toExponential(3) : String(Number(v.toPrecision(5)));
}
