"""The IR's JSON form: the versioned interchange format other front ends emit.

`from_json(to_json(g)) == g` for every graph; `dumps`/`loads` do the same through text.

Document::

    {"format": "dfl-ir", "version": 2,
     "relations": [RELATION, ...],
     "nodes": [NODE, ...]}

RELATION::

    {"name": "edge", "kinds": ["input"], "columns": [COLUMN, ...],
     "init": [[VALUE, ...], ...],            # optional, default []: a table's rows at tick 0
     "derived": true,                        # optional, default false: an input the program also gives rows
     "annotations": [ANNOTATION, ...]}       # optional, default []: its declaration's

COLUMN::

    {"name": "src", "type": "int"}           # type: int | float | str | bool | addr
    {"name": "d", "type": "int", "lattice": "min"}   # lattice: optional, "min" | "max"

NODE (nodes in topological order: every input is an earlier node of the same graph)::

    {"id": "n5", "op": "join", "inputs": ["n3", "n4"],
     "attrs": {"left_keys": [1], "right_keys": [0]},   # optional, default {}; key order kept
     "columns": [COLUMN, ...],                          # the output schema
     "stratum": 1,                                      # optional, default 0
     "monotone": true,                                  # optional, default: the op's (ir/graph.py OPS)
     "span": {"file": "p.dfl", "line": 7, "col": 1, "end_line": 7, "end_col": 40},  # optional
     "annotations": [ANNOTATION, ...]}                  # optional, default []: its rule's

ANNOTATION (ir/annotations.py): an argument is [KEY or null, a name (a string) or a
constant (`{"lit": 50, "type": "int"}`)]::

    {"name": "slo", "args": [["p99_ms", {"lit": 50, "type": "int"}]]}
    {"name": "partition", "args": [[null, "src"]]}

`ops` and the attributes each needs are listed in `dfl.ir.graph.OPS`. Attribute values:

- JSON strings, booleans and integers are themselves; arrays are tuples (`left_keys: [1]`,
  `rows: [[1, "a"], [2, "b"]]`, `aggs: [["count", null], ["sum", EXPR]]`); null is None.
- An expression is an object: `{"col": 0, "type": "int"}` (column 0 of the input row),
  `{"lit": VALUE, "type": "float"}`, `{"fn": "add", "args": [EXPR, ...], "type": "int"}`.
- A nested graph (the fixpoint's `body`) is `{"graph": {"relations": [...], "nodes": [...]}}`.
- Numbers are typed by the IR type carried alongside where there is one: a literal's
  `type`, the column types of a `values` node's `rows` and of a relation's `init` rows. There
  a JSON number is an int in an int column and a float in a float column, so `1` and `1.0`
  read alike. Elsewhere a number written with `.` or an exponent is a float, others ints.
- Tagged numbers: `{"float": "nan"}`, `{"float": "inf"}`, `{"float": "-inf"}` (JSON has no
  such numbers); and, for a value whose Python type differs from its column's type,
  `{"int": 3}` (an int where a float is declared) or `{"float": 2.5}` (a float where an int is).

Floats are written with Python's `repr`, so they read back bit for bit (`0.1`, `1e+300`, `-0.0`).

Version 2 added `annotations` and `derived`; a version 1 document (which has neither) still reads.
"""
from __future__ import annotations

import json
import math
from typing import Any

from dfl.errors import Span
from dfl.ir.annotations import Annotation
from dfl.ir.expr import Col, Fn, Lit
from dfl.ir.graph import OPS, Graph, Node, RelDecl
from dfl.ir.types import BASE_TYPES, Column, Schema, Type

FORMAT = "dfl-ir"
VERSION = 2
READS = (1, 2)  # version 1 had no annotations and no `derived`: it reads as their defaults


# --------------------------------------------------------------------------- writing


def to_json(g: Graph) -> dict:
    """The JSON document of `g` (plain dicts and lists, ready for `json.dump`)."""
    return {"format": FORMAT, "version": VERSION, **_graph(g)}


def dumps(g: Graph, indent: int | None = None) -> str:
    return json.dumps(to_json(g), indent=indent, ensure_ascii=False, allow_nan=False)


def _graph(g: Graph) -> dict:
    return {"relations": [_relation(r) for r in g.relations], "nodes": [_node(n) for n in g.nodes]}


def _relation(r: RelDecl) -> dict:
    out: dict[str, Any] = {"name": r.name, "kinds": list(r.kinds), "columns": _columns(r.schema)}
    if r.init:
        out["init"] = _rows(r.init, r.schema)
    if r.derived:
        out["derived"] = True
    if r.annotations:
        out["annotations"] = _annotations(r.annotations)
    return out


def _annotations(anns: tuple[Annotation, ...]) -> list[dict]:
    out = []
    for a in anns:
        if not isinstance(a, Annotation):
            raise ValueError(f"not an annotation: {a!r}")
        out.append({"name": a.name, "args": [[k, _value(v)] for k, v in a.args]})
    return out


