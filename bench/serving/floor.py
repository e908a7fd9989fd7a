"""Measures the model's own floor: the CPU time of one score.py run() call,
in-process, with no server around it. What a server costs beyond this per
request is its overhead.

Usage: floor.py WORKDIR  (score.py, model/ and request.json in WORKDIR)"""
import os
import sys
import time


def main(work, seconds=1.0):
    os.environ["AZUREML_MODEL_DIR"] = work
    sys.path.insert(0, work)
    import score

    score.init()
    raw = open(os.path.join(work, "request.json")).read()
    for _ in range(200):  # warm up caches and lazy imports
        score.run(raw)
    n, start = 0, time.process_time()
    while time.process_time() - start < seconds:
        for _ in range(100):
            score.run(raw)
        n += 100
    print(f"{(time.process_time() - start) / n * 1e6:.1f}")


if __name__ == "__main__":
    main(sys.argv[1])
