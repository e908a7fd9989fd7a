"""Fixtures of the Python integration suite: a real `ciel` binary serving a
temporary CIEL_HOME, workspaces in it, and the real mlflow client pointed at
them.

Reusable by any suite that drives ciel from Python (tracking, registry):

- ``ciel``: the running server (session-wide) with ``url``, ``home``,
  ``run(*args)`` (the CLI against it) and ``workspace()`` (a fresh workspace,
  returning its MLflow tracking URI).
- ``tracking_uri``: a fresh workspace's tracking URI, set as mlflow's for
  the test (and reset after it).
- ``client``: an ``mlflow.MlflowClient`` on ``tracking_uri``.

Set CIEL_BIN to test an existing binary instead of building bin/ciel.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# mlflow's usage telemetry would try to reach the internet from every
# client (and every step): nothing here is to leave the machine.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


def _build_ciel() -> Path:
    if os.environ.get("CIEL_BIN"):
        return Path(os.environ["CIEL_BIN"]).resolve()
    out = REPO / "bin" / "ciel"
    subprocess.run(["go", "build", "-o", str(out), "./cmd/ciel"], cwd=REPO, check=True)
    return out


class Ciel:
    """A ciel server running on a temporary CIEL_HOME."""

    def __init__(self, binary: Path, home: Path, args=(), env=None):
        """args are more flags of `ciel server run`; env more variables."""
        self.binary = binary
        self.home = home
        self.env = dict(os.environ)
        self.env.update({"CIEL_HOME": str(home), "PYTHONUNBUFFERED": "1"})
        for var in ("CIEL_URL", "CIEL_TOKEN", "MLFLOW_TRACKING_URI", "MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_NAME",
                    "MLFLOW_EXPERIMENT_ID"):
            self.env.pop(var, None)
        # Steps that name no environment run on the host's Python: make it
        # this suite's, which has mlflow and scikit-learn.
        self.env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + self.env.get("PATH", "")
        self.env.update(env or {})
        self.log = open(home / "server.out", "w")
        # A free port, not ciel's default one: sessions and a user's own
        # server run side by side.
        self.proc = subprocess.Popen([str(binary), "server", "run", "--addr", "127.0.0.1:0", *args],
                                     env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        self.url = self._wait_url()

    def _wait_url(self) -> str:
        info = self.home / "server.json"
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ciel server exited: {(self.home / 'server.out').read_text()}")
            if info.exists():
                try:
                    return json.loads(info.read_text())["url"]
                except (ValueError, KeyError):
                    pass
            time.sleep(0.05)
        raise RuntimeError("ciel server did not write server.json within 30s")

    def run(self, *args: str, check: bool = True, cwd=None) -> subprocess.CompletedProcess:
        """Runs the ciel CLI against this server and returns its result."""
        p = subprocess.run([str(self.binary), *args], env=self.env, cwd=cwd, capture_output=True, text=True,
                           timeout=600)
        if check and p.returncode != 0:
            raise AssertionError(f"ciel {' '.join(args)} exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
        return p

    def run_json(self, *args: str, cwd=None):
        """Runs a ciel command with -o json and returns the decoded output."""
        return json.loads(self.run(*args, "-o", "json", cwd=cwd).stdout)

    def workspace(self, name: str | None = None) -> str:
        """Creates a workspace and returns its MLflow tracking URI."""
        name = name or "ws_" + uuid.uuid4().hex[:10]
        ws = self.run_json("workspace", "create", "--name", name)
        return ws["mlflow_tracking_uri"]

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


@pytest.fixture(scope="session")
def ciel():
    binary = _build_ciel()
    home = Path(tempfile.mkdtemp(prefix="ciel-pytest-"))
    server = Ciel(binary, home)
    yield server
    server.stop()
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def tracking_uri(ciel, monkeypatch):
    import mlflow

    for var in ("MLFLOW_TRACKING_URI", "MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID"):
        monkeypatch.delenv(var, raising=False)
    uri = ciel.workspace()
    mlflow.set_tracking_uri(uri)
    yield uri
    while mlflow.active_run():
        mlflow.end_run()
    # mlflow.set_experiment remembers the experiment in a global and in the
    # environment; the next test is in another workspace.
    mlflow.tracking.fluent._active_experiment_id = None
    for var in ("MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_RUN_ID"):
        os.environ.pop(var, None)


@pytest.fixture
def client(tracking_uri):
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri)
