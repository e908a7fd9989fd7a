"""ciel's driver of Azure ML parallel jobs (type: parallel, task run_function).

ciel writes this file (and parallel_mltable.py beside it) into a parallel
step's folder and runs it in the step's environment:

    python3 parallel_driver.py --input-data PATH [--append-row-to PATH] -- ARGS...

with the step's settings as JSON in CIEL_PARALLEL_CONFIG. It splits the input
into mini-batches (files of a folder, or rows of an MLTable), starts
instance_count x max_concurrency_per_instance worker processes, each of which
imports the entry script with sys.argv = [entry_script] + ARGS and calls
init() once, then hands out mini-batches: run(mini_batch) (or run(mini_batch,
mini_batch_context) when run takes two arguments), retried up to max_retries
times and stopped after timeout seconds. Failed mini-batches and items are
counted against mini_batch_error_threshold and error_threshold; what run()
returns is appended to the append_row_to output in mini-batch order, each
mini-batch as soon as every earlier one has ended (so results are written as
they come, not held to the end, and a failed job keeps what it wrote). It
exits 0 when the job succeeded and 1, with the reason on its last line, when
it did not.

It keeps to Python 3.7 syntax: Azure ML's examples still ask for 3.7.
"""

import argparse
import collections
import importlib.util
import inspect
import json
import logging
import multiprocessing
import os
import sys
import time
import traceback
from multiprocessing.connection import wait

LOG = logging.getLogger("ciel.parallel")

# Program arguments Azure ML reads itself; the entry script sees them too.
PREDEFINED_IGNORED = (
    "--task_overhead_timeout",
    "--progress_update_timeout",
    "--first_task_creation_timeout",
    "--copy_logs_to_parent",
    "--metrics_name_prefix",
    "--push_metrics_to_parent",
    "--resource_monitor_interval",
)

