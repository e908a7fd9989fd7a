"""The model registry through the real mlflow client: register_model from a
run's logged model and from run artifacts, aliases and models:/name@alias
loading, search with filter/order/paging, updates, renames, deletes, tags,
stages, and MLflow's error codes. The fixtures are conftest.py's."""

import numpy as np
import pytest
from mlflow.exceptions import MlflowException
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

import mlflow
from mlflow import MlflowClient


@pytest.fixture(scope="module")
def iris():
    x, y = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=500).fit(x, y)
    return model, x[:10]


def _log_model(iris, name="model"):
    """Logs an sklearn model in a new run; returns the run ID."""
    model, sample = iris
    with mlflow.start_run() as run:
        mlflow.sklearn.log_model(model, name=name, input_example=sample[:2])
    return run.info.run_id


def _error_code(excinfo):
    return excinfo.value.error_code


def test_register_logged_model_and_load_by_alias(tracking_uri, client, iris):
    model, sample = iris
    run_id = _log_model(iris)
    mv = mlflow.register_model(f"runs:/{run_id}/model", "best_model")
    assert mv.name == "best_model" and mv.version == "1"
    assert mv.status == "READY" and mv.run_id == run_id

    got = client.get_model_version("best_model", "1")
    assert got.source == mv.source and got.source.startswith("mlflow-artifacts:")
    assert client.get_model_version_download_uri("best_model", "1") == got.source

    client.set_registered_model_alias("best_model", "champion", "1")
    by_alias = client.get_model_version_by_alias("best_model", "champion")
    assert by_alias.version == "1" and by_alias.aliases == ["champion"]
    assert client.get_registered_model("best_model").aliases == {"champion": "1"}

    loaded = mlflow.pyfunc.load_model("models:/best_model@champion")
    assert np.array_equal(loaded.predict(sample), model.predict(sample))
    assert np.array_equal(mlflow.sklearn.load_model("models:/best_model/1").predict(sample), model.predict(sample))
    assert np.array_equal(mlflow.pyfunc.load_model("models:/best_model/latest").predict(sample), model.predict(sample))

    client.delete_registered_model_alias("best_model", "champion")
    with pytest.raises(MlflowException) as e:
        client.get_model_version_by_alias("best_model", "champion")
    assert _error_code(e) == "RESOURCE_DOES_NOT_EXIST"


def test_register_from_run_artifacts(tracking_uri, client, iris, tmp_path):
    """A model logged as plain run artifacts registers from the run's
    artifact URI."""
    model, sample = iris
    mlflow.sklearn.save_model(model, tmp_path / "m")
    with mlflow.start_run() as run:
        mlflow.log_artifacts(str(tmp_path / "m"), artifact_path="model")
    mv = mlflow.register_model(f"runs:/{run.info.run_id}/model", "from_artifacts", tags={"origin": "artifacts"})
    assert mv.version == "1" and mv.tags == {"origin": "artifacts"}
    loaded = mlflow.pyfunc.load_model("models:/from_artifacts/1")
    assert np.array_equal(loaded.predict(sample), model.predict(sample))


def test_log_model_with_registered_model_name(tracking_uri, client, iris):
    model, sample = iris
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(model, name="model", registered_model_name="auto_registered")
    assert str(info.registered_model_version) == "1"
    versions = client.search_model_versions("name = 'auto_registered'")
    assert [v.version for v in versions] == ["1"]
    assert np.array_equal(mlflow.pyfunc.load_model("models:/auto_registered/1").predict(sample), model.predict(sample))


