"""Placement: Graph -> Graph. Decides, for each top-level operator, how its rows are
partitioned over N partitions, on which device and where it runs, and inserts `exchange`
nodes where rows must move (DESIGN.md, Placement and the worker pool).

A node's distribution (attr `dist`) is one of
- `hash(c1,c2)`: row r lives in partition hash(r[c1], r[c2]) mod N (strings hash by content);
- `any`: split by row count, with no promise about where a row lives (input files);
- `single`: every row in partition 0;
- `replicated`: every partition holds every row (small sides sent to all).

Rules, in the order the pass applies them:
- ship code to data: filter, map and flat_map run where their input lives (the
  push-down pass already put filters below joins), so an exchange moves filtered rows;
- co-locate: an operator whose input is already partitioned by (a subset of) the key it
  needs runs with no exchange: a join of two sides hashed on its keys, an aggregate on
  its input's partition key, a distinct of hashed rows;
- otherwise move the cheaper way, by the cost model (`compiler/cost.py`): send a small
  join side to every partition, or hash both sides on the join key;
- a recursive stratum runs partition-local when every rule keeps the recursive
  relation's partition column from a recursive body atom and joins it with
  non-recursive relations only (transitive closure by its source node): the initial rows
  are hashed on that column, the other relations it reads are sent to every partition,
  and each partition runs its own semi-naive loop to its own fixpoint. Any other
  recursion is gathered into partition 0;
- `@partition(col)` on a declaration hashes its source rows on col; `@device(d)` on a
  rule asks for d for that rule's stratum, honoured where d is available. Both are
  read from the IR (`ir/hints.py`: the relation's and the nodes' annotations);
- devices last, per stratum, by the target (cpu, cuda, or auto: the cost model, PCIe
  transfers included): compiler/device_choice.py.

Example: `agg(c, count()) :- fact(_, d, v), dim(d, c, w).` on 4 partitions with a small
dim: fact stays where it was read (`any`), dim is broadcast, the join runs in place, and
one hash exchange on c feeds the aggregate.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

from dfl.compiler.cost import CostModel
from dfl.compiler.device_choice import Choice, choose
from dfl.errors import Span
from dfl.ir.hints import partition_column
from dfl.ir.expr import Col
from dfl.ir.graph import Graph, Node
from dfl.ir.types import Schema


@dataclass(frozen=True)
class Dist:
    kind: str  # hash | any | single | replicated
    keys: tuple[int, ...] = ()

    def __str__(self) -> str:
        return f"hash({','.join(map(str, self.keys))})" if self.kind == "hash" else self.kind

    @staticmethod
    def parse(s: str) -> "Dist":
        if s.startswith("hash("):
            return Dist("hash", tuple(int(k) for k in s[5:-1].split(",") if k))
        return Dist(s)


ANY, SINGLE, REPLICATED = Dist("any"), Dist("single"), Dist("replicated")


@dataclass
class Hints:
    """What the run knows beyond the program (the program's own hints, its annotations,
    travel on the graph)."""

    read_by_workers: set[str] = field(default_factory=set)  # inputs each partition reads its part of


@dataclass
class Note:
    """One placement decision, for `dfl explain`."""
    node: str
    op: str
    span: Span | None
    text: str
    rows: int  # estimated rows out of the node
    moved_bytes: int = 0  # estimated bytes an exchange moves


@dataclass
class Placed:
    graph: Graph
    notes: list[Note]
    parts: int
    devices: Choice | None = None  # each stratum's device and why; the device a one-process run uses
    rows_in: dict[str, int] = field(default_factory=dict)  # node id -> est. rows into it (calibration)

    @property
    def run_device(self) -> str:
        return self.devices.run_device if self.devices is not None else "cpu"

    @property
    def split(self) -> bool:
        """Its strata use more than one device (runtime/split.py runs them so)."""
        return self.devices is not None and len(set(self.devices.node_device.values())) > 1

    @property
    def moved_bytes(self) -> int:
        return sum(n.moved_bytes for n in self.notes)


def place(g: Graph, parts: int = 2, cost: CostModel | None = None, hints: Hints | None = None,
          target: str = "auto") -> Graph:
    return placement(g, parts, cost, hints, target=target).graph


def placement(g: Graph, parts: int = 2, cost: CostModel | None = None, hints: Hints | None = None,
              naive: bool = False, target: str = "auto") -> Placed:
    """The placed graph and the decisions that made it. `naive` shuffles every join input
    on its keys (no co-location, no broadcast): the baseline the benchmarks compare with.
    `target`: cpu | cuda | auto, the devices' rule (compiler/device_choice.py); the cost
    model says whether a GPU is usable (`CostModel(gpu=...)`)."""
    if parts < 1:
        raise ValueError("placement needs at least one partition")
    return _Placer(g, parts, cost or CostModel(), hints or Hints(), naive, target).run()


def dist_of(n: Node) -> Dist:
    return Dist.parse(n.attr("dist", "single"))


class _Placer:
    def __init__(self, g: Graph, parts: int, cost: CostModel, hints: Hints, naive: bool, target: str = "auto") -> None:
        self.g, self.parts, self.cost, self.hints, self.naive, self.target = g, parts, cost, hints, naive, target
        self.rows_in: dict[str, int] = {}
        self.out: list[Node] = []
        self.dist: dict[str, Dist] = {}
        self.rows: dict[str, int] = {}
        self.notes: list[Note] = []
        self.moves: dict[tuple[str, Dist], str] = {}  # shared exchanges: (input, wanted) -> node id
        self.by_id: dict[str, Node] = {}
        self.fix_dist: dict[str, dict[str, Dist]] = {}  # fixpoint -> its relations' distributions

    def run(self) -> Placed:
        # the naive plan hashes each dedup on all its columns, as a planner that does not
        # look at the consumers would; the placed plan hashes on what the consumers need
        self.demand = {} if self.naive else _demands(self.g)
        for n in self.g.nodes:
            RULES[n.op](self, n)
        return self.devices()

    def devices(self) -> Placed:
        """Each node's device, by its stratum's choice (compiler/device_choice.py), and the
        reason in its note."""
        ch = choose(self.out, self.rows, self.rows_in, self.cost, self.target)
        self.out = [n.with_attrs(device=ch.node_device[n.id]) for n in self.out]
        stratum = {n: c.stratum for c in ch.strata for n in c.nodes}
        for note in self.notes:
            own = ch.node_notes.get(note.node)
            note.text += f"; {ch.node_device[note.node]} (stratum {stratum[note.node]})" + (f"; {own}" if own else "")
        return Placed(self.g.with_nodes(self.out), self.notes, self.parts, ch, dict(self.rows_in))

    # ------------------------------------------------------------ helpers
    def emit(self, n: Node, dist: Dist, inputs: tuple[str, ...] | None = None, why: str = "") -> None:
        ins = list(inputs if inputs is not None else n.inputs)
        rows = self.cost.out_rows(n, [self.rows[i] for i in ins]) if n.op != "source" else \
            self.cost.source_rows(n.attr("rel"))
        rows_in = sum(self.rows[i] for i in ins) if ins else rows
        self.rows_in[n.id] = rows_in
        placed = n.with_attrs(dist=str(dist), parts=self.parts, device="cpu")  # devices() decides
        if inputs is not None:
            placed = replace(placed, inputs=tuple(inputs))
        self.out.append(placed)
        self.by_id[n.id] = placed
        self.dist[n.id], self.rows[n.id] = dist, rows
        self.notes.append(Note(n.id, n.op, n.span, f"{dist}" + (f": {why}" if why else ""), rows))

    def partition_of(self, rel: str) -> int | None:
        """The column @partition(col) on rel's declaration hashes its rows on."""
        decl = next((r for r in self.g.relations if r.name == rel), None)
        return partition_column(decl) if decl is not None else None

    def move(self, src: str, want: Dist, reason: str) -> str:
        """src's rows redistributed as `want` (hash keys, replicated or single)."""
        have = self.dist[src]
        if have == want or self.parts == 1:
            return src
        key = (src, want)
        if key in self.moves:
            return self.moves[key]
        node = self.by_id[src]
        if (node.op == "source" and have.kind == "any" and want.kind == "hash"
                and node.attr("rel") not in self.hints.read_by_workers):
            # rows the driver splits anyway: split them by the wanted hash as they are read,
            # rather than evenly and then shuffled (one trip for every row instead of two)
            placed = node.with_attrs(dist=str(want))
            self.out[self.out.index(node)] = placed
            self.by_id[src] = placed
            self.dist[src] = want
            note = next(x for x in self.notes if x.node == src)
            note.text = f"{want}: rows split by hash as they are read ({reason})"
            return src
        ex_id = f"{src}.x{len(self.moves) + 1}"
        mode = {"hash": "hash", "replicated": "broadcast", "single": "gather"}[want.kind]
        rows = self.rows[src]
        row_bytes = self.cost.row_bytes(node)
        share = (self.parts - 1) if mode == "broadcast" else (self.parts - 1) / self.parts
        moved = int(rows * row_bytes * share) if have.kind != "replicated" else 0
        ex = Node(ex_id, "exchange", (src,), (("mode", mode), ("keys", want.keys), ("dist", str(want)),
                                              ("parts", self.parts), ("device", "cpu")),
                  node.schema, node.stratum, True, node.span)
        self.out.append(ex)
        self.by_id[ex_id] = ex
        self.dist[ex_id], self.rows[ex_id] = want, rows * (self.parts if mode == "broadcast" else 1)
        self.rows_in[ex_id] = rows
        self.moves[key] = ex_id
        self.notes.append(Note(ex_id, "exchange", node.span, f"{mode} {have} -> {want}: {reason}; est. "
                               f"{rows:,} rows, {_size(moved)} moved", rows, moved))
        return ex_id

    # ------------------------------------------------------------ operators
    def op_local(self, n: Node) -> None:
        """filter, flat_map, an exchange placed before: where the input is."""
        self.emit(n, self.dist[n.inputs[0]] if n.inputs else SINGLE, why="runs where its input is")

    def op_in_body(self, n: Node) -> None:
        """param, yield: only inside a fixpoint body, which is placed with its fixpoint (op_fixpoint)."""
        raise ValueError(f"node {n.id}: {n.op} outside a fixpoint body (the verifier rejects this graph)")

    def op_source(self, n: Node) -> None:
        col = self.partition_of(n.attr("rel"))
        if n.attr("rel") in self.hints.read_by_workers and self.parts > 1:
            self.emit(n, ANY, why="each partition reads its part of the input file (no rows through the driver)")
        elif col is not None and self.parts > 1:
            self.emit(n, Dist("hash", (col,)), why=f"@partition({n.schema.columns[col].name}) on {n.attr('rel')}")
        else:
            self.emit(n, ANY if self.parts > 1 else SINGLE, why="rows split evenly as they are read")

    def op_values(self, n: Node) -> None:
        self.emit(n, REPLICATED, why="constant rows, known to every partition")

    def op_map(self, n: Node) -> None:
        d = self.dist[n.inputs[0]]
        if d.kind == "hash":
            pos = _positions(n.attr("exprs"))
            new = tuple(pos.get(k, -1) for k in d.keys)
            d = Dist("hash", new) if -1 not in new else ANY
        self.emit(n, d, why="runs where its input is")

    def op_union(self, n: Node) -> None:
        ds = {self.dist[i] for i in n.inputs}
        self.emit(n, ds.pop() if len(ds) == 1 else ANY,
                  why="inputs alike" if len(ds) == 0 else "inputs partitioned differently: rows stay put")

    def op_distinct(self, n: Node) -> None:
        src = n.inputs[0]
        d = self.dist[src]
        if d.kind in ("any",):
            # any columns will do for dedup: take those the consumers want hashed, so the
            # next join or group-by finds its rows in place
            keys = self.demand.get(n.id) or tuple(range(n.schema.arity))
            want = Dist("hash", keys) if keys else SINGLE  # rows of no columns: all are equal
            src = self.move(src, want, "equal rows must meet to be deduplicated"
                            + (" (hashed on the columns the next operator needs)" if n.id in self.demand else ""))
            d = self.dist[src]
        self.emit(n, d, (src,), "equal rows are in one partition")

    def grouped(self, n: Node, key_cols: list[int] | None, what: str) -> None:
        """aggregate / lattice_merge: rows of a group must meet."""
        src = n.inputs[0]
        d = self.dist[src]
        if d.kind in ("replicated", "single"):
            self.emit(n, d, why=f"{what}: input {d}")
            return
        if not key_cols:
            src = self.move(src, SINGLE, f"{what} with no key (or computed keys) sees every row: a barrier")
            self.emit(n, SINGLE, (src,), f"{what} on one partition")
            return
        if not (d.kind == "hash" and set(d.keys) <= set(key_cols)):
            src = self.move(src, Dist("hash", tuple(key_cols)), f"{what}: a group's rows must meet")
            d = self.dist[src]
        out_keys = tuple(key_cols.index(k) for k in d.keys)
        self.emit(n, Dist("hash", out_keys), (src,), f"{what} per partition: groups do not span partitions")

    def op_aggregate(self, n: Node) -> None:
        keys = n.attr("keys")
        cols = [k.index for k in keys] if keys and all(isinstance(k, Col) for k in keys) else None
        self.grouped(n, cols, "group-by")

    def op_lattice_merge(self, n: Node) -> None:
        k = n.schema.key_arity
        self.grouped(n, list(range(k)) if k else None, "lattice merge")

    def op_join(self, n: Node) -> None:
        self.binary(n, anti=False)

    def op_anti_join(self, n: Node) -> None:
        self.binary(n, anti=True)

    def op_range_aggregate(self, n: Node) -> None:
        # as an anti-join: each left row stays where it is and needs every right row of its key
        self.binary(n, anti=True, what="range aggregate")

    def binary(self, n: Node, anti: bool, what: str = "") -> None:
        left, right = n.inputs
        lk, rk = tuple(n.attr("left_keys")), tuple(n.attr("right_keys"))
        dl, dr = self.dist[left], self.dist[right]
        width = self.by_id[left].schema.arity
        what = what or ("anti-join" if anti else "join")
        if not self.naive:
            if dr.kind == "replicated" or (dl == dr and dl.kind in ("single", "replicated")):
                self.emit(n, dl, why=f"{what} in place: the right side is {dr}")
                return
            if dl.kind == "replicated" and not anti:
                self.emit(n, _shift(dr, width), why=f"{what} in place: the left side is replicated")
                return
            if lk and _copartitioned(dl, dr, lk, rk):
                self.emit(n, dl, why=f"{what} in place: both sides hashed on the join key")
                return
        rows_l, rows_r = self.rows[left], self.rows[right]
        small_right = rows_r <= rows_l or anti
        small_rows = rows_r if small_right else rows_l
        if not self.naive and (not lk or (small_rows <= self.cost.broadcast_limit and small_rows * (self.parts - 1)
                                          < (rows_l + rows_r) * (self.parts - 1) / self.parts)):
            if small_right:
                right = self.move(right, REPLICATED, f"the smaller {what} side ({rows_r:,} rows) to every partition")
                self.emit(n, dl, (left, right), f"{what} in place against a broadcast right side")
            else:
                left = self.move(left, REPLICATED, f"the smaller join side ({rows_l:,} rows) to every partition")
                self.emit(n, _shift(dr, width), (left, right), "join in place against a broadcast left side")
            return
        if not lk:  # naive cross join: everything to one partition
            left, right = self.move(left, SINGLE, "a cross join"), self.move(right, SINGLE, "a cross join")
            self.emit(n, SINGLE, (left, right), f"{what} on one partition")
            return
        if not (dl.kind == "hash" and dl.keys == lk) or self.naive:
            left = self.move(left, Dist("hash", lk), f"{what} key") if not self.naive else self.force(left, lk)
        if not (dr.kind == "hash" and dr.keys == rk) or self.naive:
            right = self.move(right, Dist("hash", rk), f"{what} key") if not self.naive else self.force(right, rk)
        self.emit(n, Dist("hash", lk), (left, right), f"{what} on both sides hashed by the key")

    def force(self, src: str, keys: tuple[int, ...]) -> str:
        """The naive plan: a shuffle even where the rows are placed already."""
        saved = self.dist[src]
        self.dist[src] = ANY
        out = self.move(src, Dist("hash", keys), "naive plan: every join input shuffled")
        self.dist[src] = saved
        return out

    def op_fixpoint(self, n: Node) -> None:
        rels = list(n.attr("rels"))
        cols = local_partition_columns(n) if self.parts > 1 else None
        ins = list(n.inputs)
        if cols is None and self.parts > 1 and _ownable(n):
            # distributed semi-naive (runtime/dist/dist_fixpoint.py): rows owned by the hash of
            # their first (key) column, the full relation replicated, deltas exchanged
            # each round; the driver stops when no partition has a delta
            for j, rel in enumerate(rels):
                ins[j] = self.move(ins[j], Dist("hash", (0,)), f"initial rows of {rel} to their owners")
            for j in range(len(rels), len(ins)):
                ins[j] = self.move(ins[j], REPLICATED, "a relation the recursion reads, to every partition")
            placed_n = n.with_attrs(iterate=tuple((r, 0) for r in rels))
            self.emit(placed_n, Dist("hash", (0,)), tuple(ins),
                      "distributed semi-naive: a rule moves rows between partitions (it joins two recursive "
                      "atoms or derives the key anew), so each round sends the derived rows to their owners "
                      "and the new rows to every partition, until no partition finds a new row")
            self.fix_dist[n.id] = {r: Dist("hash", (0,)) for r in rels}
            return
        if cols is None:
            ins = [self.move(i, SINGLE, "a recursion that is not partition-local runs on one partition")
                   if self.dist[i].kind not in ("replicated", "single") else i for i in ins]
            self.emit(n, SINGLE, tuple(ins), "recursion on one partition: its relations have no column to "
                                              "own rows by (no columns, or a lattice without a key)")
            self.fix_dist[n.id] = {r: SINGLE for r in rels}
            return
        for j, rel in enumerate(rels):
            ins[j] = self.move(ins[j], Dist("hash", (cols[rel],)), f"initial rows of {rel} by its partition column")
        for j in range(len(rels), len(ins)):
            ins[j] = self.move(ins[j], REPLICATED, "a relation the recursion reads, to every partition")
        where = ", ".join(f"{r} by column {c}" for r, c in cols.items())
        self.emit(n, Dist("hash", (cols[rels[0]],)), tuple(ins),
                  f"partition-local recursion (each partition to its own fixpoint; partitioned: {where})")
        self.fix_dist[n.id] = {r: Dist("hash", (c,)) for r, c in cols.items()}

    def op_result(self, n: Node) -> None:
        self.emit(n, self.fix_dist[n.inputs[0]][n.attr("rel")], why="a relation out of its recursion")

    def op_sink(self, n: Node) -> None:
        self.collect(n)

    def op_persist(self, n: Node) -> None:
        self.collect(n)

    def op_defer(self, n: Node) -> None:
        self.collect(n)

    def collect(self, n: Node) -> None:
        src = n.inputs[0]
        if self.dist[src].kind == "any":
            want = Dist("hash", tuple(range(n.schema.arity))) if n.schema.arity else SINGLE
            src = self.move(src, want, "equal rows must meet before output")
        self.emit(n, self.dist[src], (src,), "collected by the driver at the end of the tick")


