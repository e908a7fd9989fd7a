"""Unit tests of the serving worker (internal/serving/worker.py), run with
the real mlflow and scikit-learn: the MLflow input formats, batching of
data frames, what run() may return, and the protocol over a socket pair."""

import copy
import importlib.util
import json
import socket
import threading
from pathlib import Path

import mlflow.sklearn
import numpy as np
import pandas as pd
import pytest
from mlflow.pyfunc.scoring_server import infer_and_parse_data
from mlflow.types.schema import ColSpec, Schema, TensorSpec
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression

WORKER = Path(__file__).resolve().parents[2] / "internal" / "serving" / "worker.py"
spec = importlib.util.spec_from_file_location("ciel_worker", WORKER)
worker = importlib.util.module_from_spec(spec)
spec.loader.exec_module(worker)

X, y = load_breast_cancer(return_X_y=True)
ROWS = X[:2].tolist()


@pytest.fixture(scope="module")
def mlflow_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("m") / "model"
    mlflow.sklearn.save_model(LogisticRegression(max_iter=5000).fit(X, y), str(path), serialization_format="pickle")
    return worker.MLflowModel(str(path))


@pytest.mark.parametrize("body,want", [
    ({"input_data": ROWS}, [0, 0]),
    ({"input_data": {"columns": list(range(30)), "index": [0, 1], "data": ROWS}}, [0, 0]),
    ({"dataframe_split": {"data": ROWS}}, {"predictions": [0, 0]}),
    ({"dataframe_records": [dict(enumerate(r)) for r in ROWS]}, {"predictions": [0, 0]}),
    ({"instances": ROWS}, {"predictions": [0, 0]}),
    ({"inputs": ROWS}, {"predictions": [0, 0]}),
])
def test_mlflow_formats(mlflow_model, body, want):
    status, out = mlflow_model.score(json.dumps(body).encode())
    assert status == 200, out
    assert json.loads(out) == want


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b'{"nothing": 1}', b'{"instances": [], "inputs": []}'])
def test_mlflow_bad_requests(mlflow_model, raw):
    status, out = mlflow_model.score(raw)
    assert status == 400
    assert json.loads(out)["error"]["code"] == "BadRequest"


def test_mlflow_batch_matches_single(mlflow_model):
    raws = [json.dumps({"dataframe_split": {"data": [r]}}).encode() for r in X[:20].tolist()]
    raws.append(b'{"oops": 1}')
    got = mlflow_model.score_batch(raws)
    assert [s for s, _ in got[:-1]] == [200] * 20 and got[-1][0] == 400
    assert [json.loads(b) for _, b in got[:-1]] == [json.loads(mlflow_model.score(r)[1]) for r in raws[:-1]]


MIXED = Schema([ColSpec("long", "a"), ColSpec("double", "b"), ColSpec("float", "c"), ColSpec("boolean", "d"),
                ColSpec("integer", "e")])
DOUBLES = Schema([ColSpec("double", "x"), ColSpec("double", "y")])
TENSOR32 = Schema([TensorSpec(np.dtype("float32"), (-1, 2))])
TENSOR64 = Schema([TensorSpec(np.dtype("float64"), (-1, 2))])
WITH_STRING = Schema([ColSpec("string", "s"), ColSpec("double", "x")])
WITH_DATETIME = Schema([ColSpec("datetime", "t"), ColSpec("double", "x")])


def split(columns, *rows):
    return {"dataframe_split": {"columns": columns, "data": [list(r) for r in rows]}}


