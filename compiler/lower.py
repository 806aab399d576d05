"""Lowering: CheckedProgram -> ir.Graph (one tick of the program).

Each relation R gets one *value* node holding its rows for the tick: the union of its
sources (input file, table state, channel messages, rows deferred by `next`), its facts
and its rules, made distinct (or lattice-merged). A recursive stratum becomes a
`fixpoint` node whose body is lowered over `param full:R` / `param ext:S` inputs; the
semi-naive rewrite (`compiler/passes/seminaive.py`) later adds the `delta:R` variants.
Rule bodies are lowered in the order the checker planned (`lang/safety.py`).

Nodes are made with the public `ir/builder.py`. Annotations go on the IR as written: a
declaration's on its `RelDecl`, a rule's on every node lowered from it (the facts of a
relation share one `values` node, which carries all of theirs; a table's facts become its
`init` rows, and their annotations have no node to go on).
"""
from __future__ import annotations

from dataclasses import dataclass

from dfl.errors import Span
from dfl.ir.annotations import Annotation, lit_of
from dfl.ir.builder import GraphBuilder
from dfl.ir.expr import Col, Fn, IRExpr, Lit, conj
from dfl.ir.graph import Graph
from dfl.ir.types import Column, Schema, Type
from dfl.lang import ast
from dfl.lang.check import CheckedProgram, CheckedRule
from dfl.lang.safety import Step
from dfl.compiler.exprs import coerce, lower_expr

UNIT = Schema(())


def annotations_of(anns: tuple[ast.Annotation, ...]) -> tuple[Annotation, ...]:
    """The IR's form of source annotations: a name stays a str, a constant becomes a Lit."""
    return tuple(Annotation(a.name, tuple((k, lit_of(v.value) if isinstance(v, ast.Const) else v)
                                          for k, v in a.args))
                 for a in anns)


def _anon(types: list[Type]) -> Schema:
    return Schema(tuple(Column(f"c{i}", t) for i, t in enumerate(types)))


@dataclass
class _Pipe:
    """A rule body being lowered: the current node, and which column holds each variable."""

    node: str | None
    cols: dict[str, int]
    types: list[Type]

    def env(self) -> dict[str, IRExpr]:
        return {v: Col(i, self.types[i]) for v, i in self.cols.items()}


