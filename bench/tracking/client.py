"""The tracking benchmark's client: the same script runs against ciel and
against `mlflow server`, each given by its tracking URI.

Scenarios (each prints one JSON line: scenario, seconds, ops, ops_per_s):
  a        PROCS processes each log N metrics one call at a time
  b        CALLS log_batch calls of BATCH metrics each, from one process
  c-setup  create RUNS runs (param, metrics, tag) in experiment "bench-c"
  c        search_runs over them with a filter, reading every page
  c-floor  the client's own share of c: the same pages, fetched first,
           then parsed as the client parses them, with no server timed
  d-sort   the first page of 100 of those runs ordered by metrics.m DESC:
           the median of REPS answers (the studio's runs table)
  d-filter the same with the filter "params.kind = 'tree' and
           metrics.loss > 0.5" and order metrics.m DESC

--client mlflow drives the real mlflow client (MlflowClient); --client rest
sends the same REST calls with a plain requests.Session, so the client's own
per-call cost (about 1.5 ms of Python in mlflow's client) weighs less and the
servers' difference shows.
"""

import argparse
import json
import multiprocessing as mp
import os
import random
import time
import uuid

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

FILTER = "metrics.m > 0.5 and params.kind = 'tree'"

# Scenario d: first pages a runs table asks for, (filter, order_by).
PAGES = {"d-sort": ("", ["metrics.m DESC"]),
         "d-filter": ("params.kind = 'tree' and metrics.loss > 0.5", ["metrics.m DESC"])}


class RestClient:
    """The MLflow REST calls the benchmark makes, over one HTTP session."""

    def __init__(self, uri):
        import requests

        self.base = uri.rstrip("/") + "/api/2.0/mlflow/"
        self.s = requests.Session()

    def _post(self, path, body):
        r = self.s.post(self.base + path, json=body)
        r.raise_for_status()
        return r.json()

    def create_experiment(self, name):
        return self._post("experiments/create", {"name": name})["experiment_id"]

    def get_experiment_id(self, name):
        r = self.s.get(self.base + "experiments/get-by-name", params={"experiment_name": name})
        r.raise_for_status()
        return r.json()["experiment"]["experiment_id"]

    def create_run(self, exp, tags=None):
        body = {"experiment_id": exp, "start_time": int(time.time() * 1000),
                "tags": [{"key": k, "value": v} for k, v in (tags or {}).items()]}
        return self._post("runs/create", body)["run"]["info"]["run_id"]

    def log_metric(self, run, key, value, step):
        self._post("runs/log-metric", {"run_id": run, "run_uuid": run, "key": key, "value": value,
                                       "timestamp": int(time.time() * 1000), "step": step})

    def log_batch(self, run, metrics=(), params=()):
        ts = int(time.time() * 1000)
        self._post("runs/log-batch", {"run_id": run,
                                      "metrics": [{"key": k, "value": v, "timestamp": ts, "step": s} for k, v, s in metrics],
                                      "params": [{"key": k, "value": v} for k, v in params]})

    def search(self, exp, flt):
        runs, token = 0, None
        while True:
            body = {"experiment_ids": [exp], "filter": flt, "max_results": 1000, "run_view_type": "ACTIVE_ONLY"}
            if token:
                body["page_token"] = token
            out = self._post("runs/search", body)
            runs += len(out.get("runs", []))
            token = out.get("next_page_token")
            if not token:
                return runs

    def first_page(self, exp, flt, order_by, n):
        body = {"experiment_ids": [exp], "filter": flt, "max_results": n, "order_by": order_by,
                "run_view_type": "ACTIVE_ONLY"}
        return len(self._post("runs/search", body).get("runs", []))

    def pages(self, exp, flt):
        """The raw response bodies of the search, page by page."""
        bodies, token = [], None
        while True:
            body = {"experiment_ids": [exp], "filter": flt, "max_results": 1000, "run_view_type": "ACTIVE_ONLY"}
            if token:
                body["page_token"] = token
            r = self.s.post(self.base + "runs/search", json=body)
            r.raise_for_status()
            bodies.append(r.text)
            token = r.json().get("next_page_token")
            if not token:
                return bodies

    @staticmethod
    def parse(bodies):
        """What this client does with the pages once they have arrived."""
        return sum(len(json.loads(b).get("runs", [])) for b in bodies)


class MlflowClientAdapter:
    """The same calls through the real mlflow client."""

    def __init__(self, uri):
        from mlflow import MlflowClient

        self.c = MlflowClient(tracking_uri=uri)

    def create_experiment(self, name):
        return self.c.create_experiment(name)

    def get_experiment_id(self, name):
        return self.c.get_experiment_by_name(name).experiment_id

    def create_run(self, exp, tags=None):
        return self.c.create_run(exp, tags=tags or {}).info.run_id

    def log_metric(self, run, key, value, step):
        self.c.log_metric(run, key, value, step=step)

    def log_batch(self, run, metrics=(), params=()):
        from mlflow.entities import Metric, Param

        ts = int(time.time() * 1000)
        self.c.log_batch(run, metrics=[Metric(k, v, ts, s) for k, v, s in metrics],
                         params=[Param(k, v) for k, v in params], synchronous=True)

    def search(self, exp, flt):
        runs, token = 0, None
        while True:
            page = self.c.search_runs([exp], flt, max_results=1000, page_token=token)
            runs += len(page)
            token = page.token
            if not token:
                return runs

    def first_page(self, exp, flt, order_by, n):
        return len(self.c.search_runs([exp], flt, max_results=n, order_by=order_by))

    @staticmethod
    def parse(bodies):
        """What MlflowClient.search_runs does with a page once it has
        arrived (mlflow.utils.rest_utils.call_endpoint, then
        RestStore._search_runs): JSON to protobuf to Run entities."""
        from mlflow.entities import Run
        from mlflow.protos.service_pb2 import SearchRuns
        from mlflow.utils.proto_json_utils import parse_dict

        runs = 0
        for b in bodies:
            msg = SearchRuns.Response()
            parse_dict(js_dict=json.loads(b), message=msg)
            runs += len([Run.from_proto(r) for r in msg.runs])
        return runs


