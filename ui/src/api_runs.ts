// The studio's client of a run's artifacts: listed by the MLflow API
// (artifacts/list, relative to the run's artifact root) and read through
// the mlflow-artifacts proxy, which serves files with Range support, so a
// preview reads only the head of a large file.
import { ApiError } from './api';

const enc = encodeURIComponent;

/** ArtifactFile is one entry of a run's artifact listing; path is relative to the run's artifact root. */
export interface ArtifactFile {
  path: string;
  is_dir?: boolean;
  file_size?: number;
}

/** ArtifactRoot is where a run's artifacts are read: the proxy URL prefix, or null when ciel does not hold them. */
export function artifactBase(ws: string, artifactURI: string | undefined): string | null {
  const m = /^mlflow-artifacts:\/*(.*?)\/*$/.exec(artifactURI ?? '');
  if (!m) return null;
  const rel = m[1].split('/').filter(Boolean).map(enc).join('/');
  return `/ws/${enc(ws)}/api/2.0/mlflow-artifacts/artifacts/${rel}`;
}

/** artifactURL is the download URL of a file below a run's artifact root. */
export const artifactURL = (base: string, path: string) => `${base}/${path.split('/').map(enc).join('/')}`;

async function failure(res: Response): Promise<ApiError> {
  const text = await res.text();
  try {
    const e = JSON.parse(text);
    return new ApiError(res.status, e.error_code ?? e.error?.code ?? String(res.status), e.message ?? e.error?.message ?? text);
  } catch {
    return new ApiError(res.status, String(res.status), text || res.statusText);
  }
}

export const runArtifacts = {
  /** list returns the entries of folder path ('' for the root) of run's artifacts. */
  list: async (ws: string, run: string, path: string): Promise<ArtifactFile[]> => {
    const q = `run_id=${enc(run)}${path ? `&path=${enc(path)}` : ''}`;
    const res = await fetch(`/ws/${enc(ws)}/api/2.0/mlflow/artifacts/list?${q}`, { headers: { Accept: 'application/json' } });
    if (!res.ok) throw await failure(res);
    const body = (await res.json()) as { files?: ArtifactFile[] };
    return body.files ?? [];
  },
  /**
   * head reads at most limit bytes from the start of the file at url (an
   * HTTP Range request: the rest never crosses the wire) and tells whether
   * the file goes on past them.
   */
  head: async (url: string, limit: number, signal?: AbortSignal): Promise<{ bytes: Uint8Array; truncated: boolean; size: number | null }> => {
    const res = await fetch(url, { headers: { Range: `bytes=0-${limit - 1}` }, signal });
    if (res.status === 416) return { bytes: new Uint8Array(), truncated: false, size: 0 };
    if (!res.ok) throw await failure(res);
    const total = /\/(\d+)$/.exec(res.headers.get('Content-Range') ?? '');
    const size = total ? Number(total[1]) : res.status === 200 ? Number(res.headers.get('Content-Length') ?? NaN) : null;
    // A server that ignores Range sends it all: read no more than limit of it.
    const reader = res.body?.getReader();
    const parts: Uint8Array[] = [];
    let n = 0;
    let more = false;
    while (reader) {
      const { done, value } = await reader.read();
      if (done) break;
      if (n + value.length > limit) {
        parts.push(value.subarray(0, limit - n));
        n = limit;
        more = true;
        await reader.cancel();
        break;
      }
      parts.push(value);
      n += value.length;
    }
    const bytes = new Uint8Array(n);
    let at = 0;
    for (const p of parts) {
      bytes.set(p, at);
      at += p.length;
    }
    const sz = size !== null && Number.isFinite(size) ? size : null;
    return { bytes, truncated: more || (sz !== null && sz > n), size: sz };
  },
};
