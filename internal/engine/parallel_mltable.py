"""Reads a local MLTable for ciel's parallel driver.

An MLTable file (Azure ML's table definition, the file named MLTable in the
input's folder) lists paths and transformations. This reads the part a local
run can honour:

  paths: file, folder and pattern (glob, ** allowed), relative to the
    MLTable's folder; remote URLs are refused.
  transformations: read_delimited (delimiter, header, encoding,
    include_path_column, empty_as_string), read_parquet, read_json_lines,
    extract_columns_from_partition_format, drop_columns, keep_columns,
    skip, take.

An MLTable with no read_* transformation is a list of files. Anything else
(convert_column_types, filter, datetime partition formats, ...) is refused
by name, never ignored. PyYAML reads the file, pandas the data.

It keeps to Python 3.7 syntax, like the driver.
"""

import glob
import os
import re


class MLTableError(Exception):
    pass


class Table(object):
    """Either files (a list of paths) or frame with the bytes of each row."""

    def __init__(self, files=None, frame=None, row_bytes=None):
        self.files = files
        self.frame = frame
        self.row_bytes = row_bytes


READERS = ("read_delimited", "read_parquet", "read_json_lines")
SUPPORTED = READERS + ("extract_columns_from_partition_format", "drop_columns", "keep_columns", "skip", "take")
HEADERS = ("all_files_same_headers", "all_files_different_headers", "from_first_file", "no_header")
ENCODINGS = {"utf8": "utf-8", "utf-8": "utf-8", "ascii": "ascii", "latin1": "latin-1", "iso88591": "latin-1",
             "utf16": "utf-16", "utf-16": "utf-16", "windows1252": "cp1252"}


def load(path):
    """Reads the MLTable in folder path (or the MLTable file path)."""
    mltable = path if os.path.isfile(path) else os.path.join(path, "MLTable")
    if not os.path.isfile(mltable):
        raise MLTableError("input_data is an mltable input but %s has no MLTable file" % path)
    try:
        import yaml
    except ImportError:
        raise MLTableError("reading an MLTable file needs PyYAML in the task's environment (pip: pyyaml)")
    with open(mltable) as f:
        doc = yaml.safe_load(f) or {}
    if not isinstance(doc, dict):
        raise MLTableError("%s: expected a mapping with paths and transformations" % mltable)
    base = os.path.dirname(os.path.abspath(mltable))
    files = expand_paths(base, doc.get("paths") or [])
    steps = doc.get("transformations") or []
    if not isinstance(steps, list):
        raise MLTableError("MLTable transformations: expected a list, got %r" % (steps,))
    table = None
    for step in steps:
        name, args = one_step(step)
        if name in READERS:
            if table is not None:
                raise MLTableError("MLTable transformation %s: the table is already read" % name)
            table = read(name, args, files)
        elif table is None:
            raise MLTableError("MLTable transformation %s needs a read_delimited, read_parquet or read_json_lines before it" % name)
        else:
            table = transform(name, args, table)
    if table is None:
        return Table(files=[abs_path for abs_path, _ in files])
    frame, sizes = table
    return Table(frame=frame.drop(columns=["__ciel_source"]).reset_index(drop=True), row_bytes=sizes)


def one_step(step):
    if isinstance(step, str):
        return check_name(step), {}
    if not isinstance(step, dict) or len(step) != 1:
        raise MLTableError("MLTable transformation %r: expected a mapping of one name to its arguments" % (step,))
    name, args = list(step.items())[0]
    return check_name(name), args if args is not None else {}


def check_name(name):
    if name not in SUPPORTED:
        raise MLTableError("MLTable transformation %s is not supported by ciel (supported: %s)" % (name, ", ".join(SUPPORTED)))
    return name


def expand_paths(base, paths):
    """The files the paths name: (absolute path, path relative to base)."""
    out = []
    for entry in paths:
        if not isinstance(entry, dict) or len(entry) != 1:
            raise MLTableError("MLTable paths: expected file:, folder: or pattern:, got %r" % (entry,))
        kind, value = list(entry.items())[0]
        value = str(value)
        if "://" in value or value.startswith("azureml:"):
            raise MLTableError("MLTable path %s is remote; only local paths can be read here (copy the data next to the MLTable file)" % value)
        full = os.path.normpath(os.path.join(base, value))
        if kind == "file":
            if not os.path.isfile(full):
                raise MLTableError("MLTable file %s does not exist" % value)
            found = [full]
        elif kind == "folder":
            if not os.path.isdir(full):
                raise MLTableError("MLTable folder %s does not exist" % value)
            found = []
            for root, dirs, names in os.walk(full):
                dirs.sort()
                found.extend(os.path.join(root, n) for n in sorted(names))
        elif kind == "pattern":
            found = sorted(p for p in glob.glob(full, recursive=True) if os.path.isfile(p))
        else:
            raise MLTableError("MLTable paths: unknown kind %s; expected file, folder or pattern" % kind)
        for p in found:
            if os.path.basename(p) == "MLTable" and os.path.dirname(p) == base:
                continue
            out.append((p, os.path.relpath(p, base).replace(os.sep, "/")))
    return out


