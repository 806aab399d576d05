"""Writing outputs: the CSV format rules, atomicity, and the tables printed for people (§7)."""
from __future__ import annotations

import math
import os
from pathlib import Path

import pytest
from rich.console import Console

from dfl.errors import DflError
from dfl.ir.types import Column, Schema, Type
from dfl.runtime.io import output
from dfl.runtime.io.csvio import read_relation
from dfl.runtime.io.output import format_csv_text, print_tables, write_each_tick, write_outputs

EDGE = Schema((Column("src", Type.INT), Column("dst", Type.INT)))
NONE = Schema(())


def test_header_and_numeric_sort() -> None:
    assert format_csv_text(EDGE, [(10, 1), (2, 5), (2, -1)]) == "src,dst\n2,-1\n2,5\n10,1\n"


def test_floats_as_repr() -> None:
    schema = Schema((Column("x", Type.FLOAT),))
    text = format_csv_text(schema, [(0.1,), (1.0,), (1e-5,), (math.inf,), (2.5e20,)])
    assert text == "x\n1e-05\n0.1\n1.0\n2.5e+20\ninf\n"


def test_strings_by_code_point_and_quoted_minimally() -> None:
    schema = Schema((Column("s", Type.STR), Column("n", Type.INT)))
    rows = [("b", 1), ("a,b", 2), ('say "hi"', 3), ("B", 4), ("two\nlines", 5), ("", 6), (" sp", 7)]
    assert format_csv_text(schema, rows) == (
        's,n\n,6\n sp,7\nB,4\n"a,b",2\nb,1\n"say ""hi""",3\n"two\nlines",5\n'
    )


def test_single_empty_string_is_quoted() -> None:
    # An empty line would read back as no row at all; "" is the empty string.
    assert format_csv_text(Schema((Column("s", Type.STR),)), [("",)]) == 's\n""\n'


def test_bools() -> None:
    schema = Schema((Column("b", Type.BOOL), Column("n", Type.INT)))
    assert format_csv_text(schema, [(True, 1), (False, 2)]) == "b,n\nfalse,2\ntrue,1\n"


def test_lattice_header_is_the_name() -> None:
    schema = Schema((Column("node", Type.INT), Column("d", Type.INT, lattice="min")))
    assert format_csv_text(schema, [(1, 3)]) == "node,d\n1,3\n"


def test_zero_columns() -> None:
    assert format_csv_text(NONE, [()]) == "\n\n"
    assert format_csv_text(NONE, [(), ()]) == "\n\n"
    assert format_csv_text(NONE, []) == "\n"


def test_round_trip(tmp_path: Path) -> None:
    schema = Schema((Column("s", Type.STR), Column("f", Type.FLOAT), Column("b", Type.BOOL)))
    rows = [("a,\"b\"\nc", 0.1, True), ("", -2.0, False), (" x ", math.inf, True)]
    write_outputs(str(tmp_path), {"r": (schema, rows), "done": (NONE, [()])})
    assert sorted(read_relation(str(tmp_path / "r.csv"), schema, "r")) == sorted(rows)
    assert read_relation(str(tmp_path / "done.csv"), NONE, "done") == [()]


def test_write_outputs_creates_folder(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b"
    write_outputs(str(out), {"edge": (EDGE, [(2, 1), (1, 2)]), "done": (NONE, [])})
    assert sorted(os.listdir(out)) == ["done.csv", "edge.csv"]
    assert (out / "edge.csv").read_bytes() == b"src,dst\n1,2\n2,1\n"
    assert (out / "done.csv").read_bytes() == b"\n"


def test_write_each_tick(tmp_path: Path) -> None:
    ticks = [{"edge": (EDGE, [(1, 2)])}, {"edge": (EDGE, [])}]
    write_each_tick(str(tmp_path / "out"), ticks)
    assert (tmp_path / "out" / "0" / "edge.csv").read_text() == "src,dst\n1,2\n"
    assert (tmp_path / "out" / "1" / "edge.csv").read_text() == "src,dst\n"


def fail_on_second_write(monkeypatch: pytest.MonkeyPatch) -> None:
    real = output.os.fdopen
    calls = {"n": 0}

    def fdopen(fd, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            os.close(fd)
            raise OSError(28, "No space left on device", "disk")
        return real(fd, *args, **kwargs)

    monkeypatch.setattr(output.os, "fdopen", fdopen)


def test_failed_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fail_on_second_write(monkeypatch)
    out = tmp_path / "out"
    with pytest.raises(DflError) as info:
        write_outputs(str(out), {"a": (EDGE, [(1, 2)]), "b": (EDGE, [(3, 4)]), "c": (EDGE, [])})
    assert info.value.kind == "output" and "No space left" in info.value.message
    assert info.value.exit_code == 2 and info.value.render().startswith("output error: ")
    assert not out.exists()  # the folder it made is gone too


def test_failed_write_keeps_existing_folder_clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    fail_on_second_write(monkeypatch)
    with pytest.raises(DflError):
        write_outputs(str(tmp_path), {"a": (EDGE, [(1, 2)]), "b": (EDGE, [(3, 4)])})
    assert os.listdir(tmp_path) == ["keep.txt"]


def test_failed_rename_removes_placed_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = output.os.replace
    calls = {"n": 0}

    def replace(src, dst):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(13, "Permission denied", dst)
        real(src, dst)

    monkeypatch.setattr(output.os, "replace", replace)
    # Renaming file by file is the fallback where folders cannot be exchanged.
    monkeypatch.setattr(output.output_set, "supported", lambda parent: False)
    with pytest.raises(DflError):
        write_outputs(str(tmp_path), {"a": (EDGE, []), "b": (EDGE, []), "c": (EDGE, [])})
    assert os.listdir(tmp_path) == []


def test_failed_tick_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fail_on_second_write(monkeypatch)
    with pytest.raises(DflError):
        write_each_tick(str(tmp_path / "out"), [{"a": (EDGE, [])}, {"a": (EDGE, [])}])
    assert not (tmp_path / "out").exists()


def test_out_dir_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "out").write_text("")
    with pytest.raises(DflError) as info:
        write_outputs(str(tmp_path / "out"), {"a": (EDGE, [])})
    assert "out" in info.value.message and info.value.kind == "output"
    assert (tmp_path / "out").read_text() == "" and sorted(os.listdir(tmp_path)) == ["out"]


def render(relations, **kw) -> str:
    console = Console(record=True, width=100, file=open(os.devnull, "w"))
    print_tables(relations, console=console, **kw)
    return console.export_text()


def test_print_tables() -> None:
    schema = Schema((Column("name", Type.STR), Column("d", Type.FLOAT, lattice="min")))
    text = render({"dist": (schema, [("b", 2.0), ("[bold]a", 0.1)])})
    assert "dist (2 rows)" in text
    assert "name: str" in text and "d: min<float>" in text
    assert text.index("[bold]a") < text.index("b ")  # sorted, and markup shown literally
    assert "0.1" in text and "2.0" in text


def test_print_tables_truncates() -> None:
    text = render({"edge": (EDGE, [(i, i) for i in range(10, 0, -1)])}, max_rows=3)
    assert "edge (10 rows)" in text
    assert "7 more rows" in text and "-O DIR" in text
    assert " 1 " in text and " 4 " not in text


def test_print_zero_columns() -> None:
    text = render({"done": (NONE, [()]), "never": (NONE, [])})
    assert "done() holds" in text and "never() does not hold" in text
