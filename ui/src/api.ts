// The studio's client of ciel's public HTTP API: /api/v1 (what the CLI
// uses) and each workspace's MLflow REST API. Same origin; the server's
// auth cookie rides along.

/** ApiError is a non-2xx answer, with the server's JSON error body when it sent one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface Workspace {
  name: string;
  display_name?: string;
  description?: string;
  mlflow_tracking_uri?: string;
  created_at: string;
}

export interface JobOutput {
  type?: string;
  digest?: string;
}

export interface RunTracking {
  run_id?: string;
  metrics?: Record<string, number>;
  params?: Record<string, string>;
}

export interface Step extends RunTracking {
  name: string;
  status: string;
  component?: string;
  compute?: string;
  reused_from?: string;
  attempt?: number;
  exit_code?: number;
  error?: string;
  start_time?: string;
  end_time?: string;
  outputs?: Record<string, JobOutput>;
  parent?: string;
  trial?: boolean;
  command?: string;
  environment?: string;
  environment_variables?: Record<string, string>;
  inputs?: Record<string, unknown>;
}

export interface Job extends RunTracking {
  name: string;
  type: string;
  display_name?: string;
  description?: string;
  experiment_name?: string;
  status: string;
  error?: string;
  compute?: string;
  tags?: Record<string, string>;
  creation_context: { created_at: string };
  start_time?: string;
  end_time?: string;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, JobOutput>;
  jobs?: Record<string, Step>;
}

export interface Experiment {
  experiment_id: string;
  name: string;
  lifecycle_stage?: string;
  last_update_time?: number;
  creation_time?: number;
}

export interface KeyValue {
  key: string;
  value: string;
}

export interface Metric {
  key: string;
  value: number;
  timestamp: number;
  step: number;
}

/** Bucket is a span of a metric's history: its last point, its exact min and max (null when none is finite) and its count. NaN and ±Inf come as MLflow's strings. */
export interface Bucket {
  step: number;
  timestamp: number;
  value: number | string;
  min: number | string | null;
  max: number | string | null;
  count: number;
  first_step: number;
  first_timestamp: number;
}

export interface Run {
  info: {
    run_id: string;
    run_name?: string;
    experiment_id: string;
    status: string;
    start_time?: number;
    end_time?: number;
    artifact_uri?: string;
  };
  data: { metrics?: Metric[]; params?: KeyValue[]; tags?: KeyValue[] };
}

const enc = encodeURIComponent;

export async function call<T>(method: string, url: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const init: RequestInit = { method, signal, headers: { Accept: 'application/json' } };
  // The server takes JSON only (its guard refuses a POST of another
  // content type, which a cross-site form could send): even an empty body.
  if (method !== 'GET') {
    init.body = JSON.stringify(body ?? {});
    init.headers = { ...init.headers, 'Content-Type': 'application/json' };
  }
  const res = await fetch(url, init);
  const text = await res.text();
  let data: any = undefined;
  try {
    data = text ? JSON.parse(text) : {};
  } catch {
    data = undefined;
  }
  if (!res.ok) {
    // ciel's body is {error:{code,message}}; MLflow's {error_code,message}.
    const e = data?.error ?? data ?? {};
    throw new ApiError(res.status, e.code ?? e.error_code ?? String(res.status), e.message ?? (text || res.statusText));
  }
  return data as T;
}

export const v1 = (ws: string) => `/api/v1/workspaces/${enc(ws)}`;
const mlflow = (ws: string) => `/ws/${enc(ws)}/api/2.0/mlflow`;

export const api = {
  workspaces: () => call<Workspace[]>('GET', '/api/v1/workspaces'),
  jobs: (ws: string) => call<Job[]>('GET', `${v1(ws)}/jobs`),
  job: (ws: string, name: string, signal?: AbortSignal) => call<Job>('GET', `${v1(ws)}/jobs/${enc(name)}`, undefined, signal),
  cancelJob: (ws: string, name: string) => call<Job>('POST', `${v1(ws)}/jobs/${enc(name)}/cancel`),
  rerunJob: (ws: string, name: string) => call<Job>('POST', `${v1(ws)}/jobs/${enc(name)}/rerun`),
  /** jobStreamURL follows a job's step logs ("[step] line") until it ends; with step, that step's log alone, unprefixed. */
  jobStreamURL: (ws: string, name: string, step?: string) => `${v1(ws)}/jobs/${enc(name)}/stream${step ? `?step=${enc(step)}` : ''}`,
  /** outputURL downloads a job output, or a step's as "step.port", as a tar. */
  outputURL: (ws: string, job: string, output: string) => `${v1(ws)}/jobs/${enc(job)}/outputs/${enc(output)}`,

  experiments: (ws: string) =>
    call<{ experiments?: Experiment[] }>('POST', `${mlflow(ws)}/experiments/search`, {
      max_results: 1000,
      order_by: ['last_update_time DESC'],
    }).then((r) => r.experiments ?? []),
  experiment: (ws: string, id: string) =>
    call<{ experiment: Experiment }>('GET', `${mlflow(ws)}/experiments/get?experiment_id=${enc(id)}`).then((r) => r.experiment),
  searchRuns: (ws: string, q: { experiment_ids: string[]; filter?: string; order_by?: string[]; max_results: number; page_token?: string }) =>
    call<{ runs?: Run[]; next_page_token?: string }>('POST', `${mlflow(ws)}/runs/search`, q),
  run: (ws: string, id: string) => call<{ run: Run }>('GET', `${mlflow(ws)}/runs/get?run_id=${enc(id)}`).then((r) => r.run),
  /** metricBuckets reads a run's metric history summed up in at most maxPoints buckets, each with its exact min and max. */
  metricBuckets: (ws: string, run: string, key: string, maxPoints: number) =>
    call<{ points: number; buckets?: Bucket[] }>('GET', `${v1(ws)}/runs/${enc(run)}/metrics/${enc(key)}/history?max_points=${maxPoints}`),
};

