"""The recursion-shapes pass (compiler/passes/recursion_shapes.py) on IR text: which
fixpoints it annotates, with what, and that the cpu backend's kernels follow the annotation."""
from __future__ import annotations

import pytest

import dfl
from dfl.backends.cpu.plan import CpuBackend
from dfl.compiler.passes.recursion_shapes import recursion_shapes
from dfl.ir import json_io
from dfl.ir.text import parse_graph, print_graph
from dfl.ir.verify import verify

# tc(x, y) :- e(x, y).  tc(x, z) :- <RULE>.  with the semi-naive body's join and map given
CLOSURE = """dfl-ir 1
relation e(a: int, b: int) kinds=[input]
relation tc(a: int, b: int) kinds=[output]
n1 = source() {rel="e", kind="input"} : (a: int, b: int)
n2 = distinct(n1) : (a: int, b: int)
n11 = fixpoint(n2, n2) {rels=["tc"], exts=["e"], body=graph} : ()
  body {
    n5.delta = param() {name="delta:tc"} : (a: int, b: int)
    n6 = param() {name="ext:e"} : (a: int, b: int)
    n7 = join(LEFT, RIGHT) {left_keys=[LK], right_keys=[RK]} : (c0: int, c1: int, c2: int, c3: int)
    n8 = map(n7) {exprs=[$OUT0:int, $OUT1:int]} : (a: int, b: int)
    n9 = union(n8) : (a: int, b: int)
    n10 = yield(n9) {rel="tc"} : (a: int, b: int)
  }
n12 = result(n11) {rel="tc"} : (a: int, b: int)
n13 = sink(n12) {rel="tc"} : (a: int, b: int)
"""

# dist(y, d + w) :- dist(x, d), road(x, y, w).
MIN_PATH = """dfl-ir 1
relation road(a: int, b: int, w: int) kinds=[input]
relation dist(n: int, d: min<int>) kinds=[output]
n1 = source() {rel="road", kind="input"} : (a: int, b: int, w: int)
n2 = values() {rows=[(1, 0)]} : (n: int, d: min<int>)
n11 = fixpoint(n2, n1) {rels=["dist"], exts=["road"], body=graph} : ()
  body {
    n5.delta = param() {name="delta:dist"} : (n: int, d: min<int>)
    n6 = param() {name="ext:road"} : (a: int, b: int, w: int)
    n7 = join(n5.delta, n6) {left_keys=[0], right_keys=[0]} : (c0: int, c1: int, c2: int, c3: int, c4: int)
    n8 = map(n7) {exprs=[$3:int, VALUE]} : (n: int, d: min<int>)
    n9 = union(n8) : (n: int, d: min<int>)
    n10 = yield(n9) {rel="dist"} : (n: int, d: min<int>)
  }
n12 = result(n11) {rel="dist"} : (n: int, d: min<int>)
n13 = sink(n12) {rel="dist"} : (n: int, d: min<int>)
"""


def closure(left: str, right: str, lk: int, rk: int, out: tuple[int, int]):
    text = (CLOSURE.replace("LEFT", left).replace("RIGHT", right).replace("LK", str(lk))
            .replace("RK", str(rk)).replace("OUT0", str(out[0])).replace("OUT1", str(out[1])))
    g = parse_graph(text)
    verify(g)
    return g


def shape_of(g) -> tuple | None:
    (fix,) = recursion_shapes(g).by_op("fixpoint")
    return fix.attr("shape")


def test_closure_extended_at_the_right() -> None:
    # tc(x, z) :- tc(x, y), e(y, z): tc.b = e.a, out (tc.a, e.b)
    assert shape_of(closure("n5.delta", "n6", 1, 0, (0, 3))) == ("closure", "e", "right")


def test_closure_extended_at_the_left() -> None:
    # tc(x, z) :- e(x, y), tc(y, z): e.b = tc.a, out (e.a, tc.b)
    assert shape_of(closure("n6", "n5.delta", 1, 0, (0, 3))) == ("closure", "e", "left")


