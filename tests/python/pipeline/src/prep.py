"""Writes the iris data set as CSV and records what it did on its run."""
import argparse
import os

import mlflow
import numpy as np
from sklearn.datasets import load_iris

p = argparse.ArgumentParser()
p.add_argument("--out", required=True)
a = p.parse_args()
X, y = load_iris(return_X_y=True)
os.makedirs(a.out, exist_ok=True)
np.savetxt(os.path.join(a.out, "iris.csv"), np.column_stack([X, y]), delimiter=",")
mlflow.log_param("rows", len(y))
mlflow.log_metric("features", X.shape[1])
print(f"wrote {len(y)} rows")
