"""Inputs in typed formats (runtime/io/typed.py): Parquet, Arrow IPC, JSON lines. Columns
match by name, types are checked and a mismatch names the relation, the column, the
file's type and the declared type; JSON lines errors name the line and column."""
from __future__ import annotations

from pathlib import Path

import pytest

from dfl.errors import EXIT_INPUT, DflError
from dfl.ir.types import Column, Schema, Type
from dfl.runtime.io.native import read_input

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

SCHEMA = Schema((Column("k", Type.STR), Column("v", Type.INT), Column("w", Type.FLOAT), Column("ok", Type.BOOL)))
TABLE = {"k": ["a", "b", "a"], "v": [1, 2, 3], "w": [0.5, -1.0, 2.0], "ok": [True, False, True]}
ROWS = [("a", 1, 0.5, True), ("b", 2, -1.0, False), ("a", 3, 2.0, True)]


def _error(path: str) -> DflError:
    with pytest.raises(DflError) as info:
        read_input(path, SCHEMA, "sale")
    assert info.value.exit_code == EXIT_INPUT
    return info.value


def _write(tmp_path: Path, fmt: str, table) -> str:
    path = str(tmp_path / f"sale.{fmt}")
    if fmt == "parquet":
        pq.write_table(table, path, row_group_size=2)
    else:
        with pa.OSFile(path, "wb") as f, pa.ipc.new_file(f, table.schema) as w:
            w.write_table(table)
    return path


@pytest.mark.parametrize("fmt", ["parquet", "arrow", "feather"])
def test_typed_files_are_read(tmp_path: Path, fmt: str) -> None:
    table = pa.table({**TABLE, "extra": [9, 9, 9]})  # other columns are not read
    table = table.select(["v", "extra", "ok", "k", "w"])  # matched by name, not position
    table = table.set_column(0, "v", pa.array([1, 2, 3], pa.int32()))  # any integer width
    assert list(read_input(_write(tmp_path, fmt, table), SCHEMA, "sale")) == ROWS


@pytest.mark.parametrize("fmt", ["parquet", "arrow"])
def test_a_wrong_type_names_relation_column_and_both_types(tmp_path: Path, fmt: str) -> None:
    table = pa.table({**TABLE, "v": ["1", "2", "3"]})
    err = _error(_write(tmp_path, fmt, table))
    assert "column v of relation sale has type string, declared int" in err.message


def test_dictionary_strings_and_floats_from_ints(tmp_path: Path) -> None:
    table = pa.table({**TABLE, "k": pa.array(["a", "b", "a"]).dictionary_encode(), "w": pa.array([1, 2, 3])})
    got = list(read_input(_write(tmp_path, "parquet", table), SCHEMA, "sale"))
    assert got == [("a", 1, 1.0, True), ("b", 2, 2.0, False), ("a", 3, 3.0, True)]


def test_a_missing_column_and_a_null_are_errors(tmp_path: Path) -> None:
    no_w = {k: v for k, v in TABLE.items() if k != "w"}
    err = _error(_write(tmp_path, "parquet", pa.table(no_w)))
    assert "relation sale has no column w" in err.message and "k, v, ok" in err.message
    err = _error(_write(tmp_path, "arrow", pa.table({**TABLE, "v": [1, None, 3]})))
    assert "column v of relation sale has a null at row 2" in err.message


def test_a_uint64_past_the_int_range_is_an_error(tmp_path: Path) -> None:
    err = _error(_write(tmp_path, "parquet", pa.table({**TABLE, "v": pa.array([1, 2, 2**63], pa.uint64())})))
    assert "out of the 64-bit int range" in err.message


def test_a_damaged_file_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "sale.parquet"
    path.write_bytes(b"not parquet at all")
    assert "cannot read the input for relation sale" in _error(str(path)).message


def test_jsonl_is_read(tmp_path: Path) -> None:
    path = tmp_path / "sale.jsonl"
    path.write_text('{"k": "a", "v": 1, "w": 0.5, "ok": true}\n\n{"ok": false, "w": -1, "v": 2, "k": "b", "x": 0}\n'
                    '{"k": "a", "v": 3, "w": 2.0, "ok": true}\n')
    assert list(read_input(str(path), SCHEMA, "sale")) == [("a", 1, 0.5, True), ("b", 2, -1.0, False),
                                                            ("a", 3, 2.0, True)]


def test_jsonl_takes_nan_and_infinity_as_python_writes_them(tmp_path: Path) -> None:
    path = tmp_path / "sale.jsonl"
    path.write_text('{"k": "a", "v": 1, "w": NaN, "ok": true}\n{"k": "b", "v": 2, "w": -Infinity, "ok": false}\n')
    rows = list(read_input(str(path), SCHEMA, "sale"))
    assert rows[0][2] != rows[0][2] and rows[1][2] == float("-inf")


@pytest.mark.parametrize("line,message,col", [
    ('{"k": "a", "v": 1.5, "w": 0.5, "ok": true}', "column 2 (v): expected int, got 1.5", 17),
    ('{"k": "a", "v": 1, "w": 0.5}', "column 4 (ok) is missing from this row", 1),
    ('{"k": 1, "v": 1, "w": 0.5, "ok": true}', "column 1 (k): expected str, got 1", 7),
    ('{"k": "a", "v": true, "w": 0.5, "ok": true}', "column 2 (v): expected int, got true", 17),
    ('[1, 2]', "expected a JSON object (one row of sale), got list", 1),
    ('{"k": "a", "v": 1,', "not JSON", None),
])
def test_jsonl_errors_name_line_and_column(tmp_path: Path, line: str, message: str, col: int | None) -> None:
    path = tmp_path / "sale.jsonl"
    path.write_text('{"k": "a", "v": 1, "w": 0.5, "ok": true}\n' + line + "\n")
    err = _error(str(path))
    assert message in err.message and err.span.line == 2
    if col is not None:
        assert err.span.col == col
