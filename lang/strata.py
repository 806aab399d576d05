"""Stratification (LANGUAGE.md §4): no relation may depend on itself through `!` or an aggregate.

The dependency graph has an edge body-relation -> head-relation for each same-tick rule
(`next`/`delete` rules feed the next tick and add no edge). An edge is negative when the
body relation is negated or aggregated over. Each strongly connected component is one
stratum, in topological order; a negative edge inside a component is an error that names
the cycle and points at the literal that closes it.
"""
from __future__ import annotations

from dataclasses import dataclass

from dfl.errors import DflError, Span
from dfl.ir import digraph
from dfl.lang import ast


@dataclass(frozen=True)
class Stratum:
    index: int
    relations: tuple[str, ...]
    recursive: bool  # a relation here depends on itself (a fixpoint is needed)


@dataclass(frozen=True)
class Dep:
    """An edge body-relation -> head-relation of the dependency graph."""
    body: str
    head: str
    negative: bool
    span: Span
    why: str


def dependency_graph(relations: list[str], rules: list[ast.Rule]) -> tuple[dict[str, list[str]], list[Dep]]:
    """The adjacency (relation -> the heads that read it) and every edge, grouped by body
    relation in declaration order, then by head in the order first met."""
    by_body: dict[str, dict[str, list[Dep]]] = {rel: {} for rel in relations}
    for r in rules:
        if r.kind != "rule":
            continue
        head = r.head.rel
        aggregated = any(isinstance(a, ast.HeadAgg) for a in r.head.args)
        for lit in r.body:
            for rel, negative, span in _uses(lit):
                deps_of_rel = by_body.setdefault(rel, {})  # rel before head: networkx's node order
                by_body.setdefault(head, {})
                deps_of_rel.setdefault(head, []).append(Dep(
                    rel, head, negative or aggregated, span,
                    "an aggregate" if (aggregated or isinstance(lit, ast.BodyAgg)) else "negation"))
    succ = {rel: list(heads) for rel, heads in by_body.items()}
    return succ, [d for heads in by_body.values() for deps in heads.values() for d in deps]


def _uses(lit: ast.Literal, inside_agg: bool = False):
    if isinstance(lit, ast.Atom):
        yield lit.rel, inside_agg, lit.span
    elif isinstance(lit, ast.Negation):
        yield lit.atom.rel, True, lit.span
    elif isinstance(lit, ast.BodyAgg):
        for inner in lit.body:
            for rel, _, _span in _uses(inner, True):
                yield rel, True, lit.span


def stratify(relations: list[str], rules: list[ast.Rule]) -> list[Stratum]:
    g, deps = dependency_graph(relations, rules)
    errors: list[DflError] = []
    comp_of: dict[str, int] = {}
    sccs = digraph.strongly_connected(g)
    for i, comp in enumerate(sccs):
        for rel in comp:
            comp_of[rel] = i
    seen_cycles: set[frozenset[str]] = set()
    for d in deps:
        if d.negative and comp_of[d.body] == comp_of[d.head]:
            cycle = _cycle(g, d.body, d.head)
            key = frozenset(cycle)
            if key in seen_cycles:
                continue
            seen_cycles.add(key)
            errors.append(_cycle_error(cycle, d.span, d.why))
    if errors:
        first = errors[0]
        first.related = errors[1:]
        raise first
    dag = digraph.successors(range(len(sccs)), ((comp_of[u], comp_of[v]) for u in g for v in g[u]
                                                if comp_of[u] != comp_of[v]))
    order = digraph.topo_order(dag, key=lambda c: min(sccs[c]))
    out = []
    for idx, c in enumerate(order):
        rels = tuple(sorted(sccs[c]))
        recursive = len(rels) > 1 or rels[0] in g[rels[0]]
        out.append(Stratum(idx, rels, recursive))
    return out


def _cycle(g: dict[str, list[str]], u: str, v: str) -> list[str]:
    """The relations of a cycle through the edge u -> v, as u, v, …, u."""
    if u == v:
        return [u, u]
    back = digraph.shortest_path(g, v, u)
    return [u, *back]


def _cycle_error(cycle: list[str], span: Span, why: str) -> DflError:
    rels = sorted(set(cycle))
    path = " -> ".join(cycle)
    if len(rels) == 1:
        msg = f"'{rels[0]}' depends on itself through {why}, so the program cannot be stratified"
    else:
        names = ", ".join(f"'{r}'" for r in rels)
        msg = f"{names} depend on each other through {why}, so the program cannot be stratified (cycle: {path})"
    return DflError(msg, span, hint="no relation may depend on itself through `!` or an aggregate; "
                                    "split the recursion, or use a min/max lattice column")
