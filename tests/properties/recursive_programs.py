"""Hypothesis strategy: recursive programs from a small grammar of rule templates, for the
parity of the backends and the worker pool on general recursion (issue 14).

A program has up to four strata over three inputs, `n(a)` (nodes), `e(a, b)` (edges) and
`w(a, b, k)` (weighted edges):

1. `a0..a{K-1}`, K = 2..3 mutually recursive set relations of arity 1 or 2: every one has
   a base rule and a rule that reads the next one round the ring (so all are one
   recursive stratum), plus random extras: linear steps over `e`, non-linear joins of two
   group members, flips, projections, filters.
2. lattices, 1..2 relations `m*(x, min<int>)` (shortest distances, `d + k` over `w` with
   `k >= 0`, or hop counts `d + 1` over `e`; two of them are mutually recursive) and
   `x*(x, max<int>)` (the greatest label that reaches a node: label propagation).
3. `b0, b1`: mutually recursive again, with negation of strata 1 and 2 inside the recursive
   rules (`!a0(y, z)`, `!a1(x)`, `!m0(x, _)`) and reads of lattice values (`d < 3`).
4. `c0`: negation of stratum 3 (`!b0(x, y)`) over the inputs.

Programs are valid by construction: every template is a safe rule (each variable of a
head, a negation or a comparison comes from a positive atom of the same rule), negation
and lattice values are read only from lower strata, and recursion terminates (no head
arithmetic but `min` distances over non-negative weights and hop counts; the `max`
lattice only copies labels). Data: 0..8 rows per input, values 0..5.
"""
from __future__ import annotations

from hypothesis import strategies as st

from strategies import GenProgram

VALUE = st.integers(0, 5)

# set relations of the first stratum: templates by (head arity, body arity); `{h}` is the
# head relation, `{b}` a group member read by the rule, `{o}` another member of arity 2
BASE = {1: ["{h}(x) :- n(x).", "{h}(x) :- e(x, _).", "{h}(y) :- w(_, y, k), k > 2."],
        2: ["{h}(x, y) :- e(x, y).", "{h}(x, y) :- w(x, y, _).", "{h}(x, x) :- n(x)."]}
STEP = {(1, 1): ["{h}(y) :- {b}(x), e(x, y).", "{h}(x) :- {b}(x), n(x).", "{h}(y) :- {b}(x), w(x, y, k), k < 4."],
        (1, 2): ["{h}(y) :- {b}(_, y).", "{h}(x) :- {b}(x, y), n(y).", "{h}(x) :- {b}(x, x)."],
        (2, 1): ["{h}(x, y) :- {b}(x), e(x, y).", "{h}(x, y) :- {b}(x), {b}(y), e(y, x)."],
        (2, 2): ["{h}(x, z) :- {b}(x, y), e(y, z).", "{h}(y, x) :- {b}(x, y).",
                 "{h}(x, z) :- {b}(x, y), {o}(y, z).", "{h}(x, z) :- e(x, y), {b}(y, z), x != z.",
                 "{h}(x, y) :- {b}(x, y), y < 4."]}


@st.composite
def _first_stratum(draw) -> tuple[list[tuple[str, int]], list[str]]:
    k = draw(st.integers(2, 3))
    group = [(f"a{i}", draw(st.integers(1, 2))) for i in range(k)]
    pairs = [name for name, ar in group if ar == 2]
    rules = []
    for i, (h, ar) in enumerate(group):
        rules.append(draw(st.sampled_from(BASE[ar])).format(h=h))
        readers = [group[(i + 1) % k]] + [draw(st.sampled_from(group)) for _ in range(draw(st.integers(0, 2)))]
        for b, bar in readers:
            templates = STEP[(ar, bar)]
            if not pairs:
                templates = [t for t in templates if "{o}" not in t]
            t = draw(st.sampled_from(templates))
            rules.append(t.format(h=h, b=b, o=draw(st.sampled_from(pairs)) if pairs else b))
    return group, rules


