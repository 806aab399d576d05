"""The one semi-naive driver: runs a fixpoint node's body to convergence over relation stores.

Every backend (and the distributed runtime) iterates a recursive stratum the same way; what
differs is how rows are held. So the loop lives here and each caller plugs in:

- a `Store` per recursive relation: `add(rows)` merges derived rows in (a set, or a lattice
  merging values per key) and returns those that were new or improved, the next delta;
  `full()` is what the body's `full:R` param reads;
- `evaluate(node, values)`: its own evaluator for one body node (a callback, so this module
  imports no backend and no backend's evaluator imports this loop back);
- `size(rows)`: how many rows a value holds (the loop ends when every delta is empty);
- `empty(rel)`: an empty delta for a relation no yield derived this iteration.

Example (the interpreter's store over a Python set)::

    loop = SemiNaive(body, ("tc",), {"tc": store}, params, evaluate, size=len, empty=lambda r: Rel([]))
    iterations = loop.run(loop.seed([init_rows]))

`run` is the whole loop in one process; `derive` (one iteration's rows, from given deltas)
and `merge` (those rows into the stores) are its two halves, which the distributed runtime
calls apart because the derived rows cross partitions between them. Body nodes that read no
`full:`/`delta:` param are loop-invariant: evaluated once, before the first iteration.
"""
from __future__ import annotations

from typing import Callable, Generic, Mapping, Protocol, Sequence, TypeVar

from dfl.ir.graph import Graph, Node

T = TypeVar("T")


class Store(Protocol[T]):
    """A recursive relation's rows across iterations."""

    def add(self, rows: T) -> T:
        """Merges rows in; returns the ones that were new (or improved a lattice value)."""
        ...

    def full(self) -> T:
        """All rows so far, as the body's `full:R` param reads them."""
        ...


def variant_nodes(body: Graph) -> set[str]:
    """The body nodes that depend on a recursive relation (a `full:`/`delta:` param)."""
    out: set[str] = set()
    for n in body.nodes:  # nodes are in topological order
        if (n.op == "param" and not n.attr("name").startswith("ext:")) or any(i in out for i in n.inputs):
            out.add(n.id)
    return out


class SemiNaive(Generic[T]):
    """One fixpoint's loop state: the stores, the body's params and its invariant values.

    `params` is the dict the caller's evaluator reads `param` nodes from (its `ext:` entries
    filled in already); the driver writes the `full:`/`delta:` entries into it.
    `on_fixed(value)` sees each loop-invariant value once (the cpu backend gives them index
    caches, since they are probed every iteration). A `probe` (runtime/profile.Profile)
    runs each iteration itself, to time it and count its rows per relation and rule."""

    def __init__(self, body: Graph, rels: Sequence[str], stores: Mapping[str, Store[T]],
                 params: dict[str, T], evaluate: Callable[[Node, dict[str, T]], T],
                 size: Callable[[T], int], empty: Callable[[str], T],
                 on_fixed: Callable[[T], None] | None = None, probe=None) -> None:
        self.body = body
        self.probe = probe  # the run's profiler (runtime/profile.Profile) when --stats asked for one
        self.values: dict[str, T] | None = None  # the last derive's node values, kept for the probe
        self.rels = tuple(rels)
        self.stores = stores
        self.params = params
        self.evaluate = evaluate
        self.size = size
        self.empty = empty
        self.yields = [(n.attr("rel"), n.id) for n in body.by_op("yield")]
        variant = variant_nodes(body)
        self.variant = [n for n in body.nodes if n.id in variant]
        self.fixed: dict[str, T] = {}
        for n in body.nodes:
            if n.id not in variant:
                v = self.fixed[n.id] = evaluate(n, self.fixed)
                if on_fixed is not None and v is not None:
                    on_fixed(v)

    def seed(self, inits: Sequence[T]) -> dict[str, T]:
        """Adds each relation's initial rows (in `rels` order); returns the first deltas."""
        delta = {rel: self.stores[rel].add(init) for rel, init in zip(self.rels, inits)}
        if self.probe is not None:
            self.probe.seeded(self, delta)
        return delta

    def derive(self, delta: Mapping[str, T]) -> dict[str, T]:
        """One iteration's derivations: the body over the stores (`full:`) and `delta`."""
        for rel in self.rels:
            self.params[f"full:{rel}"] = self.stores[rel].full()
            self.params[f"delta:{rel}"] = delta[rel]
        values = dict(self.fixed)
        for n in self.variant:
            values[n.id] = self.evaluate(n, values)
        if self.probe is not None:
            self.values = values
        return {rel: values[nid] for rel, nid in self.yields}

    def merge(self, derived: Mapping[str, T]) -> dict[str, T]:
        """Adds derived rows to the stores; returns the next deltas (empty where none)."""
        news = {rel: self.stores[rel].add(rows) for rel, rows in derived.items()}
        return {rel: news[rel] if rel in news else self.empty(rel) for rel in self.rels}

    def done(self, delta: Mapping[str, T]) -> bool:
        return not any(self.size(d) for d in delta.values())

    def run(self, delta: dict[str, T], grown: Callable[[dict[str, T]], None] | None = None) -> int:
        """Iterates from the first deltas until no relation gains a row; returns the number of
        iterations (the last one finds nothing new). `grown(delta)` sees each non-empty
        delta before the next iteration (the interpreter checks its memory limit there)."""
        iterations = 0
        while True:
            iterations += 1
            if self.probe is None:
                delta = self.merge(self.derive(delta))
            else:
                delta = self.probe.iterate(self, delta)
            if self.done(delta):
                return iterations
            if grown is not None:
                grown(delta)
