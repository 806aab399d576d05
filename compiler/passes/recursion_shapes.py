"""Recursion shapes: annotate each fixpoint whose body has a known shape: Graph -> Graph.

Some recursive strata have an evaluation much better than the generic semi-naive loop. The
shape is a fact about the program, so the compiler finds it once, on the IR, and writes it
on the fixpoint as the attribute `shape`; backends choose their kernels from it (the cpu
backend: backends/cpu/special.py), `dfl explain` and `--emit opt` show it, and a backend
without a special kernel ignores it (the generic loop computes the same rows). Shapes, on
the semi-naive body (so this pass runs after `seminaive`):

- `shape=["closure", E, SIDE]`: one binary relation R, its one recursive rule extending R by
  one edge of a static relation E: `R(x, z) :- R(x, y), E(y, z).` (SIDE `"right"`) or the
  mirror `R(x, z) :- E(x, y), R(y, z).` (SIDE `"left"`), nothing else in the body.
- `shape=["min_path", E, SRC, DST, W]`: one relation D(node, d: min<T>) whose one recursive
  rule adds one weighted edge of a static relation E: `D(y, d + w) :- D(x, d), E(x, y, w).`;
  SRC, DST and W are the positions in E of the edge's source, destination and weight.
- `shape=["min_label", E1, SRC1, DST1, E2, SRC2, DST2, ...]`: one relation D(node, l: min<T>)
  whose recursive rules each pass a label unchanged along one edge of a static binary
  relation: `D(y, l) :- D(x, l), E(x, y).` (SRC, DST = 0, 1) or against it, `D(y, l) :-
  D(x, l), E(y, x).` (1, 0); connected components by min label is the classic. Each node's
  label is the least seed label among the nodes that reach it: Dijkstra with weights 0.

Example: `tc(x, y) :- e(x, y). tc(x, z) :- tc(x, y), e(y, z).` gives the fixpoint
`fixpoint(n2, n1) {rels=["tc"], exts=["e"], body=graph, shape=["closure", "e", "right"]}`.
"""
from __future__ import annotations

from dfl.ir.expr import Col, Fn
from dfl.ir.graph import Graph, Node

Shape = tuple  # ("closure", ext, side) | ("min_path", ext, src, dst, w) | ("min_label", ext, src, dst, ...)


def recursion_shapes(g: Graph) -> Graph:
    nodes = []
    for n in g.nodes:
        if n.op == "fixpoint":
            shape = find_shape(n)
            if shape is not None and n.attr("shape") != shape:
                n = n.with_attrs(shape=shape)
        nodes.append(n)
    return g.with_nodes(nodes)


def find_shape(fix: Node) -> Shape | None:
    return _closure(fix) or _min_path(fix) or _min_label(fix)


def describe(shape: Shape, rel: str) -> str:
    """The shape in words, for `dfl explain` and the cpu physical plan."""
    if shape[0] == "closure":
        return f"linear closure of {rel} over {shape[1]} (extended at the {shape[2]})"
    if shape[0] == "min_label":
        return f"least label: {rel} over {', '.join(sorted(set(shape[1::3])))} (labels passed along edges unchanged)"
    return f"shortest paths: {rel} over {shape[1]} (min over summed weights)"


def _one_join_rule(fix: Node) -> tuple[Node, Node, Node, Node, Node] | None:
    """The body `yield(union(map(join(param, param))))` of one relation with one recursive
    rule joining two fixpoint inputs: (yield, map, join, left param, right param)."""
    if len(fix.attr("rels")) != 1:
        return None
    body: Graph = fix.attr("body")
    (y,) = body.by_op("yield")
    union = body.node(y.inputs[0])
    if union.op != "union" or len(union.inputs) != 1:
        return None
    m = body.node(union.inputs[0])
    if m.op != "map":
        return None
    j = body.node(m.inputs[0])
    if j.op != "join" or len(j.attr("left_keys")) != 1:
        return None
    a, b = (body.node(i) for i in j.inputs)
    if a.op != "param" or b.op != "param":
        return None
    return y, m, j, a, b


