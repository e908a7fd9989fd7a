// The studio's client of the asset routes `ciel data|environment|component|
// compute` use (/api/v1/workspaces/{ws}/{kind}), of an environment's build
// log, and of an online endpoint's live numbers (metrics snapshot, metrics
// stream, deployment log).
import { call, v1 } from './api';

/** AssetKind is an asset collection's URL segment. */
export type AssetKind = 'data' | 'environments' | 'components' | 'computes';

/** Asset is one version of an asset as the API answers it; spec is the YAML as stored (JSON). */
export interface Asset<S = Record<string, any>> {
  kind: string;
  name: string;
  version?: string;
  id?: string;
  archived?: boolean;
  created_at: string;
  spec: S;
}

/** DeploymentSample is what a deployment did in the last interval (serving.Sample). */
export interface DeploymentSample {
  deployment: string;
  requests_per_second: number;
  error_rate: number;
  p50_ms: number | null;
  p99_ms: number | null;
  requests_total: number;
  errors_total: number;
  ready_instances: number;
  queued_requests: number;
}

/** MetricsSample is one event of an endpoint's metrics stream. */
export interface MetricsSample {
  endpoint: string;
  time: string;
  interval_seconds: number;
  deployments: DeploymentSample[];
}

const enc = encodeURIComponent;

export const assets = {
  /** list reads every version of every asset of a kind (computes have none). */
  list: (ws: string, kind: AssetKind) => call<Asset[]>('GET', `${v1(ws)}/${kind}`),
  versions: (ws: string, kind: AssetKind, name: string) => call<Asset[]>('GET', `${v1(ws)}/${kind}/${enc(name)}/versions`),
  /** get reads one version (the latest when version is empty; computes have no version). */
  get: (ws: string, kind: AssetKind, name: string, version?: string) =>
    call<Asset>('GET', `${v1(ws)}/${kind}/${enc(name)}${version ? `/versions/${enc(version)}` : ''}`),
  /** buildLog reads an environment version's build log, or throws the server's reason it has none. */
  buildLog: async (ws: string, name: string, version: string): Promise<string> => {
    const res = await fetch(`${v1(ws)}/environments/${enc(name)}/versions/${enc(version)}/build-log`);
    const text = await res.text();
    if (!res.ok) {
      let msg = text;
      try {
        msg = JSON.parse(text).error.message;
      } catch {
        // not JSON: the text says it
      }
      throw new Error(msg);
    }
    return text;
  },
  /** metricsStreamURL is an endpoint's Server-Sent Events stream of one MetricsSample a second. */
  metricsStreamURL: (ws: string, endpoint: string) => `${v1(ws)}/online-endpoints/${enc(endpoint)}/metrics/stream`,
  /** deploymentLogURL follows a deployment's log (the last lines, then what is written). */
  deploymentLogURL: (ws: string, endpoint: string, dep: string) =>
    `${v1(ws)}/online-endpoints/${enc(endpoint)}/deployments/${enc(dep)}/logs?follow=true&lines=1000`,
};
