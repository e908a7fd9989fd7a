"""MLflow artifacts on a server whose blob store is an S3 bucket (moto's
server, installed by scripts/s3server.sh): the real mlflow client logs a
large artifact with MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD=true, its parts go
straight to the bucket on presigned URLs, and it downloads back equal.

That no part passes through ciel is checked, not assumed: the server runs
with --max-artifact-bytes 4 MiB, so it refuses any artifact body or part
over 4 MiB that reaches it (a control upload without multipart shows the
refusal), while the client's parts are 10 MiB.
"""

import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import requests

from conftest import REPO, Ciel, _build_ciel

CAP = 4 << 20  # the server's --max-artifact-bytes
BIG = 120 << 20


def _moto_server() -> str | None:
    if os.environ.get("CIEL_TEST_MOTO_SERVER"):
        return os.environ["CIEL_TEST_MOTO_SERVER"]
    local = REPO / ".venv-s3" / "bin" / "moto_server"
    if local.exists():
        return str(local)
    return shutil.which("moto_server")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3():
    """moto's S3 server on a free port, with one empty bucket."""
    binary = _moto_server()
    if not binary:
        msg = "no S3 server: run scripts/s3server.sh install or set CIEL_TEST_MOTO_SERVER"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    port = _free_port()
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen([binary, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                requests.get(endpoint + "/", timeout=2)
                break
            except requests.ConnectionError:
                if time.time() > deadline or proc.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(f"S3 server did not start: {log.read().decode()}")
                time.sleep(0.1)
        bucket = "ciel-art-" + uuid.uuid4().hex[:8]
        requests.put(f"{endpoint}/{bucket}", timeout=10).raise_for_status()  # moto takes unsigned requests
        yield endpoint, bucket
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        log.close()


@pytest.fixture(scope="module")
def ciel_s3(s3):
    endpoint, bucket = s3
    home = Path(tempfile.mkdtemp(prefix="ciel-pytest-s3-"))
    server = Ciel(_build_ciel(), home,
                  args=["--blob", f"s3://{bucket}?endpoint={endpoint}&region=us-east-1", "--max-artifact-bytes", str(CAP)],
                  env={"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing-secret"})
    yield server
    server.stop()
    shutil.rmtree(home, ignore_errors=True)


def _objects(endpoint: str, bucket: str, prefix: str) -> dict[str, int]:
    """The bucket's objects under prefix, with their sizes."""
    resp = requests.get(f"{endpoint}/{bucket}", params={"list-type": "2", "prefix": prefix}, timeout=30)
    resp.raise_for_status()
    ns = {"s3": "http://s3.amazonaws.com/doc/2006-03-01/"}
    root = ET.fromstring(resp.content)
    return {c.find("s3:Key", ns).text: int(c.find("s3:Size", ns).text) for c in root.findall("s3:Contents", ns)}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _write_random(path: Path, size: int):
    with open(path, "wb") as f:
        for _ in range(size >> 20):
            f.write(os.urandom(1 << 20))


def test_large_artifact_goes_straight_to_the_bucket(ciel_s3, s3, tmp_path, monkeypatch):
    import mlflow
    from mlflow import MlflowClient

    endpoint, bucket = s3
    uri = ciel_s3.workspace()
    ws = uri.rstrip("/").rsplit("/", 1)[1]
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(tracking_uri=uri)
    big = tmp_path / "weights.bin"
    _write_random(big, BIG)

    monkeypatch.setenv("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD", "true")
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", str(50 << 20))
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE", str(10 << 20))
    exp = client.create_experiment("s3-" + uuid.uuid4().hex[:6])
    run = client.create_run(exp)
    client.log_artifact(run.info.run_id, str(big), "model")

    # The object is the bucket's, under the artifacts' prefix, whole.
    objs = _objects(endpoint, bucket, f"mlartifacts/{ws}/")
    keys = [k for k in objs if k.endswith("/model/weights.bin")]
    assert len(keys) == 1, objs
    assert objs[keys[0]] == BIG
    listed = client.list_artifacts(run.info.run_id, "model")
    assert [(f.path, f.file_size) for f in listed] == [("model/weights.bin", BIG)]

    # It downloads back equal (presigned, in ranges, from the bucket).
    out = client.download_artifacts(run.info.run_id, "model/weights.bin", str(tmp_path / "back"))
    assert _sha256(Path(out)) == _sha256(big)

    # The control: without multipart the file goes through the server, which
    # refuses a body over its cap; so the parts above never reached it.
    small = tmp_path / "over_cap.bin"
    _write_random(small, 2 * CAP)
    monkeypatch.setenv("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD", "false")
    with pytest.raises(Exception):
        client.log_artifact(run.info.run_id, str(small), "control")
    assert not [k for k in _objects(endpoint, bucket, f"mlartifacts/{ws}/") if "/control/" in k]
    # A small file still goes through the proxy, into the bucket.
    note = tmp_path / "note.txt"
    note.write_text("hello")
    client.log_artifact(run.info.run_id, str(note))
    assert any(k.endswith("/artifacts/note.txt") for k in _objects(endpoint, bucket, f"mlartifacts/{ws}/"))
    assert client.download_artifacts(run.info.run_id, "note.txt", str(tmp_path / "n")).endswith("note.txt")


def test_registered_model_files_are_the_buckets(ciel_s3, s3, tmp_path):
    import mlflow
    from mlflow import MlflowClient

    endpoint, bucket = s3
    uri = ciel_s3.workspace()
    ws = uri.rstrip("/").rsplit("/", 1)[1]
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(tracking_uri=uri)
    model = tmp_path / "model"
    model.mkdir()
    (model / "MLmodel").write_text("flavors: {}\n")
    (model / "weights.bin").write_bytes(os.urandom(4096))
    exp = client.create_experiment("reg-" + uuid.uuid4().hex[:6])
    run = client.create_run(exp)
    client.log_artifacts(run.info.run_id, str(model), "model")

    mv = mlflow.register_model(f"runs:/{run.info.run_id}/model", "s3model")
    keys = _objects(endpoint, bucket, f"mlartifacts/{ws}/models/")
    assert sorted(k.split(f"mlartifacts/{ws}/", 1)[1] for k in keys) == [
        f"models/s3model/{mv.version}/MLmodel", f"models/s3model/{mv.version}/weights.bin"]
    out = mlflow.artifacts.download_artifacts(f"models:/s3model/{mv.version}", dst_path=str(tmp_path / "back"))
    assert (Path(out) / "weights.bin").read_bytes() == (model / "weights.bin").read_bytes()
