"""The benchmark's scoring script, served as it is by ciel and azmlinfsrv:
Azure ML's contract, init() once and run(raw_data) per request. run_batch is
ciel's optional extension for micro-batching (azmlinfsrv ignores it)."""
import json
import os
import pickle

import numpy as np

model = None


def init():
    global model
    with open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model", "model.pkl"), "rb") as f:
        model = pickle.load(f)


def run(raw_data):
    data = np.array(json.loads(raw_data)["data"])
    return model.predict(data).tolist()


def run_batch(raw_list):
    rows = [json.loads(r)["data"] for r in raw_list]
    preds = model.predict(np.array([x for r in rows for x in r])).tolist()
    out, i = [], 0
    for r in rows:
        out.append(preds[i:i + len(r)])
        i += len(r)
    return out