def read(name, args, files):
    import pandas as pd

    if not isinstance(args, dict):
        raise MLTableError("MLTable %s: expected a mapping of arguments" % name)
    frames, sizes, columns = [], [], None
    for i, (path, rel) in enumerate(files):
        if name == "read_delimited":
            frame = read_delimited(pd, path, args, i, columns)
            if i == 0:
                columns = list(frame.columns)
        elif name == "read_parquet":
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_json(path, lines=True, encoding=encoding(args))
        if args.get("include_path_column"):
            frame["Path"] = rel
        frame["__ciel_source"] = rel
        n = len(frame)
        if n:
            per = float(os.path.getsize(path)) / n
            sizes.extend([per] * n)
        frames.append(frame)
    if not frames:
        raise MLTableError("MLTable %s: the paths name no files" % name)
    return pd.concat(frames, ignore_index=True, sort=False), sizes


def encoding(args):
    enc = str(args.get("encoding", "utf8")).lower()
    if enc not in ENCODINGS:
        raise MLTableError("MLTable encoding %s is not supported (supported: %s)" % (enc, ", ".join(sorted(ENCODINGS))))
    return ENCODINGS[enc]


def read_delimited(pd, path, args, index, first_columns):
    header = args.get("header", "all_files_same_headers")
    if header not in HEADERS:
        raise MLTableError("MLTable read_delimited header %s: expected one of %s" % (header, ", ".join(HEADERS)))
    kw = {"sep": args.get("delimiter", ","), "encoding": encoding(args)}
    if args.get("empty_as_string"):
        kw["keep_default_na"] = False
    if header == "no_header":
        frame = pd.read_csv(path, header=None, **kw)
        frame.columns = ["Column%d" % (i + 1) for i in range(len(frame.columns))]
        return frame
    if header == "from_first_file" and index > 0:
        return pd.read_csv(path, header=None, names=first_columns, **kw)
    return pd.read_csv(path, header=0, **kw)


def transform(name, args, table):
    frame, sizes = table
    if name == "extract_columns_from_partition_format":
        return partition_columns(frame, args), sizes
    if name in ("drop_columns", "keep_columns"):
        cols = args.get("columns") if isinstance(args, dict) else args
        cols = [cols] if isinstance(cols, str) else list(cols or [])
        if name == "drop_columns":
            return frame.drop(columns=[c for c in cols if c in frame.columns and c != "__ciel_source"]), sizes
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise MLTableError("MLTable keep_columns: no column %s" % ", ".join(missing))
        return frame[cols + ["__ciel_source"]], sizes
    n = int(args.get("count") if isinstance(args, dict) else args)
    if name == "take":
        return frame.iloc[:n].reset_index(drop=True), sizes[:n]
    return frame.iloc[n:].reset_index(drop=True), sizes[n:]


PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def partition_pattern(fmt):
    """A regular expression matching the end of a relative path against a
    partition format such as {Store}/{Brand}/{file_name}.{extension}."""
    out, names, last = [], [], 0
    for m in PLACEHOLDER.finditer(fmt):
        name = m.group(1)
        if ":" in name or not re.match(r"^[A-Za-z_][A-Za-z0-9_ -]*$", name):
            raise MLTableError("partition format %s: {%s} is not supported (only {column} placeholders, no datetime formats)" % (fmt, name))
        out.append(re.escape(fmt[last : m.start()]))
        out.append("(?P<g%d>[^/]+?)" % len(names))
        names.append(name)
        last = m.end()
    out.append(re.escape(fmt[last:]))
    return re.compile("(?:^|/)" + "".join(out) + "$"), names


def partition_columns(frame, args):
    fmt = args.get("partition_format") if isinstance(args, dict) else args
    if not fmt:
        raise MLTableError("MLTable extract_columns_from_partition_format needs partition_format")
    fmt = str(fmt).lstrip("/")
    pattern, names = partition_pattern(fmt)
    values = {}
    for rel in frame["__ciel_source"].unique():
        m = pattern.search(rel)
        if not m:
            raise MLTableError("path %s does not match the partition format %s" % (rel, fmt))
        values[rel] = [m.group("g%d" % i) for i in range(len(names))]
    frame = frame.copy()
    for i, name in enumerate(names):
        frame[name] = frame["__ciel_source"].map(lambda rel, i=i: values[rel][i])
    return frame
