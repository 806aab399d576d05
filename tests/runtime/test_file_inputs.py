"""Input files read by the workers in parts: the parts cover the file at line ends, rows
and error messages are those of reading the file whole, and a run on the pool with every
input cut gives the one-process results."""
from __future__ import annotations

from pathlib import Path

import pytest

import dfl
from dfl.errors import DflError
from dfl.ir.types import Column, Schema, Type
from dfl.runtime.io import file_inputs
from dfl.runtime.io.csvio import read_relation
from dfl.runtime.io.file_inputs import FileInput, chunks, file_input
from dfl.runtime.pools.pool import LocalPool

SCHEMA = Schema((Column("a", Type.INT, None), Column("s", Type.STR, None), Column("x", Type.FLOAT, None)))


def _write(tmp_path: Path, name: str, text: str, newline: str = "\n") -> str:
    p = tmp_path / name
    p.write_bytes(text.replace("\n", newline).encode("utf-8"))
    return str(p)


CSV = "\ufeffa,s,x\n" + "".join(f"{i},w{i % 7},{i / 4}\n" for i in range(50)) + "\n7,é,1e3"
FACTS = "".join(f"{i}\tw{i % 7}\t{i / 4}\n" for i in range(40)) + "\n\n3\tz\tinf\n"


@pytest.mark.parametrize("parts", [1, 2, 3, 7, 80])
@pytest.mark.parametrize("name,text,newline", [("r.csv", CSV, "\n"), ("r.csv", CSV, "\r\n"),
                                               ("r.facts", FACTS, "\n")])
def test_parts_cover_the_file_and_give_its_rows(tmp_path, parts, name, text, newline) -> None:
    path = _write(tmp_path, name, text, newline)
    fi = FileInput(path, "r", SCHEMA, name.split(".")[1])
    cs = chunks(fi, parts)
    assert len(cs) == parts and cs[0].start == 0 and cs[-1].end == Path(path).stat().st_size
    data = Path(path).read_bytes()
    for a, b in zip(cs, cs[1:]):
        assert a.end == b.start and (b.start == 0 or data[b.start - 1:b.start] == b"\n" or b.start == len(data))
        assert b.first_line == data[:b.start].count(b"\n") + 1
    got = [row for c in cs for row in c.rows()]
    assert got == read_relation(path, SCHEMA, "r")


@pytest.mark.parametrize("parts", [2, 3, 5])
def test_a_bad_value_in_a_later_part_is_reported_as_in_the_whole_file(tmp_path, parts) -> None:
    lines = [f"{i},w,{i}.5" for i in range(60)]
    lines[47] = "47,w,not-a-float"
    path = _write(tmp_path, "r.csv", "a,s,x\n" + "\n".join(lines) + "\n")
    with pytest.raises(DflError) as whole:
        read_relation(path, SCHEMA, "r")
    errors = []
    for c in chunks(FileInput(path, "r", SCHEMA, "csv"), parts):
        try:
            c.rows()
        except DflError as e:
            errors.append(e)
    assert len(errors) == 1
    e, w = errors[0], whole.value
    assert (e.span, e.message, e.kind) == (w.span, w.message, w.kind)
    assert e.span.line == 49
    assert e.render() == w.render()


def test_only_safe_large_files_are_cut(tmp_path, monkeypatch) -> None:
    big = _write(tmp_path, "r.csv", "a,s,x\n" + "1,w,2.0\n" * 10)
    assert file_input(big, "r", SCHEMA) is None  # below MIN_BYTES
    monkeypatch.setattr(file_inputs, "MIN_BYTES", 0)
    assert isinstance(file_input(big, "r", SCHEMA), FileInput)
    quoted = _write(tmp_path, "q.csv", 'a,s,x\n1,"two\nlines",2.0\n')
    assert file_input(quoted, "r", SCHEMA) is None  # a quoted field may hold a line end
    none = Schema(())
    assert file_input(_write(tmp_path, "z.facts", "\n\n"), "z", none) is None  # blank lines are rows
    with pytest.raises(DflError) as e:
        file_input(str(tmp_path / "missing.csv"), "r", SCHEMA)
    assert e.value.kind == "input" and "file not found" in e.value.message


