# Draws the points of a scrambled Sobol sequence (scipy.stats.qmc) for a
# sweep's random sampling with rule: sobol. ciel runs this with the Python
# of its sampler environment, the request as JSON on stdin:
# {"d": dimensions, "n": points, "seed": int}. It prints {"points": [[u,
# ...], ...]}: n points of the unit cube, which ciel maps to the search
# space through each parameter's quantile.
import json
import sys
import warnings

from scipy.stats import qmc


def main():
    req = json.load(sys.stdin)
    # Sobol's balance holds for powers of two; a sweep asks for what its
    # max_total_trials says, and the first n points are still well spread.
    warnings.simplefilter("ignore")
    sampler = qmc.Sobol(d=req["d"], scramble=True, seed=req["seed"])
    json.dump({"points": sampler.random(req["n"]).tolist()}, sys.stdout)


if __name__ == "__main__":
    main()
