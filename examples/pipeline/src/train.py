"""Train a random forest on the prepared training set."""
import argparse
import os
import pickle

import mlflow
import numpy as np
from sklearn.ensemble import RandomForestClassifier

p = argparse.ArgumentParser()
p.add_argument("--train-data", required=True)
p.add_argument("--n-estimators", type=int, default=100)
p.add_argument("--max-depth", type=int, default=None)
p.add_argument("--model", required=True)
a = p.parse_args()

data = np.loadtxt(os.path.join(a.train_data, "data.csv"), delimiter=",", skiprows=1)
X, y = data[:, :-1], data[:, -1]
clf = RandomForestClassifier(n_estimators=a.n_estimators, max_depth=a.max_depth, random_state=0)
clf.fit(X, y)
print(f"trained RandomForestClassifier(n_estimators={a.n_estimators}, max_depth={a.max_depth}) on {len(y)} rows")
train_accuracy = clf.score(X, y)
print(f"training accuracy: {train_accuracy:.4f}")
# ciel (like Azure ML) starts the step with MLFLOW_RUN_ID set: these land on
# the train step's run with no set-up.
mlflow.log_params({"n_estimators": a.n_estimators, "max_depth": a.max_depth, "train_rows": len(y)})
mlflow.log_metric("train_accuracy", train_accuracy)

os.makedirs(a.model, exist_ok=True)
with open(os.path.join(a.model, "model.pkl"), "wb") as f:
    pickle.dump(clf, f)
