"""Stratification (LANGUAGE.md §4): no relation may depend on itself through `!` or an aggregate.

The dependency graph has an edge body-relation -> head-relation for each same-tick rule
(`next`/`delete` rules feed the next tick and add no edge). An edge is negative when the
body relation is negated or aggregated over. Each strongly connected component is one
stratum, in topological order; a negative edge inside a component is an error that names
the cycle and points at the literal that closes it.
"""
from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from dfl.errors import DflError, Span
from dfl.lang import ast


@dataclass(frozen=True)
class Stratum:
    index: int
    relations: tuple[str, ...]
    recursive: bool  # a relation here depends on itself (a fixpoint is needed)


def dependency_graph(relations: list[str], rules: list[ast.Rule]) -> nx.MultiDiGraph:
    g = nx.MultiDiGraph()
    g.add_nodes_from(relations)
    for r in rules:
        if r.kind != "rule":
            continue
        head = r.head.rel
        aggregated = any(isinstance(a, ast.HeadAgg) for a in r.head.args)
        for lit in r.body:
            for rel, negative, span in _uses(lit):
                g.add_edge(rel, head, negative=negative or aggregated, span=span,
                           why="an aggregate" if (aggregated or isinstance(lit, ast.BodyAgg)) else "negation")
    return g


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
    g = dependency_graph(relations, rules)
    errors: list[DflError] = []
    comp_of: dict[str, int] = {}
    sccs = list(nx.strongly_connected_components(g))
    for i, comp in enumerate(sccs):
        for rel in comp:
            comp_of[rel] = i
    seen_cycles: set[frozenset[str]] = set()
    for u, v, data in g.edges(data=True):
        if data["negative"] and comp_of[u] == comp_of[v]:
            cycle = _cycle(g, u, v)
            key = frozenset(cycle)
            if key in seen_cycles:
                continue
            seen_cycles.add(key)
            errors.append(_cycle_error(cycle, data["span"], data["why"]))
    if errors:
        first = errors[0]
        first.related = errors[1:]
        raise first
    dag = nx.condensation(g, sccs)
    order = list(nx.lexicographical_topological_sort(dag, key=lambda c: min(sccs[c])))
    out = []
    for idx, c in enumerate(order):
        rels = tuple(sorted(sccs[c]))
        recursive = len(rels) > 1 or g.has_edge(rels[0], rels[0])
        out.append(Stratum(idx, rels, recursive))
    return out


def _cycle(g: nx.MultiDiGraph, u: str, v: str) -> list[str]:
    """The relations of a cycle through the edge u -> v, as u, v, …, u."""
    if u == v:
        return [u, u]
    back = nx.shortest_path(g, v, u)
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
