"""Output files from columns (runtime/io/writers.py, text_out.py): the columnar CSV is byte
for byte the rows-based reference writer's (output.format_csv_text), with numba's loops
and with numpy's; JSON lines, Parquet and Arrow IPC hold the rows and read back as they
were written; sorting columns gives the contract's order."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dfl.backends.columnar.frame import Frame, StrColumn
from dfl.ir.types import Column, Schema, Type
from dfl.ir.values import sort_rows
from dfl.runtime.io import text_out, writers
from dfl.runtime.io.native import read_input
from dfl.runtime.io.output import format_csv_text

pytest.importorskip("pyarrow")

MIXED = Schema((Column("s", Type.STR), Column("f", Type.FLOAT), Column("b", Type.BOOL), Column("i", Type.INT)))
ONE = Schema((Column("s", Type.STR),))

_STR = st.lists(st.sampled_from(list('ab ,"é\t\n\r\x00') + ["\r\n", "😀"]), max_size=5).map("".join)
_FLOAT = st.one_of(st.floats(), st.sampled_from([0.0, -0.0, 1e16, 1e-5, 2.0 ** 53, -(2.0 ** 53), 123.0, 1e300]))
_INT = st.one_of(st.integers(-2**63, 2**63 - 1), st.sampled_from([-2**63, 2**63 - 1, 0, -1, 9, 10, -10]))
_ROW = st.tuples(_STR, _FLOAT, st.booleans(), _INT)


def _distinct(rows: list[tuple]) -> list[tuple]:
    """A set's rows (as a backend leaves them): no two equal, NaN rows kept once."""
    seen, out = set(), []
    for r in rows:
        k = tuple(("nan",) if isinstance(v, float) and math.isnan(v) else v for v in r)
        if k not in seen:
            seen.add(k)
            out.append(r)
    return out


@pytest.fixture(params=["numba", "numpy"])
def kernels(request, monkeypatch):
    """The text layout by numba's loops, then by numpy's forms."""
    monkeypatch.setattr(writers, "SMALL", 0)
    if request.param == "numpy":
        monkeypatch.setattr(text_out, "_kernels", lambda n: None)
    else:
        pytest.importorskip("numba")
        from dfl.runtime.io import text_kernels

        monkeypatch.setattr(text_out, "_kernels", lambda n: text_kernels)
    return request.param


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(_ROW, max_size=20))
def test_columnar_csv_is_the_reference_csv(kernels, rows) -> None:
    rows = _distinct(rows)
    frame = Frame.from_rows(rows, MIXED)
    assert writers.render(frame, "csv").decode("utf-8") == format_csv_text(MIXED, rows)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(_STR), max_size=10))
def test_one_column_strings_as_the_reference(kernels, rows) -> None:
    rows = _distinct(rows)
    assert writers.render(Frame.from_rows(rows, ONE), "csv").decode("utf-8") == format_csv_text(ONE, rows)


def test_sorting_columns_is_the_contract_order() -> None:
    rows = _distinct([("b", 1.0, True, 3), ("a", float("nan"), False, 1), ("a", -1.0, False, 2),
                      ("é", 0.0, True, 0), ("a", float("inf"), True, 5), ("B", -0.0, False, 9)])
    got = Frame.from_rows(rows, MIXED).sorted().rows()
    assert [tuple(map(repr, r)) for r in got] == [tuple(map(repr, r)) for r in sort_rows(rows, MIXED.types)]


def _same(a: list[tuple], b: list[tuple]) -> bool:
    key = lambda r: tuple(("nan",) if isinstance(v, float) and math.isnan(v) else v for v in r)  # noqa: E731
    return [key(r) for r in a] == [key(r) for r in b]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(_ROW, max_size=12))
def test_jsonl_lines_hold_the_rows(kernels, rows) -> None:
    rows = _distinct(rows)
    text = writers.render(Frame.from_rows(rows, MIXED), "jsonl").decode("utf-8")
    objs = [json.loads(line) for line in text.splitlines()]
    assert all(list(o) == list(MIXED.names) for o in objs)
    got = [tuple(o[n] for n in MIXED.names) for o in objs]
    assert _same(got, sort_rows(rows, MIXED.types))


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet", "arrow"])
def test_each_format_reads_back(tmp_path: Path, fmt: str) -> None:
    rng = np.random.default_rng(3)
    n = 3000
    vals = np.array(["x", "a,b", 'q"r', "", "é\n", "Counter/1"], dtype=object)
    frame = Frame(MIXED, [StrColumn(vals, rng.integers(0, len(vals), n)),
                          rng.choice([0.0, -0.5, 1.5, float("inf"), 1e20, 3.0, float("nan")], n),
                          rng.integers(0, 2, n).astype(bool), rng.integers(-2**63, 2**63 - 1, n)])
    rows = _distinct(frame.rows())
    frame = Frame.from_rows(rows, MIXED)
    ext = writers.OUTPUT_FORMATS[fmt]
    path = tmp_path / f"r{ext}"
    path.write_bytes(writers.render(frame, fmt))
    back = list(read_input(str(path), MIXED, "r"))
    assert _same(back, sort_rows(rows, MIXED.types))


def test_int_extremes_by_both_layouts(monkeypatch) -> None:
    schema = Schema((Column("i", Type.INT),))
    values = [-2**63, -2**63 + 1, -10, -9, -1, 0, 1, 9, 10, 99, 100, 10**18, 2**63 - 1]
    ref = format_csv_text(schema, [(v,) for v in values])
    monkeypatch.setattr(writers, "SMALL", 0)
    frame = Frame(schema, [np.array(values, dtype=np.int64)])
    for kern in (None, "numba"):
        if kern is None:
            monkeypatch.setattr(text_out, "_kernels", lambda n: None)
        else:
            pytest.importorskip("numba")
            from dfl.runtime.io import text_kernels

            monkeypatch.setattr(text_out, "_kernels", lambda n: text_kernels)
        assert writers.render(frame, "csv").decode() == ref
