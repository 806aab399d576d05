"""A recursive stratum: iterate the body until no relation gains a row (or improves a value).

With `delta:R` params (after the semi-naive pass) each iteration joins only the rows new in
the previous one; without them the same loop is the naive fixpoint. Body nodes that read
no `full:`/`delta:` param are loop-invariant and evaluated once.
"""
from __future__ import annotations

from dataclasses import replace

from dfl.ir.graph import Graph, Node
from dfl.backends.interp.relation import FullRel, LatticeRel, Rel
from dfl.runtime import limits


def _variant(body: Graph) -> set[str]:
    out: set[str] = set()
    for n in body.nodes:  # nodes are in topological order
        if (n.op == "param" and not n.attr("name").startswith("ext:")) or any(i in out for i in n.inputs):
            out.add(n.id)
    return out


def run_fixpoint(node: Node, ins: list[Rel], ctx) -> Rel:
    rels: tuple[str, ...] = node.attr("rels")
    body: Graph = node.attr("body")
    schemas = {n.attr("rel"): n.schema for n in body.by_op("yield")}  # params may be pruned
    params: dict[str, Rel] = {}
    full: dict[str, FullRel | LatticeRel] = {}
    for rel, init in zip(rels, ins):
        schema = schemas[rel]
        if schema.is_lattice:
            full[rel] = LatticeRel(schema.key_arity, schema.lattices, init.rows)
        else:
            full[rel] = FullRel(init.rows)
        params[f"full:{rel}"] = full[rel]
        params[f"delta:{rel}"] = Rel(list(full[rel].rows))
    for ext, rel in zip(node.attr("exts"), ins[len(rels):]):
        params[f"ext:{ext}"] = rel
    sub = replace(ctx, params=params)  # ctx: a backends/interp/plan.py Context
    variant = _variant(body)
    fixed: dict[str, Rel] = {}
    for n in body.nodes:
        if n.id not in variant:
            fixed[n.id] = sub.eval(n, fixed)
    yields = [(n.attr("rel"), n.id) for n in body.by_op("yield")]
    arities = [s.arity for s in schemas.values()] or [1]
    iterations = 0
    while True:
        iterations += 1
        values = dict(fixed)
        for n in body.nodes:
            if n.id in variant:
                values[n.id] = sub.eval(n, values)
        news = {rel: full[rel].add_new(values[nid]) for rel, nid in yields}
        if not any(news.values()):
            break
        # the relations' growth: this iteration's new rows (already made) must leave room
        limits.check_rows(sum(map(len, news.values())), limits.py_row_bytes(max(arities)), small_ok=False)
        for rel in rels:
            params[f"delta:{rel}"] = Rel(news.get(rel, []))
    ctx.stats["iterations"] = ctx.stats.get("iterations", 0) + iterations
    for rel in rels:
        ctx.fixpoint_results[(node.id, rel)] = Rel(list(full[rel].rows))
    return Rel([])
