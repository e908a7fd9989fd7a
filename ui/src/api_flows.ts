// The studio's client of ciel's CI/CD API (`ciel repos`, `ciel pipelines`:
// Azure DevOps' shapes) and Data Factory API (`ciel data-factory`: ADF
// REST's shapes), both under /api/v1/workspaces/{ws}.
import { call } from './api';

export interface Repository {
  id: string;
  name: string;
  defaultBranch: string;
  remoteUrl: string;
  branches?: { name: string; objectId: string }[];
}

export interface CIPipeline {
  id: number;
  name: string;
  repository: { name: string; type: string; url: string };
  process: { yamlFilename: string };
  createdDate: string;
}

export interface CIStep {
  name: string;
  displayName?: string;
  status: string;
  startTime?: string;
  finishTime?: string;
  exitCode: number;
  error?: string;
}

export interface CIJob {
  stage: string;
  name: string;
  displayName?: string;
  status: string;
  result?: string;
  startTime?: string;
  finishTime?: string;
  steps?: CIStep[];
}

export interface CIRun {
  id: number;
  buildNumber: string;
  status: string;
  result?: string;
  reason: string;
  sourceBranch: string;
  sourceVersion: string;
  parameters?: Record<string, string>;
  queueTime: string;
  startTime?: string;
  finishTime?: string;
  definition: { id: number; name: string };
  error?: string;
  pullRequest?: { number: number; sourceBranch: string; targetBranch: string };
  jobs?: CIJob[];
  created?: { kind: string; name: string; version?: string }[];
  testResults?: { totalTests: number; passedTests: number; failedTests: number; skippedTests: number; files: number };
}

export interface CIArtifact {
  name: string;
  resource: { type: string; downloadUrl: string; files: number; size: number };
}

export interface FactoryResource {
  id: string;
  name: string;
  type: string;
  properties: any;
  etag: string;
  systemData: { createdAt: string; lastModifiedAt: string };
}

export interface FactoryRun {
  runId: string;
  runGroupId: string;
  pipelineName: string;
  parameters: Record<string, unknown> | null;
  invokedBy: { name?: string; invokedByType?: string };
  runStart?: string;
  runEnd?: string;
  durationInMs?: number;
  status: string;
  message: string;
  referencePipelineRunId?: string;
  rerunMode?: string;
  lastUpdated: string;
}

export interface ActivityRun {
  activityRunId: string;
  activityName: string;
  activityType: string;
  status: string;
  activityRunStart?: string;
  activityRunEnd?: string;
  durationInMs?: number;
  input: unknown;
  output: unknown;
  error?: { errorCode?: string; message?: string; failureType?: string; target?: string };
  retryAttempt?: number;
  iteration?: number;
}

/** FactoryRunState is what a factory run's event stream sends. */
export interface FactoryRunState {
  run: FactoryRun;
  activityRuns: ActivityRun[];
}

const enc = encodeURIComponent;
const v1 = (ws: string) => `/api/v1/workspaces/${enc(ws)}`;
const df = (ws: string) => `${v1(ws)}/datafactory`;

/** Factory resource kinds, as the API's path segments name them. */
export type FactoryKind = 'pipelines' | 'linkedservices' | 'datasets' | 'triggers';

export const cicd = {
  repos: (ws: string) => call<Repository[]>('GET', `${v1(ws)}/repos`),
  repo: (ws: string, name: string) => call<Repository>('GET', `${v1(ws)}/repos/${enc(name)}`),
  pipelines: (ws: string) => call<CIPipeline[]>('GET', `${v1(ws)}/pipelines`),
  pipeline: (ws: string, name: string) => call<CIPipeline>('GET', `${v1(ws)}/pipelines/${enc(name)}`),
  runs: (ws: string, pipeline?: string) => call<CIRun[]>('GET', `${v1(ws)}/pipeline-runs${pipeline ? `?pipeline=${enc(pipeline)}` : ''}`),
  run: (ws: string, id: string) => call<CIRun>('GET', `${v1(ws)}/pipeline-runs/${enc(id)}`),
  /** queue is `ciel pipelines run`: a manual run of the branch (the default one when empty). */
  queue: (ws: string, pipeline: string, branch?: string) => call<CIRun>('POST', `${v1(ws)}/pipelines/${enc(pipeline)}/runs`, branch ? { branch } : {}),
  cancel: (ws: string, id: string) => call<CIRun>('POST', `${v1(ws)}/pipeline-runs/${enc(id)}/cancel`),
  artifacts: (ws: string, id: string) => call<CIArtifact[]>('GET', `${v1(ws)}/pipeline-runs/${enc(id)}/artifacts`),
  artifactURL: (ws: string, id: string, name: string) => `${v1(ws)}/pipeline-runs/${enc(id)}/artifacts/${enc(name)}`,
  /** logURL follows the run's log, or the log of its job at index job alone. */
  logURL: (ws: string, id: string, job?: number) => `${v1(ws)}/pipeline-runs/${enc(id)}/logs?follow=true${job !== undefined ? `&job=${job}` : ''}`,
  eventsURL: (ws: string, id: string) => `${v1(ws)}/pipeline-runs/${enc(id)}/events`,
  /** runsEventsURL streams the latest runs (of one pipeline). */
  runsEventsURL: (ws: string, pipeline?: string) => `${v1(ws)}/pipeline-runs/events${pipeline ? `?pipeline=${enc(pipeline)}` : ''}`,
};

export const factory = {
  list: (ws: string, kind: FactoryKind) => call<{ value: FactoryResource[] }>('GET', `${df(ws)}/${kind}`).then((r) => r.value ?? []),
  get: (ws: string, kind: FactoryKind, name: string) => call<FactoryResource>('GET', `${df(ws)}/${kind}/${enc(name)}`),
  createRun: (ws: string, pipeline: string, params: Record<string, unknown>) =>
    call<{ runId: string }>('POST', `${df(ws)}/pipelines/${enc(pipeline)}/createRun`, params),
  runs: (ws: string, pipeline?: string) =>
    call<{ value: FactoryRun[] }>('POST', `${df(ws)}/queryPipelineRuns`, pipeline ? { filters: [{ operand: 'PipelineName', operator: 'Equals', values: [pipeline] }] } : {}).then(
      (r) => r.value ?? [],
    ),
  run: (ws: string, id: string) => call<FactoryRun>('GET', `${df(ws)}/pipelineruns/${enc(id)}`),
  activityRuns: (ws: string, id: string) => call<{ value: ActivityRun[] }>('POST', `${df(ws)}/pipelineruns/${enc(id)}/queryActivityruns`, {}).then((r) => r.value ?? []),
  cancel: (ws: string, id: string) => call<unknown>('POST', `${df(ws)}/pipelineruns/${enc(id)}/cancel`),
  rerun: (ws: string, id: string) => call<{ runId: string }>('POST', `${df(ws)}/pipelineruns/${enc(id)}/rerun`),
  setTrigger: (ws: string, name: string, start: boolean) => call<FactoryResource>('POST', `${df(ws)}/triggers/${enc(name)}/${start ? 'start' : 'stop'}`),
  eventsURL: (ws: string, id: string) => `${df(ws)}/pipelineruns/${enc(id)}/events`,
  /** runsEventsURL streams the latest runs (of one pipeline) as {value: [...]}. */
  runsEventsURL: (ws: string, pipeline?: string) => `${df(ws)}/pipelineruns/events${pipeline ? `?pipeline=${enc(pipeline)}` : ''}`,
};
