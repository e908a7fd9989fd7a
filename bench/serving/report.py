"""Reads wrk outputs (<name>.<round>.txt) and CPU readings (<name>.<round>.cpu:
the server's root-process and process-tree CPU seconds before the window,
then after it) and prints requests/s, latency percentiles and CPU per
request per server, all of it and the root process's share (median over
rounds)."""
import glob
import os
import re
import statistics
import sys

UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def parse(path):
    text = open(path).read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    lat = {}
    for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", text, re.M):
        lat[p] = float(v) * UNIT[u]
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    sock = re.search(r"Socket errors: (.*)", text)
    requests = int(re.search(r"(\d+) requests in", text).group(1))
    tree, root = cpu_per_request(path[:-len(".txt")] + ".cpu", requests)
    return (rps, lat.get("50"), lat.get("99"), int(errors.group(1)) if errors else 0, sock.group(1) if sock else "",
            tree, root)


def cpu_per_request(path, requests):
    """Microseconds of CPU per request of the server's whole process tree
    and of its root process alone, NaN without a reading."""
    try:
        root0, tree0, root1, tree1 = map(float, open(path).read().split())
    except (OSError, ValueError):
        return float("nan"), float("nan")
    n = max(requests, 1)
    return (tree1 - tree0) / n * 1e6, (root1 - root0) / n * 1e6


def floor(workdir):
    """The median of the floor.<round>.txt readings of floor.py, in us."""
    vals = [float(open(p).read()) for p in glob.glob(os.path.join(workdir, "floor.*.txt"))]
    return statistics.median(vals) if vals else float("nan")


def main(workdir, names, title):
    rows = {}
    for name in names:
        runs = [parse(p) for p in sorted(glob.glob(os.path.join(workdir, f"{name}.*.txt")))]
        if not runs:
            continue
        rows[name] = (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs),
                      statistics.median(r[2] for r in runs), sum(r[3] for r in runs), len(runs),
                      statistics.median(r[5] for r in runs), statistics.median(r[6] for r in runs))
    print(title)
    print(f"  {'server':<34} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'CPU us/req':>11} {'of it root':>11}")
    for name, (rps, p50, p99, bad, n, cpu, root) in rows.items():
        print(f"  {name:<34} {rps:>9.0f} {p50:>8.2f} {p99:>8.2f} {bad:>8} {cpu:>11.0f} {root:>11.0f}")
    return rows


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[3:], sys.argv[2])
