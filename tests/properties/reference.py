"""A deliberately naive bottom-up evaluator of DFL, independent of the compiler: the test oracle.

It reads the checked AST (`check(parse(src))`) and shares nothing with lowering, the IR or the
interpreter. Each stratum is evaluated by firing all of its rules against the whole database,
again and again, until nothing changes. A rule fires by nested loops over the rows of its
positive atoms (no indexes, no delta, no plan), then the other literals in any order in which
their variables are bound. Semantics follow LANGUAGE.md:

- relations are sets; a relation with lattice columns keeps one row per key (its plain
  columns), each lattice column the min (or max) of every value derived for that key;
- aggregates range over the *distinct* variable assignments of the aggregated body, every
  `_` of a positive atom being a variable of its own (= distinct combinations of tuples);
- a body `count`/`sum` over nothing is 0; a body `min`/`max` over nothing makes the literal false;
- variables of a body aggregate that also occur outside it (elsewhere in the body, in the
  head, in its result) are correlated; the others are local to it.

Expressions are evaluated with Python's operators (LANGUAGE.md §6 follows Python); builtin
functions call their implementations in `dfl.stdlib.builtins` (leaf functions only: nothing of
the evaluation itself is shared). Single-tick programs only (no tables, channels, `next`, `delete`).
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator

from dfl.lang import ast
from dfl.lang.check import CheckedProgram, check
from dfl.lang.parser import parse
from dfl.stdlib.builtins import BUILTINS

Env = dict[str, object]


class Unsupported(Exception):
    """The program uses something outside the reference's subset."""


def run(source: str, inputs: dict[str, Iterable[tuple]]) -> dict[str, list[tuple]]:
    """The output relations of `source` on `inputs`, each a sorted list of rows."""
    cp = check(parse(source))
    db = evaluate(cp, inputs)
    return {name: sorted(db[name]) for name, d in cp.relations.items() if "output" in d.kinds}


def evaluate(cp: CheckedProgram, inputs: dict[str, Iterable[tuple]]) -> dict[str, set[tuple]]:
    rules = [cr.rule for cr in cp.rules]
    if any(r.kind != "rule" for r in rules) or any(d.storage != "rel" for d in cp.relations.values()):
        raise Unsupported("the reference evaluates single-tick programs only")
    stratum_of = {rel: s.index for s in cp.strata for rel in s.relations}
    for r in rules:
        _check_stratified(r, stratum_of)
    global _FNS
    _FNS = cp.fns
    db: dict[str, set[tuple]] = {name: set() for name in cp.relations}
    for name, rows in inputs.items():
        db[name] = _merge(cp.relations[name], {tuple(row) for row in rows})
    for stratum in cp.strata:
        mine = [r for r in rules if r.head.rel in stratum.relations]
        while True:
            derived: dict[str, set[tuple]] = {rel: set(db[rel]) for rel in stratum.relations}
            for r in mine:
                derived[r.head.rel] |= fire(r, db)
            changed = False
            for rel in stratum.relations:
                new = _merge(cp.relations[rel], derived[rel])
                if new != db[rel]:
                    db[rel] = new
                    changed = True
            if not changed:
                break
    return db


def _check_stratified(rule: ast.Rule, stratum_of: dict[str, int]) -> None:
    """The checker's strata must put what a rule negates or aggregates strictly below its head."""
    head = stratum_of[rule.head.rel]
    agg_head = any(isinstance(a, ast.HeadAgg) for a in rule.head.args)

    def walk(lits, strict: bool) -> None:
        for lit in lits:
            if isinstance(lit, ast.Atom):
                assert stratum_of[lit.rel] < head if strict else stratum_of[lit.rel] <= head
            elif isinstance(lit, ast.Negation):
                assert stratum_of[lit.atom.rel] < head
            elif isinstance(lit, ast.BodyAgg):
                walk(lit.body, True)

    walk(rule.body, agg_head)


def _merge(decl: ast.Decl, rows: set[tuple]) -> set[tuple]:
    """A lattice relation keeps one row per key; a plain one is just the set."""
    lattices = [c.lattice for c in decl.columns if c.lattice]
    if not lattices:
        return rows
    k = len(decl.columns) - len(lattices)
    best: dict[tuple, tuple] = {}
    for row in rows:
        key, vals = row[:k], row[k:]
        if key in best:
            old = best[key]
            vals = tuple(min(a, b) if lat == "min" else max(a, b) for lat, a, b in zip(lattices, old, vals))
        best[key] = vals
    return {key + vals for key, vals in best.items()}


