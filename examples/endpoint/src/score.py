"""Scores the example pipeline's random forest, Azure ML's way: init() once
per worker with AZUREML_MODEL_DIR set to the registered model's folder,
run(raw_data) per request with the request body as text."""
import json
import os
import pickle

import numpy as np

model = None


def init():
    global model
    # The model was registered from the pipeline's output "model", so its
    # files are in a folder of that name, as Azure ML lays them out.
    with open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model", "model.pkl"), "rb") as f:
        model = pickle.load(f)
    print("model loaded", flush=True)


def run(raw_data):
    rows = np.array(json.loads(raw_data)["data"])
    return {"predictions": model.predict(rows).tolist(), "probabilities": model.predict_proba(rows)[:, 1].tolist()}


def run_batch(raw_list):
    """Optional (ciel's micro-batching): score many requests in one call."""
    sizes = [len(json.loads(r)["data"]) for r in raw_list]
    rows = np.array([row for r in raw_list for row in json.loads(r)["data"]])
    pred, prob = model.predict(rows).tolist(), model.predict_proba(rows)[:, 1].tolist()
    out, i = [], 0
    for n in sizes:
        out.append({"predictions": pred[i:i + n], "probabilities": prob[i:i + n]})
        i += n
    return out
