"""Reading input relations: both file formats, every error the I/O contract names (§7).

Every test runs twice: through the exact reader (runtime/io/csvio.py) and through the
native one users get (runtime/io/native.py: Arrow, csvio judging), which must agree."""
from __future__ import annotations

import math
import os
from pathlib import Path

import pytest

from dfl.errors import EXIT_INPUT, DflError
from dfl.ir.types import Column, Schema, Type
from dfl.runtime.io import csvio, native
from dfl.runtime.io.csvio import find_input, input_candidates, missing_input


def _native(path, schema, relation, tick_column=False, tried=None):
    got = native.read_input(path, schema, relation, tick_column=tick_column, tried=tried)
    return list(got)  # a Frame's rows, or csvio's rows where it read the file


@pytest.fixture(autouse=True, params=["exact", "native"])
def reader(request, monkeypatch):
    """`read_relation` below is the exact reader, then the native one (on small files too)."""
    global read_relation
    monkeypatch.setattr(native, "NATIVE_MIN_BYTES", 0)
    read_relation = csvio.read_relation if request.param == "exact" else _native
    yield request.param


read_relation = csvio.read_relation

EDGE = Schema((Column("src", Type.INT), Column("dst", Type.INT)))
MIXED = Schema((Column("i", Type.INT), Column("f", Type.FLOAT), Column("s", Type.STR), Column("b", Type.BOOL)))
NONE = Schema(())


def write(tmp_path: Path, name: str, content: str | bytes) -> str:
    path = tmp_path / name
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return str(path)


def read_error(path: str, schema: Schema = EDGE, **kw) -> DflError:
    with pytest.raises(DflError) as info:
        read_relation(path, schema, "edge", **kw)
    err = info.value
    assert err.kind == "input" and err.exit_code == EXIT_INPUT
    return err


def assert_names(err: DflError, path: str, line: int, column: str | None) -> None:
    """What is printed names the file, the line and (where one is at fault) the column;
    the message itself holds no location (the span gives it, printed once)."""
    assert str(err).startswith(f"{path}:{line}:")
    assert path not in err.message
    if column is not None:
        assert column in err.message
    assert err.span is not None and err.span.file == path and err.span.line == line


# --- good files ---------------------------------------------------------------------

def test_csv_with_header(tmp_path: Path) -> None:
    path = write(tmp_path, "edge.csv", "src,dst\n1,2\n2,3\n1,2\n")
    assert read_relation(path, EDGE, "edge") == [(1, 2), (2, 3), (1, 2)]


def test_facts_tab_separated(tmp_path: Path) -> None:
    path = write(tmp_path, "edge.facts", "1\t2\n-3\t+4\n")
    assert read_relation(path, EDGE, "edge") == [(1, 2), (-3, 4)]


def test_crlf_and_no_final_newline(tmp_path: Path) -> None:
    assert read_relation(write(tmp_path, "e.csv", "src,dst\r\n1,2\r\n3,4"), EDGE, "e") == [(1, 2), (3, 4)]
    assert read_relation(write(tmp_path, "e.facts", "1\t2\r\n3\t4"), EDGE, "e") == [(1, 2), (3, 4)]


def test_all_value_types(tmp_path: Path) -> None:
    path = write(tmp_path, "m.csv",
                 'i,f,s,b\n 7 ,1e-3, a b ,TRUE\n-9223372036854775808,inf,"x,""y""",False\n0,3,,true\n')
    rows = read_relation(path, MIXED, "m")
    assert rows == [(7, 0.001, " a b ", True), (-9223372036854775808, math.inf, 'x,"y"', False),
                    (0, 3.0, "", True)]
    assert type(rows[2][1]) is float
    nan = read_relation(write(tmp_path, "n.facts", "1\tnan\tq\tfalse\n"), MIXED, "n")[0][1]
    assert math.isnan(nan)


def test_facts_fields_are_raw(tmp_path: Path) -> None:
    schema = Schema((Column("a", Type.STR), Column("b", Type.STR)))
    path = write(tmp_path, "s.facts", 'a "q",b\t c \n')
    assert read_relation(path, schema, "s") == [('a "q",b', " c ")]


def test_csv_quoted_newline(tmp_path: Path) -> None:
    schema = Schema((Column("a", Type.STR), Column("n", Type.INT)))
    path = write(tmp_path, "s.csv", 'a,n\n"two\nlines",1\nx,2\n')
    assert read_relation(path, schema, "s") == [("two\nlines", 1), ("x", 2)]


def test_lattice_column_read_as_base_type(tmp_path: Path) -> None:
    schema = Schema((Column("node", Type.INT), Column("d", Type.INT, lattice="min")))
    assert read_relation(write(tmp_path, "d.csv", "node,d\n1,5\n1,3\n"), schema, "d") == [(1, 5), (1, 3)]