@st.composite
def _lattices(draw, lower: list[tuple[str, int]]) -> tuple[list[str], list[str], list[str]]:
    """(declarations, rules, the min relations) of stratum 2."""
    seeds = [f"{r}(x)" if ar == 1 else f"{r}(x, _)" for r, ar in lower] + ["n(x)"]
    decls, rules, mins = [], [], []
    if draw(st.booleans()):
        decls += ["output m0(c0: int, c1: min<int>)"]
        rules += [f"m0(x, 0) :- {draw(st.sampled_from(seeds))}."]
        mins.append("m0")
        step = draw(st.sampled_from(["w(x, y, k), k >= 0", "e(x, y), k = 1"]))
        if draw(st.booleans()):  # m0 and m1 mutually recursive, one step each
            decls += ["output m1(c0: int, c1: min<int>)"]
            rules += [f"m1(y, d + k) :- m0(x, d), {step}.", "m0(y, d + 1) :- m1(x, d), e(x, y).",
                      f"m1(x, 0) :- {draw(st.sampled_from(seeds))}."]
            mins.append("m1")
        else:
            rules += [f"m0(y, d + k) :- m0(x, d), {step}."]
    if draw(st.booleans()) or not decls:
        decls += ["output x0(c0: int, c1: max<int>)"]
        rules += [draw(st.sampled_from(["x0(x, x) :- n(x).", "x0(y, k) :- w(_, y, k).", "x0(x, y) :- e(x, y)."])),
                  draw(st.sampled_from(["x0(y, l) :- x0(x, l), e(x, y).", "x0(x, l) :- x0(y, l), e(x, y)."]))]
    return decls, rules, mins


@st.composite
def _negated_stratum(draw, lower: list[tuple[str, int]], mins: list[str]) -> list[str]:
    """b0(x, y), b1(x): mutually recursive, negating and reading lower strata."""
    def neg(var: str) -> str:
        r, ar = draw(st.sampled_from(lower))
        if ar == 1:
            return f"!{r}({var})"
        return draw(st.sampled_from([f"!{r}({var}, _)", f"!{r}(_, {var})", f"!{r}({var}, {var})"]))

    rules = [f"b0(x, y) :- e(x, y), {neg('x')}.",
             f"b0(x, z) :- b1(x), e(x, y), e(y, z), {neg('z')}.",
             f"b1(y) :- b0(_, y), {neg('y')}."]
    if draw(st.booleans()):
        rules.append("b0(x, z) :- b0(x, y), b0(y, z).")  # non-linear in the negating stratum
    if mins:
        m = draw(st.sampled_from(mins))
        rules.append(draw(st.sampled_from([f"b1(x) :- {m}(x, d), d < 3.", f"b1(x) :- n(x), !{m}(x, _).",
                                            f"b0(x, d) :- {m}(x, d), b1(x)."])))
    else:
        rules.append("b1(x) :- x0(x, l), l > x.")
    return rules


@st.composite
def recursive_programs(draw) -> GenProgram:
    group, rules = draw(_first_stratum())
    decls = ["input n(c0: int)", "input e(c0: int, c1: int)", "input w(c0: int, c1: int, c2: int)"]
    decls += [f"output {r}({', '.join(f'c{i}: int' for i in range(ar))})" for r, ar in group]
    more_decls, more_rules, mins = draw(_lattices(group))
    decls += more_decls
    rules += more_rules
    if draw(st.integers(0, 4)) > 0:  # the negating strata, most of the time
        decls += ["output b0(c0: int, c1: int)", "output b1(c0: int)"]
        rules += draw(_negated_stratum(group, mins))
        if draw(st.booleans()):
            decls.append("output c0(c0: int, c1: int)")
            rules.append(draw(st.sampled_from(["c0(x, y) :- w(x, y, _), !b0(x, y).",
                                               "c0(x, y) :- e(y, x), !b0(x, y), !b1(y)."])))
    rules = draw(st.permutations(rules))  # the order of rules never matters
    source = "\n".join(decls) + "\n\n" + "\n".join(rules) + "\n"
    n_rows = lambda: draw(st.integers(0, 8))  # noqa: E731
    data = {"n": [(draw(VALUE),) for _ in range(n_rows())],
            "e": [(draw(VALUE), draw(VALUE)) for _ in range(draw(st.integers(1, 8)))],
            "w": [(draw(VALUE), draw(VALUE), draw(VALUE)) for _ in range(n_rows())]}
    if draw(st.booleans()):  # a path: recursion runs several iterations and distances improve late
        data["e"] += [(i, i + 1) for i in range(5)]
    return GenProgram(source, data)
