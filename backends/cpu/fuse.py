"""Fused pipelines: a chain of `filter` and `map` nodes compiled into one native loop.

numpy evaluates an expression one operator at a time, each pass over the whole column
making a temporary; a fused kernel reads each input row once, tests every filter and
computes every output column in one loop. Kernels are generated as Python source into
real files in a private cache folder (kernel_cache.py), named by a hash of their code
(numba can cache code from real files only), so the same chain compiles once per machine
and a second run of the program compiles nothing.

Compiling a kernel costs a fraction of a second, so a chain is fused only when the rows
it sees make that worthwhile (`DFL_FUSE_MIN_ROWS`, default 1,000,000; 0 fuses always),
and only over numeric columns with operators that have an exact native lowering (strings
pass through as their codes, but string functions and comparisons by order are left to
numpy). A division by zero inside a fused loop stops it and reports the row's values.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from dfl.ir.expr import Col, IRExpr, Lit
from dfl.ir.graph import Graph, Node
from dfl.ir.types import Type
from dfl.backends.cpu import kernel_cache
from dfl.backends.columnar.table import DTYPES, Table
from dfl.stdlib.builtins import BuiltinError

_NATIVE_OPS = {"add", "sub", "mul", "div", "floordiv", "mod", "eq", "ne", "lt", "le", "gt", "ge",
               "neg", "not", "and", "if", "float", "abs", "min", "max"}
_NP = {Type.INT: "np.int64", Type.FLOAT: "np.float64", Type.BOOL: "np.bool_", Type.STR: "np.int64",
       Type.ADDR: "np.int64"}
_SYM = {"add": "+", "sub": "-", "mul": "*", "eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}


def min_rows() -> int:
    return int(os.environ.get("DFL_FUSE_MIN_ROWS", "1000000"))


def fusible(e: IRExpr, guarded: bool = False, ranks: bool = False) -> bool:
    """Can e run in a fused loop? A division under `if` or a later conjunct of `and` (a
    guard) is left to numpy, which evaluates it only on the rows the guard lets through.
    With `ranks`, the loop is given the pool's ranks and compares strings by order too."""
    if isinstance(e, Col):
        return True
    if isinstance(e, Lit):
        return not e.type.text
    if e.op not in _NATIVE_OPS:
        return False
    if e.op in ("div", "floordiv", "mod") and guarded:
        return False
    if e.op in ("lt", "le", "gt", "ge") and e.args[0].type.text and not ranks:
        return False  # string order goes through the pool's ranks
    if e.op == "add" and e.type.text:
        return False
    if e.op == "if":
        return fusible(e.args[0], guarded, ranks) and fusible(e.args[1], True, ranks) \
            and fusible(e.args[2], True, ranks)
    if e.op == "and":
        return fusible(e.args[0], guarded, ranks) and all(fusible(a, True, ranks) for a in e.args[1:])
    return all(fusible(a, guarded, ranks) for a in e.args)


@dataclass(frozen=True)
class Chain:
    """filter/map nodes applied in order to the chain's input; `last` is the chain's output node."""

    nodes: tuple[Node, ...]

    @property
    def last(self) -> Node:
        return self.nodes[-1]


def find_chains(g: Graph, exclude: frozenset[str] = frozenset()) -> dict[str, Chain]:
    """The fusible chains of consecutive filter/map nodes (length >= 2), by their last node's
    id; nodes in `exclude` (a join pipeline's, pipeline.py) are in none."""
    users = g.consumers()
    chains: dict[str, Chain] = {}
    taken: set[str] = set(exclude)
    for n in reversed(g.nodes):
        if n.id in taken or not _fusible_node(n, g):
            continue
        run = [n]
        cur = n
        while True:
            src = g.node(cur.inputs[0]) if cur.inputs and cur.inputs[0] in g else None
            if src is None or src.id in taken or not _fusible_node(src, g) or len(users.get(src.id, ())) != 1 \
                    or sum(map(_divisions, run)) + _divisions(src) > MAX_DIVISIONS:
                break
            run.append(src)
            cur = src
        if len(run) >= 2:
            run.reverse()
            chains[n.id] = Chain(tuple(run))
            taken.update(x.id for x in run)
    return chains