def test_empty_files(tmp_path: Path) -> None:
    assert read_relation(write(tmp_path, "e.csv", ""), EDGE, "e") == []
    assert read_relation(write(tmp_path, "h.csv", "src,dst\n"), EDGE, "e") == []
    assert read_relation(write(tmp_path, "e.facts", ""), EDGE, "e") == []


def test_blank_lines_skipped(tmp_path: Path) -> None:
    assert read_relation(write(tmp_path, "e.csv", "src,dst\n\n1,2\n\r\n3,4\n\n"), EDGE, "e") == [(1, 2), (3, 4)]
    assert read_relation(write(tmp_path, "e.facts", "\n1\t2\n\n"), EDGE, "e") == [(1, 2)]


def test_single_column_empty_string_in_csv(tmp_path: Path) -> None:
    schema = Schema((Column("s", Type.STR),))
    assert read_relation(write(tmp_path, "s.csv", 's\n""\n\nx\n'), schema, "s") == [("",), ("x",)]


def test_header_spaces_and_bom(tmp_path: Path) -> None:
    path = write(tmp_path, "e.csv", "\ufeffsrc , dst\n1,2\n")
    assert read_relation(path, EDGE, "e") == [(1, 2)]


def test_zero_columns(tmp_path: Path) -> None:
    assert read_relation(write(tmp_path, "a.csv", "\n\n"), NONE, "done") == [()]
    assert read_relation(write(tmp_path, "b.csv", "\n"), NONE, "done") == []
    assert read_relation(write(tmp_path, "c.csv", ""), NONE, "done") == []
    assert read_relation(write(tmp_path, "d.facts", "\n"), NONE, "done") == [()]
    assert read_relation(write(tmp_path, "e.facts", "\n\n\n"), NONE, "done") == [()]
    assert read_relation(write(tmp_path, "f.facts", ""), NONE, "done") == []


def test_zero_columns_nonempty_line(tmp_path: Path) -> None:
    path = write(tmp_path, "done.facts", "\nx\n")
    err = read_error(path, NONE)
    assert_names(err, path, 2, "column 1")
    assert "expected 0 column" in err.message and "found 1" in err.message


def test_tick_column(tmp_path: Path) -> None:
    path = write(tmp_path, "put.csv", "tick,src,dst\n0,1,2\n3,4,5\n")
    assert read_relation(path, EDGE, "put", tick_column=True) == [(0, 1, 2), (3, 4, 5)]
    path = write(tmp_path, "put.facts", "2\t1\t2\n")
    assert read_relation(path, EDGE, "put", tick_column=True) == [(2, 1, 2)]
    path = write(tmp_path, "ping.csv", "tick\n0\n4\n")
    assert read_relation(path, NONE, "ping", tick_column=True) == [(0,), (4,)]


# --- errors ---------------------------------------------------------------------------

@pytest.mark.parametrize("bad", ["-1", "x", "1.5", ""])
def test_bad_tick(tmp_path: Path, bad: str) -> None:
    path = write(tmp_path, "put.csv", f"tick,src,dst\n0,1,2\n{bad},1,2\n")
    err = read_error(path, tick_column=True)
    assert_names(err, path, 3, "column 1 (tick)")
    assert "tick" in err.message and ">= 0" in err.message


def test_tick_header_required(tmp_path: Path) -> None:
    path = write(tmp_path, "put.csv", "src,dst\n1,2\n")
    err = read_error(path, tick_column=True)
    assert_names(err, path, 1, "column 1")
    assert "tick,src,dst" in err.message


def test_wrong_type_csv(tmp_path: Path) -> None:
    path = write(tmp_path, "edge.csv", "src,dst\n1,2\n3,x\n")
    err = read_error(path)
    assert err.message == 'column 2 (dst): expected int, got "x"'
    assert (err.span.col, err.span.end_col) == (3, 4)
    assert "   3 | 3,x\n" in err.render() and err.render().endswith("  ^")


def test_wrong_type_facts(tmp_path: Path) -> None:
    path = write(tmp_path, "m.facts", "1\t2.5\ts\ttrue\n1\t2.5\ts\tyes\n")
    err = read_error(path, MIXED)
    assert_names(err, path, 2, "column 4 (b)")
    assert "expected bool" in err.message and '"yes"' in err.message
    assert (err.span.col, err.span.end_col) == (9, 12)


@pytest.mark.parametrize("bad", ["1.0", "1_000", "١", "", "+", "9223372036854775808",
                                 "-9223372036854775809", "1" * 5000])
def test_bad_ints(tmp_path: Path, bad: str) -> None:
    path = write(tmp_path, "edge.facts", f"1\t{bad}\n")
    err = read_error(path)
    assert_names(err, path, 1, "column 2 (dst)")
    assert ("expected int" if len(bad) < 19 else "64-bit") in err.message


def test_int_limits(tmp_path: Path) -> None:
    path = write(tmp_path, "edge.facts", "9223372036854775807\t-9223372036854775808\n")
    assert read_relation(path, EDGE, "edge") == [(2**63 - 1, -(2**63))]