@pytest.mark.parametrize("left, right, lk, rk, out", [
    ("n5.delta", "n6", 1, 0, (0, 2)),  # out (tc.a, e.a): not a path step
    ("n5.delta", "n6", 0, 0, (1, 3)),  # joined on tc's source
    ("n5.delta", "n5.delta", 1, 0, (0, 3)),  # tc(x, z) :- tc(x, y), tc(y, z): two recursive atoms
    ("n6", "n6", 1, 0, (0, 3)),  # no recursive atom at all
])
def test_other_bodies_get_no_shape(left, right, lk, rk, out) -> None:
    assert shape_of(closure(left, right, lk, rk, out)) is None


def test_min_path_and_its_positions() -> None:
    g = parse_graph(MIN_PATH.replace("VALUE", "add:int($1:int, $4:int)"))
    verify(g)
    assert shape_of(g) == ("min_path", "road", 0, 1, 2)


@pytest.mark.parametrize("value", ["sub:int($1:int, $4:int)", "add:int($1:int, 1:int)", "$4:int"])
def test_a_step_that_is_not_an_added_weight_gets_no_shape(value: str) -> None:
    assert shape_of(parse_graph(MIN_PATH.replace("VALUE", value))) is None


def test_the_annotation_prints_and_reads_back() -> None:
    g = recursion_shapes(closure("n5.delta", "n6", 1, 0, (0, 3)))
    verify(g)
    text = print_graph(g)
    assert 'shape=["closure", "e", "right"]' in text
    assert parse_graph(text) == g
    assert json_io.loads(json_io.dumps(g)) == g
    assert recursion_shapes(g) == g  # idempotent


def test_opt_output_and_explain_show_the_shape(dfl_cli, tmp_path) -> None:
    prog = tmp_path / "tc.dfl"
    prog.write_text("input e(a: int, b: int)\noutput tc(a: int, b: int)\ntc(x, y) :- e(x, y).\n"
                    "tc(x, z) :- tc(x, y), e(y, z).\n")
    r = dfl_cli("compile", "--emit", "opt", str(prog))
    assert r.returncode == 0 and 'shape=["closure", "e", "right"]' in r.stdout
    r = dfl_cli("explain", str(prog))
    assert r.returncode == 0 and "recursion shape: linear closure of tc over e" in r.stdout


@pytest.mark.parametrize("value, kernel", [(None, "closures"), ("add:int($1:int, $4:int)", "shortest_paths")])
def test_the_cpu_kernel_follows_the_annotation(value, kernel) -> None:
    if value is None:
        g, inputs = closure("n5.delta", "n6", 1, 0, (0, 3)), {("input", "e"): [(1, 2), (2, 3), (3, 1)]}
    else:
        g, inputs = parse_graph(MIN_PATH.replace("VALUE", value)), {("input", "road"): [(1, 2, 5), (2, 3, 1)]}
    annotated = recursion_shapes(g)
    plain, special = CpuBackend().compile(g).run(inputs), CpuBackend().compile(annotated).run(inputs)
    assert kernel not in plain.stats and plain.stats["iterations"] > 0  # no annotation: the generic loop
    assert special.stats[kernel] == 1 and "iterations" not in special.stats
    assert plain.sinks == special.sinks


def test_every_shape_in_a_compiled_program_is_found_by_the_pipeline() -> None:
    g = dfl.compile("input e(a: int, b: int)\noutput tc(a: int, b: int)\ntc(x, y) :- e(x, y).\n"
                    "tc(x, z) :- e(x, y), tc(y, z).\n").graph
    (fix,) = g.by_op("fixpoint")
    assert fix.attr("shape") == ("closure", "e", "left")