# op -> its placement rule; one per op of the op table (tests/ir/test_op_table.py checks)
RULES: dict[str, Callable[[_Placer, Node], None]] = {
    "source": _Placer.op_source, "values": _Placer.op_values, "param": _Placer.op_in_body,
    "map": _Placer.op_map, "filter": _Placer.op_local, "flat_map": _Placer.op_local,
    "join": _Placer.op_join, "anti_join": _Placer.op_anti_join, "union": _Placer.op_union,
    "distinct": _Placer.op_distinct, "aggregate": _Placer.op_aggregate, "lattice_merge": _Placer.op_lattice_merge,
    "fixpoint": _Placer.op_fixpoint, "result": _Placer.op_result, "exchange": _Placer.op_local,
    "range_aggregate": _Placer.op_range_aggregate,
    "yield": _Placer.op_in_body, "sink": _Placer.op_sink, "persist": _Placer.op_persist, "defer": _Placer.op_defer,
}


def _demands(g: Graph) -> dict[str, tuple[int, ...]]:
    """The hash keys, in a node's own columns, that its consumers would like it partitioned
    by (first consumer wins), carried back through maps, filters and dedups."""
    consumers = g.consumers()
    demand: dict[str, tuple[int, ...]] = {}
    for n in reversed(g.nodes):
        for c_id in consumers.get(n.id, []):
            c = g.node(c_id)
            want: tuple[int, ...] | None = None
            if c.op in ("join", "range_aggregate"):
                want = tuple(c.attr("left_keys") if c.inputs[0] == n.id else c.attr("right_keys"))
            elif c.op == "aggregate":
                keys = c.attr("keys")
                want = tuple(k.index for k in keys) if keys and all(isinstance(k, Col) for k in keys) else None
            elif c.op == "lattice_merge":
                want = tuple(range(c.schema.key_arity)) or None
            elif c.op == "fixpoint" and c.inputs.index(n.id) < len(c.attr("rels")):
                cols = local_partition_columns(c)
                rel = c.attr("rels")[c.inputs.index(n.id)]
                want = (cols[rel],) if cols else None
            elif c.op in ("filter", "distinct", "exchange", "flat_map") and c.id in demand:
                want = tuple(k for k in demand[c.id] if k < n.schema.arity) or None
            elif c.op == "map" and c.id in demand:
                exprs = c.attr("exprs")
                back = [exprs[k].index for k in demand[c.id] if isinstance(exprs[k], Col)]
                want = tuple(back) if len(back) == len(demand[c.id]) else None
            if want:
                demand[n.id] = want
                break
    return demand


