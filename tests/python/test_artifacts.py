"""Artifacts through ciel's artifact proxy: upload, list, download, large
files (streamed, and in parts with multipart upload)."""

import hashlib
import os

import mlflow
import pytest
import requests


def _digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def test_log_list_download(tracking_uri, client, tmp_path):
    src = tmp_path / "src"
    (src / "nested" / "deeper").mkdir(parents=True)
    (src / "a.txt").write_text("alpha")
    (src / "nested" / "b.json").write_text('{"b": 1}')
    (src / "nested" / "deeper" / "c.bin").write_bytes(bytes(range(256)))
    with mlflow.start_run() as run:
        assert run.info.artifact_uri.startswith("mlflow-artifacts:/")
        mlflow.log_artifact(str(src / "a.txt"))
        mlflow.log_artifacts(str(src), artifact_path="tree")
        mlflow.log_text("hello text", "notes/hello.txt")
        mlflow.log_dict({"k": [1, 2]}, "cfg/config.json")
    rid = run.info.run_id

    top = client.list_artifacts(rid)
    assert [(f.path, f.is_dir) for f in top] == [("a.txt", False), ("cfg", True), ("notes", True), ("tree", True)]
    assert top[0].file_size == 5
    assert [f.path for f in client.list_artifacts(rid, "tree/nested")] == ["tree/nested/b.json", "tree/nested/deeper"]
    assert client.list_artifacts(rid, "does/not/exist") == []

    out = client.download_artifacts(rid, "tree", str(tmp_path / "dl"))
    assert open(os.path.join(out, "nested", "deeper", "c.bin"), "rb").read() == bytes(range(256))
    assert mlflow.artifacts.load_text(f"runs:/{rid}/notes/hello.txt") == "hello text"
    assert mlflow.artifacts.load_dict(f"runs:/{rid}/cfg/config.json") == {"k": [1, 2]}


def test_large_file_streamed(tracking_uri, client, tmp_path):
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        for i in range(24):  # 24 MiB of varied bytes
            f.write(hashlib.sha256(str(i).encode()).digest() * (1 << 15))
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(big), "data")
    [info] = client.list_artifacts(run.info.run_id, "data")
    assert info.file_size == big.stat().st_size
    out = client.download_artifacts(run.info.run_id, "data/big.bin", str(tmp_path / "dl"))
    assert _digest(out) == _digest(big)


def test_large_file_in_parts(tracking_uri, client, tmp_path, monkeypatch):
    # Ask the client to upload anything over 1 MiB in 5 MiB parts through
    # the proxy's multipart endpoints.
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", str(1 << 20))
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE", str(5 << 20))
    from mlflow.store.artifact.http_artifact_repo import HttpArtifactRepository

    completed = []
    real_complete = HttpArtifactRepository.complete_multipart_upload

    def spy(self, *args, **kwargs):
        completed.append(kwargs.get("parts") or args[2])
        return real_complete(self, *args, **kwargs)

    monkeypatch.setattr(HttpArtifactRepository, "complete_multipart_upload", spy)
    big = tmp_path / "parts.bin"
    big.write_bytes(os.urandom(12 << 20))
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(big), "multi")
    assert len(completed) == 1 and len(completed[0]) == 3  # 12 MiB in three 5 MiB parts
    out = client.download_artifacts(run.info.run_id, "multi/parts.bin", str(tmp_path / "dl"))
    assert _digest(out) == _digest(big)
    assert [f.path for f in client.list_artifacts(run.info.run_id)] == ["multi"]


def test_missing_artifact_is_404(tracking_uri):
    r = requests.get(f"{tracking_uri}/api/2.0/mlflow-artifacts/artifacts/0/nope/artifacts/x.txt")
    assert r.status_code == 404
    assert r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_path_escape_is_rejected(tracking_uri):
    r = requests.put(f"{tracking_uri}/api/2.0/mlflow-artifacts/artifacts/..%2F..%2Fescape.txt", data=b"x")
    assert r.status_code in (400, 404)
    assert "error_code" in r.json()
