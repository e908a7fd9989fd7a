"""Trains the benchmark's model and writes what every server needs.

Usage: train.py <dir> <kind>   kind: linear (StandardScaler + LogisticRegression,
a fast model, where the serving stack's cost shows) or forest (a 200-tree
RandomForest, the example pipeline's model, where the model's cost dominates).

Writes <dir>/model/ (an MLflow model: MLmodel, model.pkl, conda.yaml),
<dir>/request.json (one row, as score.py takes it: {"data": [[...]]}) and
<dir>/request-mlflow.json (the same row as MLflow's dataframe_split).
"""
import json
import os
import sys

import mlflow.sklearn
import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

out, kind = sys.argv[1], sys.argv[2]
data = load_breast_cancer(as_frame=True)
X, y = data.data, data.target
if kind == "forest":
    model = RandomForestClassifier(n_estimators=200, random_state=0, n_jobs=1)
else:
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
model.fit(X.values, y)
mlflow.sklearn.save_model(model, os.path.join(out, "model"), serialization_format="pickle",
                          input_example=X.iloc[:1].values)
row = X.iloc[:1].values.tolist()
with open(os.path.join(out, "request.json"), "w") as f:
    json.dump({"data": row}, f)
with open(os.path.join(out, "request-mlflow.json"), "w") as f:
    json.dump({"dataframe_split": pd.DataFrame(row).to_dict(orient="split")}, f)
print(f"trained {type(model).__name__} ({kind}) on {len(y)} rows")
