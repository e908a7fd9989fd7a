"""Trains a classifier on scikit-learn's bundled breast-cancer data when
scikit-learn is installed (the example's requirements), else writes a
placeholder, and saves it under outputs/ for the pipeline to publish."""
import json
import os

os.makedirs("outputs", exist_ok=True)
try:
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    import pickle

    X, y = load_breast_cancer(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, random_state=0)
    model = LogisticRegression(max_iter=5000).fit(X_tr, y_tr)
    with open("outputs/model.pkl", "wb") as f:
        pickle.dump(model, f)
    metrics = {"accuracy": model.score(X_te, y_te)}
except ImportError:
    metrics = {"note": "scikit-learn is not installed; add it to the pip install line"}
metrics["commit"] = os.environ.get("BUILD_SOURCEVERSION", "")
with open("outputs/metrics.json", "w") as f:
    json.dump(metrics, f)
print(json.dumps(metrics))