class _RuleLowerer:
    def __init__(self, b: GraphBuilder, crule: CheckedRule, rels: dict[str, str], prog: CheckedProgram) -> None:
        self.b = b
        self.crule = crule
        self.rels = rels  # relation name -> node id of its value (or a fixpoint param)
        self.prog = prog
        self.span = crule.rule.span
        self.annotations = annotations_of(crule.rule.annotations)  # every node of the rule carries them
        self.fresh = 0

    def add(self, op, inputs, attrs, schema) -> str:
        return self.b.add(op, inputs, attrs, schema, self.span, self.annotations)

    def unit(self) -> str:
        return self.add("values", [], {"rows": ((),)}, UNIT)

    def seed(self, p: _Pipe) -> _Pipe:
        return p if p.node is not None else _Pipe(self.unit(), {}, [])

    def extend(self, p: _Pipe, exprs: list[IRExpr]) -> tuple[_Pipe, list[int]]:
        """Appends computed columns to the pipe; returns their indices."""
        p = self.seed(p)
        if not exprs:
            return p, []
        n = len(p.types)
        allx = [Col(i, t) for i, t in enumerate(p.types)] + exprs
        types = p.types + [e.type for e in exprs]
        node = self.add("map", [p.node], {"exprs": tuple(allx)}, _anon(types))
        return _Pipe(node, dict(p.cols), types), list(range(n, n + len(exprs)))

    def lower_steps(self, steps: list[Step], p: _Pipe) -> _Pipe:
        for s in steps:
            p = getattr(self, f"step_{s.kind}")(s, p)
        return p

    # -- body literals

    def step_atom(self, s: Step, p: _Pipe) -> _Pipe:
        atom: ast.Atom = s.lit
        rel_node = self.rels[atom.rel]
        schema = self.prog.relations[atom.rel].schema
        rtypes = list(schema.types)
        preds: list[IRExpr] = []
        new_vars: dict[str, int] = {}
        lkeys_exprs: list[IRExpr] = []
        rkeys: list[int] = []
        env = p.env()
        for i, arg in enumerate(atom.args):
            col = Col(i, rtypes[i])
            if isinstance(arg, ast.Var) and arg.is_wildcard:
                continue
            if isinstance(arg, ast.Var) and arg.name in new_vars:  # repeated in this atom: a test
                preds.append(Fn("eq", (Col(new_vars[arg.name], rtypes[i]), col), Type.BOOL))
            elif isinstance(arg, ast.Var) and arg.name not in p.cols:
                new_vars[arg.name] = i
            elif isinstance(arg, ast.Const) or not ast.expr_vars(arg):
                preds.append(Fn("eq", (col, coerce(lower_expr(arg, {}, self.prog.fns), rtypes[i])), Type.BOOL))
            else:  # a bound variable or an expression over bound ones: a join key
                lkeys_exprs.append(coerce(lower_expr(arg, env, self.prog.fns), rtypes[i]))
                rkeys.append(i)
        right = rel_node
        if preds:
            right = self.add("filter", [rel_node], {"pred": conj(preds)}, schema)
        if p.node is None and not rkeys:
            return _Pipe(right, dict(new_vars), rtypes)
        p = self.seed(p)
        lkeys = []
        extra = []
        for e in lkeys_exprs:
            if isinstance(e, Col):
                lkeys.append(e.index)
            else:
                extra.append(e)
        if extra:
            p, idx = self.extend(p, extra)
            it = iter(idx)
            lkeys = [e.index if isinstance(e, Col) else next(it) for e in lkeys_exprs]
        n = len(p.types)
        node = self.add("join", [p.node, right], {"left_keys": tuple(lkeys), "right_keys": tuple(rkeys)},
                        _anon(p.types + rtypes))
        cols = dict(p.cols)
        for v, i in new_vars.items():
            cols[v] = n + i
        return _Pipe(node, cols, p.types + rtypes)

    def step_neg(self, s: Step, p: _Pipe) -> _Pipe:
        atom: ast.Atom = s.lit.atom
        rel_node = self.rels[atom.rel]
        rtypes = self.prog.relations[atom.rel].schema.types
        p = self.seed(p)
        env = p.env()
        keys: list[IRExpr] = []
        rkeys: list[int] = []
        for i, arg in enumerate(atom.args):
            if isinstance(arg, ast.Var) and arg.is_wildcard:
                continue
            keys.append(coerce(lower_expr(arg, env, self.prog.fns), rtypes[i]))
            rkeys.append(i)
        computed = [e for e in keys if not isinstance(e, Col)]
        q, idx = self.extend(p, computed)
        it = iter(idx)
        lkeys = [e.index if isinstance(e, Col) else next(it) for e in keys]
        node = self.add("anti_join", [q.node, rel_node], {"left_keys": tuple(lkeys), "right_keys": tuple(rkeys)},
                        _anon(q.types))
        return _Pipe(node, q.cols, q.types)

    def step_filter(self, s: Step, p: _Pipe) -> _Pipe:
        p = self.seed(p)
        pred = lower_expr(s.expr, p.env(), self.prog.fns)
        return _Pipe(self.add("filter", [p.node], {"pred": pred}, _anon(p.types)), p.cols, p.types)

    def step_bind(self, s: Step, p: _Pipe) -> _Pipe:
        p = self.seed(p)
        value = lower_expr(s.expr, p.env(), self.prog.fns)
        q, (i,) = self.extend(p, [value])
        q.cols[s.var] = i
        return q

    def step_gen(self, s: Step, p: _Pipe) -> _Pipe:
        p = self.seed(p)
        gen = lower_expr(s.expr, p.env(), self.prog.fns)
        types = p.types + [gen.type]
        node = self.add("flat_map", [p.node], {"gen": gen}, _anon(types))
        cols = dict(p.cols)
        cols[s.var] = len(p.types)
        return _Pipe(node, cols, types)

    def step_agg(self, s: Step, p: _Pipe) -> _Pipe:
        agg: ast.BodyAgg = s.lit
        corr = list(s.correlated)
        p = self.seed(p)
        # the distinct values of the correlated variables seed the aggregate's body
        ctypes = [p.types[p.cols[c]] for c in corr]
        proj = self.add("map", [p.node], {"exprs": tuple(Col(p.cols[c], p.types[p.cols[c]]) for c in corr)},
                        _anon(ctypes))
        seed = self.add("distinct", [proj], {}, _anon(ctypes))
        inner = self.lower_steps(s.inner, _Pipe(seed, {c: i for i, c in enumerate(corr)}, ctypes))
        arg = None if agg.arg is None else lower_expr(agg.arg, inner.env(), self.prog.fns)
        vtype = _agg_type(agg.func, arg)
        keys = tuple(Col(inner.cols[c], inner.types[inner.cols[c]]) for c in corr)
        out_types = ctypes + [vtype]
        res = self.add("aggregate", [inner.node], {"keys": keys, "aggs": ((agg.func, arg),)}, _anon(out_types))
        if agg.func in ("count", "sum"):  # over an empty set: 0
            k = tuple(range(len(corr)))
            empty = self.add("anti_join", [seed, res], {"left_keys": k, "right_keys": k}, _anon(ctypes))
            zero = Lit(0.0 if vtype == Type.FLOAT else 0, vtype)
            zeros = self.add("map", [empty], {"exprs": tuple(Col(i, t) for i, t in enumerate(ctypes)) + (zero,)},
                             _anon(out_types))
            res = self.add("union", [res, zeros], {}, _anon(out_types))
        n = len(p.types)
        node = self.add("join", [p.node, res], {"left_keys": tuple(p.cols[c] for c in corr),
                                                "right_keys": tuple(range(len(corr)))}, _anon(p.types + out_types))
        q = _Pipe(node, dict(p.cols), p.types + out_types)
        vcol = n + len(corr)
        if s.var is not None:
            q.cols[s.var] = vcol
            return q
        res_expr = lower_expr(agg.result, q.env(), self.prog.fns)
        a, b = res_expr, Col(vcol, vtype)
        if a.type != b.type:
            a, b = coerce(a, Type.FLOAT), coerce(b, Type.FLOAT)
        return _Pipe(self.add("filter", [q.node], {"pred": Fn("eq", (a, b), Type.BOOL)}, _anon(q.types)),
                     q.cols, q.types)

    # -- the head

    def lower(self) -> str:
        rule = self.crule.rule
        decl = self.prog.relations[rule.head.rel]
        p = self.lower_steps(self.crule.steps, _Pipe(None, {}, []))
        p = self.seed(p)
        env = p.env()
        cols = decl.columns
        if not self.crule.has_head_agg:
            exprs = tuple(coerce(lower_expr(a, env, self.prog.fns), c.type) for a, c in zip(rule.head.args, cols))
            return self.add("map", [p.node], {"exprs": exprs}, decl.schema)
        keys, aggs, order = [], [], []
        for a, c in zip(rule.head.args, cols):
            if isinstance(a, ast.HeadAgg):
                arg = None if a.arg is None else lower_expr(a.arg, env, self.prog.fns)
                order.append(("agg", len(aggs), c))
                aggs.append((a.func, arg))
            else:
                order.append(("key", len(keys), c))
                keys.append(coerce(lower_expr(a, env, self.prog.fns), c.type))
        types = [k.type for k in keys] + [_agg_type(f, e) for f, e in aggs]
        node = self.add("aggregate", [p.node], {"keys": tuple(keys), "aggs": tuple(aggs)}, _anon(types))
        out = []
        for kind, i, c in order:
            j = i if kind == "key" else len(keys) + i
            out.append(coerce(Col(j, types[j]), c.type))
        return self.add("map", [node], {"exprs": tuple(out)}, decl.schema)


