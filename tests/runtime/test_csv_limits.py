"""Big inputs: long string fields are read, and an error on a long line echoes a bounded slice."""
from __future__ import annotations

from pathlib import Path

import pytest

from dfl.errors import DflError
from dfl.ir.types import Column, Schema, Type
from dfl.runtime.io.csvio import read_relation

CARET_WINDOW = 200  # characters of a line shown under an error (docs/semantics.md)
PAIR = Schema((Column("n", Type.INT), Column("s", Type.STR)))


@pytest.mark.parametrize("quoted", [False, True])
def test_csv_string_field_over_131072_characters_is_read(tmp_path: Path, quoted: bool) -> None:
    big = "x" * 300_000
    path = tmp_path / "pair.csv"
    path.write_text(f'n,s\n1,{f"{chr(34)}{big}{chr(34)}" if quoted else big}\n', encoding="utf-8")
    assert read_relation(str(path), PAIR, "pair") == [(1, big)]


def _error(path: Path) -> str:
    with pytest.raises(DflError) as info:
        read_relation(str(path), PAIR, "pair")
    return info.value.render()


def test_error_on_a_1_mb_line_echoes_a_bounded_slice_with_the_caret_right(tmp_path: Path) -> None:
    # A bad int after 1 MB of string: the message must not echo the megabyte.
    filler = "y" * 1_000_000
    path = tmp_path / "pair.csv"
    path.write_text(f"n,s\n1,ok\n{filler}Q,z\n", encoding="utf-8")
    shown = _error(path)
    assert len(shown) < 3 * CARET_WINDOW + 500, len(shown)
    assert shown.startswith(f"{path}:3:1: input error: column 1 (n): expected int")
    source, carets = shown.splitlines()[1:3]
    assert source.rstrip().endswith("…")
    assert carets.lstrip().startswith("^") and carets.index("^") == source.index("y")


def test_caret_points_at_a_field_far_into_a_long_line(tmp_path: Path) -> None:
    filler = "y" * 1_000_000
    path = tmp_path / "pair.csv"
    path.write_text(f"n,s\n1,ok\n1,{filler},extra\n", encoding="utf-8")
    shown = _error(path)
    assert len(shown) < 3 * CARET_WINDOW + 500, len(shown)
    assert shown.startswith(f"{path}:3:{len(filler) + 4}: input error: column 3")
    source, carets = shown.splitlines()[1:3]
    assert "…" in source and "extra" in source
    start = carets.index("^")
    assert source[start:].startswith("extra") and source[start - 1] == ","
    assert carets.count("^") == len("extra")