GROUPBY = """
input fact(id: int, k: int, v: int)
input name(k: int, s: str)
output agg(s: str, c: int, t: int)
agg(s, count(), sum(v)) :- fact(_, k, v), name(k, s).
"""


def test_a_run_on_the_pool_with_every_input_cut_matches_one_process(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(file_inputs, "MIN_BYTES", 0)
    (tmp_path / "fact.csv").write_text("id,k,v\n" + "".join(f"{i},{i % 13},{i % 5}\n" for i in range(3000)))
    (tmp_path / "name.facts").write_text("".join(f"{k}\tn{k % 4}\n" for k in range(13)))
    prog = dfl.compile(GROUPBY)
    want = prog.run(input_dir=str(tmp_path))
    with LocalPool(2) as pool:
        for parts in (2, 3):
            got = prog.run(input_dir=str(tmp_path), workers=parts, pool=pool)
            assert got["agg"] == want["agg"]
            srcs = [n for n in got.dist.placed.graph.nodes if n.op == "source"]
            assert all(n.attr("dist") == "any" for n in srcs)  # read where they are, not via the driver
            assert got.dist.plan.stats.input_bytes == 0


def test_a_bad_line_read_by_a_worker_is_an_input_error_with_its_line(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(file_inputs, "MIN_BYTES", 0)
    rows = [f"{i},{i % 13},{i % 5}" for i in range(400)]
    rows[350] = "350,x,1"
    (tmp_path / "fact.csv").write_text("id,k,v\n" + "\n".join(rows) + "\n")
    (tmp_path / "name.facts").write_text("1\ta\n")
    prog = dfl.compile(GROUPBY)
    with pytest.raises(DflError) as want:
        prog.run(input_dir=str(tmp_path))
    with LocalPool(2) as pool, pytest.raises(DflError) as got:
        prog.run(input_dir=str(tmp_path), workers=2, pool=pool)
    assert got.value.kind == "input" and got.value.span == want.value.span
    assert got.value.render() == want.value.render()


def test_parts_read_natively_are_frames(tmp_path) -> None:
    """Each part goes through the native reader (columns), not a tuple per line."""
    from dfl.backends.columnar.frame import Frame

    path = _write(tmp_path, "r.csv", CSV)
    cs = chunks(FileInput(path, "r", SCHEMA, "csv"), 3)
    assert all(isinstance(c.rows(), Frame) for c in cs)


def test_a_parquet_file_is_cut_between_row_groups(tmp_path, monkeypatch) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    (tmp_path / "name.facts").write_text("".join(f"{k}\tn{k % 4}\n" for k in range(13)))
    table = pa.table({"id": list(range(3000)), "k": [i % 13 for i in range(3000)], "v": [i % 5 for i in range(3000)]})
    pq.write_table(table, str(tmp_path / "fact.parquet"), row_group_size=500)
    fi = file_input(str(tmp_path / "fact.parquet"), "fact", dfl.compile(GROUPBY).inputs["fact"])
    assert isinstance(fi, FileInput) and len(chunks(fi, 4)) == 4
    assert sum(len(c.rows()) for c in chunks(fi, 4)) == 3000
    prog = dfl.compile(GROUPBY)
    want = prog.run(input_dir=str(tmp_path))
    with LocalPool(2) as pool:
        for parts in (1, 2, 3):
            got = prog.run(input_dir=str(tmp_path), workers=parts, pool=pool)
            assert got["agg"] == want["agg"]
    assert want["agg"] == sorted(want["agg"]) and len(want["agg"]) == 4


def test_a_parquet_file_of_the_wrong_type_is_reported_by_the_driver(tmp_path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table({"id": list(range(10)), "k": [str(i) for i in range(10)], "v": list(range(10))})
    pq.write_table(table, str(tmp_path / "fact.parquet"), row_group_size=3)
    with pytest.raises(DflError) as e:
        file_input(str(tmp_path / "fact.parquet"), "fact", dfl.compile(GROUPBY).inputs["fact"])
    assert "column k of relation fact has type string, declared int" in e.value.message