@pytest.mark.parametrize("schema,body", [
    (MIXED, split(["a", "b", "c", "d", "e"], [1, 2, 3, True, 5], [4, 5.5, 6.25, False, 7])),
    (MIXED, split(["e", "d", "c", "b", "a"], [1, True, 3, 2, 1])),  # another order
    (MIXED, split(["a", "b"], [1, 2.5])),  # columns missing: the model's enforcement decides
    (MIXED, split(["a", "b", "zz"], [1, 2.5, "extra"])),
    (MIXED, split(["a", "b", "c", "d", "e"], [1.5, 2, 3, True, 5])),  # 1.5 to long: truncated as MLflow does
    (MIXED, split(["a", "b", "c", "d", "e"], [None, 2, 3, True, 5])),  # null in a long column: MLflow's error
    (DOUBLES, split(["x", "y"], [1, 2], [3, 4])),  # ints to doubles
    (DOUBLES, split(["x", "y"], [1.0, 2.0])),  # already doubles
    (DOUBLES, split(["x", "y"], ["1.5", "2"])),  # strings: MLflow's path
    (DOUBLES, split(["x", "y"], ["abc", 2])),  # MLflow's error naming x
    (DOUBLES, split(["x", "x"], [1, 2])),  # a repeated name
    (DOUBLES, {"dataframe_records": [{"x": 1, "y": 2.5}, {"x": 3, "y": None}]}),
    (TENSOR32, {"dataframe_split": {"data": [[1, 2.5], [3, 4]]}}),
    (TENSOR64, {"dataframe_split": {"data": [[1, 2.5], [3, 4]]}}),
    (TENSOR64, {"dataframe_split": {"data": [[[1, 2], [3, 4]]]}}),  # list values: left to predict
    (TENSOR64, {"dataframe_records": [{"0": 1, "1": 2}]}),
    (WITH_STRING, split(["s", "x"], ["a", 1])),
    (WITH_DATETIME, split(["t", "x"], ["2026-01-02", 1])),
    (DOUBLES, {"instances": [{"x": 1, "y": 2}]}),
    (None, split(["x", "y"], [1, 2])),
])
def test_input_parser_matches_mlflow(schema, body):
    """The worker's parser gives the frame (or the error) MLflow's own
    infer_and_parse_data gives for the same signature and body."""
    def parse(fn):
        try:
            return fn(copy.deepcopy(body)), None
        except Exception as e:
            return None, f"{type(e).__name__}: {e}"

    want, want_err = parse(lambda b: infer_and_parse_data(b, schema))
    got, got_err = parse(worker.InputParser(schema))
    assert got_err == want_err
    if want_err is None:
        assert type(got) is type(want)
        if isinstance(want, pd.DataFrame):
            pd.testing.assert_frame_equal(got, want)
        else:
            assert json.dumps(got, default=str) == json.dumps(want, default=str)


def test_input_parser_takes_the_fast_path():
    """A numeric signature is cast in one go (MLflow's own cast is never
    called); the test above shows the frames are the same."""
    import mlflow.utils.proto_json_utils as pju

    calls = []
    original = pju.cast_df_types_according_to_schema
    pju.cast_df_types_according_to_schema = lambda *a: calls.append(a) or original(*a)
    try:
        for schema, body in [(MIXED, split(["a", "b", "c", "d", "e"], [1, 2, 3, True, 5])),
                             (DOUBLES, split(["x", "y"], [1, 2.5])),
                             (TENSOR32, {"dataframe_split": {"data": [[1, 2]]}})]:
            assert len(worker.InputParser(schema)(body)) == 1
        assert not calls
        worker.InputParser(DOUBLES)(split(["x", "y"], ["1", 2]))
        assert len(calls) == 1  # a string column: MLflow's path
    finally:
        pju.cast_df_types_according_to_schema = original


def test_script_results(tmp_path):
    script = tmp_path / "score.py"
    script.write_text(
        "import numpy as np\n"
        "def init(): pass\n"
        "def run(raw):\n"
        "    if raw == 'boom': raise ValueError('boom')\n"
        "    if raw == 'numpy': return np.array([1, 2])\n"
        "    if raw == 'scalar': return np.float64(0.5)\n"
        "    if raw == 'object': return object()\n"
        "    return {'echo': raw}\n")
    m = worker.ScriptModel(str(script))
    assert m.score(b"hi") == (200, b'{"echo": "hi"}')
    assert m.score(b"numpy") == (200, b"[1, 2]")
    assert m.score(b"scalar") == (200, b"0.5")
    status, body = m.score(b"boom")
    assert status == 500 and "ValueError: boom" in json.loads(body)["error"]["message"]
    assert m.score(b"object")[0] == 500
    assert m.score_batch([b"a", b"boom"]) == [(200, b'{"echo": "a"}'), m.score(b"boom")]


def test_protocol_over_a_socket_pair(tmp_path):
    script = tmp_path / "score.py"
    script.write_text("def run(raw):\n    return raw.upper()\n")
    ours, theirs = socket.socketpair()
    model = worker.ScriptModel(str(script))
    ended = []

    def serve():
        try:
            worker.serve(theirs, model)
        except EOFError:
            ended.append(True)  # what main() takes as "the server went away"

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    f = ours.makefile("rb")

    def read():
        n, kind, flags, status, ident = worker.HEADER.unpack(f.read(worker.HEADER.size))
        return kind, status, ident, f.read(n - worker.FIXED)

    ours.sendall(worker.frame(worker.PING, 0, 7))
    assert read() == (worker.PONG, 0, 7, b"")
    ours.sendall(worker.frame(worker.REQUEST, 0, 1, b"a", worker.MORE) + worker.frame(worker.REQUEST, 0, 2, b"b"))
    assert [read() for _ in range(2)] == [(worker.REPLY, 200, 1, b'"A"'), (worker.REPLY, 200, 2, b'"B"')]
    f.close()
    ours.close()
    t.join(5)
    assert ended and not t.is_alive()
