"""Safety and the evaluation order of a rule body (LANGUAGE.md §3).

`plan_body` orders the literals so that each is evaluated once the variables it needs are
bound: filters and bindings as soon as possible, then atoms that join on bound variables,
then generators and aggregates, and only last atoms that share nothing (a cross product).
A literal that can never become ready makes the rule unsafe: the error names the variable.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from dfl.errors import DflError
from dfl.ir.builtin_sigs import FAILING_OPERATORS, SIGS
from dfl.lang import ast



@dataclass
class Step:
    """One literal in evaluation order.

    kind: atom | neg | filter | bind | gen | agg. For bind/gen, `var` is the variable bound;
    for agg, `var` is the result variable when the aggregate binds it (else the result is
    tested), `correlated` the variables shared with the rest of the rule, `inner` the plan of
    the aggregate's body (starting from the correlated variables).
    """

    kind: str
    lit: ast.Literal
    var: str | None = None
    expr: ast.Expr | None = None
    correlated: tuple[str, ...] = ()
    inner: list["Step"] = field(default_factory=list)


def names(vs: list[ast.Var]) -> set[str]:
    return {v.name for v in vs if not v.is_wildcard}


def _binding(lit: ast.Filter, bound: set[str]) -> tuple[str, ast.Expr] | None:
    """`v = e` or `e = v` with v unbound and e's variables bound binds v."""
    e = lit.expr
    if not (isinstance(e, ast.Compare) and e.op == "="):
        return None
    for side, other in ((e.left, e.right), (e.right, e.left)):
        if isinstance(side, ast.Var) and not side.is_wildcard and side.name not in bound \
                and names(ast.expr_vars(other)) <= bound:
            return side.name, other
    return None


def plan_body(lits: tuple[ast.Literal, ...], bound0: set[str], head_vars: set[str]) -> tuple[list[Step], set[str]]:
    """Orders `lits` given the variables bound before them; returns the steps and the bound set."""
    bound = set(bound0)
    pending = list(lits)
    steps: list[Step] = []

    def outer_vars(agg: ast.BodyAgg) -> set[str]:
        inside = names([v for l in agg.body for v in ast.literal_vars(l)] + ast.expr_vars(agg.arg))
        elsewhere = set(head_vars) | bound0
        for other in lits:
            if isinstance(other, ast.BodyAgg):  # another aggregate's body variables are its own
                elsewhere |= names(ast.expr_vars(other.result))
            elif other is not agg:
                elsewhere |= names(ast.literal_vars(other))
        elsewhere |= names(ast.expr_vars(agg.result))
        return inside & elsewhere

    def ready_test(lit: ast.Literal, risky: bool) -> Step | None:
        """A filter or negation whose variables are all bound (safe ones first, see below)."""
        if isinstance(lit, ast.Filter) and _binding(lit, bound) is None \
                and names(ast.expr_vars(lit.expr)) <= bound and may_fail(lit.expr) == risky:
            return Step("filter", lit, expr=lit.expr)
        if isinstance(lit, ast.Negation) and names(ast.literal_vars(lit)) <= bound \
                and any(may_fail(a) for a in lit.atom.args) == risky:
            return Step("neg", lit)
        return None

    def ready_binding(lit: ast.Literal, risky: bool) -> Step | None:
        if isinstance(lit, ast.Filter):
            b = _binding(lit, bound)
            if b is not None and may_fail(b[1]) == risky:
                return Step("bind", lit, var=b[0], expr=b[1])
        return None

    def ready_costly(lit: ast.Literal) -> Step | None:
        if isinstance(lit, ast.Generator) and names(ast.expr_vars(lit.expr)) <= bound:
            return Step("gen", lit, var=lit.var.name, expr=lit.expr)
        if isinstance(lit, ast.BodyAgg):
            corr = outer_vars(lit)
            res = lit.result
            binds = isinstance(res, ast.Var) and not res.is_wildcard and res.name not in bound \
                and res.name not in corr
            if corr <= bound and (binds or names(ast.expr_vars(res)) <= bound):
                inner, _ = plan_body(lit.body, corr, names(ast.expr_vars(lit.arg)))
                return Step("agg", lit, var=res.name if binds else None, correlated=tuple(sorted(corr)),
                            inner=inner)
        return None

    # An expression that can fail at run time (a division, log, to_int, …) is evaluated only
    # after every test that does not need its result, so `c = a // b, b != 0` never divides
    # by zero whatever the order the literals are written in.
    def first(f, *args) -> Step | None:
        return next((st for st in (f(l, *args) for l in pending) if st is not None), None)

    while pending:
        step = first(ready_test, False)
        if step is None:
            atoms = [l for l in pending if isinstance(l, ast.Atom)]
            joined = [a for a in atoms if names(ast.literal_vars(a)) & bound and _atom_ready(a, bound)]
            if joined or (atoms and not bound and _atom_ready(atoms[0], bound)):
                # the atom sharing the most bound variables joins next (the first when none is bound)
                lit = max(joined, key=lambda a: len(names(ast.literal_vars(a)) & bound)) if joined else atoms[0]
                step = Step("atom", lit)
            else:
                step = first(ready_binding, False) or first(ready_test, True) or first(ready_binding, True) \
                    or first(ready_costly)
                if step is None:
                    ready_atoms = [a for a in atoms if _atom_ready(a, bound)]
                    if ready_atoms:
                        step = Step("atom", ready_atoms[0])
        if step is None:
            raise _unsafe(pending, bound, lits, head_vars)
        pending.remove(step.lit)
        if step.kind == "gen" and step.var in bound:
            steps.extend(_membership(step, len(steps)))
            bound.add(steps[-2].var)
            continue
        steps.append(step)
        if step.kind == "atom":
            bound |= names(ast.literal_vars(step.lit))
        elif step.var is not None:
            bound.add(step.var)
    return steps, bound