def _fusible_node(n: Node, g: Graph) -> bool:
    if n.schema.arity == 0:
        return False
    if n.op == "filter":
        return fusible(n.attr("pred")) and _divisions(n) <= MAX_DIVISIONS
    if n.op == "map":
        return all(fusible(e) for e in n.attr("exprs")) and _divisions(n) <= MAX_DIVISIONS
    return False


# each division is a branch out of the loop (the division-by-zero report), and numba's SSA
# pass recurses once per branch: a few hundred of them in one kernel exhaust Python's stack
MAX_DIVISIONS = 32


def _divisions(n: Node) -> int:
    return divisions([n.attr("pred")] if n.op == "filter" else list(n.attr("exprs")))


def divisions(exprs: list[IRExpr]) -> int:
    todo = list(exprs)
    count = 0
    while todo:
        e = todo.pop()
        if not isinstance(e, (Col, Lit)):
            count += e.op in ("div", "floordiv", "mod")
            todo.extend(e.args)
    return count


_MAX_PARENS = 16  # parentheses in one generated expression before it becomes a statement


def _float_literal(v: float) -> str:
    """A float as generated code reads it: `repr` gives `inf` and `nan`, which are no names."""
    if v != v:
        return "np.nan"
    if v in (float("inf"), float("-inf")):
        return "np.inf" if v > 0 else "-np.inf"
    return repr(v)


# what a fused loop returns when a division by zero stops it: {x}, {y} the operands' code,
# {kind} the operator and its type (run_chain reports them)
CHAIN_FAIL = "return i, np.float64({x}), np.float64({y}), {kind}, outs"


class Source:
    """Python source of one fused loop (a chain's here, a join pipeline's in pipeline.py).

    `fail` is the statement that leaves the loop on a division by zero; `ranks`, the name
    of the loop's array of string ranks (strings then compare by order as `ranks[code]`)."""

    def __init__(self, fail: str = CHAIN_FAIL, ranks: str | None = None) -> None:
        self.lines: list[str] = []
        self.tmp = 0
        self.fail = fail
        self.ranks = ranks

    def var(self) -> str:
        self.tmp += 1
        return f"t{self.tmp}"

    def expr(self, e: IRExpr, cols: list[str], indent: str) -> str:
        """The source of e; a deep expression is cut into statements, since Python's parser
        refuses more than 200 nested parentheses and numba's typing recurses per level. A
        temporary computes a branch of `if` or a later conjunct of `and` eagerly, which is
        harmless: no fusible operator fails except division, never fused under a guard."""
        code = self._expr(e, cols, indent)
        if code.count("(") > _MAX_PARENS:
            v = self.var()
            self.lines.append(f"{indent}{v} = {code}")
            return v
        return code

    def _expr(self, e: IRExpr, cols: list[str], indent: str) -> str:
        if isinstance(e, Col):
            return cols[e.index]
        if isinstance(e, Lit):
            if e.type == Type.FLOAT:
                return f"np.float64({_float_literal(float(e.value))})"
            if e.type == Type.BOOL:
                return "True" if e.value else "False"
            return f"np.int64({int(e.value)})"
        a = [self.expr(x, cols, indent) for x in e.args]
        op = e.op
        if op in ("lt", "le", "gt", "ge") and e.args[0].type.text:
            return f"({self.ranks}[{a[0]}] {_SYM[op]} {self.ranks}[{a[1]}])"
        if op in _SYM:
            return f"({a[0]} {_SYM[op]} {a[1]})"
        if op in ("div", "floordiv", "mod"):
            v = self.var()
            kind = f"{op}:{e.type.value}"
            self.lines.append(f"{indent}if {a[1]} == 0:")
            self.lines.append(f"{indent}    " + self.fail.format(x=a[0], y=a[1], kind=repr(kind)))
            body = {"div": f"{a[0]} / {a[1]}", "floordiv": f"{a[0]} // {a[1]}", "mod": f"{a[0]} % {a[1]}"}[op]
            if op == "floordiv" and e.type == Type.INT:
                # numba's int64 `//` gives 0 for INT_MIN // -1; the language wraps to INT_MIN,
                # which is what negation gives (x // -1 == -x, wrapping)
                body = f"-{a[0]} if {a[1]} == -1 else {a[0]} // {a[1]}"
            self.lines.append(f"{indent}{v} = {body}")
            return v
        if op == "neg":
            return f"(-{a[0]})"
        if op == "not":
            return f"(not {a[0]})"
        if op == "and":
            return "(" + " and ".join(a) + ")"
        if op == "if":
            return f"({a[1]} if {a[0]} else {a[2]})"
        if op == "float":
            return f"np.float64({a[0]})"
        if op == "abs":
            return f"abs({a[0]})"
        if op == "min":
            return f"({a[1]} if {a[1]} < {a[0]} else {a[0]})"
        if op == "max":
            return f"({a[1]} if {a[1]} > {a[0]} else {a[0]})"
        raise ValueError(op)