# ---------------------------------------------------------------- firing one rule


def fire(rule: ast.Rule, db: dict[str, set[tuple]]) -> set[tuple]:
    """The head rows one application of `rule` derives from `db`."""
    body = _name_wildcards(rule.body, itertools.count())
    outside = _vars_of_exprs(rule.head.args)
    solutions = list(_solve(body, {}, db, outside))
    head = rule.head.args
    if not any(isinstance(a, ast.HeadAgg) for a in head):
        return {tuple(_eval(a, env) for a in head) for env in solutions}
    distinct = {tuple(sorted(env.items())) for env in solutions}
    groups: dict[tuple, list[Env]] = {}
    for frozen in distinct:
        env = dict(frozen)
        key = tuple(_eval(a, env) for a in head if not isinstance(a, ast.HeadAgg))
        groups.setdefault(key, []).append(env)
    out = set()
    for key, envs in groups.items():
        keys = iter(key)
        row = []
        for a in head:
            if isinstance(a, ast.HeadAgg):
                vals = [None if a.arg is None else _eval(a.arg, env) for env in envs]
                row.append(_aggregate(a.func, vals))
            else:
                row.append(next(keys))
        out.add(tuple(row))
    return out


def _aggregate(func: str, vals: list) -> object:
    if func == "count":
        return len(vals)
    if func == "sum":
        return math.fsum(vals) if any(isinstance(v, float) for v in vals) else sum(vals)
    if func == "min":
        return min(vals)
    if func == "max":
        return max(vals)
    if func == "mean":
        return math.fsum(vals) / len(vals)
    raise Unsupported(func)


def _name_wildcards(lits, counter) -> tuple:
    """Every `_` of a positive atom (also inside aggregates) becomes a variable of its own."""
    out = []
    for lit in lits:
        if isinstance(lit, ast.Atom):
            args = tuple(ast.Var(f"_#{next(counter)}", a.span) if isinstance(a, ast.Var) and a.is_wildcard else a
                         for a in lit.args)
            lit = ast.Atom(lit.rel, args, lit.span)
        elif isinstance(lit, ast.BodyAgg):
            lit = ast.BodyAgg(lit.result, lit.func, lit.arg, _name_wildcards(lit.body, counter), lit.span)
        out.append(lit)
    return tuple(out)


def _solve(lits, env: Env, db, outside: set[str]) -> Iterator[Env]:
    """Every extension of `env` satisfying all `lits`. `outside`: variables used beyond `lits`."""
    atoms = [l for l in lits if isinstance(l, ast.Atom)]
    rest = [l for l in lits if not isinstance(l, ast.Atom)]
    for env2 in _match_atoms(atoms, env, db):
        yield from _finish(rest, env2, db, lits, outside)


def _match_atoms(atoms: list[ast.Atom], env: Env, db) -> Iterator[Env]:
    if not atoms:
        yield env
        return
    first, more = atoms[0], atoms[1:]
    for row in list(db[first.rel]):
        env2 = _unify(first.args, row, env)
        if env2 is not None:
            yield from _match_atoms(more, env2, db)


def _unify(args, row: tuple, env: Env) -> Env | None:
    env = dict(env)
    for a, v in zip(args, row):
        if isinstance(a, ast.Var):
            if a.is_wildcard:
                continue
            if a.name in env:
                if env[a.name] != v:
                    return None
            else:
                env[a.name] = v
        elif _eval(a, env) != v:  # a constant, or an expression over bound variables
            return None
    return env


def _finish(rest: list, env: Env, db, lits, outside: set[str]) -> Iterator[Env]:
    """The non-atom literals, each as soon as the variables it needs are bound."""
    if not rest:
        yield env
        return
    for i, lit in enumerate(rest):
        step = _ready(lit, env, lits, outside)
        if step is not None:
            break
    else:
        raise AssertionError(f"no literal is ready (unsafe rule?): {rest}")
    others = rest[:i] + rest[i + 1:]
    for env2 in step(db):
        yield from _finish(others, env2, db, lits, outside)