def local_partition_columns(n: Node) -> dict[str, int] | None:
    """For a fixpoint: a column per recursive relation such that every derived row keeps, in
    that column, the value of that column of a recursive body row it came from, and no
    operator combines two recursive rows; None when there is none (the recursion must see
    rows of other partitions)."""
    body: Graph = n.attr("body")
    rels = list(n.attr("rels"))
    schemas = {y.attr("rel"): y.schema for y in body.by_op("yield")}
    candidates = {r: list(range(schemas[r].arity)) for r in rels}
    # provenance: output column -> set of (rel, column) it equals, for rows of recursive params
    prov: dict[str, list[set[tuple[str, int]]] | None] = {}
    for m in body.nodes:
        if m.op == "param":
            kind, _, rel = m.attr("name").partition(":")
            prov[m.id] = [{(rel, j)} for j in range(m.schema.arity)] if kind in ("full", "delta") else None
            continue
        ins = [prov[i] for i in m.inputs]
        recursive = [p for p in ins if p is not None]
        if m.op in ("join",):
            if len(recursive) > 1:
                return None  # two recursive rows meet: they may live in different partitions
            if not recursive:
                prov[m.id] = None
                continue
            left = prov[m.inputs[0]]
            lw = body.node(m.inputs[0]).schema.arity
            if left is not None:
                prov[m.id] = [set(s) for s in left] + [set() for _ in range(m.schema.arity - lw)]
                for a, b in zip(m.attr("left_keys"), m.attr("right_keys")):
                    prov[m.id][lw + b] |= left[a]
            else:
                right = prov[m.inputs[1]]
                prov[m.id] = [set() for _ in range(lw)] + [set(s) for s in right]
                for a, b in zip(m.attr("left_keys"), m.attr("right_keys")):
                    prov[m.id][a] |= right[b]
        elif m.op == "anti_join":
            if ins[1] is not None:
                return None
            prov[m.id] = ins[0]
        elif m.op in ("filter", "distinct", "yield", "exchange"):
            prov[m.id] = ins[0]
        elif m.op == "flat_map":
            prov[m.id] = None if ins[0] is None else ins[0] + [set()]
        elif m.op == "map":
            src = ins[0]
            prov[m.id] = None if src is None else [set(src[e.index]) if isinstance(e, Col) else set()
                                                   for e in m.attr("exprs")]
        elif m.op == "union":
            if all(p is None for p in ins):
                prov[m.id] = None
            elif any(p is None for p in ins):
                return None  # rows not derived from a recursive row: their home is unknown
            else:
                prov[m.id] = [set.intersection(*cols) for cols in zip(*ins)]
        elif m.op == "lattice_merge":
            prov[m.id] = ins[0]
        else:  # aggregates cannot be inside recursion; anything else: not local
            return None
        if m.op == "yield":
            rel = m.attr("rel")
            p = prov[m.id]
            if p is None:
                return None
            candidates[rel] = [c for c in candidates[rel] if p[c]]
    # choose one column per relation such that every yield keeps it from a recursive row
    # whose own relation is partitioned by the same column
    for choice in _choices(rels, candidates, schemas):
        if _consistent(body, prov, choice):
            return choice
    return None


