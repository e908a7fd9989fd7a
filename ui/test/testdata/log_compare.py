"""Logs two runs with the real mlflow client for the studio's compare test:
the same "loss" metric over 3,000 steps (more than the chart's buckets, so
the server sums it up with each bucket's min and max), "alpha" differing
and "layers" the same. Prints the run IDs."""
import math
import time

import mlflow
from mlflow.entities import Metric

mlflow.set_experiment("studio-compare")
client = mlflow.MlflowClient()
ids = []
for name, alpha, rate in (("compare-a", "0.1", 300.0), ("compare-b", "0.9", 900.0)):
    with mlflow.start_run(run_name=name) as run:
        mlflow.log_params({"alpha": alpha, "layers": "3"})
        now = int(time.time() * 1000)
        # A wiggle on the decay, so that a bucket's min and max differ.
        points = [Metric("loss", math.exp(-s / rate) + 0.05 * math.sin(s), now + s, s) for s in range(3000)]
        for i in range(0, len(points), 1000):
            client.log_batch(run.info.run_id, metrics=points[i : i + 1000])
        ids.append(run.info.run_id)
print("ids:", *ids)
