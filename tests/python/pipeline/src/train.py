"""Trains with scikit-learn autologging and logs its own metrics too; no
mlflow configuration: the run is the step's."""
import argparse
import os
import pickle

import mlflow
import numpy as np
from sklearn.linear_model import LogisticRegression

p = argparse.ArgumentParser()
p.add_argument("--data", required=True)
p.add_argument("--model", required=True)
a = p.parse_args()
data = np.loadtxt(os.path.join(a.data, "iris.csv"), delimiter=",")
X, y = data[:, :-1], data[:, -1]

mlflow.sklearn.autolog(log_input_examples=False)
clf = LogisticRegression(max_iter=300).fit(X, y)
for step, frac in enumerate([0.5, 0.75, 1.0]):
    n = int(len(y) * frac)
    mlflow.log_metric("val_accuracy", clf.score(X[:n], y[:n]), step=step)
mlflow.log_param("solver_note", "lbfgs")
os.makedirs(a.model, exist_ok=True)
with open(os.path.join(a.model, "model.pkl"), "wb") as f:
    pickle.dump(clf, f)
print("run", mlflow.active_run().info.run_id if mlflow.active_run() else os.environ["MLFLOW_RUN_ID"])
