"""Fills one tracking store for bench/studio with the same data: an
experiment "studio-bench" of --runs runs, each with a few params, metrics
and tags, as a sweep logs them, and one run "long-curve" whose metric
"loss" has --points points.

--uri is a tracking URI:
- http://... (ciel): everything goes through the real mlflow client
  (MlflowClient): per run create_run with its tags, one log_batch of its
  params and latest metrics, set_terminated; the curve by log_batch in calls
  of 1,000 points (MLflow's most per call); --threads clients in parallel.
- sqlite:///... (mlflow's own store, which `mlflow server` then serves): the
  curve and the first --client-runs runs the same way, the client writing
  the store in-process (mlflow's SqlAlchemyStore, the code `mlflow server`
  runs); the other runs are inserted in bulk into mlflow's own tables
  (runs, tags, params, metrics, latest_metrics, through mlflow's SQLAlchemy
  models), the very rows the client writes for those calls, because the
  client writes ~13 runs/s into SQLite on 2 shared cores: 2 hours for
  100,000. The bulk path resumes: runs already there are kept.

Both take each run's values from run_values(i), so the stores hold the same
data. Writes --out, a JSON object: experiment_id, run_id of the long run,
seconds.
"""
import argparse
import json
import math
import random
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from mlflow.entities import Metric, Param, RunTag  # noqa: F401 (RunTag: entities' shape)
from mlflow.tracking import MlflowClient

EXPERIMENT = "studio-bench"
BATCH = 1000  # MLflow's most metrics per log_batch


def run_values(i, now):
    """Run i of the sweep: name, start, end, tags, params, metrics (key, value, timestamp, step)."""
    rnd = random.Random(i)
    lr = rnd.choice(["0.1", "0.03", "0.01", "0.003", "0.001"])
    tags = {"team": rnd.choice(["vision", "nlp", "tabular"]), "git.branch": rnd.choice(["main", "dev", "exp"]),
            "mlflow.source.name": "train.py", "mlflow.user": "bench"}
    start = now - (100_000 - i) * 1000
    params = {"learning_rate": lr, "batch_size": str(rnd.choice([32, 64, 128, 256])),
              "optimizer": rnd.choice(["adam", "sgd", "adamw"]), "epochs": str(rnd.randint(5, 50))}
    acc = min(0.999, 0.6 + rnd.random() * 0.4)
    metrics = [("accuracy", acc), ("loss", -math.log(acc) + rnd.random() * 0.1),
               ("f1", acc * (0.9 + rnd.random() * 0.1)), ("train_time_s", 10 + rnd.random() * 500)]
    return f"run-{i:06d}", start, start + 900, tags, params, [(k, v, start + 500, 10) for k, v in metrics]


def log_run(client, exp, i, now):
    """Logs sweep run i with the client: tags at creation, params + metrics in one batch, then FINISHED."""
    name, start, end, tags, params, metrics = run_values(i, now)
    rid = client.create_run(exp, start_time=start, tags=tags, run_name=name).info.run_id
    client.log_batch(rid, metrics=[Metric(*m) for m in metrics], params=[Param(k, v) for k, v in params.items()])
    client.set_terminated(rid, "FINISHED", end_time=end)


def curve_value(s, points):
    return 2.0 * math.exp(-s / (points / 5)) + 0.05 * math.sin(s / 37.0) + 0.02 * ((s * 7919) % 101) / 101


