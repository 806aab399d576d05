"""The IR's invariants, checked: `verify(g)` raises IRError naming the first broken node.

Passes run it after every pass in tests (`optimize(..., verify=True)`). It checks:

- structure: unique ids; inputs name earlier nodes of the same graph (so the graph is in
  topological order and acyclic); known ops; input counts and attributes as `OPS` lists them
  (ir/ops.py); then each op's own rule, from `RULES` (one per op, no default);
- schemas, by column types (names are free): map/flat_map/filter/distinct/anti_join/join/
  union/aggregate/lattice_merge against their inputs and attributes; join keys in range and
  of equal types; expressions read columns in range and of the input's types, and are well
  typed (operators, conversions, builtins); a filter's predicate is a bool;
- recursion: a fixpoint's body verifies (as a body), has one `yield` per relation of
  `rels` and none else, its `param`s are `full:R`/`delta:R` for R in rels or `ext:S` for S in
  exts with the types of the matching fixpoint input; a `shape`, if any, is well formed;
  `result` picks a rel of a fixpoint;
  `param` and `yield` appear only in bodies;
- relations: where the graph declares relations, the `rel` of source/sink/persist/defer is
  one of them with the same column types; `values` rows and relation `init` rows have the
  schema's arity and value types.
"""
from __future__ import annotations

from typing import Any, Callable

from dfl.ir.builtin_sigs import SIGS
from dfl.ir.expr import ARITH_OPS, CMP_OPS, Col, Fn, Lit
from dfl.ir.hints import problems as annotation_problems
from dfl.ir.graph import OPS, Graph, Node
from dfl.ir.types import Schema, Type

SOURCE_KINDS = ("input", "channel", "state", "deferred")
DEFER_MODES = ("insert", "delete")
EXCHANGE_MODES = ("hash", "broadcast", "gather")
PARAM_KINDS = ("full", "delta", "ext")
AGG_FUNCS = ("count", "sum", "min", "max", "mean")
RANGE_CMPS = ("lt", "le", "gt", "ge")
_PY_TYPES = {Type.INT: (int,), Type.FLOAT: (float,), Type.STR: (str,), Type.BOOL: (bool,), Type.ADDR: (str,)}


class IRError(Exception):
    """A broken IR invariant: a compiler bug, never the user's mistake."""


def verify(g: Graph) -> None:
    _Verifier(g, in_body=False, where="").run()
    bad = annotation_problems(g)
    if bad:
        raise IRError(bad[0])


def _types(ts) -> str:
    return "(" + ", ".join(t.value for t in ts) + ")"


