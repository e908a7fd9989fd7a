"""Logs three runs with the real mlflow client for the studio's runs test:
params "alpha" and "solver" differ, "layers" is the same; metrics "rmse"
and a noisy "loss" curve (for smoothing). The first run logs an artifact
of each kind the studio previews: a text file, a long text file, a PNG, an
SVG, a JSON, a CSV and an sklearn model saved with its signature, and
logs that model with log_model (an MLflow 3 logged model). Prints
the run IDs."""
import json
import math
import os
import struct
import tempfile
import zlib

import mlflow
import numpy as np
import pandas as pd
from mlflow.models import infer_signature
from sklearn.linear_model import LogisticRegression


def png(width, height):
    """A red-to-blue gradient as a PNG file's bytes."""
    rows = b"".join(b"\x00" + b"".join(bytes((255 * x // width, 40, 255 - 255 * x // width)) for x in range(width)) for _ in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def artifacts(d):
    with open(os.path.join(d, "notes.txt"), "w") as f:
        f.write("trained on iris\nsecond line\n")
    with open(os.path.join(d, "big.log"), "w") as f:
        for i in range(20000):
            f.write(f"line {i:06d} of a long training log\n")
    os.makedirs(os.path.join(d, "plots"))
    with open(os.path.join(d, "plots", "gradient.png"), "wb") as f:
        f.write(png(64, 32))
    with open(os.path.join(d, "plots", "shape.svg"), "w") as f:
        f.write('<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><script>window.svgRan = true</script>'
                '<circle cx="20" cy="20" r="18" fill="green"/></svg>')
    with open(os.path.join(d, "metrics.json"), "w") as f:
        json.dump({"accuracy": 0.93, "classes": ["setosa", "versicolor", "virginica"], "confusion": {"setosa": [50, 0, 0]}}, f)
    with open(os.path.join(d, "predictions.csv"), "w") as f:
        f.write('id,label,"note, quoted"\n')
        for i in range(300):
            f.write(f"{i},{i % 3},\"row {i}\"\n")


X = pd.DataFrame({"sepal_length": [5.1, 4.9, 6.2, 5.9, 6.7, 5.0], "sepal_width": [3.5, 3.0, 3.4, 3.0, 3.1, 3.6]})
y = np.array([0, 0, 1, 1, 1, 0])
mlflow.set_experiment("studio-runs")
ids = []
for i, (alpha, solver) in enumerate((("0.1", "lbfgs"), ("0.5", "saga"), ("0.9", "lbfgs"))):
    with mlflow.start_run(run_name=f"runs-{i}") as run:
        mlflow.log_params({"alpha": alpha, "solver": solver, "layers": "3"})
        mlflow.log_metric("rmse", 1.0 - float(alpha) / 2)
        for s in range(200):
            mlflow.log_metric("loss", math.exp(-s / 50) + 0.2 * math.sin(s * 1.7) * (1 + i), step=s)
        if i == 0:
            with tempfile.TemporaryDirectory() as d:
                artifacts(d)
                mlflow.log_artifacts(d)
                model = LogisticRegression().fit(X, y)
                mdir = os.path.join(d, "model")
                mlflow.sklearn.save_model(model, mdir, signature=infer_signature(X, model.predict(X)))
                mlflow.log_artifacts(mdir, "model")
                # MLflow 3's way: a logged model, kept apart from the run's artifacts.
                mlflow.sklearn.log_model(model, name="clf", signature=infer_signature(X, model.predict(X)))
        ids.append(run.info.run_id)
print("ids:", *ids)
