"""ciel serving worker: one instance of an online deployment.

The ciel server starts this script in the deployment's environment with a
connected Unix socket as file descriptor 3 and talks to it in frames:

    u32 length (of what follows) | u8 type | u8 flags | u16 status | u64 id | payload

The worker loads the model once (the user's score.py init(), or an MLflow
model), says READY, then answers every REQUEST frame with a REPLY frame of
the same id, in order. Consecutive REQUEST frames flagged MORE form one
batch. PING frames are answered with PONG. Anything the model prints goes
to stdout/stderr, which the server keeps as the deployment's log.
"""

import gc
import importlib.util
import json
import os
import socket
import struct
import sys
import traceback

HEADER = struct.Struct(">IBBHQ")
FIXED = HEADER.size - 4  # bytes counted by the length besides the payload
MAX_FRAME = 256 << 20

READY, REQUEST, REPLY, PING, PONG, INIT_FAILED = 1, 2, 3, 4, 5, 6
MORE = 1

MLFLOW_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")


def frame(kind, status, ident, payload=b"", flags=0):
    return HEADER.pack(FIXED + len(payload), kind, flags, status, ident) + payload


def error_body(code, message):
    return json.dumps({"error": {"code": code, "message": message}}).encode()


class ScriptModel:
    """The Azure ML contract: init() once, run(raw_data) per request."""

    def __init__(self, path):
        for folder in (os.environ.get("AML_APP_ROOT"), os.path.dirname(path)):
            if folder and folder not in sys.path:
                sys.path.insert(0, folder)
        spec = importlib.util.spec_from_file_location("score", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules["score"] = module
        spec.loader.exec_module(module)
        if not callable(getattr(module, "run", None)):
            raise RuntimeError(f"{os.path.basename(path)} has no run(raw_data) function")
        init = getattr(module, "init", None)
        if callable(init):
            init()
        self.run = module.run
        self.run_batch = getattr(module, "run_batch", None)

    def score(self, raw):
        try:
            result = self.run(raw.decode("utf-8"))
        except Exception as e:  # the user's code: report, keep serving
            traceback.print_exc()
            return 500, error_body("ScoringError", f"run() raised {type(e).__name__}: {e}")
        return encode_result(result)

    def score_batch(self, raws):
        if self.run_batch is None:
            return [self.score(r) for r in raws]
        try:
            results = self.run_batch([r.decode("utf-8") for r in raws])
            if len(results) != len(raws):
                raise RuntimeError(f"run_batch returned {len(results)} results for {len(raws)} requests")
        except Exception:
            traceback.print_exc()
            return [self.score(r) for r in raws]
        return [encode_result(r) for r in results]


def jsonable(o):
    """Lets json.dumps write numpy arrays and scalars as lists and numbers."""
    if hasattr(o, "tolist"):
        return o.tolist()
    if hasattr(o, "item"):
        return o.item()
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


# json.dumps(result, default=jsonable), with the encoder made once: dumps
# builds a new JSONEncoder on every call that passes it an argument.
encode_json = json.JSONEncoder(default=jsonable).encode


def encode_result(result):
    """Encodes what run() returned: JSON, or a Flask-like response object."""
    if hasattr(result, "status_code") and hasattr(result, "get_data"):
        return int(result.status_code), result.get_data()
    try:
        return 200, encode_json(result).encode()
    except (TypeError, ValueError) as e:
        return 500, error_body("ScoringError", f"run() returned a value that is not JSON-serialisable: {e}")


class MLflowModel:
    """An MLflow model served with no scoring script: MLflow's input formats
    (dataframe_split, dataframe_records, instances, inputs) and Azure ML's
    input_data."""

    def __init__(self, path):
        import mlflow.pyfunc
        from mlflow.pyfunc import scoring_server

        self.model = mlflow.pyfunc.load_model(path)
        self.jsonable = scoring_server._get_jsonable_obj
        try:
            schema = self.model.metadata.get_input_schema()
        except Exception:
            schema = None
        self.parse = InputParser(schema)

    def parse_request(self, raw):
        """Returns (data, params, azure) or raises ValueError."""
        try:
            body = json.loads(raw)
        except ValueError as e:
            raise ValueError(f"request body is not JSON: {e}")
        if not isinstance(body, dict):
            raise ValueError("expected a JSON object with input_data, " + ", ".join(MLFLOW_KEYS))
        params = body.get("params")
        if "input_data" in body:
            data = body["input_data"]
            if isinstance(data, dict) and "data" in data:
                body = {"dataframe_split": data}
            else:
                body = {"inputs": data}
            return self.parse(body), params, True
        keys = [k for k in MLFLOW_KEYS if k in body]
        if len(keys) != 1:
            raise ValueError("expected exactly one of input_data, " + ", ".join(MLFLOW_KEYS) + f"; got keys {sorted(body)}")
        return self.parse({keys[0]: body[keys[0]]}), params, False

    def predict(self, data, params):
        if params:
            return self.model.predict(data, params=params)
        return self.model.predict(data)

    def answer(self, predictions, azure):
        out = self.jsonable(predictions)
        return 200, json.dumps(out if azure else {"predictions": out}).encode()

    def score(self, raw):
        try:
            data, params, azure = self.parse_request(raw)
        except Exception as e:
            return 400, error_body("BadRequest", str(e))
        try:
            return self.answer(self.predict(data, params), azure)
        except Exception as e:
            traceback.print_exc()
            return 500, error_body("ScoringError", f"predict raised {type(e).__name__}: {e}")

    def score_batch(self, raws):
        """Scores data frames of the same columns in one predict call."""
        import pandas as pd

        parsed, out = [], [None] * len(raws)
        for i, raw in enumerate(raws):
            try:
                data, params, azure = self.parse_request(raw)
            except Exception as e:
                out[i] = (400, error_body("BadRequest", str(e)))
                continue
            if isinstance(data, pd.DataFrame) and not params:
                parsed.append((i, data, azure))
            else:
                out[i] = self.score(raw)
        if parsed:
            columns = list(parsed[0][1].columns)
            if all(list(d.columns) == columns for _, d, _ in parsed) and len(parsed) > 1:
                try:
                    preds = self.predict(pd.concat([d for _, d, _ in parsed], ignore_index=True), None)
                    start = 0
                    for i, d, azure in parsed:
                        out[i] = self.answer(preds[start:start + len(d)], azure)
                        start += len(d)
                    parsed = []
                except Exception:
                    traceback.print_exc()
            for i, _, _ in parsed:
                out[i] = self.score(raws[i])
        return out


class InputParser:
    """MLflow's infer_and_parse_data for one model's input signature, faster
    where MLflow casts a data frame's columns to numeric types one at a time
    (a copy of the frame per column: most of a request's time for a wide
    frame). There they are cast in one astype. A frame with columns of Python
    objects (lists for a tensor, strings), repeated column names, or a cast
    that fails takes MLflow's own path, so its rules and its error naming the
    column hold."""

    def __init__(self, schema):
        from mlflow.pyfunc import scoring_server
        from mlflow.utils.proto_json_utils import cast_df_types_according_to_schema

        self.schema = schema
        self.infer_and_parse = scoring_server.infer_and_parse_data
        self.cast = cast_df_types_according_to_schema
        self.numeric = numeric_cast(schema)

    def __call__(self, body):
        if self.numeric is None or not ({"dataframe_split", "dataframe_records"} & body.keys()):
            return self.infer_and_parse(body, self.schema)
        frame = self.infer_and_parse(body, None)
        if frame.columns.is_unique:
            dtypes = frame.dtypes
            casts = self.numeric
            if not isinstance(casts, dict):
                casts = dict.fromkeys(frame.columns, casts)
            casts = {c: t for c, t in casts.items() if c in dtypes.index}
            if all(dtypes[c].kind != "O" for c in casts):
                casts = {c: t for c, t in casts.items() if dtypes[c] != t}
                try:
                    if not casts:
                        return frame
                    if len(casts) == len(dtypes) and len(set(casts.values())) == 1:
                        return frame.astype(next(iter(casts.values())))
                    return frame.astype(casts)
                except Exception:
                    pass
        return self.cast(frame, self.schema)


def numeric_cast(schema):
    """What MLflow's cast of a data frame to schema does when every input is
    numeric or boolean: a column -> numpy dtype dict for named inputs, one
    dtype for every column for a single unnamed tensor; None for any other
    signature, which keeps MLflow's own cast."""
    try:
        import numpy as np
        from mlflow.types.schema import DataType

        def numeric(t):
            if isinstance(t, DataType):
                if t in (DataType.binary, DataType.datetime):
                    return None
                t = t.to_pandas()
            return t if isinstance(t, np.dtype) and t.kind in "biuf" else None

        if schema is None:
            return None
        types = schema.input_types()
        if schema.has_input_names():
            out = {name: numeric(t) for name, t in zip(schema.input_names(), types)}
            # Not "None in out.values()": a numpy dtype equals None (None
            # reads as the default dtype, float64).
            return None if any(t is None for t in out.values()) else out
        if schema.is_tensor_spec() and len(types) == 1:
            return numeric(types[0])
    except Exception:  # another MLflow than this was written against: its own path
        pass
    return None


def load():
    mode = os.environ.get("CIEL_WORKER_MODE", "script")
    if mode == "mlflow":
        return MLflowModel(os.environ["CIEL_MLFLOW_MODEL"])
    return ScriptModel(os.environ["CIEL_SCORING_SCRIPT"])


def read_exact(f, n):
    b = f.read(n)
    if len(b) < n:
        raise EOFError
    return b


def serve(sock, model):
    f = sock.makefile("rb", buffering=1 << 16)
    send = sock.sendall
    unpack = HEADER.unpack
    hsize = HEADER.size
    batch = []
    while True:
        length, kind, flags, _, ident = unpack(read_exact(f, hsize))
        if length < FIXED or length > MAX_FRAME:
            raise RuntimeError(f"bad frame length {length}")
        payload = read_exact(f, length - FIXED) if length > FIXED else b""
        if kind == PING:
            send(frame(PONG, 0, ident))
            continue
        if kind != REQUEST:
            continue
        if flags & MORE:
            batch.append((ident, payload))
            continue
        if not batch:
            status, body = model.score(payload)
            send(frame(REPLY, status, ident, body))
            continue
        batch.append((ident, payload))
        results = model.score_batch([p for _, p in batch])
        send(b"".join(frame(REPLY, s, i, b) for (i, _), (s, b) in zip(batch, results)))
        batch = []


def main():
    # Python put this script's folder (ciel's) first on the path; the
    # user's code must not import from it.
    if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
        sys.path.pop(0)
    sock = socket.socket(fileno=3)
    try:
        model = load()
    except BaseException:
        text = traceback.format_exc()
        sys.stderr.write(text)
        sys.stderr.flush()
        sock.sendall(frame(INIT_FAILED, 0, 0, text.encode(errors="replace")[-8000:]))
        sys.exit(3)
    sys.stdout.flush()
    # What loading made (modules, the model) lives as long as the worker:
    # keep it out of the garbage collector's full passes, so they stay short
    # and do not stall requests.
    gc.collect()
    gc.freeze()
    sock.sendall(frame(READY, 0, 0, json.dumps({"pid": os.getpid()}).encode()))
    try:
        serve(sock, model)
    except EOFError:
        pass  # the server closed the socket: stop


if __name__ == "__main__":
    main()