def _agg_type(func: str, arg: IRExpr | None) -> Type:
    if func == "count":
        return Type.INT
    if func == "mean":
        return Type.FLOAT
    assert arg is not None
    return arg.type


def _rule_rels(crule: CheckedRule) -> set[str]:
    out: set[str] = set()

    def walk(lits):
        for l in lits:
            if isinstance(l, ast.Atom):
                out.add(l.rel)
            elif isinstance(l, ast.Negation):
                out.add(l.atom.rel)
            elif isinstance(l, ast.BodyAgg):
                walk(l.body)

    walk(crule.rule.body)
    return out


def _fact_rows(facts: list[CheckedRule], decl: ast.Decl) -> list[tuple]:
    rows = []
    for f in facts:
        row = []
        for a, c in zip(f.rule.head.args, decl.columns):
            v = a.value
            row.append(float(v) if c.type == Type.FLOAT and not isinstance(v, bool) else v)
        rows.append(tuple(row))
    return rows


def lower(prog: CheckedProgram) -> Graph:
    """The IR graph of one tick of `prog`."""
    b = GraphBuilder()
    value: dict[str, str] = {}  # relation -> node holding its rows this tick
    same_tick = [r for r in prog.rules if r.rule.kind == "rule"]
    by_head: dict[str, list[CheckedRule]] = {}
    for r in same_tick:
        by_head.setdefault(r.head.rel, []).append(r)
    has_next = {r.head.rel for r in prog.rules if r.rule.kind == "next"}

    def base_inputs(rel: str) -> list[str]:
        """Sources and facts of rel: the rows it has before any rule of this tick."""
        decl = prog.relations[rel]
        schema = decl.schema
        ins: list[str] = []
        if "input" in decl.kinds:
            ins.append(b.add("source", [], {"rel": rel, "kind": "input"}, schema, decl.span))
        if decl.storage == "table":
            ins.append(b.add("source", [], {"rel": rel, "kind": "state"}, schema, decl.span))
        if decl.storage == "channel":
            ins.append(b.add("source", [], {"rel": rel, "kind": "channel"}, schema, decl.span))
        elif rel in has_next and decl.storage != "table":
            ins.append(b.add("source", [], {"rel": rel, "kind": "deferred"}, schema, decl.span))
        facts = [r for r in by_head.get(rel, []) if r.rule.is_fact and _const_fact(r)]
        if facts and decl.storage != "table":  # a table's facts are its state at tick 0
            anns = tuple(dict.fromkeys(a for f in facts for a in annotations_of(f.rule.annotations)))
            ins.append(b.add("values", [], {"rows": tuple(_fact_rows(facts, decl))}, schema, facts[0].rule.span,
                             anns))
        return ins

    def merge(inputs: list[str], schema: Schema, span: Span | None) -> str:
        if not inputs:
            u = b.add("values", [], {"rows": ()}, schema, span)
            inputs = [u]
        node = inputs[0] if len(inputs) == 1 else b.add("union", inputs, {}, schema, span)
        if schema.is_lattice:
            return b.add("lattice_merge", [node], {"key_arity": schema.key_arity, "lattices": schema.lattices},
                         schema, span)
        return b.add("distinct", [node], {}, schema, span)

    def rules_of(rel: str) -> list[CheckedRule]:
        return [r for r in by_head.get(rel, []) if not (r.rule.is_fact and _const_fact(r))]

    for stratum in prog.strata:
        b.stratum = stratum.index
        rels = set(stratum.relations)
        if not stratum.recursive:
            (rel,) = stratum.relations
            decl = prog.relations[rel]
            ins = base_inputs(rel)
            for r in rules_of(rel):
                ins.append(_RuleLowerer(b, r, value, prog).lower())
            value[rel] = merge(ins, decl.schema, decl.span)
            continue
        # a recursive stratum: initial rows outside, recursive rules inside the fixpoint body
        inits, recursive = [], {}
        for rel in stratum.relations:
            decl = prog.relations[rel]
            ins = base_inputs(rel)
            for r in rules_of(rel):
                if _rule_rels(r) & rels:
                    recursive.setdefault(rel, []).append(r)
                else:
                    ins.append(_RuleLowerer(b, r, value, prog).lower())
            inits.append(merge(ins, decl.schema, decl.span))
        body = b.nested(stratum.index)
        params: dict[str, str] = {}
        for rel in stratum.relations:
            params[rel] = body.add("param", [], {"name": f"full:{rel}"}, prog.relations[rel].schema)
        exts: list[str] = []
        for rs in recursive.values():
            for r in rs:
                for used in sorted(_rule_rels(r) - rels):
                    if used not in params:
                        params[used] = body.add("param", [], {"name": f"ext:{used}"}, prog.relations[used].schema)
                        exts.append(used)
        for rel in stratum.relations:
            outs = [_RuleLowerer(body, r, params, prog).lower() for r in recursive.get(rel, [])]
            schema = prog.relations[rel].schema
            # always a union of the rule outputs: the semi-naive pass rewrites each of its inputs
            body.add("yield", [body.add("union", outs, {}, schema)], {"rel": rel}, schema)
        fix = b.add("fixpoint", inits + [value[e] for e in exts],
                    {"rels": stratum.relations, "exts": tuple(exts), "body": body.graph()},
                    UNIT, prog.relations[stratum.relations[0]].span)
        for rel in stratum.relations:
            value[rel] = b.add("result", [fix], {"rel": rel}, prog.relations[rel].schema)

    # what leaves the tick: outputs, table state, rows for the next tick
    b.stratum = len(prog.strata)
    for rel, decl in sorted(prog.relations.items()):
        if "output" in decl.kinds:
            b.add("sink", [value[rel]], {"rel": rel}, decl.schema, decl.span)
        if decl.storage == "table":
            b.add("persist", [value[rel]], {"rel": rel}, decl.schema, decl.span)
    for mode in ("next", "delete"):
        heads: dict[str, list[str]] = {}
        for r in prog.rules:
            if r.rule.kind == mode:
                heads.setdefault(r.head.rel, []).append(_RuleLowerer(b, r, value, prog).lower())
        for rel, outs in sorted(heads.items()):
            schema = prog.relations[rel].schema
            node = outs[0] if len(outs) == 1 else b.add("union", outs, {}, schema)
            b.add("defer", [node], {"rel": rel, "mode": "insert" if mode == "next" else "delete"}, schema)
    init = table_facts(prog)
    heads = {r.head.rel for r in prog.rules}
    for d in prog.relations.values():
        derived = d.name in heads and ("input" in d.kinds or d.storage == "channel")
        b.relation(d.name, sorted(d.kinds), d.schema, init.get(d.name, ()), annotations_of(d.annotations), derived)
    return b.graph()


def _const_fact(r: CheckedRule) -> bool:
    return all(isinstance(a, ast.Const) for a in r.rule.head.args)


def table_facts(prog: CheckedProgram) -> dict[str, list[tuple]]:
    """A table's facts: its rows at tick 0."""
    out: dict[str, list[tuple]] = {}
    for r in prog.rules:
        decl = prog.relations[r.head.rel]
        if r.rule.is_fact and decl.storage == "table" and _const_fact(r):
            out.setdefault(decl.name, []).extend(_fact_rows([r], decl))
    return out
