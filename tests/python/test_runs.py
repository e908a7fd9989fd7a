"""Runs through the mlflow client: lifecycle, params, metrics with step and
timestamp, history, tags, log_batch, datasets, and search_runs with MLflow's
filter grammar, order_by and paging."""

import math
import time

import mlflow
import pandas as pd
import pytest
from mlflow.entities import Metric, Param, RunTag, ViewType
from mlflow.exceptions import MlflowException


def test_fluent_run_logs_params_metrics_tags(tracking_uri):
    mlflow.set_experiment("fluent")
    with mlflow.start_run(run_name="first") as run:
        mlflow.log_param("lr", 0.01)
        mlflow.log_params({"depth": 5, "kernel": "rbf"})
        mlflow.log_metric("loss", 0.9, step=0)
        mlflow.log_metric("loss", 0.5, step=1)
        mlflow.log_metrics({"acc": 0.8, "f1": 0.7}, step=1)
        mlflow.set_tag("team", "vision")
        mlflow.set_tags({"a": "1", "b": "2"})
    got = mlflow.get_run(run.info.run_id)
    assert got.info.status == "FINISHED"
    assert got.info.run_name == "first"
    assert got.info.end_time >= got.info.start_time
    assert got.data.params == {"lr": "0.01", "depth": "5", "kernel": "rbf"}
    assert got.data.metrics == {"loss": 0.5, "acc": 0.8, "f1": 0.7}
    assert got.data.tags["team"] == "vision" and got.data.tags["b"] == "2"
    assert got.data.tags["mlflow.runName"] == "first"


def test_metric_history_steps_and_timestamps(client):
    run = client.create_run("0")
    rid = run.info.run_id
    base = int(time.time() * 1000)
    for step in range(5):
        client.log_metric(rid, "loss", 1.0 / (step + 1), timestamp=base + step, step=step)
    client.log_metric(rid, "loss", 7.0, timestamp=base - 100, step=2)  # older step: not the latest
    hist = client.get_metric_history(rid, "loss")
    assert [(m.step, m.value) for m in hist] == [(0, 1.0), (1, 0.5), (2, 7.0), (2, 1 / 3), (3, 0.25), (4, 0.2)]
    assert hist[0].timestamp == base
    assert client.get_run(rid).data.metrics["loss"] == 0.2
    assert client.get_metric_history(rid, "nothing") == []


def test_special_metric_values(client):
    rid = client.create_run("0").info.run_id
    client.log_metric(rid, "nan", float("nan"))
    client.log_metric(rid, "inf", float("inf"))
    client.log_metric(rid, "neg", -1.5e-12)
    m = client.get_run(rid).data.metrics
    assert math.isnan(m["nan"]) and m["inf"] == math.inf and m["neg"] == -1.5e-12


def test_log_batch(client):
    rid = client.create_run("0").info.run_id
    ts = int(time.time() * 1000)
    client.log_batch(rid, metrics=[Metric("m", float(i), ts, i) for i in range(1000)],
                     params=[Param(f"p{i}", str(i)) for i in range(50)], tags=[RunTag("t", "v")])
    run = client.get_run(rid)
    assert run.data.metrics["m"] == 999.0
    assert len(run.data.params) == 50 and run.data.tags["t"] == "v"
    assert len(client.get_metric_history(rid, "m")) == 1000


def test_param_cannot_change(client):
    rid = client.create_run("0").info.run_id
    client.log_param(rid, "p", "1")
    client.log_param(rid, "p", "1")  # same value: fine
    with pytest.raises(MlflowException) as e:
        client.log_param(rid, "p", "2")
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    assert client.get_run(rid).data.params["p"] == "1"


def test_update_delete_restore_and_tags(client):
    run = client.create_run("0", run_name="to-rename", tags={"keep": "x", "drop": "y"})
    rid = run.info.run_id
    client.update_run(rid, name="renamed")
    assert client.get_run(rid).info.run_name == "renamed"
    assert client.get_run(rid).data.tags["mlflow.runName"] == "renamed"
    client.delete_tag(rid, "drop")
    assert "drop" not in client.get_run(rid).data.tags
    with pytest.raises(MlflowException) as e:
        client.delete_tag(rid, "drop")
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    client.set_terminated(rid, status="KILLED")
    assert client.get_run(rid).info.status == "KILLED"

    client.delete_run(rid)
    assert client.get_run(rid).info.lifecycle_stage == "deleted"
    with pytest.raises(MlflowException) as e:
        client.log_metric(rid, "m", 1.0)
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    assert rid not in [r.info.run_id for r in client.search_runs(["0"])]
    assert rid in [r.info.run_id for r in client.search_runs(["0"], run_view_type=ViewType.DELETED_ONLY)]
    client.restore_run(rid)
    assert client.get_run(rid).info.lifecycle_stage == "active"


