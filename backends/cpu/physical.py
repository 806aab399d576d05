"""The cpu backend's physical plan: for each IR node, the kernels and data structures it
runs with (`dfl compile --emit plan`), and their LLVM IR (`dfl compile --emit llvm`)."""
from __future__ import annotations

from typing import Callable

import numpy as np

from dfl.ir.graph import Graph, Node
from dfl.ir.types import Schema
from dfl.backends.columnar.table import DTYPES
from dfl.backends.cpu.claim_join import claims_of
from dfl.backends.cpu.special import closure_of, min_labels_of, shortest_paths_of

# op -> (what it does on columns, the native kernels it calls)
_OPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "source": ("rows given to the tick, as columns (strings dictionary-encoded once)", ()),
    "values": ("constant rows, as columns", ()),
    "param": ("a fixpoint input", ()),
    "map": ("numpy: each output column computed on whole columns", ()),
    "filter": ("numpy: boolean mask over whole columns", ()),
    "flat_map": ("list builtin once per distinct argument, then repeat rows", ("factorize",)),
    "join": ("hash join: probe an index on the smaller or long-lived side (a long-lived side's index "
             "is laid out by group and grown across fixpoint iterations; an array instead of hashing "
             "for one int key of small range); large probes run on all cores", ("set_insert", "set_lookup", "chain_add", "chain_probe",
                                                                 "chain_probe_parallel", "dense_lookup")),
    "anti_join": ("hash anti-join: look the keys up in the right side's key set", ("set_insert", "set_lookup")),
    "union": ("concatenate columns", ()),
    "distinct": ("dedup: a unique int column (bitmap check) makes it free; else integer columns packed "
                 "into one key (array if dense, else hash), else row hashing",
                 ("all_distinct_dense", "factorize_dense", "factorize1", "factorize")),
    "aggregate": ("group-by: group ids (dense array or hash), count/sum by bincount, min/max by "
                  "grouped reduction", ("factorize_dense", "factorize", "group_sum_i", "group_sum_f",
                                         "group_sum_i128", "group_reduce")),
    "lattice_merge": ("group ids of the key, then min/max per group", ("factorize", "group_reduce")),
    "range_aggregate": ("correlated aggregate by sorting: the right side sorted by (key, value) once, each left "
                        "row's qualifying rows one run of its key's block found by binary search; count by the "
                        "run's length, sum by running sums, min/max of the compared value at the run's end, of "
                        "another column by a running scan (no join built)", ("factorize", "running_extreme")),
    "result": ("a relation out of its fixpoint", ()),
    "yield": ("rows derived this iteration", ()),
    "sink": ("an output: sorted on columns (np.lexsort), decoded", ()),
    "persist": ("a table's rows, kept for the next tick", ()),
    "defer": ("rows for the next tick", ()),
    "exchange": ("in one process, nothing to move; on the worker pool: rows split by a hash of "
                 "the key columns (strings by content), or sent to every / the first partition", ()),
}


def _fixpoint(n: Node) -> tuple[str, tuple[str, ...]]:
    c = closure_of(n)  # the shape the compiler annotated (compiler/passes/recursion_shapes.py)
    if c is not None:
        return c.describe(), ("factorize_dense", "group_order", "closure_bfs")
    ml = min_labels_of(n)
    if ml is not None:
        return ml.describe(), ("factorize1", "group_order", "dijkstra")
    s = shortest_paths_of(n)
    if s is not None:
        return s.describe(), ("factorize_dense", "group_order", "dijkstra", "lattice_update", "set_lookup",
                                  "chain_probe")
    body: Graph = n.attr("body")
    schemas = {y.attr("rel"): y.schema for y in body.by_op("yield")}
    stores = "; ".join(f"{rel}: {_storage(schemas[rel])}" for rel in n.attr("rels") if rel in schemas)
    claims = sorted(claims_of(body, schemas))
    claimed = f"; joins emitting only rows their relation lacks: {', '.join(claims)}" if claims else ""
    lattice = any(sc.is_lattice for sc in schemas.values())
    return (f"semi-naive fixpoint over {', '.join(n.attr('rels'))} ({stores}); lasting join indexes "
            f"laid out by group, grown in place{claimed}; loop-invariant nodes run once",
            ("set_insert", "lattice_update" if lattice else "set_lookup"))


def _storage(schema: Schema) -> str:
    """How fixpoint.py holds a relation of this schema (the choice is made on its types; a
    relation whose values outgrow the compact form moves to the general one as it runs)."""
    ints = [DTYPES[t] == np.int64 for t in schema.types]
    if schema.is_lattice:
        if schema.key_arity == 1 and ints[0]:
            return "key -> row by an array over the key range (hashed if it goes sparse), merged values beside"
        return "hash map key -> merged values"
    if schema.arity and all(ints):
        return "packed row set (one integer per row; hashed rows if a value does not fit)"
    return "hash row set"