def _membership(gen: Step, n: int) -> list[Step]:
    """`v in e` with v already bound is a membership test, as a bound variable anywhere in
    Soufflé is an equality test: the elements go to a fresh variable (a name no program can
    write), then a filter keeps the rows where it equals v."""
    lit: ast.Generator = gen.lit
    fresh = ast.Var(f"{lit.var.name}'{n}", lit.var.span)
    test = ast.Compare("=", lit.var, fresh, lit.span)
    return [Step("gen", lit, var=fresh.name, expr=gen.expr), Step("filter", ast.Filter(test, lit.span), expr=test)]


def may_fail(e: ast.Expr | None) -> bool:
    """Can evaluating e raise a run-time error (division by zero, log of 0, …)?"""
    if e is None or isinstance(e, (ast.Var, ast.Const)):
        return False
    if isinstance(e, ast.BinOp):
        return e.op in FAILING_OPERATORS or may_fail(e.left) or may_fail(e.right)
    if isinstance(e, ast.Call):
        # user functions may divide, so they count as failing (ir/builtin_sigs.py: the one list)
        risky = e.name not in SIGS or SIGS[e.name].may_fail
        return risky or any(may_fail(a) for a in e.args)
    if isinstance(e, ast.Compare):
        return may_fail(e.left) or may_fail(e.right)
    if isinstance(e, (ast.Neg, ast.Not)):
        return may_fail(e.operand)
    if isinstance(e, ast.If):
        return may_fail(e.cond) or may_fail(e.then) or may_fail(e.else_)
    return False


def _atom_ready(atom: ast.Atom, bound: set[str]) -> bool:
    """An atom argument that is an expression (not a variable or constant) needs its variables bound."""
    for a in atom.args:
        if not isinstance(a, (ast.Var, ast.Const)) and not names(ast.expr_vars(a)) <= bound:
            return False
    return True


def _unsafe(pending: list[ast.Literal], bound: set[str], lits: tuple[ast.Literal, ...],
            head_vars: set[str]) -> DflError:
    for lit in pending:
        if isinstance(lit, ast.BodyAgg):
            continue
        free = [v for v in ast.literal_vars(lit) if not v.is_wildcard and v.name not in bound]
        if isinstance(lit, ast.Generator):
            free = [v for v in ast.expr_vars(lit.expr) if v.name not in bound]
        if free:
            v = free[0]
            what = {ast.Negation: "a negation", ast.Filter: "a comparison", ast.Generator: "a generator",
                    ast.Atom: "an atom's expression"}[type(lit)]
            hint = "bind every variable with a positive atom, a binding `v = expr` or a generator"
            for agg in lits:
                if isinstance(agg, ast.BodyAgg) and v.name in names([x for l in agg.body
                                                                       for x in ast.literal_vars(l)]):
                    hint = (f"'{v.name}' is local to the aggregate `{agg.func} … : …`; to use it in a test, "
                            f"put the test inside the aggregate's braces: `{agg.func} … : {{ …, test }}`")
            return DflError(f"unsafe rule: variable '{v.name}' in {what} is not bound", v.span, hint=hint)
    lit = next((x for x in pending if isinstance(x, ast.BodyAgg)), None)
    if lit is None:  # every other literal had a free variable to name above
        return DflError("unsafe rule: a literal's variables are never bound", pending[0].span)
    shared = sorted(v for v in names([x for l in lit.body for x in ast.literal_vars(l)]) - bound
                    if any(v in names(ast.literal_vars(o)) for o in lits if o is not lit)
                    or v in head_vars)
    which = f"variable '{shared[0]}'" if shared else "a variable"
    return DflError(f"unsafe rule: {which} is used inside this aggregate and outside it, "
                    f"but nothing outside the aggregate binds it", lit.span,
                    hint="bind it with a positive atom outside the aggregate, or use it only inside")


def check_head_safety(head: ast.Head, bound: set[str], agg_locals: set[str]) -> list[DflError]:
    errs = []
    for arg in head.args:
        for v in ast.expr_vars(arg):
            if v.is_wildcard:
                errs.append(DflError("the wildcard `_` cannot stand in a head", v.span,
                                     hint="name the value with a variable bound in the body"))
            elif v.name not in bound:
                why = " (it is local to an aggregate in the body)" if v.name in agg_locals else ""
                errs.append(DflError(f"unsafe rule: head variable '{v.name}' is not bound in the body{why}", v.span,
                                     hint="every head variable must be bound by a positive atom, "
                                          "a binding `v = expr` or a generator"))
    return errs