def test_search_filter_order_and_paging(tracking_uri, client, iris):
    run_a = _log_model(iris)
    run_b = _log_model(iris)
    for name in ("search_alpha", "search_beta"):
        client.create_registered_model(name, tags={"team": "ml" if name.endswith("alpha") else "cv"})
    for run_id in (run_a, run_b, run_a):
        mlflow.register_model(f"runs:/{run_id}/model", "search_alpha")
    mlflow.register_model(f"runs:/{run_b}/model", "search_beta")

    versions = client.search_model_versions("name = 'search_alpha'", order_by=["version_number ASC"])
    assert [v.version for v in versions] == ["1", "2", "3"]
    by_run = client.search_model_versions(f"run_id = '{run_b}'")
    assert sorted((v.name, v.version) for v in by_run) == [("search_alpha", "2"), ("search_beta", "1")]
    in_list = client.search_model_versions(f"name = 'search_alpha' AND run_id IN ('{run_a}')")
    assert sorted(v.version for v in in_list) == ["1", "3"]
    newer = client.search_model_versions("name = 'search_alpha' AND version_number > 1")
    assert sorted(v.version for v in newer) == ["2", "3"]

    page1 = client.search_model_versions("name = 'search_alpha'", max_results=2, order_by=["version_number DESC"])
    assert [v.version for v in page1] == ["3", "2"] and page1.token
    page2 = client.search_model_versions("name = 'search_alpha'", max_results=2, order_by=["version_number DESC"],
                                         page_token=page1.token)
    assert [v.version for v in page2] == ["1"] and not page2.token

    models = client.search_registered_models(filter_string="name LIKE 'search_%'", order_by=["name DESC"])
    assert [m.name for m in models] == ["search_beta", "search_alpha"]
    assert {v.version for v in models[1].latest_versions} == {"3"}
    assert [m.name for m in client.search_registered_models("tags.team = 'ml'")] == ["search_alpha"]
    assert [m.name for m in client.search_registered_models("name ILIKE 'SEARCH_B%'")] == ["search_beta"]
    with pytest.raises(MlflowException) as e:
        client.search_model_versions("name = search_alpha")
    assert _error_code(e) == "INVALID_PARAMETER_VALUE"


def test_update_rename_tags_stages_delete(tracking_uri, client, iris):
    run_id = _log_model(iris)
    client.create_registered_model("lifecycle", description="first")
    for _ in range(2):
        client.create_model_version("lifecycle", f"runs:/{run_id}/model", run_id=run_id)

    assert client.update_registered_model("lifecycle", description="second").description == "second"
    assert client.update_model_version("lifecycle", "1", description="v1").description == "v1"
    client.set_registered_model_tag("lifecycle", "owner", "me")
    client.set_model_version_tag("lifecycle", "1", "validated", "yes")
    assert client.get_registered_model("lifecycle").tags == {"owner": "me"}
    assert client.get_model_version("lifecycle", "1").tags == {"validated": "yes"}
    client.delete_registered_model_tag("lifecycle", "owner")
    client.delete_model_version_tag("lifecycle", "1", "validated")
    assert client.get_registered_model("lifecycle").tags == {}
    assert client.get_model_version("lifecycle", "1").tags == {}

    with pytest.warns(FutureWarning):
        staged = client.transition_model_version_stage("lifecycle", "1", "Production")
    assert staged.current_stage == "Production"
    with pytest.warns(FutureWarning):
        latest = client.get_latest_versions("lifecycle", stages=["Production"])
    assert [v.version for v in latest] == ["1"]

    client.set_registered_model_alias("lifecycle", "champion", "2")
    client.rename_registered_model("lifecycle", "lifecycle_renamed")
    assert client.get_registered_model("lifecycle_renamed").description == "second"
    assert client.get_model_version_by_alias("lifecycle_renamed", "champion").version == "2"
    with pytest.raises(MlflowException) as e:
        client.get_registered_model("lifecycle")
    assert _error_code(e) == "RESOURCE_DOES_NOT_EXIST"

    client.delete_model_version("lifecycle_renamed", "2")
    with pytest.raises(MlflowException) as e:
        client.get_model_version("lifecycle_renamed", "2")
    assert _error_code(e) == "RESOURCE_DOES_NOT_EXIST"
    assert client.get_registered_model("lifecycle_renamed").aliases == {}
    v3 = client.create_model_version("lifecycle_renamed", f"runs:/{run_id}/model")
    assert v3.version == "3"  # numbers are not reused

    client.delete_registered_model("lifecycle_renamed")
    assert client.search_registered_models("name = 'lifecycle_renamed'") == []


