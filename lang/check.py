"""The checker: names, arities, types, safety, stratification. AST -> CheckedProgram.

Every problem is a DflError with a span; independent problems (different declarations,
rules, functions) are all reported in one run.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from dfl.errors import DflError
from dfl.ir import digraph
from dfl.ir.builtin_sigs import SIGS
from dfl.ir.annotations import KNOWN
from dfl.ir.types import Type
from dfl.lang import ast
from dfl.lang.addresses import check_self_outside, resolve_constructors
from dfl.lang.agents import check_agents
from dfl.lang.limits import Inlined
from dfl.lang.monotone import check_lattice_flow
from dfl.lang.safety import Step, check_head_safety, names, plan_body
from dfl.lang.strata import Stratum, stratify
from dfl.lang.typing import Typer, assignable, unify_numeric

KNOWN_ANNOTATIONS = set(KNOWN)  # the IR's verifier knows the same


@dataclass
class CheckedRule:
    index: int
    rule: ast.Rule
    steps: list[Step]
    types: dict[str, Type]

    @property
    def head(self) -> ast.Head:
        return self.rule.head

    @property
    def has_head_agg(self) -> bool:
        return any(isinstance(a, ast.HeadAgg) for a in self.rule.head.args)


@dataclass
class CheckedProgram:
    program: ast.Program
    relations: dict[str, ast.Decl]
    fns: dict[str, ast.FnDef]
    rules: list[CheckedRule]
    strata: list[Stratum]
    warnings: list[DflError] = field(default_factory=list)
    agents: dict = field(default_factory=dict)  # name -> lang.agents.CheckedAgent

    @property
    def ticked(self) -> bool:
        """Does the program evaluate in more than one tick (tables, channels, next, delete)?"""
        return any(d.storage != "rel" for d in self.relations.values()) or \
            any(r.rule.kind != "rule" for r in self.rules)


def check(prog: ast.Program) -> CheckedProgram:
    errors: list[DflError] = []
    warnings: list[DflError] = []
    prog = resolve_constructors(prog, errors)
    relations = _check_decls(prog, errors)
    fns = _check_fns(prog, relations, errors)
    check_self_outside(prog, errors)
    agents = {}
    if prog.agents:
        agents = check_agents(prog, relations, errors, check, head_types)
    _check_annotations(prog, errors, warnings)
    inlined = None
    if not errors:
        try:
            inlined = Inlined(fns, _callees_first(fns))
        except DflError as e:
            errors.append(e)
    rules: list[CheckedRule] = []
    # a relation named like a builtin makes its atoms read as calls of the builtin: every rule
    # using it would add errors about that misreading, so the declaration's error stands alone
    shadowing = any(d.name in SIGS for d in prog.decls)
    for i, rule in enumerate(prog.rules if not shadowing else ()):
        try:
            for e in _rule_exprs(rule) if inlined else ():
                inlined.check(e)
            rules.append(_check_rule(i, rule, relations, fns))
        except DflError as e:
            errors.extend(e.all())
    strata: list[Stratum] = []
    if not errors:
        try:
            strata = stratify(sorted(relations), prog.rules)
        except DflError as e:
            errors.extend(e.all())
        for st in strata:
            if st.recursive:
                rels = set(st.relations)
                for r in rules:
                    errors.extend(check_lattice_flow(r.rule, r.steps, rels, relations))
    for e in errors + warnings:
        e.source = prog.source
        e.related = []
    if errors:
        first = errors[0]
        first.related = errors[1:]
        raise first
    return CheckedProgram(prog, relations, fns, rules, strata, warnings, agents)


# ---------------------------------------------------------------- declarations


def _check_decls(prog: ast.Program, errors: list[DflError]) -> dict[str, ast.Decl]:
    out: dict[str, ast.Decl] = {}
    for d in prog.decls:
        if d.name in out:
            errors.append(DflError(f"relation '{d.name}' is declared twice", d.name_span,
                                   hint=f"it was first declared at {out[d.name].span}"))
            continue
        if d.name in SIGS:
            errors.append(DflError(f"'{d.name}' is a builtin function; relations and functions share one namespace",
                                   d.name_span, hint="rename the relation"))
        if "table" in d.kinds and "channel" in d.kinds:
            errors.append(DflError(f"'{d.name}' cannot be both a table and a channel", d.span))
        seen: set[str] = set()
        lattice_seen = False
        for c in d.columns:
            if c.name in seen:
                errors.append(DflError(f"column '{c.name}' appears twice in '{d.name}'", c.span))
            seen.add(c.name)
            if c.lattice:
                lattice_seen = True
            elif lattice_seen:
                errors.append(DflError(f"plain column '{c.name}' follows a lattice column in '{d.name}'", c.span,
                                       hint="lattice columns come after all plain columns"))
        out[d.name] = d
    return out


def _check_annotations(prog: ast.Program, errors: list[DflError], warnings: list[DflError]) -> None:
    anns = [a for d in prog.decls for a in d.annotations] + [a for f in prog.fns for a in f.annotations]
    anns += [a for r in prog.rules for a in r.annotations] + [a for ag in prog.agents for a in ag.annotations]
    for a in prog.stray_annotations:
        errors.append(DflError(f"annotation @{a.name} annotates nothing", a.span,
                               hint="write it just before a declaration, rule, function or agent"))
    seen = set()
    for a in anns:
        if a.span in seen:
            continue
        seen.add(a.span)
        if a.name not in KNOWN_ANNOTATIONS:
            errors.append(DflError(f"unknown annotation @{a.name}", a.span,
                                   hint="annotations are @partition, @device, @slo and @replicas"))
        elif a.name == "partition":
            _check_partition(prog, a, errors)


def _check_partition(prog: ast.Program, a: ast.Annotation, errors: list[DflError]) -> None:
    """@partition(col) must name a column of the declaration it annotates."""
    for d in prog.decls:
        if a in d.annotations:
            names = [c.name for c in d.columns]
            col = a.args[0][1] if len(a.args) == 1 and a.args[0][0] is None else None
            if not isinstance(col, str) or col not in names:
                errors.append(DflError(f"@partition takes one column of {d.name}", a.span,
                                       hint=f"columns: {', '.join(names)}"))
            return
    errors.append(DflError("@partition annotates a declaration (the relation's rows are hashed on that "
                           "column)", a.span))


# ---------------------------------------------------------------- functions


def _check_fns(prog: ast.Program, relations: dict[str, ast.Decl], errors: list[DflError]) -> dict[str, ast.FnDef]:
    fns: dict[str, ast.FnDef] = {}
    for f in prog.fns:
        if f.name in fns:
            errors.append(DflError(f"function '{f.name}' is defined twice", f.span))
            continue
        if f.name in SIGS or f.name in relations:
            what = "a builtin function" if f.name in SIGS else "a relation"
            errors.append(DflError(f"'{f.name}' is already {what}; relations and functions share one namespace",
                                   f.span))
            continue
        fns[f.name] = f
    calls = digraph.successors(fns, ((f.name, c) for f in fns.values() for c in _calls(f.body) if c in fns))
    cycle = digraph.find_cycle(calls)
    if cycle is not None:
        f = fns[cycle[0]]
        errors.append(DflError(f"function '{f.name}' is recursive ({' -> '.join(cycle + [cycle[0]])})", f.span,
                               hint="functions are single expressions and may not call themselves"))
        return fns
    for f in fns.values():
        env = {}
        for p in f.params:
            if p.name in env:
                errors.append(DflError(f"parameter '{p.name}' appears twice in {f.name}", p.span))
            env[p.name] = p.type
        try:
            t = Typer(env, fns).type_of(f.body)
            if not assignable(t, f.ret):
                errors.append(DflError(f"function '{f.name}' returns {f.ret} but its body is {t}", f.body.span))
        except DflError as e:
            errors.append(e)
    return fns


def _callees_first(fns: dict[str, ast.FnDef]) -> list[str]:
    calls = digraph.successors(fns, ((f.name, c) for f in fns.values() for c in _calls(f.body) if c in fns))
    return list(reversed(digraph.topo_order(calls)))


def _rule_exprs(rule: ast.Rule):
    """Every expression of a rule: head arguments, atom arguments, tests, generators, aggregates."""
    yield from rule.head.args
    lits = list(rule.body)
    while lits:
        lit = lits.pop()
        if isinstance(lit, ast.Negation):
            lit = lit.atom
        if isinstance(lit, ast.Atom):
            yield from lit.args
        elif isinstance(lit, (ast.Filter, ast.Generator)):
            yield lit.expr
        elif isinstance(lit, ast.BodyAgg):
            yield lit.result
            yield lit.arg
            lits.extend(lit.body)


def _calls(e: ast.Expr) -> list[str]:
    if isinstance(e, ast.Call):
        return [e.name] + [c for a in e.args for c in _calls(a)]
    if isinstance(e, (ast.BinOp, ast.Compare)):
        return _calls(e.left) + _calls(e.right)
    if isinstance(e, (ast.Neg, ast.Not)):
        return _calls(e.operand)
    if isinstance(e, ast.If):
        return _calls(e.cond) + _calls(e.then) + _calls(e.else_)
    return []


# ---------------------------------------------------------------- rules


def _suggest(name: str, candidates) -> str | None:
    close = difflib.get_close_matches(name, list(candidates), n=1)
    return f"did you mean '{close[0]}'?" if close else None


def _relation(name: str, span, relations: dict[str, ast.Decl], nargs: int) -> ast.Decl:
    if name not in relations:
        hint = _suggest(name, relations) or f"declare it, e.g. `rel {name}(...)`"
        raise DflError(f"relation '{name}' is not declared", span, hint=hint)
    d = relations[name]
    if len(d.columns) != nargs:
        raise DflError(f"'{name}' has {len(d.columns)} column(s) but is used with {nargs}", span,
                       hint=f"declared as {name}{d.schema} at {d.span}")
    return d


def _check_rule(index: int, rule: ast.Rule, relations: dict[str, ast.Decl], fns: dict[str, ast.FnDef]) -> CheckedRule:
    errors: list[DflError] = []
    head = rule.head
    if head.dest is not None:
        raise DflError(f"a send `{head.rel}@{head.dest.name}(...)` goes from an agent instance, so it stands "
                       f"only inside an agent", head.span, hint="move the rule into an `agent Name { ... }` block")
    hdecl = _relation(head.rel, head.span, relations, len(head.args))
    if rule.kind == "delete" and hdecl.storage != "table":
        errors.append(DflError(f"`delete` removes rows from a table, and '{head.rel}' is not a table", head.span,
                               hint=f"declare it with `table {head.rel}(...)`"))
    for lit in rule.body:
        for atom in ast.literal_atoms(lit):
            try:
                _relation(atom.rel, atom.span, relations, len(atom.args))
            except DflError as e:
                errors.append(e)
    if errors:
        raise _combine(errors)
    head_vars = names([v for a in head.args for v in ast.expr_vars(a)])
    steps, bound = plan_body(rule.body, set(), head_vars)
    agg_locals = names([v for l in rule.body if isinstance(l, ast.BodyAgg) for v in ast.literal_vars(l)])
    errors.extend(check_head_safety(head, bound, agg_locals))
    if errors:
        raise _combine(errors)
    types: dict[str, Type] = {}
    _type_steps(steps, types, relations, fns)
    _type_head(rule, hdecl, types, fns)
    return CheckedRule(index, rule, steps, types)


def head_types(rule: ast.Rule, relations: dict[str, ast.Decl], fns: dict[str, ast.FnDef]) -> list[Type]:
    """The types of a rule's head arguments, from its body alone (for a send on a channel no
    agent declares, whose columns are what is sent; lang/sends.py)."""
    head_vars = names([v for a in rule.head.args for v in ast.expr_vars(a)])
    for lit in rule.body:
        for atom in ast.literal_atoms(lit):
            _relation(atom.rel, atom.span, relations, len(atom.args))
    steps, bound = plan_body(rule.body, set(), head_vars)
    errors = check_head_safety(rule.head, bound, set())
    if errors:
        raise _combine(errors)
    types: dict[str, Type] = {}
    _type_steps(steps, types, relations, fns)
    typer = Typer(types, fns)
    out = []
    for a in rule.head.args:
        if isinstance(a, ast.HeadAgg):
            raise DflError("an aggregate cannot stand in a send to a channel no agent declares", a.span,
                           hint="declare the channel in the agent that receives it")
        out.append(typer.type_of(a))
    return out


def _combine(errors: list[DflError]) -> DflError:
    first = errors[0]
    first.related = [*first.related, *errors[1:]]
    return first


def _type_atom(atom: ast.Atom, types: dict[str, Type], relations, fns, binding: bool) -> None:
    decl = relations[atom.rel]
    for arg, col in zip(atom.args, decl.columns):
        if isinstance(arg, ast.Var):
            if arg.is_wildcard:
                continue
            if arg.name in types:
                if types[arg.name] != col.type:
                    raise DflError(f"variable '{arg.name}' is {types[arg.name]} elsewhere but column '{col.name}' "
                                   f"of {atom.rel} is {col.type}", arg.span,
                                   hint="a variable has one type; convert with to_int/to_float/to_str "
                                        "in a binding")
            elif binding:
                types[arg.name] = col.type
            continue
        t = Typer(types, fns).type_of(arg)
        if not assignable(t, col.type):
            raise DflError(f"column '{col.name}' of {atom.rel} is {col.type}, got {t}", arg.span)


def _type_steps(steps: list[Step], types: dict[str, Type], relations, fns) -> None:
    typer = Typer(types, fns)
    for s in steps:
        lit = s.lit
        if s.kind == "atom":
            _type_atom(lit, types, relations, fns, binding=True)
        elif s.kind == "neg":
            _type_atom(lit.atom, types, relations, fns, binding=False)
        elif s.kind == "filter":
            t = typer.type_of(s.expr)
            if t != Type.BOOL:
                raise DflError(f"a literal must be true or false, but this expression is {t}", lit.span,
                               hint="compare it with something, e.g. `x > 0`")
        elif s.kind == "bind":
            types[s.var] = typer.type_of(s.expr)
        elif s.kind == "gen":
            types[s.var] = _generator_type(s.expr, typer)
        elif s.kind == "agg":
            _type_agg(s, types, relations, fns)


def _generator_type(e: ast.Expr, typer: Typer) -> Type:
    if not (isinstance(e, ast.Call) and e.name in SIGS and SIGS[e.name].generator):
        raise DflError("`v in e` needs a list: split(s, sep) or range(lo, hi)", e.span)
    return typer.type_of(e)


def _type_agg(s: Step, types: dict[str, Type], relations, fns) -> None:
    agg: ast.BodyAgg = s.lit
    inner_types = dict(types)
    _type_steps(s.inner, inner_types, relations, fns)
    if agg.func == "count":
        t = Type.INT
    else:
        at = Typer(inner_types, fns).type_of(agg.arg)
        if not at.numeric and agg.func in ("sum", "mean"):
            raise DflError(f"{agg.func} needs numbers, got {at}", agg.arg.span)
        t = Type.FLOAT if agg.func == "mean" else at
    if s.var is not None:
        types[s.var] = t
    else:
        rt = Typer(types, fns).type_of(agg.result)
        if unify_numeric(rt, t) is None:
            raise DflError(f"the aggregate gives {t} but is compared with {rt}", agg.span)


def _type_head(rule: ast.Rule, decl: ast.Decl, types: dict[str, Type], fns) -> None:
    typer = Typer(types, fns)
    errors = []
    for arg, col in zip(rule.head.args, decl.columns):
        try:
            if isinstance(arg, ast.HeadAgg):
                if rule.is_fact:
                    raise DflError("a fact cannot hold an aggregate", arg.span)
                if arg.func == "count":
                    t = Type.INT
                else:
                    at = typer.type_of(arg.arg)
                    if not at.numeric and arg.func in ("sum", "mean"):
                        raise DflError(f"{arg.func} needs numbers, got {at}", arg.arg.span)
                    t = Type.FLOAT if arg.func == "mean" else at
            else:
                t = typer.type_of(arg)
            if not assignable(t, col.type):
                raise DflError(f"column '{col.name}' of {decl.name} is {col.type}, got {t}", arg.span,
                               hint="convert with to_int, to_float or to_str" if t != col.type else None)
        except DflError as e:
            errors.append(e)
    if errors:
        raise _combine(errors)