DEFAULT_FILES = 10
DEFAULT_BYTES = 1 << 20
UNITS = {"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "m": 1 << 20, "mb": 1 << 20, "g": 1 << 30, "gb": 1 << 30}


class ParallelError(Exception):
    """A problem that ends the job, said in one line."""


class MiniBatchContext(object):
    """What a run(mini_batch, mini_batch_context) gets besides the batch."""

    def __init__(self, index, partition_key_value=None):
        self.minibatch_index = index
        self.partition_key_value = partition_key_value if partition_key_value is not None else {}

    def __repr__(self):
        return "MiniBatchContext(minibatch_index=%d, partition_key_value=%r)" % (
            self.minibatch_index,
            self.partition_key_value,
        )


class Batch(object):
    """One mini-batch: its payload, how many items it holds, its retries."""

    def __init__(self, index, payload, items, label, partition=None):
        self.index = index
        self.payload = payload
        self.items = items
        self.label = label
        self.partition = partition
        self.attempts = 0
        self.lines = None
        self.returned = 0
        self.error = None
        self.gave_up = False


def parse_size(text):
    """Reads mini_batch_size: (number, has_unit); see spec.ParseMiniBatchSize."""
    t = str(text).strip().lower()
    i = 0
    while i < len(t) and t[i].isdigit():
        i += 1
    num, unit = t[:i], t[i:].strip()
    if not num or unit not in UNITS or int(num) < 1:
        raise ParallelError("invalid mini_batch_size %r: expected a file count or a size such as 10kb" % text)
    return int(num) * UNITS[unit], unit != ""


def list_files(path):
    """The files under path (or path itself), sorted, skipping nothing."""
    if os.path.isfile(path):
        return [path]
    if not os.path.isdir(path):
        raise ParallelError("input_data %s does not exist" % path)
    out = []
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for f in sorted(files):
            out.append(os.path.join(root, f))
    return out


def file_batches(files, size_text):
    count = DEFAULT_FILES
    if size_text:
        count, has_unit = parse_size(size_text)
        if has_unit:
            raise ParallelError(
                "mini_batch_size %r is a size, which applies to tabular (mltable) input; "
                "for files give a file count such as \"10\"" % size_text
            )
    batches = []
    for start in range(0, len(files), count):
        chunk = files[start : start + count]
        label = "%d file(s) from %s" % (len(chunk), os.path.basename(chunk[0]))
        batches.append(Batch(len(batches), chunk, len(chunk), label))
    return batches


def table_batches(frame, row_bytes, size_text, partition_keys):
    if partition_keys:
        missing = [k for k in partition_keys if k not in frame.columns]
        if missing:
            raise ParallelError(
                "partition_keys %s are not columns of the table (columns: %s)"
                % (", ".join(missing), ", ".join(str(c) for c in frame.columns))
            )
        batches = []
        for key, group in frame.groupby(list(partition_keys), sort=True):
            if not isinstance(key, tuple):
                key = (key,)
            value = dict(zip(partition_keys, [k.item() if hasattr(k, "item") else k for k in key]))
            label = "partition %s" % value
            batches.append(Batch(len(batches), group.reset_index(drop=True), len(group), label, value))
        return batches
    size = DEFAULT_BYTES
    if size_text:
        size, _ = parse_size(size_text)
    batches, start, acc = [], 0, 0
    for i, b in enumerate(row_bytes):
        acc += b
        if acc >= size:
            batches.append(rows_batch(frame, len(batches), start, i + 1))
            start, acc = i + 1, 0
    if start < len(frame):
        batches.append(rows_batch(frame, len(batches), start, len(frame)))
    return batches


def rows_batch(frame, index, start, end):
    part = frame.iloc[start:end].reset_index(drop=True)
    return Batch(index, part, end - start, "rows %d-%d" % (start, end - 1))


def make_batches(cfg, input_path):
    kind = cfg.get("input_type", "uri_folder")
    if kind == "uri_file":
        files = list_files(input_path)
        return [Batch(0, files, len(files), "file %s" % os.path.basename(files[0]))] if files else []
    if kind == "mltable":
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import parallel_mltable

        table = parallel_mltable.load(input_path)
        if table.files is not None:
            if cfg.get("partition_keys"):
                raise ParallelError("partition_keys need tabular data; the MLTable has no read transformation, so it is a list of files")
            return file_batches(table.files, cfg.get("mini_batch_size"))
        return table_batches(table.frame, table.row_bytes, cfg.get("mini_batch_size"), cfg.get("partition_keys"))
    if cfg.get("partition_keys"):
        raise ParallelError("partition_keys need tabular (mltable) input, not %s" % kind)
    return file_batches(list_files(input_path), cfg.get("mini_batch_size"))


def rows_of(result):
    """What run() returned, as (lines to append, number of items)."""
    if result is None:
        return [], 0
    module = type(result).__module__ or ""
    if module.startswith("pandas") and hasattr(result, "to_csv") and hasattr(result, "columns"):
        text = result.to_csv(sep=" ", header=False, index=False)
        return text.splitlines(), len(result)
    if isinstance(result, (str, bytes)):
        raise TypeError("run() returned a %s; expected a list or a pandas DataFrame" % type(result).__name__)
    items = list(result)
    return [str(x) for x in items], len(items)


def load_entry(path):
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    if not callable(getattr(module, "run", None)):
        raise ParallelError("entry script %s has no run(mini_batch) function" % path)
    return module


def positional_count(fn):
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 1
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if any(p.kind == inspect.Parameter.VAR_POSITIONAL for p in params):
        return 2
    return len([p for p in params if p.kind in kinds])


def worker_main(conn, index, instance, entry, user_args, level):
    """A worker process: init() once, then run() on what the parent sends."""
    os.environ["CIEL_PARALLEL_WORKER"] = str(index)
    os.environ["CIEL_PARALLEL_INSTANCE"] = str(instance)
    logging.basicConfig(level=level, format="[parallel] %(asctime)s %(levelname)s %(message)s", stream=sys.stdout)
    sys.argv = [entry] + list(user_args)
    code = os.getcwd()
    if code not in sys.path:
        sys.path.insert(0, code)
    entry_dir = os.path.dirname(os.path.abspath(entry))
    if entry_dir not in sys.path:
        sys.path.insert(0, entry_dir)
    try:
        module = load_entry(entry)
        if callable(getattr(module, "init", None)):
            module.init()
        with_context = positional_count(module.run) >= 2
    except BaseException:
        conn.send(("init_failed", os.getpid(), traceback.format_exc()))
        return
    conn.send(("ready", os.getpid()))
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            break
        if msg is None:
            break
        batch_index, payload, ctx = msg
        started = time.time()
        try:
            result = module.run(payload, ctx) if with_context else module.run(payload)
            lines, count = rows_of(result)
            conn.send(("done", batch_index, lines, count, started, time.time()))
        except BaseException:
            conn.send(("error", batch_index, traceback.format_exc(), started, time.time()))
        sys.stdout.flush()
    if callable(getattr(module, "shutdown", None)):
        module.shutdown()


class Worker(object):
    def __init__(self, mp, index, instance, entry, user_args, level):
        self.index, self.instance = index, instance
        self.conn, child = mp.Pipe()
        self.proc = mp.Process(
            target=worker_main, args=(child, index, instance, entry, user_args, level), name="worker-%d" % index
        )
        self.proc.start()
        child.close()
        self.ready = False
        self.batch = None
        self.deadline = None
        self.pid = self.proc.pid

    def kill(self):
        if self.proc.is_alive():
            self.proc.kill() if hasattr(self.proc, "kill") else self.proc.terminate()
        self.proc.join(5)
        self.conn.close()


class Driver(object):
    def __init__(self, cfg, entry, user_args, batches, thresholds, sink=None):
        self.cfg = cfg
        self.sink = sink
        self.entry = entry
        self.user_args = user_args
        self.batches = batches
        self.pending = collections.deque(batches)
        self.mp = multiprocessing.get_context("spawn")
        self.level = getattr(logging, cfg.get("logging_level", "INFO"), logging.INFO)
        self.mini_batch_threshold, self.item_threshold, self.failed_percent = thresholds
        self.failed = []
        self.done = 0
        self.workers = []
        self.timeout = max(int(cfg.get("timeout") or 60), 1)
        self.max_tries = int(cfg.get("max_retries", 2)) + 1

    def start_worker(self, index):
        per = max(int(self.cfg.get("workers_per_instance") or 1), 1)
        w = Worker(self.mp, index, index // per, self.entry, self.user_args, self.level)
        LOG.debug("worker %d (instance %d, process %d) started, pid %d", index, index // per, index % per, w.pid)
        return w

    def run(self):
        count = min(int(self.cfg.get("workers") or 1), len(self.batches))
        self.workers = [self.start_worker(i) for i in range(count)]
        try:
            while self.done + len(self.failed) < len(self.batches):
                self.dispatch()
                self.step()
                self.check_thresholds()
        finally:
            self.stop()

    def dispatch(self):
        for w in self.workers:
            if w.ready and w.batch is None and self.pending:
                b = self.pending.popleft()
                b.attempts += 1
                w.batch, w.deadline = b, time.time() + self.timeout
                LOG.debug("mini-batch %d (%s) attempt %d -> worker %d", b.index, b.label, b.attempts, w.index)
                ctx = MiniBatchContext(b.index, b.partition)
                w.conn.send((b.index, b.payload, ctx))

    def step(self):
        now = time.time()
        deadlines = [w.deadline for w in self.workers if w.batch is not None]
        wait_for = max(min(deadlines) - now, 0.01) if deadlines else 1.0
        handles = {}
        for w in self.workers:
            handles[w.conn] = w
            handles[w.proc.sentinel] = w
        for h in wait(list(handles), timeout=wait_for):
            w = handles[h]
            if h is w.conn:
                try:
                    msg = w.conn.recv()
                except (EOFError, OSError):
                    continue
                self.handle(w, msg)
        for i, w in enumerate(self.workers):
            if not w.proc.is_alive() and not w.conn.poll():
                if not w.ready:
                    raise ParallelError("worker %d (pid %d) exited with code %s before init() finished" % (w.index, w.pid, w.proc.exitcode))
                self.replace(i, "worker %d (pid %d) exited with code %s" % (w.index, w.pid, w.proc.exitcode))
            elif w.batch is not None and time.time() > w.deadline:
                self.replace(i, "timed out after %ds (retry_settings.timeout)" % self.timeout)

    def handle(self, w, msg):
        kind = msg[0]
        if kind == "ready":
            w.ready = True
            LOG.info("worker %d (instance %d) ran init(), pid %d", w.index, w.instance, msg[1])
            return
        if kind == "init_failed":
            raise ParallelError("init() of %s failed in worker %d (pid %d):\n%s" % (self.entry, w.index, msg[1], msg[2].rstrip()))
        b, w.batch, w.deadline = w.batch, None, None
        if kind == "done":
            b.lines, b.returned = msg[2], msg[3]
            self.done += 1
            LOG.debug("mini-batch %d done by worker %d in %.2fs: %d result(s)", b.index, w.index, msg[5] - msg[4], msg[3])
            if self.sink is not None:
                self.sink.flush()
            return
        self.attempt_failed(b, "run() raised:\n" + msg[2].rstrip())

    def replace(self, i, why):
        w = self.workers[i]
        b = w.batch
        w.kill()
        if b is not None:
            self.attempt_failed(b, why)
        self.workers[i] = self.start_worker(w.index)

    def attempt_failed(self, b, why):
        b.error = why
        if b.attempts < self.max_tries:
            LOG.warning("mini-batch %d (%s) attempt %d of %d failed; retrying: %s", b.index, b.label, b.attempts, self.max_tries, last_line(why))
            self.pending.append(b)
            return
        LOG.warning("mini-batch %d (%s) failed after %d attempt(s): %s", b.index, b.label, b.attempts, why)
        b.gave_up = True
        self.failed.append(b)
        if self.sink is not None:
            self.sink.flush()

    def failed_items(self):
        n = sum(b.items for b in self.failed)
        for b in self.batches:
            if b.lines is not None and b.returned < b.items:
                n += b.items - b.returned
        return n

    def check_thresholds(self):
        why = self.exceeded()
        if why:
            raise ParallelError(why)

    def exceeded(self):
        nb = len(self.failed)
        if self.mini_batch_threshold >= 0 and nb > self.mini_batch_threshold:
            return "%d mini-batch(es) failed, more than mini_batch_error_threshold %d%s" % (
                nb, self.mini_batch_threshold, self.first_failure())
        items = self.failed_items()
        if self.item_threshold >= 0 and items > self.item_threshold:
            return "%d item(s) failed, more than error_threshold %d%s" % (items, self.item_threshold, self.first_failure())
        if self.failed_percent is not None and self.batches and 100.0 * nb / len(self.batches) > self.failed_percent:
            return "%d of %d mini-batches failed, more than --allowed_failed_percent %s%s" % (
                nb, len(self.batches), self.failed_percent, self.first_failure())
        return None

    def first_failure(self):
        if not self.failed:
            return ""
        b = self.failed[0]
        return "; first failed: mini-batch %d (%s): %s" % (b.index, b.label, last_line(b.error))

    def stop(self):
        for w in self.workers:
            if w.proc.is_alive() and w.batch is None:
                try:
                    w.conn.send(None)
                except (OSError, ValueError):
                    pass
        deadline = time.time() + 10
        for w in self.workers:
            w.proc.join(max(deadline - time.time(), 0.1))
            w.kill()


def last_line(text):
    lines = [l for l in (text or "").strip().splitlines() if l.strip()]
    return lines[-1].strip() if lines else ""


def predefined(user_args):
    """Reads Azure ML's predefined program arguments: --error_threshold and
    --allowed_failed_percent; the others are accepted and ignored."""
    p = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    p.add_argument("--error_threshold", type=int)
    p.add_argument("--allowed_failed_percent", type=float)
    for name in PREDEFINED_IGNORED:
        p.add_argument(name)
    args, _ = p.parse_known_args(user_args)
    return args


def append_target(path, cfg):
    if os.path.isdir(path):
        return os.path.join(path, cfg.get("append_row_file_name") or "parallel_run_step.txt")
    return path


def write_summary(driver, started, outcome, error):
    failed_items = driver.failed_items() if driver else 0
    summary = {
        "status": outcome,
        "mini_batches": len(driver.batches) if driver else 0,
        "mini_batches_succeeded": driver.done if driver else 0,
        "mini_batches_failed": len(driver.failed) if driver else 0,
        "items": sum(b.items for b in driver.batches) if driver else 0,
        "items_failed": failed_items,
        "workers": len(driver.workers) if driver else 0,
        "seconds": round(time.time() - started, 3),
        "error": error,
    }
    try:
        os.makedirs("logs", exist_ok=True)
        with open(os.path.join("logs", "job_result.json"), "w") as f:
            json.dump(summary, f, indent=2, sort_keys=True)
            f.write("\n")
    except OSError as e:
        LOG.warning("could not write logs/job_result.json: %s", e)
    return summary


def main(argv):
    cfg = json.loads(os.environ.get("CIEL_PARALLEL_CONFIG") or "{}")
    if "--" in argv:
        cut = argv.index("--")
        own, user_args = argv[:cut], argv[cut + 1 :]
    else:
        own, user_args = argv, []
    p = argparse.ArgumentParser(prog="ciel-parallel-driver")
    p.add_argument("--input-data", required=True)
    p.add_argument("--append-row-to")
    args = p.parse_args(own)
    level = getattr(logging, cfg.get("logging_level", "INFO"), logging.INFO)
    logging.basicConfig(level=level, format="[parallel] %(asctime)s %(levelname)s %(message)s", stream=sys.stdout)
    started = time.time()
    driver = None
    try:
        entry = os.path.abspath(cfg["entry_script"])
        if not os.path.isfile(entry):
            raise ParallelError("entry script %s is not in the task's code folder" % cfg["entry_script"])
        pre = predefined(user_args)
        item_threshold = int(cfg.get("error_threshold", -1))
        if pre.error_threshold is not None and item_threshold < 0:
            item_threshold = pre.error_threshold
        thresholds = (int(cfg.get("mini_batch_error_threshold", -1)), item_threshold, pre.allowed_failed_percent)
        batches = make_batches(cfg, args.input_data)
        LOG.info(
            "%d mini-batch(es) of %s; %d worker(s) (%d per instance); %d retries of %ds each",
            len(batches), cfg.get("input_type"), min(int(cfg.get("workers") or 1), max(len(batches), 1)),
            int(cfg.get("workers_per_instance") or 1), int(cfg.get("max_retries", 2)), int(cfg.get("timeout") or 60),
        )
        sink = RowSink(row_file(args.append_row_to, cfg), batches)
        try:
            driver = Driver(cfg, entry, user_args, batches, thresholds, sink)
            driver.run()
        finally:
            sink.close()
        appended = sink.result()
    except ParallelError as e:
        write_summary(driver, started, "Failed", str(e))
        sys.stdout.flush()
        sys.stderr.write("parallel job failed: %s\n" % e)
        return 1
    s = write_summary(driver, started, "Completed", None)
    LOG.info(
        "done: %d of %d mini-batch(es) succeeded, %d failed; %d item(s), %d failed%s",
        s["mini_batches_succeeded"], s["mini_batches"], s["mini_batches_failed"], s["items"], s["items_failed"],
        "; %d row(s) appended to %s" % appended if appended is not None else "",
    )
    return 0


class RowSink(object):
    """Appends what run() returned to the append_row_to file, in mini-batch
    order: a mini-batch's rows go out as soon as every earlier mini-batch
    has ended, and are dropped from memory, so a job's results are never
    all held at once. With no file (summary_only, or no append_row_to
    output) the rows are counted and dropped."""

    def __init__(self, path, batches):
        self.path, self.batches = path, batches
        self.f = open(path, "a") if path else None
        self.next = 0
        self.rows = 0

    def flush(self):
        while self.next < len(self.batches):
            b = self.batches[self.next]
            if b.lines is None and not b.gave_up:
                break
            lines = b.lines or []
            if self.f is not None:
                for line in lines:
                    self.f.write(line)
                    self.f.write("\n")
                self.rows += len(lines)
            if b.lines is not None:
                b.lines = []
            self.next += 1
        if self.f is not None:
            self.f.flush()

    def close(self):
        if self.f is not None:
            self.f.close()

    def result(self):
        """(rows, file name) for the summary line, or None with no file."""
        return (self.rows, os.path.basename(self.path)) if self.f is not None else None


def row_file(target, cfg):
    """The file rows are appended to, or None when they are not kept."""
    if cfg.get("output_action", "append_row") != "append_row":
        return None
    if not target:
        LOG.info("no append_row_to output: what run() returned is counted, not kept")
        return None
    return append_target(target, cfg)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