// Models and online endpoints: the /api/v1 resources `ciel model` and
// `ciel online-endpoint` use (client/models.go, client/endpoints.go).

export interface Model {
  name: string;
  description?: string;
  tags?: Record<string, string>;
  aliases?: Record<string, number>;
  latest_version?: number;
  creation_context: { created_at: string };
}

export interface DataLineage {
  step: string;
  input: string;
  asset?: string;
  digest: string;
  origin?: Record<string, string>;
}

export interface ModelVersion {
  name: string;
  version: string;
  type: string;
  description?: string;
  path?: string;
  tags?: Record<string, string>;
  aliases?: string[];
  stage?: string;
  status: string;
  job_name?: string;
  run_id?: string;
  archived?: boolean;
  lineage: {
    source?: string;
    digest?: string;
    job?: string;
    step?: string;
    output?: string;
    run_id?: string;
    code?: string;
    component?: string;
    inputs?: DataLineage[];
    /** The producing job's ci.* / datafactory.* tags: the CI or factory run that submitted it. */
    origin?: Record<string, string>;
  };
  creation_context: { created_at: string };
}

export interface OnlineEndpoint {
  name: string;
  description?: string;
  auth_mode: string;
  traffic: Record<string, number> | null;
  mirror_traffic: Record<string, number> | null;
  scoring_uri: string;
  provisioning_state: string;
  creation_context: { created_at: string };
}

export interface OnlineDeployment {
  name: string;
  model?: string;
  environment?: string;
  instance_type?: string;
  instance_count: number;
  provisioning_state: string;
  error?: string;
  instances?: { index: number; pid?: number; state: string }[];
  creation_context: { created_at: string };
}

/** ScoreAnswer is what a scoring URI answered, and which deployment did. */
export interface ScoreAnswer {
  status: number;
  deployment: string;
  body: string;
}

const ep = (ws: string, ...rest: string[]) => [`${v1(ws)}/online-endpoints`, ...rest.map(enc)].join('/');

export const serving = {
  models: (ws: string) => call<Model[]>('GET', `${v1(ws)}/models`),
  model: (ws: string, name: string) => call<Model>('GET', `${v1(ws)}/models/${enc(name)}`),
  versions: (ws: string, name: string) => call<ModelVersion[]>('GET', `${v1(ws)}/models/${enc(name)}/versions`),
  version: (ws: string, name: string, v: string) => call<ModelVersion>('GET', `${v1(ws)}/models/${enc(name)}/versions/${enc(v)}`),
  /** mlmodel reads a version's MLmodel file through the MLflow artifacts API, or null when it has none. */
  mlmodel: async (ws: string, path: string): Promise<string | null> => {
    const m = /^mlflow-artifacts:\/+(.*?)\/*$/.exec(path);
    if (!m) return null;
    const rel = m[1].split('/').map(enc).join('/');
    const res = await fetch(`/ws/${enc(ws)}/api/2.0/mlflow-artifacts/artifacts/${rel}/MLmodel`);
    return res.ok ? res.text() : null;
  },

  endpoints: (ws: string) => call<OnlineEndpoint[]>('GET', ep(ws)),
  endpoint: (ws: string, name: string) => call<OnlineEndpoint>('GET', ep(ws, name)),
  deployments: (ws: string, name: string) => call<OnlineDeployment[]>('GET', ep(ws, name, 'deployments')),
  /** setTraffic is `ciel online-endpoint update --traffic`: PATCH of the endpoint's traffic. */
  setTraffic: (ws: string, name: string, traffic: Record<string, number>) =>
    call<OnlineEndpoint>('PATCH', ep(ws, name), { traffic }),
  /**
   * score sends a request to the endpoint's scoring URI through the API
   * (POST .../score, which adds the endpoint's key as `ciel online-endpoint
   * invoke` does), and returns the answer whatever its status.
   */
  score: async (ws: string, name: string, body: string, deployment?: string): Promise<ScoreAnswer> => {
    const q = deployment ? `?deployment=${enc(deployment)}` : '';
    const res = await fetch(`${ep(ws, name, 'score')}${q}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body,
    });
    return { status: res.status, deployment: res.headers.get('azureml-model-deployment') ?? '', body: await res.text() };
  },
};
