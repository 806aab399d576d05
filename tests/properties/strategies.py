"""Hypothesis strategies: random small, valid, stratified DFL programs plus their input data.

`programs()` draws a `GenProgram`: the source text of a program over `int` columns and a
value for every input relation. Programs are valid *by construction*:

- Relations come in *groups*, generated in order; a rule of group k reads the inputs and
  the relations of groups < k freely (positive atoms, negation, head and body aggregates)
  and the relations of its own group only through positive atoms, so every program is
  stratified. A group is one plain relation, one recursive relation (linear or not), two
  mutually recursive relations, or one `min<int>` lattice relation (shortest paths).
- Every variable is introduced by a positive atom, a binding `y = f(x)` or the result of a
  body aggregate before anything else uses it, so every rule is safe; the two sides of a
  disjunction `(a ; b)` bind nothing.
- Recursion terminates: recursive rules have no head expressions, every binding is guarded
  (`y = x + 1` comes with `x >= -1, x < 5`, ...) or takes values that exist already
  (`max(x, z)`, `if`), and an aggregated value uses only the aggregate's body variables, so all
  values lie in a finite range; the lattice rules only add non-negative weights to
  non-negative distances.

Also drawn: constants (`-1` included) and `_` in atoms, repeated variables, comparisons of
expressions, head expressions, facts, rules that add to input relations, `input output`
relations, zero-column relations. The order of rules and of body literals is shuffled
(meaning never depends on it). Input data: 0..10 rows of values 0..5, sometimes with a long
path (`e0`) or a weighted path with shortcuts (`e1`), so that recursion runs many iterations
and lattice values improve late.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import strategies as st

# Rare features are drawn as `integers(0, k) == k`: shrinking (towards 0) then drops them.
VALUE = st.integers(0, 5)  # the domain of input values
CONST = st.integers(-1, 5).map(str)  # constants in rules (`-1` is a constant too)


@dataclass
class Rel:
    name: str
    arity: int  # columns, the lattice one included
    lattice: bool = False  # the last column is `min<int>`
    is_input: bool = False

    def decl(self, kind: str) -> str:
        cols = [f"c{i}: int" for i in range(self.arity)]
        if self.lattice:
            cols[-1] = f"c{self.arity - 1}: min<int>"
        return f"{kind} {self.name}({', '.join(cols)})"


@dataclass
class GenProgram:
    source: str
    inputs: dict[str, list[tuple]] = field(default_factory=dict)

    def __repr__(self) -> str:
        rows = ",\n".join(f"    {k!r}: {v!r}" for k, v in self.inputs.items())
        return f"GenProgram(source='''\n{self.source}''', inputs={{\n{rows}\n}})"

    def _repr_pretty_(self, p, cycle) -> None:  # hypothesis prints falsifying examples with this
        p.text(repr(self))


class _RuleGen:
    """Builds one rule body: literals as text, with the set of variables bound so far."""

    def __init__(self, draw, fresh: list[int]) -> None:
        self.draw = draw
        self.fresh = fresh  # a counter shared by the rules of one program
        self.bound: list[str] = []
        self.lits: list[str] = []
        self.guarded: set[tuple[str, int, int]] = set()

    def new_var(self, prefix: str = "v") -> str:
        self.fresh[0] += 1
        return f"{prefix}{self.fresh[0]}"

    def term(self, pool: list[str], allow_new: bool, new_into: list[str] | None) -> str:
        """An atom argument: a bound variable (a join), a new variable, a constant or `_`."""
        draw = self.draw
        kinds = (["old"] * 3 if pool else []) + (["new"] * 2 if allow_new else []) + ["const", "wild"]
        k = draw(st.sampled_from(kinds))
        if k == "old":
            return draw(st.sampled_from(pool))
        if k == "new":
            v = self.new_var("a" if new_into is not self.bound else "v")
            assert new_into is not None
            new_into.append(v)
            return v
        if k == "const":
            return draw(CONST)
        return "_"

    def atom(self, rel: Rel) -> str:
        args = [self.term(self.bound, True, self.bound) for _ in range(rel.arity)]
        return f"{rel.name}({', '.join(args)})"

    def add_atom(self, rel: Rel) -> None:
        self.lits.append(self.atom(rel))

    def compare(self) -> str:
        draw = self.draw
        v = draw(st.sampled_from(self.bound))
        op = draw(st.sampled_from(["<", "<=", ">", ">=", "!=", "="]))
        rhs = draw(st.one_of(CONST, st.sampled_from(self.bound)))
        if draw(st.integers(0, 3)) == 3:  # comparisons hold any expressions
            u = draw(st.sampled_from(self.bound))
            return draw(st.sampled_from([f"{v} + 1 {op} {rhs}", f"({v} + {u}) % 2 {op} {rhs}",
                                         f"{rhs} {op} {u} * 2", f"-{v} {op} {rhs}"]))
        return f"{v} {op} {rhs}"

    def add_compare(self) -> None:
        self.lits.append(self.compare())

    def add_or(self, lower: list[Rel]) -> None:
        """`(a ; b)` of literals that bind nothing (so both disjuncts keep the rule safe)."""
        draw = self.draw
        alts = []
        for _ in range(2):
            k = draw(st.sampled_from(["cmp", "neg", "atom"]))
            if k == "cmp":
                alts.append(self.compare())
            else:
                rel = draw(st.sampled_from(lower))
                args = ", ".join(self.term(self.bound, False, None) for _ in range(rel.arity))
                alts.append(f"{'!' if k == 'neg' else ''}{rel.name}({args})")
        self.lits.append(f"({alts[0]} ; {alts[1]})")

    def guard(self, v: str, lo: int, hi: int) -> None:
        """lo <= v < hi, so a binding over v cannot grow without bound in a recursion."""
        if (v, lo, hi) not in self.guarded:
            self.guarded.add((v, lo, hi))
            self.lits.append(f"{v} >= {lo}")
            self.lits.append(f"{v} < {hi}")

    def add_binding(self) -> None:
        draw = self.draw
        x = draw(st.sampled_from(self.bound))
        form = draw(st.sampled_from(["add", "sub", "mod", "mul", "two", "floordiv", "if", "call"]))
        if form == "add":
            e = f"{x} + {draw(st.integers(1, 2))}"
            self.guard(x, -1, 5)
        elif form == "sub":
            e = f"{x} - {draw(st.integers(1, 2))}"
            self.guard(x, 0, 7)
        elif form == "mod":
            e = f"{x} % 3"
        elif form == "floordiv":
            e = f"{x} // 2"
            self.guard(x, -1, 7)
        elif form == "mul":
            e = f"{x} * 2"
            self.guard(x, 0, 4)
        elif form == "two":
            z = draw(st.sampled_from(self.bound))
            e = f"{x} + {z}"
            self.guard(x, 0, 4)
            self.guard(z, 0, 4)
        elif form == "if":  # values it can take exist already: no guard needed
            z = draw(st.sampled_from(self.bound))
            e = f"if {x} > {draw(VALUE)} then {z} else {draw(VALUE)}"
        else:
            z = draw(st.sampled_from(self.bound))
            e = draw(st.sampled_from([f"max({x}, {z})", f"min({x}, {draw(VALUE)})", f"abs({x})"]))
        y = self.new_var()
        reverse = form != "if" and draw(st.booleans())  # `e = y` binds y too; `if` parses only on the right
        self.lits.append(f"{e} = {y}" if reverse else f"{y} = {e}")
        self.bound.append(y)

    def add_negation(self, lower: list[Rel]) -> None:
        draw = self.draw
        rel = draw(st.sampled_from(lower))
        args = [self.term(self.bound, False, None) for _ in range(rel.arity)]
        self.lits.append(f"!{rel.name}({', '.join(args)})")

    def add_body_agg(self, lower: list[Rel]) -> None:
        """`r = AGG e : { inner }`: correlated on outer variables, with local ones of its own."""
        draw = self.draw
        local: list[str] = []
        pool = list(self.bound)
        inner = []
        used: list[str] = []  # the variables of the aggregated body: the aggregated value uses only these
        for _ in range(draw(st.integers(1, 2))):
            rel = draw(st.sampled_from(lower))
            args = []
            for _ in range(rel.arity):
                t = self.term(pool + local, True, local)
                args.append(t)
                if t[0].isalpha() and t not in used:
                    used.append(t)
            inner.append(f"{rel.name}({', '.join(args)})")
        if local and draw(st.booleans()):
            inner.append(f"{draw(st.sampled_from(local))} {draw(st.sampled_from(['<', '>=', '!=']))} "
                         f"{draw(VALUE)}")
        func = draw(st.sampled_from(["count", "sum", "min", "max"]))
        if func == "count":
            op = "count"
        else:
            arg = draw(st.sampled_from(used)) if used else str(draw(VALUE))
            form = draw(st.sampled_from(["plain", "paren", "call"]))
            op = {"plain": f"{func} {arg}", "paren": f"{func} ({arg} * 2)", "call": f"{func}({arg} + 1)"}[form]
        body = inner[0] if len(inner) == 1 and draw(st.booleans()) else "{ " + ", ".join(inner) + " }"
        if self.bound and draw(st.integers(0, 4)) == 4:
            res = draw(st.sampled_from(self.bound))  # the aggregate tests a bound variable
            self.lits.append(f"{res} = {op} : {body}")
            return
        res = self.new_var()
        self.lits.append(f"{res} = {op} : {body}")
        self.bound.append(res)
        if draw(st.booleans()):
            self.lits.append(f"{res} {draw(st.sampled_from(['>', '<=', '!=']))} {draw(st.integers(0, 3))}")

    def body(self, lower: list[Rel], group: list[Rel], must: Rel | None) -> None:
        """Positive atoms (one of `must` first, when given) interleaved with other literals."""
        draw = self.draw
        positive = lower + group
        if must is not None:
            self.add_atom(must)
        n_atoms = draw(st.integers(0 if must else 1, 2))
        if must is None and not self.bound and n_atoms == 1 and draw(st.integers(0, 6)) == 6:
            n_atoms = 0  # a body of aggregates only
        for i in range(n_atoms):
            self.add_atom(draw(st.sampled_from(positive if must else lower)))
            self.extras(lower, draw(st.integers(0, 1)))
        if not self.lits:
            self.add_body_agg(lower)
        self.extras(lower, draw(st.integers(0, 2)))

    def extras(self, lower: list[Rel], n: int) -> None:
        for _ in range(n):
            kinds = ["neg", "agg"] + (["cmp", "bind", "or"] if self.bound else [])
            k = self.draw(st.sampled_from(kinds))
            if k == "cmp":
                self.add_compare()
            elif k == "or":
                self.add_or(lower)
            elif k == "bind":
                self.add_binding()
            elif k == "neg":
                self.add_negation(lower)
            else:
                self.add_body_agg(lower)

    def head_term(self, exprs: bool) -> str:
        draw = self.draw
        kinds = (["var", "var", "var"] if self.bound else []) + ["const"] + (["expr"] if exprs and self.bound else [])
        k = draw(st.sampled_from(kinds))
        if k == "var":
            return draw(st.sampled_from(self.bound))
        if k == "const":
            return str(draw(VALUE))
        a, b = draw(st.sampled_from(self.bound)), draw(st.sampled_from(self.bound))
        return draw(st.sampled_from([f"{a} + 1", f"{a} * {b}", f"{a} - {b}", f"{a} % 2"]))

    def text(self, head: str) -> str:
        lits = self.draw(st.permutations(self.lits))
        return f"{head} :- {', '.join(lits)}." if lits else f"{head}."


def _plain_rule(draw, fresh, rel: Rel, lower: list[Rel], group: list[Rel], must: Rel | None) -> str:
    g = _RuleGen(draw, fresh)
    g.body(lower, group, must)
    recursive = must is not None
    if not recursive and rel.arity >= 1 and draw(st.integers(0, 2)) == 2:
        # a head aggregate over lower strata
        n_aggs = draw(st.integers(1, min(2, rel.arity)))
        pos = set(draw(st.permutations(range(rel.arity)))[:n_aggs])
        args = []
        for i in range(rel.arity):
            if i in pos:
                func = draw(st.sampled_from(["count", "sum", "min", "max"]))
                if func == "count" or not g.bound:
                    args.append("count()")
                else:
                    arg = g.head_term(True) if draw(st.booleans()) else draw(st.sampled_from(g.bound))
                    args.append(f"{func}({arg})")
            else:
                args.append(g.head_term(True))
        return g.text(f"{rel.name}({', '.join(args)})")
    args = [g.head_term(not recursive) for _ in range(rel.arity)]
    return g.text(f"{rel.name}({', '.join(args)})")


def _lattice_rules(draw, fresh, rel: Rel, lower: list[Rel]) -> list[str]:
    """Shortest paths: `rel(x, d)` (from sources) or `rel(x, y, d)` (all pairs)."""
    weighted = [r for r in lower if r.arity == 3]
    weighted += [r for r in weighted if r.is_input] * 3  # inputs have rows more often than derived relations
    edges = [r for r in lower if r.arity >= 2]
    rules = []
    if rel.arity == 2:
        src = draw(st.sampled_from(lower))
        args = ["x"] + ["_"] * (src.arity - 1) if src.arity else []
        if draw(st.booleans()):
            rules.append(f"{rel.name}({draw(VALUE)}, 0).")  # a single source
        elif src.arity:
            rules.append(f"{rel.name}(x, 0) :- {src.name}({', '.join(draw(st.permutations(args)))}).")
        else:
            rules.append(f"{rel.name}({draw(VALUE)}, 0) :- {src.name}().")
        if weighted:
            w = draw(st.sampled_from(weighted))
            rules.append(f"{rel.name}(y, d + k) :- {rel.name}(x, d), {w.name}(x, y, k), k >= 0.")
        elif edges:
            e = draw(st.sampled_from(edges))
            rest = ", _" * (e.arity - 2)
            rules.append(f"{rel.name}(y, d + 1) :- {rel.name}(x, d), {e.name}(x, y{rest}).")
    else:
        if weighted:
            w = draw(st.sampled_from(weighted))
            rules.append(f"{rel.name}(x, y, k) :- {w.name}(x, y, k), k >= 0.")
            step = f"{w.name}(y, z, k), k >= 0"
        else:
            e = draw(st.sampled_from(edges))
            rest = ", _" * (e.arity - 2)
            rules.append(f"{rel.name}(x, y, 1) :- {e.name}(x, y{rest}).")
            step = f"{e.name}(y, z{rest}), k = 1"
        if draw(st.booleans()):
            rules.append(f"{rel.name}(x, z, d + k) :- {rel.name}(x, y, d), {step}.")
        else:
            rules.append(f"{rel.name}(x, z, d1 + d2) :- {rel.name}(x, y, d1), {rel.name}(y, z, d2).")
    if draw(st.integers(0, 3)) == 3:
        # a random base rule whose value column is guarded non-negative
        g = _RuleGen(draw, fresh)
        g.body(lower, [], None)
        if g.bound:
            args = [g.head_term(True) for _ in range(rel.arity - 1)]
            d = draw(st.sampled_from(g.bound))
            g.lits.append(f"{d} >= 0")
            rules.append(g.text(f"{rel.name}({', '.join(args + [d])})"))
    return rules


def _graph_rules(draw, n: int, lower: list[Rel]) -> tuple[list[Rel], list[str]]:
    """Classic recursive queries over an edge relation: closures, same generation, even/odd paths."""
    edges = [r for r in lower if r.arity >= 2]
    e = draw(st.sampled_from(edges))
    b = draw(st.sampled_from(edges))
    rest_e, rest_b = ", _" * (e.arity - 2), ", _" * (b.arity - 2)
    r = f"r{n}"
    shape = draw(st.sampled_from(["nonlinear", "right", "left", "samegen", "evenodd"]))
    base = f"{r}(x, y) :- {b.name}(x, y{rest_b})."
    if shape == "nonlinear":
        return [Rel(r, 2)], [base, f"{r}(x, y) :- {r}(x, z), {r}(z, y)."]
    if shape == "right":
        return [Rel(r, 2)], [base, f"{r}(x, z) :- {r}(x, y), {e.name}(y, z{rest_e})."]
    if shape == "left":
        return [Rel(r, 2)], [base, f"{r}(x, z) :- {e.name}(x, y{rest_e}), {r}(y, z)."]
    if shape == "samegen":
        return [Rel(r, 2)], [f"{r}(x, y) :- {b.name}(p, x{rest_b}), {b.name}(p, y{rest_b}), x != y.",
                             f"{r}(x, y) :- {e.name}(a, x{rest_e}), {r}(a, c), {e.name}(c, y{rest_e})."]
    s = f"r{n + 1}"  # r: paths of odd length, s: of even length
    return [Rel(r, 2), Rel(s, 2)], [base, f"{s}(x, z) :- {r}(x, y), {e.name}(y, z{rest_e}).",
                                    f"{r}(x, z) :- {s}(x, y), {e.name}(y, z{rest_e})."]


ALL_KINDS = ("plain", "rec", "graph", "mutual", "lattice", "lattice")  # lattice twice: improvements are rare


@st.composite
def programs(draw, kinds: tuple[str, ...] = ALL_KINDS) -> GenProgram:
    """A program and its input data; `kinds` limits the kinds of relation groups drawn."""
    fresh = [0]
    inputs: list[Rel] = []
    for i in range(draw(st.integers(2, 3))):
        arity = (2, 3)[i] if i < 2 else draw(st.integers(1, 3))  # an edge and a weighted edge relation
        inputs.append(Rel(f"e{i}", arity, is_input=True))
    lower: list[Rel] = list(inputs)
    rules: list[str] = []
    if draw(st.integers(0, 3)) == 3:  # rules may add to input relations too
        rules.append(draw(st.sampled_from([
            "e0(x, y) :- e0(y, x).", "e0(x, z) :- e0(x, y), e0(y, z).", "e0(x, y) :- e1(x, y, _).",
            "e1(x, y, 1) :- e0(x, y).", "e0(x, x) :- e1(x, _, _), e0(_, x)."])))
    # `input output`: the rows an input ends with (its rules' included) are compared too
    both = bool(rules) or draw(st.integers(0, 3)) == 3
    decls = [r.decl("input output" if both else "input") for r in inputs]
    n = 0
    for _ in range(draw(st.integers(2, 4))):
        kind = draw(st.sampled_from(kinds))
        if kind == "lattice" and not any(r.arity >= 2 for r in lower):
            kind = "plain"
        if kind == "lattice":
            rel = Rel(f"r{n}", draw(st.integers(2, 3)), lattice=True)
            n += 1
            rules += _lattice_rules(draw, fresh, rel, lower)
            group = [rel]
        elif kind == "graph":
            group, more = _graph_rules(draw, n, lower)
            n += len(group)
            rules += more
            if draw(st.booleans()):
                rel = draw(st.sampled_from(group))
                rules.append(_plain_rule(draw, fresh, rel, lower, group, draw(st.sampled_from(group))))
        else:
            size = 2 if kind == "mutual" else 1
            group = []
            for _ in range(size):
                group.append(Rel(f"r{n}", draw(st.integers(0, 3)) if kind == "plain" else draw(st.integers(1, 3))))
                n += 1
            for i, rel in enumerate(group):
                for _ in range(draw(st.integers(1, 2)) if (kind == "plain" or i == 0) else draw(st.integers(0, 1))):
                    rules.append(_plain_rule(draw, fresh, rel, lower, [], None))
                if kind != "plain":
                    other = group[(i + 1) % size]
                    for _ in range(draw(st.integers(1, 2))):
                        rules.append(_plain_rule(draw, fresh, rel, lower, group, other if _ == 0 else
                                                 draw(st.sampled_from(group))))
        decls += [r.decl("output") for r in group]
        lower += group
    facts = []
    for _ in range(draw(st.integers(0, 2))):
        rel = draw(st.sampled_from([r for r in lower if r.arity > 0]))
        facts.append(f"{rel.name}({', '.join(str(draw(VALUE)) for _ in range(rel.arity))}).")
    items = draw(st.permutations(rules + facts))  # order of rules never matters
    source = "\n".join(decls) + "\n\n" + "\n".join(items) + "\n"
    data = {}
    for r in inputs:
        # sizes drawn explicitly: hypothesis's own lists favour empty ones, and recursion needs rows
        n_rows = draw(st.sampled_from(range(2 if r.name in ("e0", "e1") else 0, 11)))
        rows = [draw(st.tuples(*[VALUE] * r.arity)) for _ in range(n_rows)]
        if r.name == "e0" and draw(st.booleans()):  # a long path: recursion runs many iterations
            rows += [(i, i + 1) for i in range(draw(st.integers(0, 2)), 5)]
        if r.name == "e1" and draw(st.booleans()):  # long paths with shortcuts: distances improve late
            rows += [(i, i + step, draw(VALUE)) for step in (1, 2) for i in range(6 - step)]
        data[r.name] = rows
    return GenProgram(source, data)
