"""A ciel pipeline whose steps call mlflow with no configuration: each step
is a child run of the pipeline's run, in the job's experiment."""

from pathlib import Path

from mlflow import MlflowClient

HERE = Path(__file__).parent / "pipeline"


def test_pipeline_steps_are_runs(ciel):
    uri = ciel.workspace("pipe_ws")
    ws = "pipe_ws"
    job = ciel.run_json("job", "create", "--file", str(HERE / "pipeline.yml"), "-w", ws)
    ciel.run("job", "stream", "--name", job["name"], "-w", ws)
    shown = ciel.run_json("job", "show", "--name", job["name"], "-w", ws)
    assert shown["status"] == "Completed", shown

    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("tracked-experiment")
    assert exp is not None
    runs = {r.data.tags.get("ciel.step", ""): r for r in
            client.search_runs([exp.experiment_id], f"tags.ciel.job = '{job['name']}'")}
    assert set(runs) == {"", "prep", "train"}
    parent, prep, train = runs[""], runs["prep"], runs["train"]

    assert parent.info.run_name == "tracked-pipeline" and parent.info.status == "FINISHED"
    for child in (prep, train):
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert child.info.status == "FINISHED"
    assert prep.info.run_name == "prep" and prep.data.params["rows"] == "150"
    assert train.data.params["max_iter"] == "300"  # from autolog
    assert train.data.params["solver_note"] == "lbfgs"
    assert train.data.metrics["training_accuracy_score"] > 0.9
    assert [m.step for m in client.get_metric_history(train.info.run_id, "val_accuracy")] == [0, 1, 2]
    assert train.outputs.model_outputs, "autolog logged a model"

    # job show carries each step's latest metrics and params.
    step = shown["jobs"]["train"]
    assert step["metrics"]["val_accuracy"] > 0.9
    assert step["params"]["solver_note"] == "lbfgs"
    assert step["run_id"] == train.info.run_id

    # The CLI reads the same runs.
    listed = ciel.run_json("run", "list", "--experiment", "tracked-experiment", "-w", ws)
    assert {r["run_id"] for r in listed} == {parent.info.run_id, prep.info.run_id, train.info.run_id}
    one = ciel.run_json("run", "show", "--run-id", train.info.run_id, "-w", ws)
    assert one["params"]["solver_note"] == "lbfgs" and one["metrics"]["val_accuracy"] > 0.9
    table = ciel.run("run", "compare", prep.info.run_id, train.info.run_id, "-w", ws).stdout
    assert "params.rows" in table and "metrics.val_accuracy" in table and "params.solver_note" in table
    shown_table = ciel.run("job", "show", "--name", job["name"], "-w", ws, "-o", "table").stdout
    assert "val_accuracy=" in shown_table and "rows=150" in shown_table
    filtered = ciel.run_json("run", "list", "--experiment", "tracked-experiment", "-w", ws,
                             "--filter", "params.rows = '150'")
    assert [r["run_id"] for r in filtered] == [prep.info.run_id]
