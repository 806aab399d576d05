"""Control characters from input data never reach the terminal raw: error messages, the
line quoted under them, and the tables of `dfl run` escape them (dfl/terminal.py)."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from dfl.errors import DflError, Span
from dfl.ir.types import Column, Schema, Type
from dfl.runtime.io.csvio import read_relation
from dfl.runtime.io.output import print_tables
from dfl.terminal import printable

ESC = "\x1b[2J\x1b]0;pwned\x07"  # clear the screen, retitle the window
PAIR = Schema((Column("n", Type.INT), Column("s", Type.STR)))


def _raw_controls(text: str) -> set[str]:
    return {c for c in text if (ord(c) < 0x20 and c not in "\t\n") or 0x7f <= ord(c) <= 0x9f}


def test_printable_escapes_c0_and_c1_but_tab() -> None:
    assert printable("a\x1bb\rc\x00d\x7fe\x85f\tg\nh") == "a\\x1bb\\rc\\x00d\\x7fe\\x85f\tg\\nh"
    assert printable("a\nb", keep_newlines=True) == "a\nb"


def test_csv_error_quoting_a_line_escapes_controls(tmp_path: Path) -> None:
    path = tmp_path / "pair.csv"
    path.write_text(f"n,s\nx{ESC},ok\n", encoding="utf-8")
    with pytest.raises(DflError) as info:
        read_relation(str(path), PAIR, "pair")
    shown = info.value.render()
    assert not _raw_controls(shown), repr(shown)
    assert "\\x1b[2J" in shown
    # The carets still sit under the bad field, now written wider.
    source, carets = shown.splitlines()[1:3]
    at = source.index("x\\x1b")
    assert carets.index("^") == at and carets.count("^") == len(f"x{printable(ESC)}")


def test_c1_controls_in_a_quoted_value_are_escaped(tmp_path: Path) -> None:
    path = tmp_path / "pair.csv"
    path.write_text("n,s\n\x9b31m,ok\n", encoding="utf-8")  # \x9b: the one-byte CSI
    with pytest.raises(DflError) as info:
        read_relation(str(path), PAIR, "pair")
    assert not _raw_controls(info.value.render())


def test_message_and_hint_are_escaped_newlines_kept() -> None:
    e = DflError(f"bad {ESC}\nsecond line", span=Span(f"f{ESC}.csv", 1, 1, 1, 2), hint=f"h{ESC}", kind="input")
    shown = e.render()
    assert not _raw_controls(shown)
    assert "second line" in shown.splitlines()[1]


def test_tables_escape_controls_in_values() -> None:
    buf = io.StringIO()
    print_tables({"pair": (PAIR, [(1, f"red{ESC}\rover")])}, Console(file=buf, width=200, color_system=None))
    out = buf.getvalue()
    assert not _raw_controls(out), repr(out)
    assert "red\\x1b[2J" in out and "\\r" in out