class _Verifier:
    def __init__(self, g: Graph, in_body: bool, where: str) -> None:
        self.g = g
        self.in_body = in_body
        self.where = where  # "in the body of fixpoint n9: " for nested graphs
        self.seen: dict[str, Node] = {}

    def fail(self, n: Node | None, message: str) -> IRError:
        who = f"node {n.id} ({n.op}): " if n is not None else ""
        return IRError(f"{self.where}{who}{message}")

    def run(self) -> None:
        self.relations()
        for n in self.g.nodes:
            if n.id in self.seen:
                raise self.fail(n, "duplicate node id")
            self.structure(n)
            self.node(n)
            self.seen[n.id] = n

    # -- structure

    def relations(self) -> None:
        names: set[str] = set()
        for r in self.g.relations:
            if r.name in names:
                raise self.fail(None, f"relation {r.name} is declared twice")
            names.add(r.name)
            try:
                _check_rows(r.init, r.schema)
            except ValueError as e:
                raise self.fail(None, f"relation {r.name}: init {e}") from None

    def structure(self, n: Node) -> None:
        spec = OPS.get(n.op)
        if spec is None:
            raise self.fail(n, f"unknown op {n.op!r}")
        for i in n.inputs:
            if i not in self.seen:
                later = any(m.id == i for m in self.g.nodes)
                raise self.fail(n, f"input {i} is a later node (the nodes must be in topological order)"
                                if later else f"input {i} is not a node of this graph")
        if spec.inputs >= 0 and len(n.inputs) != spec.inputs:
            raise self.fail(n, f"has {len(n.inputs)} inputs, {n.op} takes {spec.inputs}")
        if n.op == "union" and not n.inputs:
            raise self.fail(n, "a union needs at least one input")
        keys = [k for k, _ in n.attrs]
        for k in spec.attrs:
            if k not in keys:
                raise self.fail(n, f"missing attribute {k!r}")
        dup = {k for k in keys if keys.count(k) > 1}
        if dup:
            raise self.fail(n, f"attribute {sorted(dup)[0]!r} given twice")
        if n.op in ("param", "yield") and not self.in_body:
            raise self.fail(n, f"{n.op} may appear only inside a fixpoint body")

    def input(self, n: Node, k: int = 0) -> Schema:
        return self.seen[n.inputs[k]].schema

    def same_types(self, n: Node, got: Schema, want: tuple[Type, ...], what: str) -> None:
        if got.types != tuple(want):
            raise self.fail(n, f"{what}: schema {_types(got.types)} but expected {_types(want)}")

    # -- per op

    def node(self, n: Node) -> None:
        RULES[n.op](self, n)  # structure() has rejected an op outside the table

    def op_source(self, n: Node) -> None:
        if n.attr("kind") not in SOURCE_KINDS:
            raise self.fail(n, f"kind {n.attr('kind')!r} is not one of {', '.join(SOURCE_KINDS)}")
        self.declared(n)

    def op_sink(self, n: Node) -> None:
        self.same_types(n, n.schema, self.input(n).types, "a sink has its input's schema")
        self.declared(n)

    op_persist = op_sink

    def op_defer(self, n: Node) -> None:
        if n.attr("mode") not in DEFER_MODES:
            raise self.fail(n, f"mode {n.attr('mode')!r} is not one of {', '.join(DEFER_MODES)}")
        self.op_sink(n)

    def declared(self, n: Node) -> None:
        """The relation a source/sink names is declared, with the node's column types."""
        if not self.g.relations:
            return  # a hand-built or nested graph without declarations
        rel = n.attr("rel")
        try:
            decl = self.g.relation(rel)
        except KeyError:
            raise self.fail(n, f"relation {rel!r} is not declared") from None
        self.same_types(n, n.schema, decl.schema.types, f"relation {rel}")

    def op_values(self, n: Node) -> None:
        try:
            _check_rows(n.attr("rows"), n.schema)
        except ValueError as e:
            raise self.fail(n, f"rows {e}") from None

    def op_map(self, n: Node) -> None:
        exprs = self.exprs(n, n.attr("exprs"), "exprs")
        if len(exprs) != n.schema.arity:
            raise self.fail(n, f"{len(exprs)} exprs but the schema has {n.schema.arity} columns")
        self.same_types(n, n.schema, tuple(e.type for e in exprs), "the types of exprs")

    def op_filter(self, n: Node) -> None:
        pred = self.expr(n, n.attr("pred"), "pred")
        if pred.type != Type.BOOL:
            raise self.fail(n, f"pred is {pred.type.value}, not bool")
        self.same_types(n, n.schema, self.input(n).types, "a filter keeps its input's schema")

    def op_flat_map(self, n: Node) -> None:
        gen = self.expr(n, n.attr("gen"), "gen")
        self.same_types(n, n.schema, self.input(n).types + (gen.type,), "input columns ++ the generated one")

    def op_exchange(self, n: Node) -> None:
        self.same_types(n, n.schema, self.input(n).types, "an exchange keeps its input's schema")
        mode, keys = n.attr("mode"), n.attr("keys")
        if mode not in EXCHANGE_MODES:
            raise self.fail(n, f"exchange mode {mode!r} is not one of {', '.join(EXCHANGE_MODES)}")
        if any(not isinstance(k, int) or not 0 <= k < n.schema.arity for k in keys):
            raise self.fail(n, f"exchange keys {keys!r} out of range")
        if (mode == "hash") != bool(keys):
            raise self.fail(n, "a hash exchange needs key columns, and only a hash exchange has them")

    def op_distinct(self, n: Node) -> None:
        self.same_types(n, n.schema, self.input(n).types, "distinct keeps its input's schema")

    def op_join(self, n: Node) -> None:
        self.keys(n)
        self.same_types(n, n.schema, self.input(n, 0).types + self.input(n, 1).types, "left ++ right columns")

    def op_anti_join(self, n: Node) -> None:
        self.keys(n)
        self.same_types(n, n.schema, self.input(n, 0).types, "an anti_join keeps its left input's schema")

    def keys(self, n: Node) -> None:
        lk, rk = n.attr("left_keys"), n.attr("right_keys")
        for name, ks in (("left_keys", lk), ("right_keys", rk)):
            if not isinstance(ks, tuple) or not all(isinstance(k, int) and not isinstance(k, bool) for k in ks):
                raise self.fail(n, f"{name} must be a tuple of column indices")
        if len(lk) != len(rk):
            raise self.fail(n, f"{len(lk)} left_keys but {len(rk)} right_keys")
        left, right = self.input(n, 0).types, self.input(n, 1).types
        for a, b in zip(lk, rk):
            if not 0 <= a < len(left):
                raise self.fail(n, f"left key {a} is out of range: the left input has {len(left)} columns")
            if not 0 <= b < len(right):
                raise self.fail(n, f"right key {b} is out of range: the right input has {len(right)} columns")
            if left[a] != right[b]:
                raise self.fail(n, f"key columns {a} and {b} differ in type: {left[a].value} and {right[b].value}")

    def op_union(self, n: Node) -> None:
        for k, i in enumerate(n.inputs):
            self.same_types(n, self.input(n, k), n.schema.types, f"input {i} of the union")

    def op_aggregate(self, n: Node) -> None:
        keys = self.exprs(n, n.attr("keys"), "keys")
        aggs = n.attr("aggs")
        if not isinstance(aggs, tuple):
            raise self.fail(n, "aggs must be a tuple of (func, expr or None)")
        types = [k.type for k in keys]
        for a in aggs:
            if not (isinstance(a, tuple) and len(a) == 2 and a[0] in AGG_FUNCS):
                raise self.fail(n, f"aggregate {a!r} is not (func, expr or None) with func one of "
                                   f"{', '.join(AGG_FUNCS)}")
            func, arg = a
            if arg is None:
                if func != "count":
                    raise self.fail(n, f"{func} needs an argument")
                types.append(Type.INT)
                continue
            arg = self.expr(n, arg, f"the argument of {func}")
            if func in ("sum", "mean") and not arg.type.numeric:
                raise self.fail(n, f"{func} of a {arg.type.value}")
            types.append({"count": Type.INT, "mean": Type.FLOAT}.get(func, arg.type))
        if n.schema.arity != len(keys) + len(aggs):
            raise self.fail(n, f"schema has {n.schema.arity} columns, expected {len(keys)} keys + {len(aggs)} aggs")
        self.same_types(n, n.schema, tuple(types), "keys ++ aggregate values")

    def op_range_aggregate(self, n: Node) -> None:
        self.keys(n)
        left, right = self.input(n, 0).types, self.input(n, 1).types
        value, cmps, bounds, aggs = n.attr("value"), n.attr("cmp"), n.attr("bound"), n.attr("aggs")
        if not (isinstance(cmps, tuple) and isinstance(bounds, tuple) and 1 <= len(cmps) == len(bounds) <= 2
                and all(c in RANGE_CMPS for c in cmps)):
            raise self.fail(n, f"cmp {cmps!r} / bound {bounds!r}: one or two of {', '.join(RANGE_CMPS)}, "
                               f"each with its bound column")
        if len(cmps) == 2 and (cmps[0] in ("lt", "le")) == (cmps[1] in ("lt", "le")):
            raise self.fail(n, f"cmp {cmps!r}: two comparisons bound the value from below and from above")
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < len(right):
            raise self.fail(n, f"value {value!r} is not a column of the right input ({len(right)} columns)")
        for b in bounds:
            try:
                _check_expr(b, left)
            except ValueError as err:
                raise self.fail(n, f"bound (over the left input): {err}") from None
            if right[value] != b.type or not b.type.numeric:
                raise self.fail(n, f"value and bound must be both int or both float, not {right[value].value} "
                                   f"and {b.type.value}")
        ok = isinstance(aggs, tuple) and len(aggs) == 1 and isinstance(aggs[0], tuple) and len(aggs[0]) == 2
        if not ok or aggs[0][0] not in ("min", "max", "count", "sum") \
                or (aggs[0][1] is None) != (aggs[0][0] == "count"):
            raise self.fail(n, f"aggs {aggs!r} is not one of count(*), min(COL), max(COL), sum(COL)")
        func, arg = aggs[0]
        empty = n.attr("empty", "none")
        if empty not in ("none", "zero") or (empty == "zero" and func not in ("count", "sum")):
            raise self.fail(n, f"empty {n.attr('empty')!r}: \"none\" (no row), or \"zero\" for a count or sum")
        out = Type.INT
        if arg is not None:
            try:
                _check_expr(arg, right)
            except ValueError as err:
                raise self.fail(n, f"the argument of {func} (over the right input): {err}") from None
            if not isinstance(arg, Col) or not arg.type.numeric or (func == "sum" and arg.type != Type.INT):
                raise self.fail(n, f"{func} of {arg!r}: a column of the right input, int or float (sum: int)")
            out = arg.type
        self.same_types(n, n.schema, left + (out,), "left columns ++ the aggregate value")

    def op_lattice_merge(self, n: Node) -> None:
        self.same_types(n, n.schema, self.input(n).types, "lattice_merge keeps its input's schema")
        ka, lats = n.attr("key_arity"), n.attr("lattices")
        if not isinstance(ka, int) or not isinstance(lats, tuple) or ka + len(lats) != n.schema.arity:
            raise self.fail(n, f"key_arity {ka!r} + lattices {lats!r} do not cover the {n.schema.arity} columns")

    def shape(self, n: Node, want: dict[str, tuple]) -> None:
        """A recursion shape (compiler/passes/recursion_shapes.py) names one relation and an
        ext of the arities its kernel reads; backends trust it, so a malformed one fails here."""
        shape, rels = n.attr("shape"), n.attr("rels")
        if shape is None:
            return
        ok = isinstance(shape, tuple) and len(rels) == 1 and len(shape) >= 2 and f"ext:{shape[1]}" in want
        if ok and shape[0] == "closure":
            ok = len(shape) == 3 and shape[2] in ("left", "right") and len(want[f"ext:{shape[1]}"]) == 2 \
                 and len(want[f"full:{rels[0]}"]) == 2
        elif ok and shape[0] == "min_path":
            ok = len(shape) == 5 and sorted(shape[2:]) == [0, 1, 2] and len(want[f"ext:{shape[1]}"]) == 3 \
                 and len(want[f"full:{rels[0]}"]) == 2
        elif ok and shape[0] == "min_label":
            edges = [shape[i:i + 3] for i in range(1, len(shape), 3)]
            ok = (len(shape) - 1) % 3 == 0 and len(want[f"full:{rels[0]}"]) == 2 and all(
                f"ext:{e}" in want and len(want[f"ext:{e}"]) == 2 and sorted((a, b)) == [0, 1] for e, a, b in edges)
        else:
            ok = False
        if not ok:
            raise self.fail(n, f"shape {shape!r} is not [\"closure\", EXT, \"left\"|\"right\"], "
                               f"[\"min_path\", EXT, SRC, DST, W] or [\"min_label\", EXT, SRC, DST, ...] over one "
                               f"relation and binary/ternary exts")

    def op_fixpoint(self, n: Node) -> None:
        rels, exts, body = n.attr("rels"), n.attr("exts"), n.attr("body")
        for name, v in (("rels", rels), ("exts", exts)):
            if not isinstance(v, tuple) or not all(isinstance(r, str) for r in v):
                raise self.fail(n, f"{name} must be a tuple of relation names")
        if not isinstance(body, Graph):
            raise self.fail(n, "body is not a Graph")
        if len(n.inputs) != len(rels) + len(exts):
            raise self.fail(n, f"has {len(n.inputs)} inputs, expected one per rel and ext: "
                               f"{len(rels)} + {len(exts)}")
        # params first: a param of the wrong type would otherwise surface as a confusing body error
        want = {}
        for k, r in enumerate(rels):
            want[f"full:{r}"] = want[f"delta:{r}"] = self.input(n, k).types
        for k, s in enumerate(exts):
            want[f"ext:{s}"] = self.input(n, len(rels) + k).types
        inner = f"in the body of fixpoint {n.id}: "
        for p in body.by_op("param"):
            name = p.attr("name")
            if name not in want:
                raise IRError(f"{self.where}{inner}node {p.id} (param): name {name!r} is not full:R or delta:R "
                              f"for R in rels {list(rels)}, nor ext:S for S in exts {list(exts)}")
            if p.schema.types != want[name]:
                raise IRError(f"{self.where}{inner}node {p.id} (param): schema {_types(p.schema.types)} "
                              f"but fixpoint input for {name} has {_types(want[name])}")
        _Verifier(body, in_body=True, where=f"{self.where}{inner}").run()
        self.shape(n, want)
        yields = [y.attr("rel") for y in body.by_op("yield")]
        for r in rels:
            if yields.count(r) != 1:
                raise self.fail(n, f"its body has {yields.count(r)} yields of {r}, expected one")
        for y in body.by_op("yield"):
            r = y.attr("rel")
            if r not in rels:
                raise IRError(f"{self.where}{inner}node {y.id} (yield): {r!r} is not one of rels {list(rels)}")
            if y.schema.types != want[f"full:{r}"]:
                raise IRError(f"{self.where}{inner}node {y.id} (yield): schema {_types(y.schema.types)} "
                              f"but {r} has {_types(want[f'full:{r}'])}")

    def op_result(self, n: Node) -> None:
        fix = self.seen[n.inputs[0]]
        rel = n.attr("rel")
        if fix.op != "fixpoint":
            raise self.fail(n, f"its input {fix.id} is a {fix.op}, not a fixpoint")
        rels = fix.attr("rels")
        if rel not in rels:
            raise self.fail(n, f"fixpoint {fix.id} does not compute {rel!r} (its rels: {list(rels)})")
        self.same_types(n, n.schema, self.input(fix, rels.index(rel)).types, f"relation {rel}")

    def op_yield(self, n: Node) -> None:
        self.same_types(n, n.schema, self.input(n).types, "a yield has its input's schema")

    def op_param(self, n: Node) -> None:
        # its fixpoint checks the name against its rels and exts, and the types (op_fixpoint)
        name = n.attr("name")
        if not isinstance(name, str) or name.split(":", 1)[0] not in PARAM_KINDS or ":" not in name:
            raise self.fail(n, f"name {name!r} is not full:R, delta:R or ext:S")

    # -- expressions

    def exprs(self, n: Node, es: Any, what: str) -> tuple:
        if not isinstance(es, tuple):
            raise self.fail(n, f"{what} must be a tuple of expressions")
        return tuple(self.expr(n, e, f"{what}[{i}]") for i, e in enumerate(es))

    def expr(self, n: Node, e: Any, what: str) -> Any:
        """Checks `e` over the node's (first) input; returns it."""
        try:
            _check_expr(e, self.input(n).types)
        except ValueError as err:
            raise self.fail(n, f"{what}: {err}") from None
        return e