def test_nested_runs_tag_parent(tracking_uri):
    with mlflow.start_run() as parent:
        with mlflow.start_run(nested=True) as child:
            mlflow.log_metric("x", 1)
    got = mlflow.get_run(child.info.run_id)
    assert got.data.tags["mlflow.parentRunId"] == parent.info.run_id


def test_log_input_datasets(tracking_uri):
    df = pd.DataFrame({"a": [1, 2, 3], "b": [0.1, 0.2, 0.3]})
    ds = mlflow.data.from_pandas(df, name="train-set")
    with mlflow.start_run() as run:
        mlflow.log_input(ds, context="training")
    got = mlflow.get_run(run.info.run_id)
    [inp] = got.inputs.dataset_inputs
    assert inp.dataset.name == "train-set" and inp.dataset.digest == ds.digest
    assert {t.key: t.value for t in inp.tags}["mlflow.data.context"] == "training"
    found = mlflow.search_runs(filter_string="datasets.name = 'train-set' and datasets.context = 'training'",
                               output_format="list")
    assert [r.info.run_id for r in found] == [run.info.run_id]


@pytest.fixture
def populated(client):
    """An experiment with ten runs of varied params, metrics and tags."""
    eid = client.create_experiment("search")
    ids = []
    for i in range(10):
        r = client.create_run(eid, run_name=f"run-{i}", start_time=1_700_000_000_000 + i,
                              tags={"family": "tree" if i < 5 else "linear", "Owner": "Ana" if i % 2 else "bo"})
        rid = r.info.run_id
        client.log_param(rid, "alpha", str(i / 10))
        client.log_metric(rid, "rmse", 1.0 - i / 10)
        if i % 3 == 0:
            client.log_metric(rid, "only_some", float(i))
        if i == 9:
            client.set_terminated(rid, "FAILED")
        else:
            client.set_terminated(rid)
        ids.append(rid)
    return eid, ids


@pytest.mark.parametrize("filter_string, want", [
    ("metrics.rmse < 0.35", [7, 8, 9]),
    ("metrics.rmse >= 0.8 and params.alpha != '0.0'", [1, 2]),
    ("metrics.only_some > 0", [3, 6, 9]),
    ("params.alpha = '0.5'", [5]),
    ("params.alpha LIKE '0.%' and tags.family = 'linear'", [5, 6, 7, 8, 9]),
    ("tags.Owner LIKE 'an%'", []),
    ("tags.Owner ILIKE 'an%'", [1, 3, 5, 7, 9]),
    ("tags.`family` = 'tree' and attributes.status = 'FINISHED'", [0, 1, 2, 3, 4]),
    ("attributes.status != 'FINISHED'", [9]),
    ("attributes.run_name IN ('run-2', 'run-4')", []),  # IN works on run_id only, see below
    ("attributes.start_time > 1700000000006", [7, 8, 9]),
    ("run_name LIKE 'run-1%'", [1]),
    ("tags.mlflow.runName = 'run-3'", [3]),
    ("tags.absent IS NULL and params.alpha = '0.1'", [1]),
])
def test_search_runs_filters(client, populated, filter_string, want):
    eid, ids = populated
    if "IN (" in filter_string:
        with pytest.raises(MlflowException):
            client.search_runs([eid], filter_string)
        return
    got = client.search_runs([eid], filter_string)
    assert sorted(ids.index(r.info.run_id) for r in got) == want


def test_search_runs_in_run_ids(client, populated):
    eid, ids = populated
    quoted = ", ".join(f"'{i}'" for i in ids[2:4])
    got = client.search_runs([eid], f"attributes.run_id IN ({quoted})")
    assert sorted(r.info.run_id for r in got) == sorted(ids[2:4])
    got = client.search_runs([eid], f"attributes.run_id NOT IN ({quoted})")
    assert len(got) == 8


