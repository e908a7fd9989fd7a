# Asks Optuna's TPE sampler for new sweep trial values. ciel runs this with
# the Python of an environment that has optuna, the request as JSON on
# stdin: {"space": {name: {"type", "values", "min", "max", "q"}},
# "goal": "maximize"|"minimize", "seed": int, "n": int,
# "history": [{"params": {name: text}, "value": float|null, "status": str}]}.
# It prints {"trials": [{name: text}, ...]} with n new trials.
import json
import sys

import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import TrialState, create_trial


def distributions(space):
    out = {}
    for name, p in space.items():
        if p["type"] == "choice":
            out[name] = CategoricalDistribution(p["values"])
        else:
            out[name] = FloatDistribution(p["min"], p["max"])
    return out


def internal(p, text):
    if p["type"] == "choice":
        return text
    v = float(text)
    return min(max(v, p["min"]), p["max"])


def external(p, v):
    if p["type"] == "choice":
        return v
    if p["type"] == "quniform":
        q = p["q"]
        v = round(v / q) * q
    return repr(float(v))


def main():
    req = json.load(sys.stdin)
    space = req["space"]
    dists = distributions(space)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    sampler = optuna.samplers.TPESampler(seed=req["seed"], n_startup_trials=req.get("startup", 5))
    direction = "maximize" if req["goal"] == "maximize" else "minimize"
    study = optuna.create_study(direction=direction, sampler=sampler)
    for h in req.get("history") or []:
        params = {k: internal(space[k], v) for k, v in h["params"].items() if k in space}
        if h.get("value") is not None:
            study.add_trial(create_trial(params=params, distributions=dists, value=h["value"]))
        else:
            study.add_trial(create_trial(params=params, distributions=dists, state=TrialState.FAIL))
    out = []
    for _ in range(req["n"]):
        t = study.ask(dists)
        out.append({k: external(space[k], t.params[k]) for k in space})
    json.dump({"trials": out}, sys.stdout)


if __name__ == "__main__":
    main()