def log_curve(client, exp, points, now, threads):
    """Logs the run "long-curve" and its metric "loss" of points steps; returns its run ID."""
    lid = client.create_run(exp, start_time=now - 200_000_000, tags={"mlflow.user": "bench"}, run_name="long-curve").info.run_id
    client.log_batch(lid, params=[Param("learning_rate", "0.01"), Param("optimizer", "adam")])

    def chunk(c):
        lo = c * BATCH
        client.log_batch(lid, metrics=[Metric("loss", curve_value(s, points), now - 200_000_000 + s, s)
                                       for s in range(lo, min(lo + BATCH, points))])

    with ThreadPoolExecutor(threads) as ex:
        list(ex.map(chunk, range((points + BATCH - 1) // BATCH)))
    client.set_terminated(lid, "FINISHED", end_time=now - 100_000_000)
    return lid


def progress(done, t0):
    if done % 10000 == 0:
        print(f"  {done} runs, {time.time() - t0:.0f} s", flush=True, file=sys.stderr)


def load_http(a, client, now):
    """Everything through the client; resumes: finished runs are kept, cut ones deleted and logged again."""
    e = client.get_experiment_by_name(EXPERIMENT)
    exp = e.experiment_id if e else client.create_experiment(EXPERIMENT)
    have, token = {}, None
    while e:
        page = client.search_runs([exp], max_results=1000, page_token=token)
        for r in page:
            if r.info.status == "FINISHED":
                have[r.info.run_name] = r.info.run_id
            else:
                client.delete_run(r.info.run_id)
        token = page.token
        if not token:
            break
    lid = have.get("long-curve") or log_curve(client, exp, a.points, now, a.threads)
    todo = [i for i in range(a.runs) if f"run-{i:06d}" not in have]
    t1, done = time.time(), [0]

    def one(i):
        log_run(client, exp, i, now)
        done[0] += 1
        progress(done[0], t1)

    with ThreadPoolExecutor(a.threads) as ex:
        list(ex.map(one, todo))
    return exp, lid


def load_sqlite(a, client, now):
    """Client for the curve and the first runs, mlflow's tables in bulk for the rest; resumes."""
    from sqlalchemy import create_engine, delete, insert, select
    from mlflow.store.tracking.dbmodels.models import SqlLatestMetric, SqlMetric, SqlParam, SqlRun, SqlTag

    e = client.get_experiment_by_name(EXPERIMENT)
    exp = e.experiment_id if e else client.create_experiment(EXPERIMENT)
    loc = client.get_experiment(exp).artifact_location
    engine = create_engine(a.uri)
    with engine.begin() as c:
        rows = c.execute(select(SqlRun.run_uuid, SqlRun.name, SqlRun.status).where(SqlRun.experiment_id == int(exp))).all()
        # A run cut short by an earlier, killed load is removed and logged again.
        partial = [r.run_uuid for r in rows if r.status != "FINISHED"]
        for t in (SqlTag, SqlParam, SqlMetric, SqlLatestMetric, SqlRun):
            if partial:
                c.execute(delete(t).where(t.run_uuid.in_(partial)))
    have = {r.name: r.run_uuid for r in rows if r.status == "FINISHED"}
    lid = have.get("long-curve") or log_curve(client, exp, a.points, now, 1)
    t1 = time.time()
    for i in range(min(a.client_runs, a.runs)):
        if f"run-{i:06d}" not in have:
            log_run(client, exp, i, now)
            progress(i + 1, t1)
    todo = [i for i in range(a.client_runs, a.runs) if f"run-{i:06d}" not in have]
    for lo in range(0, len(todo), 5000):
        runs, tags, params, metrics = [], [], [], []
        for i in todo[lo:lo + 5000]:
            name, start, end, tg, ps, ms = run_values(i, now)
            rid = uuid.uuid4().hex
            runs.append(dict(run_uuid=rid, name=name, source_type="UNKNOWN", source_name="", entry_point_name="",
                             user_id=tg["mlflow.user"], status="FINISHED", start_time=start, end_time=end, source_version="",
                             lifecycle_stage="active", artifact_uri=f"{loc}/{rid}/artifacts", experiment_id=int(exp), deleted_time=None))
            tags += [dict(key=k, value=v, run_uuid=rid) for k, v in {**tg, "mlflow.runName": name}.items()]
            params += [dict(key=k, value=v, run_uuid=rid) for k, v in ps.items()]
            metrics += [dict(key=k, value=v, timestamp=ts, step=st, is_nan=False, run_uuid=rid) for k, v, ts, st in ms]
        with engine.begin() as c:
            c.execute(insert(SqlRun), runs)
            c.execute(insert(SqlTag), tags)
            c.execute(insert(SqlParam), params)
            c.execute(insert(SqlMetric), metrics)
            c.execute(insert(SqlLatestMetric), metrics)
        print(f"  {a.client_runs + lo + len(runs)} runs (bulk)", flush=True, file=sys.stderr)
    return exp, lid


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--uri", required=True)
    ap.add_argument("--runs", type=int, default=100_000)
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--client-runs", type=int, default=2000, help="sqlite: runs logged by the client before the bulk path")
    ap.add_argument("--out", required=True, help="file the JSON result is written to")
    a = ap.parse_args()
    t0 = time.time()
    client = MlflowClient(tracking_uri=a.uri)
    # Fixed, so a resumed load (and both stores) get the same times.
    now = 1_790_000_000_000
    if a.uri.startswith("sqlite:"):
        exp, lid = load_sqlite(a, client, now)
    else:
        exp, lid = load_http(a, client, now)
    with open(a.out, "w") as f:
        json.dump({"experiment_id": exp, "run_id": lid, "runs": a.runs, "points": a.points,
                   "seconds": round(time.time() - t0, 1)}, f)


if __name__ == "__main__":
    main()
