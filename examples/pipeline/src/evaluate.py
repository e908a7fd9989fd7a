"""Score the trained model on the held-out test set."""
import argparse
import json
import os
import pickle

import mlflow
import numpy as np
from sklearn.metrics import accuracy_score, roc_auc_score

p = argparse.ArgumentParser()
p.add_argument("--model", required=True)
p.add_argument("--test-data", required=True)
p.add_argument("--report", required=True)
a = p.parse_args()

with open(os.path.join(a.model, "model.pkl"), "rb") as f:
    clf = pickle.load(f)
data = np.loadtxt(os.path.join(a.test_data, "data.csv"), delimiter=",", skiprows=1)
X, y = data[:, :-1], data[:, -1]
metrics = {
    "accuracy": float(accuracy_score(y, clf.predict(X))),
    "roc_auc": float(roc_auc_score(y, clf.predict_proba(X)[:, 1])),
    "test_rows": int(len(y)),
}
os.makedirs(a.report, exist_ok=True)
with open(os.path.join(a.report, "metrics.json"), "w") as f:
    json.dump(metrics, f, indent=2)
# Azure ML keeps what a step writes to ./outputs with the job.
os.makedirs("outputs", exist_ok=True)
with open(os.path.join("outputs", "metrics.json"), "w") as f:
    json.dump(metrics, f, indent=2)
# Logged on the evaluate step's run: `ciel run list --filter "metrics.accuracy > 0.9"`.
mlflow.log_metrics(metrics)
print(f"accuracy: {metrics['accuracy']:.4f}")
print(f"roc_auc: {metrics['roc_auc']:.4f}")