def _columns(s: Schema) -> list[dict]:
    out = []
    for c in s.columns:
        d = {"name": c.name, "type": c.type.value}
        if c.lattice is not None:
            d["lattice"] = c.lattice
        out.append(d)
    return out


def _node(n: Node) -> dict:
    attrs = {}
    for k, v in n.attrs:
        if k in attrs:
            raise ValueError(f"node {n.id}: attribute {k!r} appears twice; JSON attrs are an object")
        attrs[k] = _rows(v, n.schema) if k == "rows" and n.op == "values" else _value(v)
    out: dict[str, Any] = {"id": n.id, "op": n.op, "inputs": list(n.inputs), "attrs": attrs,
                           "columns": _columns(n.schema), "stratum": n.stratum, "monotone": n.monotone}
    if n.span is not None:
        s = n.span
        out["span"] = {"file": s.file, "line": s.line, "col": s.col, "end_line": s.end_line, "end_col": s.end_col}
    if n.annotations:
        out["annotations"] = _annotations(n.annotations)
    return out


def _rows(rows: Any, schema: Schema) -> Any:
    if not isinstance(rows, tuple) or not all(isinstance(r, tuple) for r in rows):
        return _value(rows)  # not rows after all: keep it exact anyway
    types = schema.types
    return [[_value(v, types[i] if i < len(types) else None) for i, v in enumerate(r)] for r in rows]


def _value(v: Any, typ: Type | None = None) -> Any:
    """`typ` is the IR type declared for `v`, when there is one: numbers are read back by it."""
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, int):
        return {"int": v} if typ == Type.FLOAT else v
    if isinstance(v, float):
        if not math.isfinite(v):
            return {"float": "nan" if math.isnan(v) else "inf" if v > 0 else "-inf"}
        return {"float": v} if typ == Type.INT else v
    if isinstance(v, Col):
        return {"col": v.index, "type": v.type.value}
    if isinstance(v, Lit):
        return {"lit": _value(v.value, v.type), "type": v.type.value}
    if isinstance(v, Fn):
        return {"fn": v.op, "args": [_value(a) for a in v.args], "type": v.type.value}
    if isinstance(v, tuple):
        return [_value(x) for x in v]
    if isinstance(v, Graph):
        return {"graph": _graph(v)}
    raise ValueError(f"cannot write an IR value of type {type(v).__name__}: {v!r}")


# --------------------------------------------------------------------------- reading


def loads(text: str) -> Graph:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"not JSON: {e}") from None
    return from_json(doc)


def from_json(d: dict) -> Graph:
    """The graph of a JSON document; a malformed one raises ValueError naming where."""
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        raise ValueError(f'not a DFL IR document: expected "format": "{FORMAT}"')
    if d.get("version") not in READS or isinstance(d.get("version"), bool):
        raise ValueError(f"unsupported dfl-ir JSON version {d.get('version')!r} "
                         f"(this reader knows {', '.join(map(str, READS))})")
    return _read_graph(d, "")


class _Bad(Exception):
    pass


def _read_graph(d: Any, path: str) -> Graph:
    _want(isinstance(d, dict), path or "document", "an object")
    rels = d.get("relations", [])
    nodes = d.get("nodes")
    _want(isinstance(rels, list), f"{path}relations", "a list")
    _want(isinstance(nodes, list), f"{path}nodes", "a list")
    return Graph(tuple(_read_node(n, f"{path}nodes[{i}]") for i, n in enumerate(nodes)),
                 tuple(_read_relation(r, f"{path}relations[{i}]") for i, r in enumerate(rels)))


def _want(ok: bool, where: str, what: str) -> None:
    if not ok:
        raise ValueError(f"{where}: expected {what}")


def _field(d: dict, key: str, kind: type | tuple, where: str, default: Any = ...) -> Any:
    if key not in d:
        _want(default is not ..., f"{where}.{key}", "a value (it is missing)")
        return default
    v = d[key]
    ok = isinstance(v, kind) and not (kind is int and isinstance(v, bool))
    _want(ok, f"{where}.{key}", {str: "a string", int: "an integer", bool: "a boolean", list: "a list",
                                 dict: "an object"}.get(kind, str(kind)))
    return v


def _read_relation(d: Any, where: str) -> RelDecl:
    _want(isinstance(d, dict), where, "an object")
    schema = _read_columns(d, where)
    kinds = _field(d, "kinds", list, where)
    _want(all(isinstance(k, str) for k in kinds), f"{where}.kinds", "a list of strings")
    init = d.get("init", [])
    init = _read_rows(init, schema, f"{where}.init") if _is_rows(init) else _read_value(init, f"{where}.init")
    return RelDecl(_field(d, "name", str, where), tuple(kinds), schema, init, _read_annotations(d, where),
                   _field(d, "derived", bool, where, False))