def _ownable(n: Node) -> bool:
    """Every recursive relation has a first column that identifies where its rows live: a
    column at all, and for a lattice a key column (its values merge in one place)."""
    for y in n.attr("body").by_op("yield"):
        sch = y.schema
        if sch.arity == 0 or (sch.is_lattice and sch.key_arity == 0):
            return False
    return True


def _choices(rels: list[str], candidates: dict[str, list[int]], schemas: dict[str, Schema]):
    import itertools

    lists = []
    for r in rels:
        k = schemas[r].key_arity if schemas[r].is_lattice else schemas[r].arity
        lists.append([c for c in candidates[r] if c < k])  # a lattice's column must be in its key
    for combo in itertools.product(*lists):
        yield dict(zip(rels, combo))


def _consistent(body: Graph, prov: dict, choice: dict[str, int]) -> bool:
    for y in body.by_op("yield"):
        rel = y.attr("rel")
        col = choice[rel]
        if not any(choice.get(r) == c for r, c in prov[y.id][col]):
            return False
    return True


def _positions(exprs) -> dict[int, int]:
    """Input column -> first output position that copies it."""
    out: dict[int, int] = {}
    for pos, e in enumerate(exprs):
        if isinstance(e, Col) and e.index not in out:
            out[e.index] = pos
    return out


def _shift(d: Dist, width: int) -> Dist:
    return Dist("hash", tuple(k + width for k in d.keys)) if d.kind == "hash" else d


def _copartitioned(dl: Dist, dr: Dist, lk: tuple[int, ...], rk: tuple[int, ...]) -> bool:
    if dl.kind != "hash" or dr.kind != "hash" or len(dl.keys) != len(dr.keys):
        return False
    idx = []
    for k in dl.keys:
        if k not in lk:
            return False
        idx.append(lk.index(k))
    return dr.keys == tuple(rk[i] for i in idx)


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"