def new_client(kind, uri):
    return RestClient(uri) if kind == "rest" else MlflowClientAdapter(uri)


def _worker_a(kind, uri, exp, n, barrier, done):
    c = new_client(kind, uri)
    run = c.create_run(exp)
    barrier.wait()
    for i in range(n):
        c.log_metric(run, "loss", 1.0 / (i + 1), i)
    done.put(n)


def scenario_a(kind, uri, procs, n):
    c = new_client(kind, uri)
    exp = c.create_experiment("bench-a-" + uuid.uuid4().hex[:8])
    ctx = mp.get_context("fork")
    barrier, done = ctx.Barrier(procs + 1), ctx.Queue()
    ps = [ctx.Process(target=_worker_a, args=(kind, uri, exp, n, barrier, done)) for _ in range(procs)]
    for p in ps:
        p.start()
    barrier.wait()
    t = time.perf_counter()
    total = sum(done.get() for _ in ps)
    dt = time.perf_counter() - t
    for p in ps:
        p.join()
    return dt, total


def scenario_b(kind, uri, calls, batch):
    c = new_client(kind, uri)
    exp = c.create_experiment("bench-b-" + uuid.uuid4().hex[:8])
    run = c.create_run(exp)
    t = time.perf_counter()
    for k in range(calls):
        c.log_batch(run, metrics=[("m", float(i), k * batch + i) for i in range(batch)])
    return time.perf_counter() - t, calls * batch


def _setup_worker(uri, exp, indexes):
    c = RestClient(uri)
    for i in indexes:
        rnd = random.Random(i)
        run = c.create_run(exp, tags={"group": f"g{i % 10}"})
        c.log_batch(run, metrics=[("m", rnd.random(), 0), ("loss", rnd.random(), 0)],
                    params=[("kind", "tree" if i % 2 else "linear"), ("i", str(i))])


def scenario_c_setup(uri, runs, procs):
    c = RestClient(uri)
    exp = c.create_experiment("bench-c")
    ctx = mp.get_context("fork")
    ps = [ctx.Process(target=_setup_worker, args=(uri, exp, range(w, runs, procs))) for w in range(procs)]
    t = time.perf_counter()
    for p in ps:
        p.start()
    for p in ps:
        p.join()
        if p.exitcode:
            raise SystemExit(f"setup worker failed with {p.exitcode}")
    return time.perf_counter() - t, runs


def scenario_c(kind, uri):
    c = new_client(kind, uri)
    exp = c.get_experiment_id("bench-c")
    t = time.perf_counter()
    found = c.search(exp, FILTER)
    return time.perf_counter() - t, found


def scenario_c_floor(kind, uri):
    """The client's own share of scenario c: the same pages, fetched
    beforehand, parsed as the client parses them, with no server in the
    timing. No server can make the search faster than this."""
    rest = RestClient(uri)
    bodies = rest.pages(rest.get_experiment_id("bench-c"), FILTER)
    parse = RestClient.parse if kind == "rest" else MlflowClientAdapter.parse
    parse(bodies)  # imports and warm-up
    t = time.perf_counter()
    found = parse(bodies)
    return time.perf_counter() - t, found


def scenario_d(kind, uri, which, reps):
    """The median time of REPS first pages of 100 (after one untimed)."""
    c = new_client(kind, uri)
    exp = c.get_experiment_id("bench-c")
    flt, order_by = PAGES[which]
    c.first_page(exp, flt, order_by, 100)
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        got = c.first_page(exp, flt, order_by, 100)
        times.append(time.perf_counter() - t)
        if got != 100:
            raise SystemExit(f"{which}: a page of {got} runs, want 100")
    times.sort()
    return times[len(times) // 2], 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--uri", required=True)
    ap.add_argument("--scenario", required=True, choices=["a", "b", "c-setup", "c", "c-floor", "d-sort", "d-filter"])
    ap.add_argument("--client", default="mlflow", choices=["mlflow", "rest"])
    ap.add_argument("--procs", type=int, default=8)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--calls", type=int, default=50)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=10000)
    ap.add_argument("--reps", type=int, default=15)
    a = ap.parse_args()
    if a.scenario == "a":
        dt, ops = scenario_a(a.client, a.uri, a.procs, a.n)
    elif a.scenario == "b":
        dt, ops = scenario_b(a.client, a.uri, a.calls, a.batch)
    elif a.scenario == "c-setup":
        dt, ops = scenario_c_setup(a.uri, a.runs, a.procs)
    elif a.scenario.startswith("d-"):
        dt, ops = scenario_d(a.client, a.uri, a.scenario, a.reps)
    elif a.scenario == "c-floor":
        dt, ops = scenario_c_floor(a.client, a.uri)
    else:
        dt, ops = scenario_c(a.client, a.uri)
    print(json.dumps({"scenario": a.scenario, "client": a.client, "seconds": dt, "ops": ops, "ops_per_s": ops / dt}))


if __name__ == "__main__":
    main()