def _check_rows(rows: Any, schema: Schema) -> None:
    if not isinstance(rows, tuple):
        raise ValueError("must be a tuple of rows")
    for r in rows:
        if not isinstance(r, tuple) or len(r) != schema.arity:
            raise ValueError(f"row {r!r} does not have the schema's {schema.arity} columns")
        for v, t in zip(r, schema.types):
            ok = _PY_TYPES.get(t)
            if ok is not None and not (isinstance(v, ok) and (t == Type.BOOL or not isinstance(v, bool))):
                raise ValueError(f"row {r!r}: {v!r} is not a {t.value}")


def _check_expr(e: Any, cols: tuple[Type, ...]) -> None:
    """Raises ValueError saying what is wrong with `e` over input columns of types `cols`."""
    if isinstance(e, Col):
        if not 0 <= e.index < len(cols):
            raise ValueError(f"column ${e.index} is out of range: the input has {len(cols)} columns")
        if e.type != cols[e.index]:
            raise ValueError(f"${e.index} is typed {e.type.value} but the input column is {cols[e.index].value}")
        return
    if isinstance(e, Lit):
        ok = _PY_TYPES.get(e.type)
        if ok is not None and not (isinstance(e.value, ok) and (e.type == Type.BOOL or not isinstance(e.value, bool))):
            raise ValueError(f"literal {e.value!r} is not a {e.type.value}")
        return
    if not isinstance(e, Fn):
        raise ValueError(f"{e!r} is not an expression")
    for a in e.args:
        _check_expr(a, cols)
    problem = _fn_typing(e.op, [a.type for a in e.args], e.type)
    if problem:
        raise ValueError(f"{e.op}: {problem}")


