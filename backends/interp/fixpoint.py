"""A recursive stratum: iterate the body until no relation gains a row (or improves a value).

The loop is the shared semi-naive driver (backends/seminaive.py); this file plugs in the
interpreter's relations: a `FullRel` (a Python set beside its rows) or a `LatticeRel` (a
dict from key to merged row), whose indexes grow with them. With `delta:R` params (after
the semi-naive pass) each iteration joins only the rows new in the previous one; without
them the same loop is the naive fixpoint.
"""
from __future__ import annotations

from dataclasses import replace

from dfl.ir.graph import Graph, Node
from dfl.backends.interp.relation import FullRel, LatticeRel, Rel
from dfl.backends.seminaive import SemiNaive
from dfl.runtime import limits


class _Store:
    """A FullRel or LatticeRel as the driver's store: the `full:R` param is the relation itself."""

    __slots__ = ("rel",)

    def __init__(self, rel: FullRel | LatticeRel) -> None:
        self.rel = rel

    def add(self, rows: Rel) -> Rel:
        return Rel(self.rel.add_new(rows))

    def full(self) -> Rel:
        return self.rel


def run_fixpoint(node: Node, ins: list[Rel], ctx) -> Rel:
    rels: tuple[str, ...] = node.attr("rels")
    body: Graph = node.attr("body")
    schemas = {n.attr("rel"): n.schema for n in body.by_op("yield")}  # params may be pruned
    stores = {rel: _Store(LatticeRel(schemas[rel].key_arity, schemas[rel].lattices) if schemas[rel].is_lattice
                          else FullRel()) for rel in rels}
    params: dict[str, Rel] = {f"ext:{ext}": rel for ext, rel in zip(node.attr("exts"), ins[len(rels):])}
    sub = replace(ctx, params=params)  # ctx: a backends/interp/plan.py Context
    loop = SemiNaive(body, rels, stores, params, lambda n, values: sub.eval(n, values),
                     size=len, empty=lambda rel: Rel([]), probe=ctx.profile)
    row_bytes = limits.py_row_bytes(max([s.arity for s in schemas.values()] or [1]))

    def grown(delta: dict[str, Rel]) -> None:
        # the relations' growth: this iteration's new rows (already made) must leave room
        limits.check_rows(sum(map(len, delta.values())), row_bytes, small_ok=False)

    iterations = loop.run(loop.seed(ins[:len(rels)]), grown)
    ctx.stats["iterations"] = ctx.stats.get("iterations", 0) + iterations
    for rel in rels:
        ctx.fixpoint_results[(node.id, rel)] = Rel(list(stores[rel].rel.rows))
    return Rel([])
