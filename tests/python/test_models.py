"""MLflow 3 logged models: sklearn autolog, log_model, loading back through
runs:/ and models:/<model_id>, and the logged-model API."""

import mlflow
import numpy as np
import pytest
from mlflow.exceptions import MlflowException
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


def test_sklearn_autolog(tracking_uri, client, iris):
    X, y = iris
    mlflow.set_experiment("autolog")
    mlflow.sklearn.autolog(log_input_examples=False, log_model_signatures=True)
    try:
        with mlflow.start_run() as run:
            LogisticRegression(max_iter=300).fit(X, y)
    finally:
        mlflow.sklearn.autolog(disable=True)
    got = client.get_run(run.info.run_id)
    assert got.data.params["max_iter"] == "300"
    assert got.data.metrics["training_accuracy_score"] > 0.9
    assert got.data.tags["estimator_name"] == "LogisticRegression"
    assert [d.dataset.name for d in got.inputs.dataset_inputs] == ["dataset"]
    [out] = got.outputs.model_outputs
    model = client.get_logged_model(out.model_id)
    assert model.source_run_id == run.info.run_id and model.status == "READY"
    assert model.params["max_iter"] == "300"
    assert any(m.key == "training_accuracy_score" for m in model.metrics)
    loaded = mlflow.sklearn.load_model(f"models:/{out.model_id}")
    assert (loaded.predict(X[:5]) == y[:5]).all()


def test_log_model_and_load_back(tracking_uri, client, iris):
    X, y = iris
    clf = LogisticRegression(max_iter=300).fit(X, y)
    with mlflow.start_run() as run:
        info = mlflow.sklearn.log_model(clf, name="model", input_example=X[:2], params={"C": 1.0},
                                        tags={"purpose": "test"})
    assert info.model_uri == f"models:/{info.model_id}"
    by_model = mlflow.pyfunc.load_model(info.model_uri)
    by_run = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    np.testing.assert_array_equal(by_model.predict(X[:10]), by_run.predict(X[:10]))
    assert by_run.metadata.model_id == info.model_id

    model = client.get_logged_model(info.model_id)
    assert model.name == "model" and model.tags["purpose"] == "test" and model.params == {"C": "1.0"}
    files = sorted(a.path for a in client.list_logged_model_artifacts(info.model_id))
    assert "MLmodel" in files

    found = client.search_logged_models(experiment_ids=[run.info.experiment_id], filter_string="name = 'model'")
    assert [m.model_id for m in found] == [info.model_id]


def test_logged_model_api(tracking_uri, client):
    exp = client.create_experiment("lm")
    m = client.create_logged_model(exp, name="hand-made", params={"k": "v"}, tags={"a": "1"})
    assert m.status == "PENDING" and m.artifact_location.endswith(f"/models/{m.model_id}/artifacts")
    client.set_logged_model_tags(m.model_id, {"b": "2"})
    client.delete_logged_model_tag(m.model_id, "a")
    client.finalize_logged_model(m.model_id, "READY")
    got = client.get_logged_model(m.model_id)
    assert got.status == "READY" and got.tags == {"b": "2"}
    client.delete_logged_model(m.model_id)
    with pytest.raises(MlflowException) as e:
        client.get_logged_model(m.model_id)
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_unknown_logged_model(client):
    with pytest.raises(MlflowException) as e:
        client.get_logged_model("m-" + "0" * 32)
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"