def test_bad_float(tmp_path: Path) -> None:
    path = write(tmp_path, "m.csv", "i,f,s,b\n1,abc,s,true\n")
    err = read_error(path, MIXED)
    assert_names(err, path, 2, "column 2 (f)")
    assert "expected float" in err.message


def test_an_addr_is_read_as_it_is_printed(tmp_path: Path) -> None:
    schema = Schema((Column("who", Type.ADDR),))
    path = write(tmp_path, "a.csv", 'who\nCounter/x\nKv/a/b\n@client/7\n')
    assert sorted(read_relation(path, schema, "a")) == [("@client/7",), ("Counter/x",), ("Kv/a/b",)]


def test_an_addr_not_written_name_slash_key_is_an_error(tmp_path: Path) -> None:
    schema = Schema((Column("who", Type.ADDR),))
    path = write(tmp_path, "a.csv", 'who\nCounter("x")\n')
    err = read_error(path, schema)
    assert_names(err, path, 2, "column 1 (who)")
    assert "expected an address Name/key" in err.message


def test_too_many_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "edge.csv", "src,dst\n1,2,3\n")
    err = read_error(path)
    assert_names(err, path, 2, "column 3")
    assert "expected 2 column(s) (src, dst), found 3" in err.message
    assert (err.span.col, err.span.end_col) == (5, 6)


def test_too_few_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "edge.facts", "1\t2\n\n5\n")
    err = read_error(path)
    assert_names(err, path, 3, "column 2 (dst)")
    assert "found 1" in err.message


def test_commas_in_facts_hint(tmp_path: Path) -> None:
    err = read_error(write(tmp_path, "edge.facts", "1,2\n"))
    assert err.hint and "tab-separated" in err.hint


@pytest.mark.parametrize("header,column", [("a,b", "column 1"), ("src,b", "column 2"),
                                           ("src", "column 2 (dst)"), ("src,dst,x", "column 3"),
                                           ("1,2", "column 1")])
def test_bad_header(tmp_path: Path, header: str, column: str) -> None:
    path = write(tmp_path, "edge.csv", f"{header}\n1,2\n")
    err = read_error(path)
    assert_names(err, path, 1, column)
    assert "header" in err.message and "src,dst" in err.message


def test_zero_column_header_must_be_empty(tmp_path: Path) -> None:
    path = write(tmp_path, "done.csv", "done\n\n")
    err = read_error(path, NONE)
    assert_names(err, path, 1, "column 1")
    assert "empty line" in err.message


def test_malformed_quotes(tmp_path: Path) -> None:
    schema = Schema((Column("s", Type.STR),))
    path = write(tmp_path, "s.csv", 's\nok\n"a"b\n')
    err = read_error(path, schema)
    assert_names(err, path, 3, None)
    assert "malformed CSV" in err.message


def test_invalid_utf8(tmp_path: Path) -> None:
    schema = Schema((Column("s", Type.STR),))
    path = write(tmp_path, "s.csv", b"s\nfine\n\xc3\xa9a\xff\n")
    err = read_error(path, schema)
    assert_names(err, path, 3, "character 3")
    assert "UTF-8" in err.message and "0xff" in err.message
    assert err.span.col == 3


def test_missing_file(tmp_path: Path) -> None:
    path = str(tmp_path / "edge.csv")
    err = read_error(path)
    assert path in err.message and "edge" in err.message and "not found" in err.message
    other = str(tmp_path / "edge.facts")
    err = read_error(path, tried=[other, path])
    assert other in err.message


def test_unreadable_file(tmp_path: Path) -> None:
    folder = tmp_path / "edge.csv"
    folder.mkdir()
    err = read_error(str(folder))
    assert str(folder) in err.message and "cannot read" in err.message


def test_unknown_extension(tmp_path: Path) -> None:
    err = read_error(write(tmp_path, "edge.txt", "1,2\n"))
    assert "edge.txt" in err.message and err.hint and ".facts" in err.hint


def test_missing_input_message() -> None:
    err = missing_input("edge", ["d/edge.csv", "d/edge.facts"])
    assert err.kind == "input" and "edge" in err.message and "d/edge.facts" in err.message


# --- finding the file --------------------------------------------------------------------

def test_find_input_order(tmp_path: Path) -> None:
    d = str(tmp_path)
    assert find_input("edge", d, {}) is None
    write(tmp_path, "edge.facts", "")
    assert find_input("edge", d, {}) == os.path.join(d, "edge.facts")
    write(tmp_path, "edge.csv", "")
    assert find_input("edge", d, {}) == os.path.join(d, "edge.csv")
    # --in wins, even over existing files and even when its own file is missing
    assert find_input("edge", d, {"edge": "elsewhere.csv"}) == "elsewhere.csv"
    assert find_input("edge", None, {}) is None
    assert input_candidates("edge", d, {}) == [os.path.join(d, f"edge.{x}")
                                                for x in ("csv", "facts", "parquet", "arrow", "feather", "jsonl")]