def _fixed(line: tuple[str, tuple[str, ...]]) -> Callable[[Node], tuple[str, tuple[str, ...]]]:
    return lambda n: line


# op -> its plan line for a node (what it does, its kernels); one per op of the op table
# (tests/ir/test_op_table.py checks)
PLAN: dict[str, Callable[[Node], tuple[str, tuple[str, ...]]]] = {
    **{op: _fixed(line) for op, line in _OPS.items()}, "fixpoint": _fixpoint}


def kernels_of(g: Graph) -> list[str]:
    names: list[str] = []
    for n in g.nodes:
        ks = PLAN[n.op](n)[1]
        names += [k for k in ks if k not in names]
        if n.op == "fixpoint":
            names += [k for k in kernels_of(n.attr("body")) if k not in names]
    return names


def describe(g: Graph, indent: str = "") -> str:
    from dfl.backends.cpu.fuse import find_chains, min_rows
    from dfl.backends.cpu.pipeline import find_pipelines

    pipes = find_pipelines(g) if not indent else {}  # fixpoint bodies run node by node
    piped = {n.id: p for p in pipes.values() for n in p.nodes}
    chains = find_chains(g, frozenset(piped))
    fused = {n.id: last for last, c in chains.items() for n in c.nodes}
    lines = []
    for n in g.nodes:
        what, kernels = PLAN[n.op](n)
        if n.id in piped:
            p = piped[n.id]
            what = p.describe() if n.id == p.last.id else f"in the fused join pipeline ending at {p.last.id}"
            kernels = ("factorize_dense", "set_insert", "set_lookup", "chain_add") if n.id == p.last.id else ()
        elif n.id in fused:
            c = chains[fused[n.id]]
            what = (f"fused with {', '.join(x.id for x in c.nodes if x.id != n.id)} into one native loop "
                    f"(a kernel file generated per chain) from {min_rows():,} rows; numpy below that")
        ins = ", ".join(n.inputs)
        ks = f"  [kernels: {', '.join(kernels)}]" if kernels else ""
        lines.append(f"{indent}{n.id} = {n.op}({ins}): {what}{ks}")
        if n.op == "fixpoint":
            lines.append(describe(n.attr("body"), indent + "    "))
    return "\n".join(lines)


def plan_text(g: Graph) -> str:
    return "# dfl physical plan, target cpu\n" + describe(g) + "\n"


def llvm_text(g: Graph) -> str:
    """The LLVM IR of every native kernel the plan calls (compiled for its usual types)."""
    from numba import njit

    from dfl.backends.cpu import kernels as K
    from dfl.backends.cpu import range_agg

    out = []
    for name in kernels_of(g):
        home = K if hasattr(K, name) else range_agg  # range_agg.py keeps its own kernels
        disp = getattr(home, name)
        # numba shows no IR for code loaded from its disk cache: compile a fresh copy
        options = {k: v for k, v in disp.targetoptions.items() if k not in ("cache", "nopython")}
        fresh = njit(**options)(disp.py_func)
        for sig in home.SIGNATURES.get(name, ()):
            fresh.compile(sig)
        for sig, ir in fresh.inspect_llvm().items():
            out.append(f"; ---- kernel {name}{sig}\n{ir}")
    out += _fused_llvm(g)
    out += _pipeline_llvm(g)
    return "\n".join(out)


def _pipeline_llvm(g: Graph) -> list[str]:
    """The generated loop of each join pipeline, compiled for its inputs' types (the left
    side probing, as when it is the larger)."""
    from dfl.backends.cpu.pipeline import find_pipelines, llvm_of

    return [f"; ---- fused join pipeline {', '.join(n.id for n in p.nodes)}\n{llvm_of(p, g)}"
            for p in find_pipelines(g).values()]


def _fused_llvm(g: Graph) -> list[str]:
    """The generated loop of each fused chain, compiled for int64/float64/bool inputs."""
    from dfl.backends.cpu import fuse

    out = []
    for last, chain in fuse.chains_of(g).items():
        first = chain.nodes[0]
        src_types = first.schema.types if first.op == "filter" else None
        if src_types is None:  # a map first: its input's types are in the graph
            continue
        ns: dict = {}
        exec(compile(fuse.generate(chain, list(src_types)).replace("@njit(cache=True)", "@njit"),
                     f"<fused {last}>", "exec"), ns)
        kernel = ns["kernel"]
        sig = tuple({"int": "int64[:]", "str": "int64[:]", "addr": "int64[:]", "float": "float64[:]",
                     "bool": "boolean[:]"}[t.value] for t in src_types) + ("int64",)
        kernel.compile(f"({', '.join(sig)},)")
        for s, ir in kernel.inspect_llvm().items():
            out.append(f"; ---- fused chain {', '.join(n.id for n in chain.nodes)}{s}\n{ir}")
    return out
