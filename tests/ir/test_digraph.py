"""ir/digraph.py against networkx (the library it replaced on the compile path, kept for
tests): same components, reachability and lexicographic topological order on random graphs."""
from __future__ import annotations

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dfl.ir import digraph

edges = st.lists(st.tuples(st.integers(0, 9), st.integers(0, 9)), max_size=30)


def _both(es):
    succ = digraph.successors(range(10), es)
    g = nx.DiGraph()
    g.add_nodes_from(range(10))
    g.add_edges_from(es)
    return succ, g


@settings(max_examples=200, deadline=None)
@given(edges)
def test_components_and_reachability_match_networkx(es) -> None:
    succ, g = _both(es)
    assert sorted(map(sorted, digraph.strongly_connected(succ))) == \
        sorted(map(sorted, nx.strongly_connected_components(g)))
    pred = digraph.predecessors(succ)
    for n in range(10):
        assert digraph.reachable(succ, n) - {n} == nx.descendants(g, n)
        assert digraph.reachable(pred, n) - {n} == nx.ancestors(g, n)
        assert (n in digraph.reachable(succ, n)) == any(n in c and (len(c) > 1 or g.has_edge(n, n))
                                                          for c in nx.strongly_connected_components(g))


@settings(max_examples=200, deadline=None)
@given(edges)
def test_topological_order_matches_networkx_or_both_see_a_cycle(es) -> None:
    succ, g = _both(es)
    key = lambda n: -n  # noqa: E731 - a key that is not the insertion order
    if nx.is_directed_acyclic_graph(g):
        assert digraph.topo_order(succ, key=key) == list(nx.lexicographical_topological_sort(g, key=key))
        assert digraph.find_cycle(succ) is None
    else:
        with pytest.raises(ValueError):
            digraph.topo_order(succ)
        cycle = digraph.find_cycle(succ)
        assert cycle and all(g.has_edge(a, b) for a, b in zip(cycle, cycle[1:] + cycle[:1]))


@settings(max_examples=200, deadline=None)
@given(edges, st.integers(0, 9), st.integers(0, 9))
def test_shortest_path_has_networkx_length(es, a, b) -> None:
    succ, g = _both(es)
    if nx.has_path(g, a, b):
        path = digraph.shortest_path(succ, a, b)
        assert path[0] == a and path[-1] == b and len(path) == nx.shortest_path_length(g, a, b) + 1
        assert all(g.has_edge(u, v) for u, v in zip(path, path[1:]))
    else:
        with pytest.raises(ValueError):
            digraph.shortest_path(succ, a, b)


def test_example_of_the_docstring() -> None:
    assert digraph.topo_order(digraph.successors("abc", [("b", "a"), ("c", "a")])) == ["b", "c", "a"]
    assert digraph.find_cycle(digraph.successors("ab", [("a", "a")])) == ["a"]
    assert digraph.find_cycle(digraph.successors("abc", [("a", "b"), ("b", "c"), ("c", "b")])) == ["b", "c"]