def _closure(fix: Node) -> Shape | None:
    shape = _one_join_rule(fix)
    if shape is None:
        return None
    y, m, j, a, b = shape
    if y.schema.is_lattice:  # a closure keeps every pair; a lattice merges them
        return None
    if len(m.attr("exprs")) != 2 or not all(isinstance(e, Col) for e in m.attr("exprs")):
        return None
    names = (a.attr("name"), b.attr("name"))
    rel = fix.attr("rels")[0]
    if a.schema.arity != 2 or b.schema.arity != 2 or a.schema.types[0] != a.schema.types[1] \
            or b.schema.types != a.schema.types or a.schema.is_lattice:
        return None
    lk, rk = j.attr("left_keys")[0], j.attr("right_keys")[0]
    out = tuple(e.index for e in m.attr("exprs"))
    if names[0] == f"delta:{rel}" and names[1].startswith("ext:"):
        r_cols, e_cols, r_key, e_key = (0, 1), (2, 3), lk, 2 + rk
    elif names[1] == f"delta:{rel}" and names[0].startswith("ext:"):
        r_cols, e_cols, r_key, e_key = (2, 3), (0, 1), 2 + rk, lk
    else:
        return None
    ext = (names[1] if names[0].startswith("delta:") else names[0])[4:]
    # right: R.dst = E.src, out (R.src, E.dst); left: E.dst = R.src, out (E.src, R.dst)
    if r_key == r_cols[1] and e_key == e_cols[0] and out == (r_cols[0], e_cols[1]):
        return ("closure", ext, "right")
    if r_key == r_cols[0] and e_key == e_cols[1] and out == (e_cols[0], r_cols[1]):
        return ("closure", ext, "left")
    return None


def _min_path(fix: Node) -> Shape | None:
    shape = _one_join_rule(fix)
    if shape is None:
        return None
    y, m, j, a, b = shape
    if not (y.schema.arity == 2 and y.schema.key_arity == 1 and y.schema.lattices == ("min",)):
        return None
    rel = fix.attr("rels")[0]
    if a.attr("name") == f"delta:{rel}" and b.attr("name", "").startswith("ext:") and b.schema.arity == 3:
        d_off, e_off, ext, dk, ek = 0, 2, b.attr("name")[4:], j.attr("left_keys")[0], j.attr("right_keys")[0]
    elif b.attr("name") == f"delta:{rel}" and a.attr("name", "").startswith("ext:") and a.schema.arity == 3:
        d_off, e_off, ext, dk, ek = 3, 0, a.attr("name")[4:], j.attr("right_keys")[0], j.attr("left_keys")[0]
    else:
        return None
    if dk != 0:
        return None
    node_e, value = m.attr("exprs")
    if not (isinstance(node_e, Col) and e_off <= node_e.index < e_off + 3):
        return None
    if not (isinstance(value, Fn) and value.op == "add" and all(isinstance(x, Col) for x in value.args)):
        return None
    cols = {x.index for x in value.args}
    d_col = d_off + 1
    if d_col not in cols or len(cols) != 2:
        return None
    w = (cols - {d_col}).pop() - e_off
    dst = node_e.index - e_off
    if not (0 <= w < 3) or len({ek, dst, w}) != 3:
        return None
    return ("min_path", ext, ek, dst, w)


def _min_label(fix: Node) -> Shape | None:
    if len(fix.attr("rels")) != 1:
        return None
    rel = fix.attr("rels")[0]
    body: Graph = fix.attr("body")
    (y,) = body.by_op("yield")
    if not (y.schema.arity == 2 and y.schema.key_arity == 1 and y.schema.lattices == ("min",)):
        return None
    union = body.node(y.inputs[0])
    if union.op != "union" or not union.inputs:
        return None
    edges: list = []
    for i in union.inputs:
        edge = _label_rule(body, body.node(i), rel)
        if edge is None:
            return None
        edges += edge
    return ("min_label", *edges)


def _label_rule(body: Graph, m: Node, rel: str) -> tuple | None:
    """(E, SRC, DST) of one rule `D(y, l) :- D(x, l), E(..x..y..)` lowered as
    map(join(delta:D, ext:E)) (either side first), else None."""
    if m.op != "map" or len(m.attr("exprs")) != 2 or not all(isinstance(e, Col) for e in m.attr("exprs")):
        return None
    j = body.node(m.inputs[0])
    if j.op != "join" or len(j.attr("left_keys")) != 1:
        return None
    a, b = (body.node(i) for i in j.inputs)
    if a.op != "param" or b.op != "param":
        return None
    if a.attr("name") == f"delta:{rel}" and b.attr("name", "").startswith("ext:"):
        d_off, e_off, e, dk, ek = 0, 2, b, j.attr("left_keys")[0], j.attr("right_keys")[0]
    elif b.attr("name") == f"delta:{rel}" and a.attr("name", "").startswith("ext:"):
        e_off = 0
        d_off, e, dk, ek = a.schema.arity, a, j.attr("right_keys")[0], j.attr("left_keys")[0]
    else:
        return None
    if e.schema.arity != 2 or dk != 0:
        return None
    node_e, label = m.attr("exprs")
    dst = node_e.index - e_off
    if label.index != d_off + 1 or not 0 <= dst < 2 or dst == ek:
        return None
    return (e.attr("name")[4:], ek, dst)
