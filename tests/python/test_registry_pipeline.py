"""The headline: a ciel pipeline whose train step uses
mlflow.sklearn.autolog() with no tracking configuration of its own, whose
model output is registered with `ciel model create --path
azureml://jobs/<job>/outputs/model`, given the alias champion with `ciel
model update`, and loaded back with
mlflow.pyfunc.load_model("models:/best_model@champion")."""

import json
import textwrap

import numpy as np
from sklearn.datasets import load_iris

import mlflow

TRAIN = textwrap.dedent('''
    import argparse

    import mlflow
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    p = argparse.ArgumentParser()
    p.add_argument("--data")
    p.add_argument("--max-iter", type=int)
    p.add_argument("--model")
    args = p.parse_args()

    df = pd.read_csv(args.data)
    x, y = df.drop(columns=["label"]), df["label"]
    # MLFLOW_TRACKING_URI and MLFLOW_RUN_ID come from ciel: this lands on
    # the step's own run.
    mlflow.sklearn.autolog()
    model = LogisticRegression(max_iter=args.max_iter).fit(x, y)
    mlflow.sklearn.save_model(model, args.model)
    print("trained on", len(df), "rows")
''')

PIPELINE = textwrap.dedent('''
    type: pipeline
    experiment_name: registry-e2e
    inputs:
      data:
        type: uri_file
        path: azureml:iris_data:1
      max_iter: 500
    outputs:
      model:
        type: uri_folder
    jobs:
      train:
        type: command
        code: ./src
        inputs:
          data: ${{parent.inputs.data}}
          max_iter: ${{parent.inputs.max_iter}}
        outputs:
          model: ${{parent.outputs.model}}
        command: >-
          python train.py --data ${{inputs.data}} --max-iter ${{inputs.max_iter}}
          --model ${{outputs.model}}
''')


def test_pipeline_model_registered_and_loaded_by_alias(ciel, tracking_uri, client, tmp_path):
    ws = tracking_uri.rstrip("/").rsplit("/", 1)[1]
    iris = load_iris(as_frame=True)
    frame = iris.data.assign(label=iris.target)
    frame.to_csv(tmp_path / "iris.csv", index=False)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_text(TRAIN)
    (tmp_path / "pipeline.yml").write_text(PIPELINE)

    ciel.run("data", "create", "-w", ws, "--name", "iris_data", "--version", "1", "--type", "uri_file",
             "--path", "iris.csv", cwd=tmp_path)
    streamed = ciel.run("job", "create", "-w", ws, "--file", "pipeline.yml", "--stream", cwd=tmp_path)
    assert "trained on 150 rows" in streamed.stdout, streamed.stdout
    job = ciel.run_json("job", "list", "-w", ws)[0]["name"]

    # autolog landed on the train step's run.
    runs = mlflow.search_runs(experiment_names=["registry-e2e"], filter_string="tags.`ciel.step` = 'train'",
                              output_format="list")
    assert len(runs) == 1
    train_run = runs[0]
    assert train_run.data.params["max_iter"] == "500"
    assert train_run.data.metrics["training_accuracy_score"] > 0.9

    v = ciel.run_json("model", "create", "-w", ws, "--name", "best_model", "--version", "1",
                      "--path", f"azureml://jobs/{job}/outputs/model")
    assert v["type"] == "mlflow_model" and v["version"] == "1"
    lineage = v["lineage"]
    assert lineage["job"] == job and lineage["step"] == "train" and lineage["output"] == "model"
    assert lineage["run_id"] == train_run.info.run_id == v["run_id"]
    assert lineage["code"].startswith("sha256:")
    assert {"step": "train", "input": "data", "asset": "azureml:iris_data:1"}.items() <= lineage["inputs"][0].items()

    ciel.run("model", "update", "-w", ws, "--name", "best_model", "--version", "1", "--set-alias", "champion")
    shown = ciel.run_json("model", "show", "-w", ws, "--name", "best_model", "--label", "champion")
    assert shown["aliases"] == ["champion"]

    loaded = mlflow.pyfunc.load_model("models:/best_model@champion")
    x = iris.data
    predicted = np.asarray(loaded.predict(x))
    assert (predicted == iris.target.to_numpy()).mean() > 0.9
    assert list(predicted[:10]) == [0] * 10

    # The same step's autologged model registers through mlflow too, and
    # the versions are one list.
    mv = mlflow.register_model(f"runs:/{train_run.info.run_id}/model", "best_model")
    assert mv.version == "2"
    again = mlflow.pyfunc.load_model("models:/best_model/2")
    assert np.array_equal(np.asarray(again.predict(x)), predicted)
    versions = client.search_model_versions("name = 'best_model'", order_by=["version_number ASC"])
    assert [(m.version, m.run_id) for m in versions] == [("1", train_run.info.run_id), ("2", train_run.info.run_id)]
    listed = json.loads(ciel.run("model", "list", "-w", ws, "--name", "best_model", "-o", "json").stdout)
    assert [m["version"] for m in listed] == ["1", "2"]