def _read_annotations(d: dict, where: str) -> tuple[Annotation, ...]:
    out = []
    for i, a in enumerate(_field(d, "annotations", list, where, [])):
        aw = f"{where}.annotations[{i}]"
        _want(isinstance(a, dict), aw, "an object")
        args = []
        for j, arg in enumerate(_field(a, "args", list, aw, [])):
            gw = f"{aw}.args[{j}]"
            _want(isinstance(arg, list) and len(arg) == 2 and (arg[0] is None or isinstance(arg[0], str)), gw,
                  "a pair [key or null, value]")
            v = arg[1] if isinstance(arg[1], str) else _read_value(arg[1], f"{gw}[1]")
            _want(isinstance(v, (str, Lit)), f"{gw}[1]", 'a name (a string) or a constant {"lit": .., "type": ..}')
            args.append((arg[0], v))
        out.append(Annotation(_field(a, "name", str, aw), tuple(args)))
    return tuple(out)


def _read_columns(d: dict, where: str) -> Schema:
    cols = []
    for i, c in enumerate(_field(d, "columns", list, where)):
        cw = f"{where}.columns[{i}]"
        _want(isinstance(c, dict), cw, "an object")
        lattice = c.get("lattice")
        _want(lattice is None or isinstance(lattice, str), f"{cw}.lattice", "a string or null")
        cols.append(Column(_field(c, "name", str, cw), _read_type(c.get("type"), f"{cw}.type"), lattice))
    return Schema(tuple(cols))


def _read_type(t: Any, where: str) -> Type:
    _want(isinstance(t, str) and t in BASE_TYPES, where, f"a type ({', '.join(BASE_TYPES)})")
    return BASE_TYPES[t]


def _read_node(d: Any, where: str) -> Node:
    _want(isinstance(d, dict), where, "an object")
    nid = _field(d, "id", str, where)
    where = f"{where} (node {nid})"
    op = _field(d, "op", str, where)
    inputs = _field(d, "inputs", list, where, [])
    _want(all(isinstance(i, str) for i in inputs), f"{where}.inputs", "a list of node ids")
    schema = _read_columns(d, where)
    attrs = []
    for k, v in _field(d, "attrs", dict, where, {}).items():
        aw = f"{where}.attrs.{k}"
        attrs.append((k, _read_rows(v, schema, aw) if k == "rows" and op == "values" and _is_rows(v)
                      else _read_value(v, aw)))
    spec = OPS.get(op)
    monotone = _field(d, "monotone", bool, where, spec.monotone if spec else True)
    span = None
    if d.get("span") is not None:
        s = _field(d, "span", dict, where)
        sw = f"{where}.span"
        span = Span(_field(s, "file", str, sw), *(_field(s, k, int, sw) for k in ("line", "col", "end_line", "end_col")))
    return Node(nid, op, tuple(inputs), tuple(attrs), schema, _field(d, "stratum", int, where, 0), monotone, span,
                _read_annotations(d, where))


def _is_rows(v: Any) -> bool:
    """Mirrors `_rows`: only a list of lists was written typed by the schema."""
    return isinstance(v, list) and all(isinstance(r, list) for r in v)


def _read_rows(rows: Any, schema: Schema, where: str) -> tuple:
    _want(isinstance(rows, list), where, "a list of rows")
    types = schema.types
    out = []
    for i, r in enumerate(rows):
        _want(isinstance(r, list), f"{where}[{i}]", "a row (a list of values)")
        out.append(tuple(_read_value(v, f"{where}[{i}][{j}]", types[j] if j < len(types) else None)
                         for j, v in enumerate(r)))
    return tuple(out)


def _read_value(v: Any, where: str, typ: Type | None = None) -> Any:
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, (int, float)):
        if typ == Type.FLOAT:
            return float(v)
        if typ == Type.INT:
            _want(isinstance(v, int) or v.is_integer(), where, "an integer (this column is int)")
            return int(v)
        return v
    if isinstance(v, list):
        return tuple(_read_value(x, f"{where}[{i}]") for i, x in enumerate(v))
    _want(isinstance(v, dict), where, "a value")
    if "col" in v:
        index = _field(v, "col", int, where)
        return Col(index, _read_type(v.get("type"), f"{where}.type"))
    if "lit" in v:
        t = _read_type(v.get("type"), f"{where}.type")
        return Lit(_read_value(v["lit"], f"{where}.lit", t), t)
    if "fn" in v:
        args = _field(v, "args", list, where)
        return Fn(_field(v, "fn", str, where),
                  tuple(_read_expr(a, f"{where}.args[{i}]") for i, a in enumerate(args)),
                  _read_type(v.get("type"), f"{where}.type"))
    if "graph" in v:
        return _read_graph(v["graph"], f"{where}.graph.")
    if "int" in v:
        _want(isinstance(v["int"], int) and not isinstance(v["int"], bool), f"{where}.int", "an integer")
        return v["int"]
    if "float" in v:
        f = v["float"]
        ok = f in ("nan", "inf", "-inf") or (isinstance(f, (int, float)) and not isinstance(f, bool))
        _want(ok, f"{where}.float", 'a number, "nan", "inf" or "-inf"')
        return float(f)
    raise ValueError(f"{where}: expected a value; an object must have one of the keys "
                     "col, lit, fn, graph, int, float")


def _read_expr(v: Any, where: str) -> Any:
    e = _read_value(v, where)
    _want(isinstance(e, (Col, Lit, Fn)), where, "an expression")
    return e
