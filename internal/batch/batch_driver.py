"""ciel's entry script for batch endpoint jobs.

A batch endpoint invocation runs as a parallel job whose entry script is this
file, put beside the deployment's code. Its program arguments, which it
takes out of sys.argv before the deployment's own script sees them, say
where things are:

    --ciel-model PATH           the model's files, as the job input "model"
    --ciel-model-folder NAME    the folder Azure ML keeps them under ("" none)
    --ciel-output PATH          the job output "score"
    --ciel-scoring-script FILE  the deployment's scoring script, if it has one

It lays the model out as Azure ML does (AZUREML_MODEL_DIR/<folder>/...),
sets AZUREML_BI_OUTPUT_PATH to the output folder, and then either becomes
the scoring script (its init and run are the script's own) or, for an MLflow
model deployed without one, scores each file of a mini-batch with the model:
one line "row,prediction,file" per input row, as Azure ML's MLflow batch
deployments write predictions.csv.

It keeps to Python 3.7 syntax, as the parallel driver does.
"""

import atexit
import csv
import importlib.util
import io
import json
import os
import shutil
import sys
import tempfile

OWN = ("--ciel-model", "--ciel-model-folder", "--ciel-output", "--ciel-scoring-script")


def take_own_args(argv):
    """Returns (own values by flag, the other arguments)."""
    own, rest, i = {}, [argv[0]] if argv else [], 1
    while i < len(argv):
        a = argv[i]
        if a in OWN and i + 1 < len(argv):
            own[a] = argv[i + 1]
            i += 2
            continue
        rest.append(a)
        i += 1
    return own, rest


def model_dir(path, folder):
    """AZUREML_MODEL_DIR for the model's files at path: path itself, or a
    folder holding them under folder, as Azure ML lays a model out."""
    if not folder:
        return path
    root = tempfile.mkdtemp(prefix="ciel-model-")
    atexit.register(shutil.rmtree, root, True)
    os.symlink(path, os.path.join(root, folder))
    return root


def load_script(path):
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    if not callable(getattr(module, "run", None)):
        raise RuntimeError("scoring script %s has no run(mini_batch) function" % path)
    return module


_own, sys.argv[:] = take_own_args(list(sys.argv))
if "--ciel-model" in _own:
    os.environ["AZUREML_MODEL_DIR"] = model_dir(_own["--ciel-model"], _own.get("--ciel-model-folder", ""))
if "--ciel-output" in _own:
    os.environ["AZUREML_BI_OUTPUT_PATH"] = _own["--ciel-output"]

_model = None

if _own.get("--ciel-scoring-script"):
    _here = os.path.dirname(os.path.abspath(__file__))
    _script = load_script(os.path.join(_here, _own["--ciel-scoring-script"]))
    run = _script.run
    if callable(getattr(_script, "init", None)):
        init = _script.init
    else:

        def init():
            pass

else:

    def find_mlmodel(root):
        for dirpath, _, files in os.walk(root, followlinks=True):
            if "MLmodel" in files:
                return os.path.realpath(dirpath)
        raise RuntimeError("no MLmodel file under %s: the deployment has no scoring script, so its model must be an MLflow model" % root)

    def init():
        global _model
        import mlflow.pyfunc

        _model = mlflow.pyfunc.load_model(find_mlmodel(os.environ["AZUREML_MODEL_DIR"]))

    def read_table(path):
        import pandas as pd

        ext = os.path.splitext(path)[1].lower()
        if ext in (".csv", ".txt"):
            return pd.read_csv(path)
        if ext == ".parquet":
            return pd.read_parquet(path)
        if ext in (".json", ".jsonl"):
            return pd.read_json(path, lines=ext == ".jsonl")
        raise ValueError("%s: MLflow batch deployments score .csv, .parquet and .json files" % os.path.basename(path))

    def cell(v):
        if hasattr(v, "tolist"):
            v = v.tolist()
        if isinstance(v, (list, tuple, dict)):
            return json.dumps(v)
        return v

    def run(mini_batch):
        import pandas as pd

        lines = []
        for path in mini_batch:
            data = read_table(path)
            pred = _model.predict(data)
            if isinstance(pred, pd.DataFrame):
                values = [r if len(r) > 1 else r[0] for r in pred.values.tolist()] if pred.shape[1] else []
            elif isinstance(pred, pd.Series):
                values = pred.tolist()
            else:
                values = list(pred)
            name = os.path.basename(path)
            for i, v in enumerate(values):
                buf = io.StringIO()
                csv.writer(buf, lineterminator="").writerow([i, cell(v), name])
                lines.append(buf.getvalue())
        return lines
