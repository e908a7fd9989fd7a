"""Checks every server answers the same prediction before anything is timed.

Usage: check.py <workdir> <ciel scoring uri> <key> <azmlinfsrv port> <mlflow port> <bare relay url>
"""
import json
import sys
import urllib.request

work, uri, key, az_port, ml_port, relay = sys.argv[1:]


def post(url, body, headers):
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json", **headers})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


plain = open(f"{work}/request.json", "rb").read()
framed = open(f"{work}/request-mlflow.json", "rb").read()
auth = {"Authorization": "Bearer " + key}
answers = {
    "ciel score.py": post(uri, plain, {**auth, "azureml-model-deployment": "script"}),
    "ciel batched": post(uri, plain, {**auth, "azureml-model-deployment": "batched"}),
    "azmlinfsrv": post(f"http://127.0.0.1:{az_port}/score", plain, {}),
    "ciel mlflow": post(uri, framed, {**auth, "azureml-model-deployment": "mlflow"})["predictions"],
    "mlflow serve": post(f"http://127.0.0.1:{ml_port}/invocations", framed, {})["predictions"],
    "bare relay": post(relay, plain, {}),
}
if len({json.dumps(v) for v in answers.values()}) != 1:
    sys.exit(f"the servers disagree: {answers}")
print(f"==> every server predicts {answers['ciel score.py']} for the request")
