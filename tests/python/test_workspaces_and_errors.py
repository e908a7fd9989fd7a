"""Workspaces are kept apart, and errors have MLflow's shape and statuses."""

import mlflow
import pytest
import requests
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException


def test_workspaces_are_kept_apart(ciel):
    a, b = MlflowClient(ciel.workspace()), MlflowClient(ciel.workspace())
    ea = a.create_experiment("same-name")
    eb = b.create_experiment("same-name")  # no clash across workspaces
    ra = a.create_run(ea).info.run_id
    a.log_metric(ra, "m", 1.0)
    with pytest.raises(MlflowException) as e:
        b.get_run(ra)
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException):
        b.log_metric(ra, "m", 2.0)
    assert b.search_runs([eb]) == []
    assert [r.info.run_id for r in a.search_runs([ea])] == [ra]
    assert a.get_run(ra).data.metrics == {"m": 1.0}


def test_unknown_workspace(ciel):
    base = ciel.url + "/ws/no_such_ws/api/2.0/mlflow"
    r = requests.get(base + "/experiments/get", params={"experiment_id": "0"})
    assert r.status_code == 404
    body = r.json()
    assert body["error_code"] == "RESOURCE_DOES_NOT_EXIST" and "no_such_ws" in body["message"]
    r = requests.post(base + "/experiments/create", json={"name": "x"})
    assert r.status_code == 404 and r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


@pytest.mark.parametrize("method, path, body, status, code", [
    ("GET", "runs/get?run_id=" + "a" * 32, None, 404, "RESOURCE_DOES_NOT_EXIST"),
    ("GET", "runs/get?run_id=bad$id", None, 400, "INVALID_PARAMETER_VALUE"),
    ("GET", "runs/get", None, 400, "INVALID_PARAMETER_VALUE"),
    ("GET", "experiments/get?experiment_id=abc", None, 400, "INVALID_PARAMETER_VALUE"),
    ("GET", "experiments/get?experiment_id=4242", None, 404, "RESOURCE_DOES_NOT_EXIST"),
    ("GET", "experiments/get-by-name?experiment_name=nope", None, 404, "RESOURCE_DOES_NOT_EXIST"),
    ("POST", "runs/log-metric", {"run_id": "b" * 32, "key": "m", "value": 1, "timestamp": 1}, 404,
     "RESOURCE_DOES_NOT_EXIST"),
    ("POST", "runs/log-metric", {"run_id": "b" * 32, "key": "m"}, 400, "INVALID_PARAMETER_VALUE"),
    ("POST", "runs/search", {"experiment_ids": ["0"], "filter": "metrics.m >"}, 400, "INVALID_PARAMETER_VALUE"),
    ("POST", "runs/search", {"experiment_ids": ["0"], "max_results": 50001}, 400, "INVALID_PARAMETER_VALUE"),
    ("POST", "runs/create", {"experiment_id": "777"}, 404, "RESOURCE_DOES_NOT_EXIST"),
    ("POST", "experiments/create", {"name": ""}, 400, "INVALID_PARAMETER_VALUE"),
    ("POST", "experiments/create", "{not json", 400, "INVALID_PARAMETER_VALUE"),
    ("GET", "logged-models/m-" + "c" * 32, None, 404, "RESOURCE_DOES_NOT_EXIST"),
    ("GET", "metrics/get-history?run_id=" + "d" * 32 + "&metric_key=m", None, 404, "RESOURCE_DOES_NOT_EXIST"),
    ("POST", "no/such/endpoint", {}, 404, "ENDPOINT_NOT_FOUND"),
])
def test_error_shapes(tracking_uri, method, path, body, status, code):
    url = f"{tracking_uri}/api/2.0/mlflow/{path}"
    if isinstance(body, str):
        r = requests.request(method, url, data=body, headers={"Content-Type": "application/json"})
    else:
        r = requests.request(method, url, json=body)
    assert r.status_code == status, r.text
    got = r.json()
    assert got["error_code"] == code and got["message"], got


def test_root_without_workspace_says_how(ciel):
    r = requests.get(ciel.url + "/api/2.0/mlflow/experiments/get", params={"experiment_id": "0"})
    assert r.status_code == 404
    assert "/ws/<workspace>" in r.json()["message"]


def test_server_info(tracking_uri):
    info = requests.get(tracking_uri + "/api/3.0/mlflow/server-info").json()
    assert info["multipart_uploads_enabled"] is True and info["workspaces_enabled"] is False


def test_fluent_default_experiment(tracking_uri):
    with mlflow.start_run() as run:
        mlflow.log_metric("x", 1)
    assert run.info.experiment_id == "0"
