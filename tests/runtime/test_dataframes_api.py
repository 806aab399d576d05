"""Data frames in and out of the Python API: a pyarrow Table, pandas and polars DataFrames,
a dict or list of numpy columns per relation; results as Arrow, pandas and polars. The
answers are those of the same rows given as tuples; wrong names, counts or types are
DflErrors naming the relation and the column."""
from __future__ import annotations

import numpy as np
import pytest

import dfl
from dfl.errors import DflError

pa = pytest.importorskip("pyarrow")

SRC = """
input sale(id: int, k: str, v: float, ok: bool)
output total(k: str, n: int, s: float)
output flagged(id: int)
total(k, count(), sum(v)) :- sale(_, k, v, _).
flagged(i) :- sale(i, _, _, true).
"""
ROWS = [(1, "a", 0.5, True), (2, "b", 1.5, False), (3, "a", -2.0, True), (4, "é", 0.0, False)]
COLS = {"id": np.array([r[0] for r in ROWS]), "k": np.array([r[1] for r in ROWS]),
        "v": np.array([r[2] for r in ROWS]), "ok": np.array([r[3] for r in ROWS])}


@pytest.fixture(scope="module")
def prog():
    return dfl.compile(SRC)


@pytest.fixture(scope="module")
def want(prog):
    return prog.run(sale=ROWS)


def _givens():
    out = {"dict": COLS, "list": [COLS[n] for n in ("id", "k", "v", "ok")],
           "arrow": pa.table({n: COLS[n].tolist() for n in ("ok", "v", "k", "id")})}
    try:
        import pandas as pd

        out["pandas"] = pd.DataFrame(COLS)
    except ImportError:
        pass
    try:
        import polars as pl

        out["polars"] = pl.DataFrame({n: c.tolist() for n, c in COLS.items()})
    except ImportError:
        pass
    return out


@pytest.mark.parametrize("kind", sorted(_givens()))
def test_columns_give_the_answers_of_rows(prog, want, kind: str) -> None:
    for target in ("interp", "cpu"):
        got = prog.run(sale=_givens()[kind], target=target)
        assert got["total"] == want["total"] and got["flagged"] == want["flagged"]


def test_int_columns_are_taken_without_a_copy(prog) -> None:
    from dfl.runtime.io.dataframes import frame_of_value

    ids = np.arange(4, dtype=np.int64)
    frame = frame_of_value({**COLS, "id": ids}, prog.inputs["sale"], "sale")
    assert np.shares_memory(frame.cols[0], ids)


def test_results_as_arrow_pandas_polars(want) -> None:
    t = want.to_arrow("total")
    assert t.column_names == ["k", "n", "s"] and t.to_pylist()[0] == {"k": "a", "n": 2, "s": -1.5}
    assert [tuple(r.values()) for r in t.to_pylist()] == want["total"]
    pd = pytest.importorskip("pandas")
    df = want.to_pandas("total")
    assert isinstance(df, pd.DataFrame) and list(df["k"]) == ["a", "b", "é"]
    pl = pytest.importorskip("polars")
    assert want.to_polars("flagged")["id"].to_list() == [1, 3]
    with pytest.raises(KeyError):
        want.to_arrow("nope")


@pytest.mark.parametrize("given,words", [
    ({**COLS, "id": np.array([1.5, 2, 3, 4])}, ["column id", "declared int"]),
    ({k: v for k, v in COLS.items() if k != "ok"}, ["missing column(s) ok"]),
    ({**COLS, "x": COLS["id"]}, ["unknown column(s) x"]),
    ([COLS["id"], COLS["k"]], ["2 column(s) given, 4 declared"]),
    ({**COLS, "k": np.array([1, 2, 3, 4])}, ["column k", "declared str"]),
    ({**COLS, "id": np.array([1, 2, 3])}, ["different lengths"]),
])
def test_wrong_columns_are_errors_naming_relation_and_column(prog, given, words) -> None:
    with pytest.raises(DflError) as e:
        prog.run(sale=given)
    assert e.value.kind == "input" and "sale" in str(e.value)
    assert all(w in str(e.value) for w in words)


def test_a_null_in_a_data_frame_is_an_error(prog) -> None:
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({**COLS, "v": [0.5, None, 1.0, 2.0]})
    df["k"] = ["a", None, "b", "c"]
    with pytest.raises(DflError) as e:
        prog.run(sale=df)
    assert "has a null at row 2" in str(e.value)