def _ready(lit, env: Env, lits, outside: set[str]):
    """A function db -> extensions of env, if `lit` can be evaluated now; else None."""
    bound = set(env)
    if isinstance(lit, ast.Filter):
        e = lit.expr
        if isinstance(e, ast.Compare) and e.op == "=":
            for side, other in ((e.left, e.right), (e.right, e.left)):
                if isinstance(side, ast.Var) and side.name not in bound and _vars(other) <= bound:
                    return lambda db: [{**env, side.name: _eval(other, env)}]
        if _vars(e) <= bound:
            return lambda db: [env] if _eval(e, env) is True else []
        return None
    if isinstance(lit, ast.Negation):
        if _vars(lit.atom.args) <= bound:
            return lambda db: [] if any(_unify(lit.atom.args, row, env) is not None for row in db[lit.atom.rel]) \
                else [env]
        return None
    if isinstance(lit, ast.BodyAgg):
        inner = _vars_of_lits(lit.body) | _vars(lit.arg)
        elsewhere = set(outside) | _vars(lit.result)
        for other in lits:
            if other is not lit:
                elsewhere |= _vars(other.result) if isinstance(other, ast.BodyAgg) else _vars_of_lits([other])
        correlated = inner & elsewhere
        res = lit.result
        binds = isinstance(res, ast.Var) and res.name not in bound and res.name not in correlated
        if not (correlated <= bound and (binds or _vars(res) <= bound)):
            return None

        def step(db):
            start = {v: env[v] for v in correlated}
            envs = {tuple(sorted(e.items())) for e in _solve(lit.body, start, db, _vars(lit.arg))}
            vals = [None if lit.arg is None else _eval(lit.arg, dict(e)) for e in envs]
            if not vals and lit.func in ("min", "max", "mean"):
                return []
            value = 0 if not vals else _aggregate(lit.func, vals)
            if binds:
                return [{**env, res.name: value}]
            return [env] if _eval(res, env) == value else []

        return step
    if isinstance(lit, ast.Generator):
        if lit.var.name not in bound and _vars(lit.expr) <= bound:
            return lambda db: [{**env, lit.var.name: v} for v in _eval(lit.expr, env)]
        return None
    raise Unsupported(f"the reference does not evaluate {type(lit).__name__}")


# ---------------------------------------------------------------- expressions

_FNS: dict[str, ast.FnDef] = {}  # the user functions of the program being evaluated


def _vars(x) -> set[str]:
    if x is None:
        return set()
    if isinstance(x, tuple):
        return {v for e in x for v in _vars(e)}
    return {v.name for v in ast.expr_vars(x) if not v.is_wildcard}


def _vars_of_exprs(exprs) -> set[str]:
    return {v for e in exprs for v in _vars(e.arg if isinstance(e, ast.HeadAgg) else e)}


def _vars_of_lits(lits) -> set[str]:
    return {v.name for l in lits for v in ast.literal_vars(l) if not v.is_wildcard}


def _eval(e, env: Env):
    if isinstance(e, ast.Const):
        return e.value
    if isinstance(e, ast.Var):
        return env[e.name]
    if isinstance(e, ast.Neg):
        return -_eval(e.operand, env)
    if isinstance(e, ast.Not):
        return not _eval(e.operand, env)
    if isinstance(e, ast.BinOp):
        a, b = _eval(e.left, env), _eval(e.right, env)
        return {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "/": lambda: a / b,
                "//": lambda: a // b, "%": lambda: a % b}[e.op]()
    if isinstance(e, ast.Compare):
        a, b = _eval(e.left, env), _eval(e.right, env)
        return {"=": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[e.op]
    if isinstance(e, ast.If):
        return _eval(e.then, env) if _eval(e.cond, env) else _eval(e.else_, env)
    if isinstance(e, ast.Call) and e.name in _FNS:  # a user function: its body over its parameters
        f = _FNS[e.name]
        return _eval(f.body, {p.name: _eval(a, env) for p, a in zip(f.params, e.args)})
    if isinstance(e, ast.Call) and e.name in BUILTINS:
        return BUILTINS[e.name].impl(*(_eval(a, env) for a in e.args))
    raise Unsupported(f"the reference does not evaluate {type(e).__name__} {getattr(e, 'name', '')}")