def chain_body(src: Source, nodes: tuple[Node, ...], cols: list[str], ind: str) -> list[str]:
    """The loop body of a filter/map chain (a filter skips the row, a map binds new
    variables), for generate and for the join pipelines (pipeline.py); returns the columns after it."""
    for node in nodes:
        if node.op == "filter":
            src.lines.append(f"{ind}if not {src.expr(node.attr('pred'), cols, ind)}:")
            src.lines.append(f"{ind}    continue")
        else:
            new = []
            for e in node.attr("exprs"):
                v = src.var()
                src.lines.append(f"{ind}{v} = {src.expr(e, cols, ind)}")
                new.append(v)
            cols = new
    return cols


def generate(chain: Chain, in_types: list[Type]) -> str:
    """The kernel's module source: `kernel(cols..., n)` -> (-1 or failing row, x, y, op, outs)."""
    src = Source()
    ncols = len(in_types)
    args = [f"c{j}" for j in range(ncols)]
    out_types = list(chain.last.schema.types)
    head = [
        "import numpy as np",
        "from numba import njit",
        "",
        "",
        "@njit(cache=True)",
        f"def kernel({', '.join(args + ['n'])}):",
    ]
    for j, t in enumerate(out_types):
        src.lines.append(f"    o{j} = np.empty(n, {_NP[t]})")
    src.lines.append(f"    outs = ({', '.join(f'o{j}' for j in range(len(out_types)))}{',' if out_types else ''})")
    src.lines.append("    k = 0")
    src.lines.append("    for i in range(n):")
    ind = "        "
    cols = [f"c{j}[i]" for j in range(ncols)]
    cols = chain_body(src, chain.nodes, cols, ind)
    for j, c in enumerate(cols):
        src.lines.append(f"{ind}o{j}[k] = {c}")
    src.lines.append(f"{ind}k += 1")
    trim = ", ".join(f"o{j}[:k]" for j in range(len(out_types)))
    src.lines.append(f"    return -1, np.float64(0), np.float64(0), '', ({trim}{',' if out_types else ''})")
    return "\n".join(head + src.lines) + "\n"


def run_chain(chain: Chain, t: Table, in_types: list[Type]) -> Table:
    cols = [np.ascontiguousarray(c) for c in t.cols]
    bad, x, y, op, outs = kernel_cache.call(generate(chain, in_types), *cols, t.n)
    if bad >= 0:
        raise division_error(x, y, op)
    out_types = chain.last.schema.types
    return Table([np.asarray(o, dtype=DTYPES[ty]) for o, ty in zip(outs, out_types)], len(outs[0]))


def division_error(x: float, y: float, op: str) -> BuiltinError:
    """The error of a fused loop stopped by a division by zero (op: 'floordiv:int')."""
    name, typ = op.split(":")
    sym = {"div": "/", "floordiv": "//", "mod": "%"}[name]
    show = (lambda v: str(int(v))) if typ == "int" else repr  # noqa: E731
    return BuiltinError(f"division by zero: {show(x)} {sym} {show(y)}")


def chains_of(g: Graph, exclude: frozenset[str] = frozenset()) -> dict[str, Chain]:
    """The chains of a graph and of its fixpoint bodies (node ids are unique across them)."""
    out = dict(find_chains(g, exclude))
    for n in g.by_op("fixpoint"):
        out.update(chains_of(n.attr("body")))
    return out
