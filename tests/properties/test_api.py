"""The Python API (dfl/api.py): compile, load, run; rows in and out; input files; errors.

    prog = dfl.compile(source)            # or dfl.load(path)
    result = prog.run(edge=[(1, 2)])      # rows as Python values, or input_dir= / files=
    result["path"]                        # sorted list of tuples; result.as_dicts("path")
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

import dfl
from dfl import DflError
from strategies import GenProgram, programs

REACH = """\
input  edge(src: int, dst: int)
output path(src: int, dst: int)
path(x, y) :- edge(x, y).
path(x, z) :- path(x, y), edge(y, z).
"""


@pytest.fixture(scope="module")
def reach() -> dfl.Program:
    return dfl.compile(REACH)


def _error(fn, *args, **kwargs) -> DflError:
    with pytest.raises(DflError) as info:
        fn(*args, **kwargs)
    return info.value


# ---------------------------------------------------------------- compile, run, results


def test_compile_and_run(reach) -> None:
    result = reach.run(edge=[(1, 2), (2, 3)])
    assert result["path"] == [(1, 2), (1, 3), (2, 3)]
    assert list(result) == ["path"] and len(result) == 1 and "path" in result


def test_rows_are_sorted_numerically_and_distinct(reach) -> None:
    rows = reach.run(edge=[(10, 2), (2, 3), (1, 10), (2, 3), (-1, 1)])["path"]
    assert rows == sorted(set(rows))
    assert rows[0] == (-1, 1) and rows[-1] == (10, 3)  # 10 after 2: numbers, not text
    assert all(type(r) is tuple for r in rows)


def test_as_dicts(reach) -> None:
    result = reach.run(edge=[(2, 3), (1, 2)])
    assert result.as_dicts("path") == [{"src": 1, "dst": 2}, {"src": 1, "dst": 3}, {"src": 2, "dst": 3}]


def test_unknown_output_is_a_key_error_naming_the_outputs(reach) -> None:
    result = reach.run(edge=[])
    assert result["path"] == []
    with pytest.raises(KeyError, match="path"):
        result["nope"]


def test_inputs_mapping_and_keywords_agree(reach) -> None:
    rows = [(1, 2), (2, 1)]
    assert reach.run({"edge": rows})["path"] == reach.run(edge=rows)["path"] == [(1, 1), (1, 2), (2, 1), (2, 2)]


def test_rows_may_be_lists_and_any_iterable(reach) -> None:
    assert reach.run(edge=[[1, 2]])["path"] == [(1, 2)]
    assert reach.run(edge=((i, i + 1) for i in range(3)))["path"] == [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3),
                                                                       (2, 3)]


def test_running_twice_on_one_program(reach) -> None:
    first = reach.run(edge=[(1, 2), (2, 3)])
    second = reach.run(edge=[(5, 6)])
    assert second["path"] == [(5, 6)]  # nothing left over from the first run
    assert first["path"] == [(1, 2), (1, 3), (2, 3)]  # and the first result is unchanged
    assert reach.run(edge=[(1, 2), (2, 3)])["path"] == first["path"]


def test_zero_column_and_lattice_outputs() -> None:
    prog = dfl.compile("""\
