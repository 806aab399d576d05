"""Lattice values inside recursion must only flow into lattice columns.

Within a recursive stratum, a lattice column's value is provisional: it improves from one
iteration to the next. A rule of the same stratum may feed it into a lattice column of its
head (directly, through arithmetic, or through bindings), which keeps the fixpoint
monotone. Using it anywhere else (a plain column, a comparison, a join) would keep every
provisional value, so the result would depend on evaluation order: it is rejected, and the
use belongs in a later stratum, which sees the final value.
"""
from __future__ import annotations

from dfl.errors import DflError
from dfl.lang import ast
from dfl.lang.safety import Step, names


def check_lattice_flow(rule: ast.Rule, steps: list[Step], stratum_rels: set[str],
                       relations: dict[str, ast.Decl]) -> list[DflError]:
    head_decl = relations[rule.head.rel]
    if rule.kind != "rule" or rule.head.rel not in stratum_rels:
        return []
    provisional: dict[str, ast.Atom] = {}
    for s in steps:
        if s.kind == "atom" and s.lit.rel in stratum_rels:
            cols = relations[s.lit.rel].columns
            for arg, col in zip(s.lit.args, cols):
                if col.lattice and isinstance(arg, ast.Var) and not arg.is_wildcard:
                    provisional[arg.name] = s.lit
    if not provisional:
        return []
    # bindings computed from a provisional value are provisional too
    for s in steps:
        if s.kind == "bind" and names(ast.expr_vars(s.expr)) & set(provisional):
            src = provisional[next(iter(names(ast.expr_vars(s.expr)) & set(provisional)))]
            provisional[s.var] = src
    errors = []
    for v, atom in provisional.items():
        use = _bad_use(v, rule, steps, head_decl, atom)
        if use is not None:
            errors.append(DflError(
                f"the lattice value '{v}' of {atom.rel} is used {use[0]} inside the recursion of {atom.rel}; "
                f"only lattice columns of the head may depend on it", use[1],
                hint="the value is still improving here; read it in a rule outside the recursion "
                     "(a later stratum sees the final value)"))
    return errors[:1]


def _bad_use(v: str, rule: ast.Rule, steps: list[Step], head_decl: ast.Decl, origin: ast.Atom):
    for arg, col in zip(rule.head.args, head_decl.columns):
        if not col.lattice:
            for x in ast.expr_vars(arg):
                if x.name == v:
                    return f"in the plain column '{col.name}' of the head", x.span
    for s in steps:
        if s.kind == "bind":
            continue
        lit = s.lit
        if lit is origin:
            continue
        for x in ast.literal_vars(lit):
            if x.name == v:
                what = {"atom": "as a join key", "neg": "in a negation", "filter": "in a comparison",
                        "gen": "in a generator", "agg": "in an aggregate"}[s.kind]
                return what, x.span
    return None