def _fn_typing(op: str, args: list[Type], result: Type) -> str | None:
    """What is wrong with applying `op` to `args` giving `result`; None when nothing is."""
    got = f"({', '.join(t.value for t in args)}) -> {result.value}"
    numeric = all(t.numeric for t in args)
    same = len(set(args)) <= 1
    I, F, S, B = Type.INT, Type.FLOAT, Type.STR, Type.BOOL
    if op in ARITH_OPS:
        if op == "div":
            ok = args == [F, F] and result == F
        elif op == "add" and args == [S, S]:
            ok = result == S
        else:
            ok = len(args) == 2 and numeric and same and result == args[0]
    elif op in CMP_OPS:
        ok = len(args) == 2 and same and result == B
    elif op == "neg":
        ok = len(args) == 1 and numeric and result == args[0]
    elif op in ("not", "and"):
        ok = (len(args) == 1 if op == "not" else len(args) >= 2) and all(t == B for t in args) and result == B
    elif op == "if":
        ok = len(args) == 3 and args[0] == B and args[1] == args[2] == result
    elif op == "float":
        ok = args == [I] and result == F
    else:
        b = SIGS.get(op)
        if b is None:
            return "unknown function"
        if len(args) not in b.arities:
            return f"takes {' or '.join(map(str, b.arities))} arguments, got {len(args)}"
        want = b.typing(list(args))
        if want != result:
            return f"{got}, but {op} of those gives {want}"
        return None
    return None if ok else f"ill-typed: {got}"


# op -> its rule; one per op of the op table (tests/ir/test_op_table.py checks)
RULES: dict[str, Callable[[_Verifier, Node], None]] = {
    "source": _Verifier.op_source, "values": _Verifier.op_values, "param": _Verifier.op_param,
    "map": _Verifier.op_map, "filter": _Verifier.op_filter, "flat_map": _Verifier.op_flat_map,
    "join": _Verifier.op_join, "anti_join": _Verifier.op_anti_join, "union": _Verifier.op_union,
    "distinct": _Verifier.op_distinct, "aggregate": _Verifier.op_aggregate,
    "lattice_merge": _Verifier.op_lattice_merge, "range_aggregate": _Verifier.op_range_aggregate,
    "fixpoint": _Verifier.op_fixpoint, "result": _Verifier.op_result,
    "exchange": _Verifier.op_exchange, "yield": _Verifier.op_yield, "sink": _Verifier.op_sink,
    "persist": _Verifier.op_persist, "defer": _Verifier.op_defer,
}
