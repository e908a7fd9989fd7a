"""Unit tests of ciel's parallel job driver (internal/engine/parallel_*.py):
how it reads MLTable files and splits input into mini-batches. The e2e
tests (e2e/parallel_test.go) run it end to end through the ciel binary."""

import os
import sys
from pathlib import Path

import pandas as pd
import pytest

ENGINE = Path(__file__).resolve().parents[2] / "internal" / "engine"
sys.path.insert(0, str(ENGINE))

import parallel_driver  # noqa: E402
import parallel_mltable  # noqa: E402


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_partitioned_mltable_like_oj_sales(tmp_path):
    # The layout azureml-examples' 1a_oj_sales_prediction writes: one CSV a
    # partition, the keys in the folder names, Path dropped after use.
    for store in ("1000", "1001"):
        for brand in ("dominicks", "tropicana"):
            write(tmp_path / store / brand / "partitioned_data.csv", "Week,Quantity\n1,%s\n2,%s\n" % (store, len(brand)))
    write(tmp_path / "MLTable", """paths:
- pattern: ./**/*.csv
transformations:
- read_delimited: {delimiter: ',', encoding: ascii, header: all_files_same_headers, include_path_column: true}
- extract_columns_from_partition_format: {partition_format: '{Store}/{Brand}/{file_name}.{extension}'}
- drop_columns: [Path, file_name, extension]
""")
    table = parallel_mltable.load(str(tmp_path))
    assert list(table.frame.columns) == ["Week", "Quantity", "Store", "Brand"]
    assert len(table.frame) == 8
    batches = parallel_driver.table_batches(table.frame, table.row_bytes, None, ["Store", "Brand"])
    assert [b.partition for b in batches] == [
        {"Store": "1000", "Brand": "dominicks"},
        {"Store": "1000", "Brand": "tropicana"},
        {"Store": "1001", "Brand": "dominicks"},
        {"Store": "1001", "Brand": "tropicana"},
    ]
    assert [b.items for b in batches] == [2, 2, 2, 2]
    assert batches[1].payload["Quantity"].tolist() == [1000, 9]


@pytest.mark.parametrize(
    "header,first,columns",
    [
        ("all_files_same_headers", [3, 4], ["a", "b"]),
        ("no_header", ["3", "4"], ["Column1", "Column2"]),  # "a;b" is a row, so text
    ],
)
def test_read_delimited_headers(tmp_path, header, first, columns):
    write(tmp_path / "d.csv", "a;b\n1;2\n3;4\n")
    write(tmp_path / "MLTable", "paths: [{file: ./d.csv}]\ntransformations:\n- read_delimited: {delimiter: ';', header: %s}\n" % header)
    table = parallel_mltable.load(str(tmp_path))
    assert list(table.frame.columns) == columns
    assert table.frame.iloc[-1].tolist() == first


def test_mltable_without_reader_is_files(tmp_path):
    write(tmp_path / "imgs" / "b.png", "b")
    write(tmp_path / "imgs" / "a.png", "a")
    write(tmp_path / "MLTable", "paths:\n  - folder: ./imgs\n")
    table = parallel_mltable.load(str(tmp_path))
    assert [os.path.basename(f) for f in table.files] == ["a.png", "b.png"]


@pytest.mark.parametrize(
    "mltable,message",
    [
        ("paths: [{file: 'https://x/y.csv'}]\n", "is remote"),
        ("paths: [{file: ./a.csv}]\ntransformations: [{convert_column_types: []}]\n", "convert_column_types is not supported"),
        ("paths: [{file: ./a.csv}]\ntransformations: [{drop_columns: [a]}]\n", "needs a read_delimited"),
        ("paths: [{file: ./a.csv}]\ntransformations:\n- read_delimited: {}\n- extract_columns_from_partition_format: {partition_format: '{d:yyyy}/x'}\n", "no datetime formats"),
    ],
)
def test_mltable_refusals(tmp_path, mltable, message):
    write(tmp_path / "a.csv", "a\n1\n")
    write(tmp_path / "MLTable", mltable)
    with pytest.raises(parallel_mltable.MLTableError, match=message):
        parallel_mltable.load(str(tmp_path))


def test_size_batches_and_rows():
    frame = pd.DataFrame({"x": range(10)})
    batches = parallel_driver.table_batches(frame, [10.0] * 10, "25b", None)
    assert [b.items for b in batches] == [3, 3, 3, 1]
    assert batches[3].payload["x"].tolist() == [9]
    lines, n = parallel_driver.rows_of(pd.DataFrame({"a": [1, 2], "b": ["x y", "z"]}))
    assert (lines, n) == (['1 "x y"', "2 z"], 2)
    assert parallel_driver.rows_of(["a", 1]) == (["a", "1"], 2)
    assert parallel_driver.rows_of(None) == ([], 0)
    with pytest.raises(TypeError):
        parallel_driver.rows_of("abc")


def test_file_batches_refuse_sizes():
    with pytest.raises(parallel_driver.ParallelError, match="applies to tabular"):
        parallel_driver.file_batches(["a"], "10kb")
    assert [b.items for b in parallel_driver.file_batches(list("abcde"), "2")] == [2, 2, 1]


def test_row_sink_writes_in_order_as_batches_end(tmp_path):
    """Rows go out in mini-batch order as soon as every earlier mini-batch
    has ended, and leave memory; a mini-batch given up on is skipped."""
    batches = [parallel_driver.Batch(i, None, 1, "b%d" % i) for i in range(4)]
    out = tmp_path / "rows.txt"
    sink = parallel_driver.RowSink(str(out), batches)
    batches[1].lines = ["one"]
    sink.flush()
    assert out.read_text() == ""  # mini-batch 0 has not ended
    batches[0].lines = ["zero-a", "zero-b"]
    sink.flush()
    assert out.read_text() == "zero-a\nzero-b\none\n"
    assert batches[0].lines == [] and batches[1].lines == []
    batches[3].lines = ["three"]
    batches[2].gave_up = True
    sink.flush()
    sink.close()
    assert out.read_text() == "zero-a\nzero-b\none\nthree\n"
    assert sink.result() == (4, "rows.txt")


def test_row_sink_without_file_counts_nothing(tmp_path):
    batches = [parallel_driver.Batch(0, None, 1, "b0")]
    sink = parallel_driver.RowSink(None, batches)
    batches[0].lines = ["x"]
    sink.flush()
    assert batches[0].lines == [] and sink.result() is None
