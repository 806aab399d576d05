"""`lang/pretty.py`: the AST printed back as DFL re-parses to the same program (spans aside)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from dfl.errors import DflError, Span
from dfl.lang import ast, pretty
from dfl.lang.parser import parse

REPO = Path(__file__).resolve().parents[2]
SUITES = [REPO / "examples", REPO.parent / "shared" / "acceptance"]


def strip(x):
    """An AST value with every span (and the file name) removed, comparable with ==."""
    if isinstance(x, Span):
        return None
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return (type(x).__name__,) + tuple(
            (f.name, strip(getattr(x, f.name))) for f in dataclasses.fields(x)
            if f.name not in ("span", "name_span", "file", "source"))
    if isinstance(x, (list, tuple)):
        return tuple(strip(i) for i in x)
    if isinstance(x, frozenset):
        return tuple(sorted(x))
    if isinstance(x, float) and x != x:
        return "nan"
    return x


def same_program(a: ast.Program, b: ast.Program) -> None:
    assert strip(a.decls) == strip(b.decls)
    assert strip(a.fns) == strip(b.fns)
    assert strip(a.rules) == strip(b.rules)


def roundtrip(src: str) -> str:
    p1 = parse(src)
    text = pretty.program(p1)
    try:
        p2 = parse(text)
    except DflError as e:  # pragma: no cover - a failure message that shows the printed text
        pytest.fail(f"pretty output does not parse:\n{text}\n{e.render()}")
    same_program(p1, p2)
    assert pretty.program(p2) == text  # printing is a fixed point
    return text


def programs() -> list[Path]:
    out = []
    for suite in SUITES:
        if suite.is_dir():
            out += sorted(suite.glob("*/prog.dfl"))
    return out


def _parses(path: Path) -> bool:
    try:
        parse(path.read_text(encoding="utf-8"))
        return True
    except DflError:
        return False


@pytest.mark.parametrize("path", [p for p in programs() if _parses(p)],
                         ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}")
def test_suite_programs_roundtrip(path: Path) -> None:
    roundtrip(path.read_text(encoding="utf-8"))


EVERY_FORM = r'''
input  edge(src: int, dst: int)
output path(src: int, dst: int)
rel    hop(src: int, dst: int)
input output base(a: str, b: str)
output dist(node: int, d: min<int>, far: max<float>)
table  store(key: str, val: str)
channel put(key: str, val: str)
rel    done()
fn sq(x: float) -> float = x * x
fn dist2(ax: float, ay: float, bx: float, by: float) -> float = sqrt(sq(ax - bx) + sq(ay - by))
fn pick(b: bool, x: int) -> int = if b then x else -x
edge(1, 2).
edge(-3, 4).
base("a\"b\n", "tab\there\\").
done().
path(x, y) :- edge(x, y).
path(x, z) :- path(x, y), edge(y, z).
hop(x, y + 1) :- edge(x, y), !path(y, x), x != y.
hop(x, y) :- edge(x, y), (x < y ; x > y + 2), x >= 0.
hop(x, x) :- edge(x, _), x <= 10, (x + 1) * 2 > 3 - (4 - x).
hop(n, n) :- n = count : edge(_, _).
hop(x, s) :- edge(x, _), s = sum w : { edge(x, w), w > 0, !path(w, x) }.
hop(x, m) :- edge(x, _), m = max (-w) : edge(x, w).
hop(x, m) :- edge(x, _), m = min (w * 2 + 1) : edge(x, w).
hop(x, m) :- edge(x, _), m = sum 1 : edge(x, _).
hop(x, to_int(m)) :- edge(x, _), m = mean (to_float(w) / 2) : edge(x, w).
hop(x, count()) :- edge(x, _).
hop(x, sum(y * 2)) :- edge(x, y).
dist(x, min(y), max(1.5 * y)) :- edge(x, y).
dist(x, min(x, y), max(x, 1.0)) :- edge(x, y).
hop(len(w), i) :- base(a, _), w in split(lower(a), " "), i in range(0, len(w)).
hop(x, y) :- edge(x, y), starts_with(to_str(x), "1"), !ends_with(to_str(y), "9").
hop(x, z) :- edge(x, y), z = if x > y then x // y else (if y = 0 then 0 else y % 3).
hop(x, 1 + (if x > 1 then 2 else 3)) :- edge(x, _).
hop(x, y) :- edge(x, y), 1e-3 < 2.0e5, 2.5e+20 > -0.5, abs(-x) = x.
hop(x, y) :- edge(x, y), (x < y) = true, false != (x > y).
path(x, y) :- edge(x, y), x - -7 > y, - -x = x, -(x * y) < 0, -x // 2 < 1.
next store(k, v) :- put(k, v).
delete store(k, old) :- put(k, _), store(k, old).
next done() :- true.
'''


def test_every_syntax_form_roundtrips() -> None:
    text = roundtrip(EVERY_FORM)
    assert "rel done()" in text


def test_disjunction_is_printed_in_dnf() -> None:
    text = pretty.program(parse("p(x) :- a(x), (b(x) ; c(x)).\nq(x) :- a(x), b(x) ; c(x)."))
    assert text.splitlines() == [
        "p(x) :- a(x), b(x).",
        "p(x) :- a(x), c(x).",
        "q(x) :- a(x), b(x).",
        "q(x) :- c(x).",
    ]


@pytest.mark.parametrize("value", [
    "", "plain", 'quote " inside', "back \\ slash", "new\nline", "tab\tchar", "# hash", "ünï ✓", '\\"', "\\n",
])
def test_strings_roundtrip(value: str) -> None:
    (r,) = parse("s(" + pretty.const(value) + ").").rules
    assert r.head.args[0].value == value


@pytest.mark.parametrize("value", [0.0, 1.5, -2.25, 1e-3, 1e20, 2.5e-7, 1e16, 123456789.125, 5.0, 1e300])
def test_floats_roundtrip(value: float) -> None:
    text = pretty.const(value)
    (r,) = parse(f"f({text}).").rules
    c = r.head.args[0]
    assert isinstance(c.value, float) and c.value == value


@pytest.mark.parametrize("value", [0, 7, -7, 9223372036854775807, -9223372036854775808])
def test_ints_roundtrip(value: int) -> None:
    (r,) = parse(f"f({pretty.const(value)}).").rules
    assert r.head.args[0].value == value and r.head.args[0].type.name == "INT"


def test_negative_constant_aggregate_operand_roundtrips() -> None:
    roundtrip("p(m) :- m = max (-7) : q(x).")


def test_annotations_roundtrip() -> None:
    src = "@partition(src)\n@slo(p99_ms = 50)\nrel hop(src: int)\n@device(cpu)\nhop(x) :- q(x).\n" \
          "@replicas(min = 0, max = 8)\nfn f(x: int) -> int = x\n"
    p1 = parse(src)
    p2 = parse(pretty.program(p1))
    assert strip(p2.decls) == strip(p1.decls)
    assert strip(p2.rules) == strip(p1.rules)
    assert strip(p2.fns) == strip(p1.fns)


def test_async_send_head_roundtrips() -> None:
    roundtrip("reply@c(id, v) :- get(id, k, c), store(k, v).")


def test_printed_program_checks_and_runs_the_same() -> None:
    import dfl

    src = (REPO / "examples" / "reachability" / "prog.dfl").read_text(encoding="utf-8")
    if "input" not in src:  # pragma: no cover
        pytest.skip("example changed")
    a = dfl.compile(src)
    b = dfl.compile(pretty.program(parse(src)))
    edges = [(1, 2), (2, 3), (3, 1), (3, 4)]
    (rel,) = a.inputs
    assert a.run(**{rel: edges}).relations == b.run(**{rel: edges}).relations
