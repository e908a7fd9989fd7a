"""Times one upload of a file as an MLflow artifact with the real mlflow
client, through ciel's proxy (mode "proxy": one PUT, the server streams it
to the bucket) or with presigned multipart uploads (mode "mpu": the parts
go straight to the bucket). Prints the seconds, after checking the
artifact's size, and deletes the artifact (the S3 server keeps objects in
memory).

Usage: upload.py TRACKING_URI FILE proxy|mpu
"""

import os
import sys
import time
import uuid

uri, path, mode = sys.argv[1:4]
os.environ["MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD"] = "true" if mode == "mpu" else "false"
os.environ.setdefault("MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", "1")  # every file in parts
os.environ.setdefault("MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE", str(10 << 20))

import requests  # noqa: E402
from mlflow import MlflowClient  # noqa: E402

client = MlflowClient(tracking_uri=uri)
exp = client.create_experiment("bench-" + uuid.uuid4().hex[:8])
run = client.create_run(exp)
start = time.perf_counter()
client.log_artifact(run.info.run_id, path)
secs = time.perf_counter() - start
size = os.path.getsize(path)
listed = {f.path: f.file_size for f in client.list_artifacts(run.info.run_id)}
if listed.get(os.path.basename(path)) != size:
    sys.exit(f"upload.py: the artifact is {listed}, want {size} bytes")
print(f"{secs:.3f}")
rel = run.info.artifact_uri.split("mlflow-artifacts:/", 1)[1]
requests.delete(f"{uri}/api/2.0/mlflow-artifacts/artifacts/{rel}", timeout=120).raise_for_status()
