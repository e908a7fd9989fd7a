"""Logs one run with the real mlflow client: a "loss" curve of 50 steps
and an "accuracy" of 20, for the studio's chart test. Prints the
experiment and run IDs."""
import math
import mlflow

mlflow.set_experiment("studio-chart")
with mlflow.start_run(run_name="chart-run") as run:
    mlflow.log_param("alpha", "0.5")
    for step in range(50):
        mlflow.log_metric("loss", math.exp(-step / 10), step=step)
    for step in range(20):
        mlflow.log_metric("accuracy", 0.5 + step / 40, step=step)
    print("ids:", run.info.experiment_id, run.info.run_id)
