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

/** LoggedModel is an MLflow 3 logged model (mlflow.<flavor>.log_model), kept apart from its run's artifacts. */
export interface LoggedModel {
  info: { model_id: string; name: string; artifact_uri: string; source_run_id?: string; status?: string };
}

/** ArtifactSource is a tree of files: a run's artifacts, or a logged model's. */
export interface ArtifactSource {
  /** key prefixes the paths of this source in the page's URL ('' for the run's own). */
  key: string;
  list: (dir: string) => Promise<ArtifactFile[]>;
  url: (path: string) => string;
}

async function getJSON<T>(url: string, init?: RequestInit): Promise<T> {
  const res = await fetch(url, { ...init, headers: { Accept: 'application/json', ...(init?.body ? { 'Content-Type': 'application/json' } : {}) } });
  if (!res.ok) throw await failure(res);
  return (await res.json()) as T;
}

const mlflowAPI = (ws: string) => `/ws/${enc(ws)}/api/2.0/mlflow`;

/** runSource is run's own artifacts, read through the proxy under base (see artifactBase). */
export const runSource = (ws: string, run: string, base: string): ArtifactSource => ({
  key: '',
  list: (dir) => runArtifacts.list(ws, run, dir),
  url: (path) => artifactURL(base, path),
});

/** modelSource is a logged model's artifacts, read through the logged-models routes. */
export const modelSource = (ws: string, id: string): ArtifactSource => ({
  key: `:model:${id}/`,
  list: (dir) =>
    getJSON<{ files?: ArtifactFile[] }>(`${mlflowAPI(ws)}/logged-models/${enc(id)}/artifacts/directories${dir ? `?artifact_directory_path=${enc(dir)}` : ''}`).then((r) => r.files ?? []),
  url: (path) => `${mlflowAPI(ws)}/logged-models/${enc(id)}/artifacts/files?artifact_file_path=${enc(path)}`,
});

export const runArtifacts = {
  /** loggedModels returns the logged models run logged (MLflow 3 keeps them outside the run's artifacts). */
  loggedModels: (ws: string, experiment: string, run: string) =>
    getJSON<{ models?: LoggedModel[] }>(`${mlflowAPI(ws)}/logged-models/search`, {
      method: 'POST',
      body: JSON.stringify({ experiment_ids: [experiment], filter: `source_run_id = '${run.replace(/'/g, '')}'`, max_results: 100 }),
    }).then((r) => r.models ?? []),
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
