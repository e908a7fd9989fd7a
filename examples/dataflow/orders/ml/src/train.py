"""Fit an order's amount from its quantity on the Parquet files a Data
Factory Copy wrote, log the fit with MLflow and save the model."""
import argparse
import os

import mlflow
import mlflow.sklearn
import pandas as pd
from sklearn.linear_model import LinearRegression
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split

p = argparse.ArgumentParser()
p.add_argument("--orders", required=True)
p.add_argument("--model", required=True)
a = p.parse_args()

files = sorted(f for f in os.listdir(a.orders) if f.endswith(".parquet"))
orders = pd.concat([pd.read_parquet(os.path.join(a.orders, f)) for f in files], ignore_index=True)
X = orders[["quantity"]].astype(float)
y = orders["amount"].astype(float)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
model = LinearRegression().fit(X_train, y_train)
r2 = r2_score(y_test, model.predict(X_test))

mlflow.log_params({"files": len(files), "rows": len(orders)})
mlflow.log_metric("r2", r2)
mlflow.sklearn.save_model(model, os.path.join(a.model, "model"), serialization_format="pickle")
print(f"{len(orders)} orders from {len(files)} files: r2 {r2:.4f}")