@pytest.mark.parametrize("shape", [
    ("closure", "x", "right"),  # not an ext of the fixpoint
    ("closure", "e", "up"),
    ("closure", "e"),
    ("min_path", "e", 0, 1, 2),  # e is binary: no weight column
    ("spiral", "e", "right"),
    "closure",
])
def test_the_verifier_rejects_a_malformed_shape(shape) -> None:
    from dfl.ir.verify import IRError

    g = closure("n5.delta", "n6", 1, 0, (0, 3))
    bad = g.with_nodes(n.with_attrs(shape=shape) if n.op == "fixpoint" else n for n in g.nodes)
    with pytest.raises(IRError, match="shape"):
        verify(bad)


# ---------------------------------------------------------------- least labels (issue 14)
import numpy as np  # noqa: E402


LABELS = """
input e(a: int, b: int)
input f(a: int, b: int)
input seed(n: int, l: {t})
output d(n: int, l: min<{t}>)
d(n, l) :- seed(n, l).
{rules}
"""


@pytest.mark.parametrize("rules,shape", [
    ("d(y, l) :- d(x, l), e(x, y).", ("min_label", "e", 0, 1)),
    ("d(y, l) :- d(x, l), e(y, x).", ("min_label", "e", 1, 0)),
    ("d(y, l) :- d(x, l), e(x, y).\nd(y, l) :- e(y, x), d(x, l).\nd(y, l) :- d(x, l), f(x, y).",
     ("min_label", "e", 0, 1, "e", 1, 0, "f", 0, 1)),
])
def test_labels_passed_along_edges_are_the_min_label_shape(rules: str, shape: tuple) -> None:
    (fix,) = dfl.compile(LABELS.format(t="int", rules=rules)).graph.by_op("fixpoint")
    assert fix.attr("shape") == shape


@pytest.mark.parametrize("rules", [
    "d(y, l + 1) :- d(x, l), e(x, y).",  # the label changes on the way
    "d(y, l) :- d(x, l), e(x, y), y != 3.",  # a filter
    "d(x, l) :- d(x, l), e(x, y).",  # the label stays on the node
])
def test_other_label_rules_keep_the_generic_loop(rules: str) -> None:
    (fix,) = dfl.compile(LABELS.format(t="int", rules=rules)).graph.by_op("fixpoint")
    assert fix.attr("shape") is None


@pytest.mark.parametrize("t", ["int", "float"])
@pytest.mark.parametrize("seed", range(4))
def test_least_labels_equal_the_generic_loop(t: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    rules = "d(y, l) :- d(x, l), e(x, y).\nd(y, l) :- d(x, l), e(y, x).\nd(y, l) :- d(x, l), f(x, y)."
    prog = dfl.compile(LABELS.format(t=t, rules=rules))
    e = [tuple(map(int, r)) for r in rng.integers(-20, 60, (70, 2))]
    f = [tuple(map(int, r)) for r in rng.integers(0, 80, (30, 2))]
    labels = rng.integers(-5, 100, 25) if t == "int" else rng.normal(size=25)
    if t == "float":
        labels[:3] = [0.0, -0.0, np.inf]
    seeds = [(int(n), lab.item()) for n, lab in zip(rng.integers(-20, 80, 25), labels)]
    want = sorted(prog.run(target="interp", e=e, f=f, seed=seeds)["d"])
    got = prog.run(target="cpu", e=e, f=f, seed=seeds)
    assert sorted(got["d"]) == want
    assert got.stats.get("min_labels") == 1  # the search ran, not the generic loop


def test_a_nan_label_falls_back_to_the_generic_loop() -> None:
    prog = dfl.compile(LABELS.format(t="float", rules="d(y, l) :- d(x, l), e(x, y)."))
    rows = dict(e=[(1, 2), (2, 3)], f=[], seed=[(1, float("nan")), (2, 0.5)])
    got = prog.run(target="cpu", **rows)
    assert "min_labels" not in got.stats
    assert repr(sorted(got["d"])) == repr(sorted(prog.run(target="interp", **rows)["d"]))