input  road(a: int, b: int, km: int)
output dist(node: int, km: min<int>)
output reached()
dist(0, 0).
dist(b, d + k) :- dist(a, d), road(a, b, k).
reached() :- dist(3, _).
""")
    result = prog.run(road=[(0, 1, 5), (0, 2, 1), (2, 1, 1), (1, 3, 1)])
    assert result["dist"] == [(0, 0), (1, 2), (2, 1), (3, 3)]
    assert result["reached"] == [()]
    assert prog.run(road=[(0, 1, 5)])["reached"] == []


def test_facts_in_the_program_are_added_to_given_rows() -> None:
    prog = dfl.compile(REACH + "edge(7, 8).\n")
    assert prog.run(edge=[(8, 9)])["path"] == [(7, 8), (7, 9), (8, 9)]
    assert prog.run()["path"] == [(7, 8)]  # no rows and no file: facts (or rules) suffice


def test_dfl_run_with_source_text_or_a_path(tmp_path: Path) -> None:
    assert dfl.run(REACH, edge=[(1, 2)])["path"] == [(1, 2)]
    path = tmp_path / "reach.dfl"
    path.write_text(REACH, encoding="utf-8")
    assert dfl.run(str(path), edge=[(3, 4)])["path"] == [(3, 4)]
    assert dfl.run(path, edge=[(3, 4)])["path"] == [(3, 4)]


# ---------------------------------------------------------------- load and files


def test_load(tmp_path: Path) -> None:
    path = tmp_path / "reach.dfl"
    path.write_text(REACH, encoding="utf-8")
    prog = dfl.load(path)
    assert prog.file == str(path)
    assert prog.run(edge=[(1, 2)])["path"] == [(1, 2)]
    assert set(prog.inputs) == {"edge"} and set(prog.outputs) == {"path"}


def test_load_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    err = _error(dfl.load, tmp_path / "nope.dfl")
    assert err.kind == "usage" and "nope.dfl" in err.message


def test_compile_error_is_a_dfl_error() -> None:
    err = _error(dfl.compile, "output p(x: int)\np(x) :- q(x).")
    assert err.kind == "compile" and "q" in err.message


def test_input_dir_csv_and_facts(reach, tmp_path: Path) -> None:
    (tmp_path / "edge.csv").write_text("src,dst\n1,2\n2,3\n", encoding="utf-8")
    assert reach.run(input_dir=str(tmp_path))["path"] == [(1, 2), (1, 3), (2, 3)]
    facts_dir = tmp_path / "facts"
    facts_dir.mkdir()
    (facts_dir / "edge.facts").write_text("5\t6\n", encoding="utf-8")
    assert reach.run(input_dir=str(facts_dir))["path"] == [(5, 6)]
    (facts_dir / "edge.csv").write_text("src,dst\n7,8\n", encoding="utf-8")
    assert reach.run(input_dir=str(facts_dir))["path"] == [(7, 8)]  # r.csv before r.facts


def test_files_mapping_comes_before_input_dir(reach, tmp_path: Path) -> None:
    (tmp_path / "edge.csv").write_text("src,dst\n1,2\n", encoding="utf-8")
    other = tmp_path / "other.facts"
    other.write_text("3\t4\n", encoding="utf-8")
    assert reach.run(files={"edge": str(other)})["path"] == [(3, 4)]
    assert reach.run(input_dir=str(tmp_path), files={"edge": str(other)})["path"] == [(3, 4)]


def test_python_rows_come_before_files(reach, tmp_path: Path) -> None:
    (tmp_path / "edge.csv").write_text("src,dst\n1,2\n", encoding="utf-8")
    assert reach.run(input_dir=str(tmp_path), edge=[(9, 9)])["path"] == [(9, 9)]


def test_missing_input_is_an_input_error(reach, tmp_path: Path) -> None:
    err = _error(reach.run)
    assert err.kind == "input" and "edge" in err.message
    err = _error(reach.run, input_dir=str(tmp_path))
    assert err.kind == "input" and "edge" in err.message
    err = _error(reach.run, files={"edge": str(tmp_path / "gone.csv")})
    assert err.kind == "input" and "gone.csv" in err.message


def test_bad_file_value_names_file_line_and_column(reach, tmp_path: Path) -> None:
    (tmp_path / "edge.csv").write_text("src,dst\n1,2\n3,x\n", encoding="utf-8")
    err = _error(reach.run, input_dir=str(tmp_path))
    assert err.kind == "input"
    text = str(err)
    assert "edge.csv" in text and "3" in text and "dst" in text


# ---------------------------------------------------------------- rows given from Python: errors


def test_wrong_arity_row(reach) -> None:
    err = _error(reach.run, edge=[(1, 2), (1, 2, 3)])
    assert err.kind == "input"
    assert "edge" in err.message and "row 2" in err.message and "2 column" in err.message


def test_wrong_type_names_relation_row_and_column(reach) -> None:
    err = _error(reach.run, edge=[(1, 2), (3, 4), (5, "six")])
    assert err.kind == "input"
    assert "edge" in err.message and "row 3" in err.message
    assert "column 2" in err.message and "dst" in err.message and "'six'" in err.message


def test_a_row_that_is_not_a_sequence_is_an_input_error(reach) -> None:
    """`edge=[1]` or `edge=[None]` (not a tuple) is bad input like any wrong arity, not a TypeError."""
    for bad in ([1], [(1, 2), None]):
        err = _error(reach.run, edge=bad)
        assert err.kind == "input" and "edge" in err.message


def test_rows_that_are_not_iterable_are_an_input_error(reach) -> None:
    for bad in ("12", 5):
        err = _error(reach.run, edge=bad)
        assert err.kind == "input" and "edge" in err.message


def test_unknown_relation_names(reach) -> None:
    err = _error(reach.run, edge=[], nope=[(1, 2)])
    assert err.kind == "usage" and "nope" in err.message
    err = _error(reach.run, path=[(1, 2)])  # an output, not an input
    assert "path" in err.message
    err = _error(reach.run, {"edgee": []})
    assert "edgee" in err.message


def test_ints_are_accepted_for_float_columns() -> None:
    prog = dfl.compile("input p(x: float)\noutput q(x: float)\nq(x) :- p(x).")
    rows = prog.run(p=[(1,), (2.5,), (-3,)])["q"]
    assert rows == [(-3.0,), (1.0,), (2.5,)]
    assert all(type(x) is float for (x,) in rows)


def test_bool_is_not_an_int_and_int_is_not_a_bool() -> None:
    prog = dfl.compile("input p(n: int, b: bool)\noutput q(n: int, b: bool)\nq(n, b) :- p(n, b).")
    assert prog.run(p=[(1, True)])["q"] == [(1, True)]
    err = _error(prog.run, p=[(True, True)])
    assert err.kind == "input" and "row 1" in err.message and "column 1" in err.message
    err = _error(prog.run, p=[(1, 1)])
    assert err.kind == "input" and "column 2" in err.message
    err = _error(dfl.compile("input p(x: float)\noutput q(x: float)\nq(x) :- p(x).").run, p=[(False,)])
    assert err.kind == "input"


def test_other_types_are_checked() -> None:
    prog = dfl.compile("input p(n: int, s: str)\noutput q(n: int, s: str)\nq(n, s) :- p(n, s).")
    assert prog.run(p=[(1, "a")])["q"] == [(1, "a")]
    for bad in ([(1.0, "a")], [(1, 2)], [(2 ** 63, "a")], [("1", "a")]):
        assert _error(prog.run, p=bad).kind == "input"
    assert prog.run(p=[(2 ** 63 - 1, "a"), (-(2 ** 63), "b")])["q"] == [(-(2 ** 63), "b"), (2 ** 63 - 1, "a")]


def test_runtime_error_is_a_dfl_error() -> None:
    prog = dfl.compile("input e(a: int)\noutput o(a: int)\no(x // y) :- e(x), e(y).")
    err = _error(prog.run, e=[(1,), (0,)])
    assert err.kind == "runtime" and "division by zero" in err.message


# ---------------------------------------------------------------- a property over generated programs


def _write_inputs(folder: Path, prog: dfl.Program, inputs: dict[str, list[tuple]], fmt: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for rel, rows in inputs.items():
        if fmt == "csv":
            text = ",".join(prog.inputs[rel].names) + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows)
        else:
            text = "".join("\t".join(map(str, r)) + "\n" for r in rows)
        (folder / f"{rel}.{fmt}").write_text(text, encoding="utf-8")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(programs())
def test_rows_from_python_csv_and_facts_agree(tmp_path: Path, gen: GenProgram) -> None:
    """The same rows given as Python values, as CSV in input_dir, or as .facts via files= give the
    same result; every output is sorted and duplicate-free; a second run gives the same again."""
    prog = dfl.compile(gen.source)
    from_python = prog.run(**gen.inputs)
    for rel, rows in from_python.items():
        assert rows == sorted(set(rows)), rel
    case = tmp_path / str(abs(hash(repr(gen))))
    _write_inputs(case / "csv", prog, gen.inputs, "csv")
    _write_inputs(case / "facts", prog, gen.inputs, "facts")
    assert dict(prog.run(input_dir=str(case / "csv")).relations) == dict(from_python.relations)
    files = {rel: os.path.join(case, "facts", f"{rel}.facts") for rel in gen.inputs}
    assert dict(prog.run(files=files).relations) == dict(from_python.relations)
    assert dict(prog.run(**gen.inputs).relations) == dict(from_python.relations)