def test_copy_model_version(tracking_uri, client, iris):
    model, sample = iris
    run_id = _log_model(iris)
    src = mlflow.register_model(f"runs:/{run_id}/model", "copy_src")
    copied = client.copy_model_version(f"models:/copy_src/{src.version}", "copy_dst")
    assert copied.name == "copy_dst" and copied.version == "1"
    assert np.array_equal(mlflow.pyfunc.load_model("models:/copy_dst/1").predict(sample), model.predict(sample))


def test_error_codes(tracking_uri, client):
    cases = [
        (lambda: client.get_registered_model("missing"), "RESOURCE_DOES_NOT_EXIST"),
        (lambda: client.get_model_version("missing", "1"), "RESOURCE_DOES_NOT_EXIST"),
        (lambda: client.create_model_version("missing", "runs:/0123/model"), "RESOURCE_DOES_NOT_EXIST"),
        (lambda: client.delete_registered_model("missing"), "RESOURCE_DOES_NOT_EXIST"),
    ]
    client.create_registered_model("errs")
    cases += [
        (lambda: client.create_registered_model("errs"), "RESOURCE_ALREADY_EXISTS"),
        (lambda: client.get_model_version("errs", "7"), "RESOURCE_DOES_NOT_EXIST"),
        (lambda: client.create_model_version("errs", "runs:/0123456789abcdef0123456789abcdef/model"),
         "RESOURCE_DOES_NOT_EXIST"),
        (lambda: client.create_model_version("errs", "s3://bucket/model"), "INVALID_PARAMETER_VALUE"),
        (lambda: client.set_registered_model_alias("errs", "v1", "1"), "INVALID_PARAMETER_VALUE"),
        (lambda: client.set_registered_model_alias("errs", "champion", "1"), "RESOURCE_DOES_NOT_EXIST"),
        (lambda: client.search_registered_models(order_by=["colour ASC"]), "INVALID_PARAMETER_VALUE"),
    ]
    for call, code in cases:
        with pytest.raises(MlflowException) as e:
            call()
        assert _error_code(e) == code, e.value.message


def test_cli_registered_version_loads_in_mlflow(ciel, tracking_uri, client, iris, tmp_path):
    """A version made with `ciel model create` from a local MLflow model
    folder is the same data the mlflow client reads."""
    model, sample = iris
    ws = tracking_uri.rstrip("/").rsplit("/", 1)[1]
    mlflow.sklearn.save_model(model, tmp_path / "local_model")
    v = ciel.run_json("model", "create", "-w", ws, "--name", "cli_model", "--path", str(tmp_path / "local_model"),
                      "--description", "from the CLI", "--tags", "team=ml")
    assert v["type"] == "mlflow_model" and v["version"] == "1"
    # deployed, its files appear as $AZUREML_MODEL_DIR/local_model/..., as on Azure ML
    assert v["folder"] == "local_model"
    ciel.run("model", "update", "-w", ws, "--name", "cli_model", "--version", "1", "--set-alias", "champion")

    got = client.get_model_version_by_alias("cli_model", "champion")
    assert got.description == "from the CLI" and got.tags == {"team": "ml"}
    loaded = mlflow.pyfunc.load_model("models:/cli_model@champion")
    assert np.array_equal(loaded.predict(sample), model.predict(sample))

    out = tmp_path / "dl"
    ciel.run("model", "download", "-w", ws, "--name", "cli_model", "--label", "champion", "--download-path", str(out))
    assert (out / "cli_model" / "MLmodel").is_file()


def test_prompts_live_beside_models(tracking_uri, client):
    """MLflow prompts are registered models tagged as prompts, with file-less
    versions; model searches leave them out."""
    prompt = mlflow.genai.register_prompt(name="greeting", template="Hello, {{name}}!")
    assert prompt.version == 1
    mlflow.genai.register_prompt(name="greeting", template="Hi, {{name}}!")
    client.create_registered_model("a_model")
    assert mlflow.genai.load_prompt("prompts:/greeting/1").format(name="Ada") == "Hello, Ada!"
    assert mlflow.genai.load_prompt("prompts:/greeting/2").template == "Hi, {{name}}!"
    assert [m.name for m in client.search_registered_models()] == ["a_model"]