def test_search_runs_order_by_and_paging(client, populated):
    eid, ids = populated
    by_rmse = client.search_runs([eid], order_by=["metrics.rmse ASC"])
    assert [r.info.run_id for r in by_rmse] == list(reversed(ids))
    default = client.search_runs([eid])  # newest start_time first
    assert [r.info.run_id for r in default] == list(reversed(ids))
    by_some = client.search_runs([eid], order_by=["metrics.only_some DESC"])
    assert [ids.index(r.info.run_id) for r in by_some][:4] == [9, 6, 3, 0]  # runs without it come last
    by_param = client.search_runs([eid], order_by=["params.alpha DESC"])
    assert by_param[0].info.run_id == ids[9]

    seen, token = [], None  # default order pages by keyset
    while True:
        page = client.search_runs([eid], max_results=3, page_token=token)
        seen += [r.info.run_id for r in page]
        token = page.token
        if not token:
            break
    assert seen == list(reversed(ids))

    seen, token = [], None
    while True:
        page = client.search_runs([eid], max_results=4, order_by=["attributes.run_name ASC"], page_token=token)
        seen += [r.info.run_name for r in page]
        token = page.token
        if not token:
            break
    assert seen == [f"run-{i}" for i in range(10)]


def test_search_runs_paged_by_key(client):
    """Pages ordered by a metric, param or tag (keyset tokens) read every run
    once, in MLflow's order: NaN then missing values last both ways, ties by
    newest start, then run id."""
    eid = client.create_experiment("paged-by-key")
    values = [0.5, float("nan"), None, 0.5, -1.0, float("inf"), None, 2.0, 0.5, float("nan"), -1.0]
    runs = []
    for i, v in enumerate(values):
        r = client.create_run(eid, start_time=1_700_000_000_000 + i // 2,
                              tags={"t": "abc"[i % 3]} if i % 4 else {})
        if v is not None:
            client.log_metric(r.info.run_id, "x", v)
        if i % 5:
            client.log_param(r.info.run_id, "p", str(i % 3))
        runs.append((r.info.run_id, 1_700_000_000_000 + i // 2, v, str(i % 3) if i % 5 else None,
                     "abc"[i % 3] if i % 4 else None))

    def expected(col, asc):
        def key(run):
            rid, start, *vals = run
            v = vals[col]
            seg = 2 if v is None else 1 if isinstance(v, float) and math.isnan(v) else 0
            return seg, v if seg == 0 else 0
        out = sorted(runs, key=lambda r: (-r[1], r[0]))  # ties: newest start, then run id
        present = [r for r in out if key(r)[0] == 0]
        present.sort(key=lambda r: key(r)[1], reverse=not asc)  # stable: keeps the tie order
        return [r[0] for r in present] + [r[0] for r in out if key(r)[0] == 1] + [r[0] for r in out if key(r)[0] == 2]

    for col, name in enumerate(["metrics.x", "params.p", "tags.t"]):
        for asc in (True, False):
            order = f"{name} {'ASC' if asc else 'DESC'}"
            seen, token = [], None
            while True:
                page = client.search_runs([eid], max_results=2, order_by=[order], page_token=token)
                seen += [r.info.run_id for r in page]
                token = page.token
                if not token:
                    break
            assert seen == expected(col, asc), order
            assert [r.info.run_id for r in client.search_runs([eid], order_by=[order])] == seen, order


def test_search_runs_pandas(tracking_uri, populated):
    eid, _ = populated
    df = mlflow.search_runs([eid], filter_string="params.alpha = '0.3'")
    assert list(df["params.alpha"]) == ["0.3"]
    assert df["metrics.rmse"][0] == pytest.approx(0.7)


@pytest.mark.parametrize("bad", ["metrics.rmse >", "metrics.rmse = 'x'", "params.alpha > 1", "foo.bar = '1'",
                                 "attributes.nope = 'x'", "metrics.rmse < 1 or metrics.rmse > 2"])
def test_search_runs_bad_filters(client, bad):
    with pytest.raises(MlflowException) as e:
        client.search_runs(["0"], bad)
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"


def test_unknown_run_errors(client):
    missing = "0" * 32
    for call in (lambda: client.get_run(missing), lambda: client.log_metric(missing, "m", 1.0),
                 lambda: client.log_param(missing, "p", "v"), lambda: client.set_tag(missing, "t", "v"),
                 lambda: client.get_metric_history(missing, "m"), lambda: client.delete_run(missing),
                 lambda: client.update_run(missing, status="FINISHED")):
        with pytest.raises(MlflowException) as e:
            call()
        assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST", e.value
