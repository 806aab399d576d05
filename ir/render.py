"""Pictures of the IR: Graphviz DOT, Mermaid flowcharts, and SVG/PNG through Graphviz.

Each node is labelled with its id, op and a short summary of its key attributes. Top-level
nodes are grouped by stratum (one cluster/subgraph each); a fixpoint's body is drawn as a
nested cluster around the fixpoint node, with dashed edges from the fixpoint to its params
and from the yields back. Sources (source, values, param) and exits (sink, persist, defer, yield)
have their own shapes and colours; non-monotone nodes have a red border.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from typing import Any

from dfl.errors import DflError
from dfl.ir.expr import Col, Fn, Lit
from dfl.ir.graph import Graph, Node
from dfl.ir.ops import OPS

_SOURCES = tuple(op for op, s in OPS.items() if s.inputs == 0)  # source, values, param
_EXITS = tuple(op for op, s in OPS.items() if s.leaves)  # sink, persist, defer; yield: a fixpoint body's
_MAX_LABEL = 40


# --------------------------------------------------------------------------- labels


def label(n: Node) -> str:
    """`n5 join` and a second line summarising the attributes that matter, kept short; after
    placement a third line with the partitioning and the device (`hash(0) x4 · cpu`)."""
    text = f"{n.id} {n.op}" + (f"\n{_short(detail)}" if (detail := _detail(n)) else "")
    if n.attr("dist") is not None:
        text += f"\n{n.attr('dist')} x{n.attr('parts')} · {n.attr('device')}"
    return text


def _detail(n: Node) -> str:
    a = n.attr
    if n.op == "source":
        return f"{a('rel')} ({a('kind')})"
    if n.op in ("sink", "persist", "result", "yield"):
        return str(a("rel"))
    if n.op == "defer":
        return f"{a('rel')} ({a('mode')})"
    if n.op == "param":
        return str(a("name"))
    if n.op == "values":
        rows = a("rows") or ()
        return f"{len(rows)} row" + ("" if len(rows) == 1 else "s")
    if n.op == "map":
        return ", ".join(_expr(e) for e in a("exprs") or ())
    if n.op == "filter":
        return _expr(a("pred"))
    if n.op == "flat_map":
        return _expr(a("gen"))
    if n.op in ("join", "anti_join"):
        return f"{list(a('left_keys') or ())} = {list(a('right_keys') or ())}"
    if n.op == "aggregate":
        aggs = ", ".join(f"{f}({'*' if e is None else _expr(e)})" for f, e in a("aggs") or ())
        keys = ", ".join(_expr(e) for e in a("keys") or ())
        return f"by [{keys}]: {aggs}" if keys else aggs
    if n.op == "range_aggregate":
        ((f, e),) = a("aggs")
        tests = " and ".join(f"${a('value')} {c} left {_expr(b)}" for c, b in zip(a("cmp"), a("bound")))
        zero = " (0 where none)" if a("empty") == "zero" else ""
        return (f"{f}({'*' if e is None else _expr(e)}){zero} where {tests}, "
                f"{list(a('left_keys'))} = {list(a('right_keys'))}")
    if n.op == "lattice_merge":
        return f"key {a('key_arity')}, {', '.join(a('lattices') or ())}"
    if n.op == "fixpoint":
        return ", ".join(a("rels") or ())
    if n.op == "exchange":
        return f"{a('mode')} {list(a('keys') or ())}" if a("keys") else str(a("mode"))
    return ""


def _expr(e: Any) -> str:
    """An expression without its types: `add($0, 1)`."""
    if isinstance(e, Col):
        return f"${e.index}"
    if isinstance(e, Lit):
        if isinstance(e.value, bool):
            return "true" if e.value else "false"
        return repr(e.value)  # quotes strings, keeps 1.0 apart from 1
    if isinstance(e, Fn):
        return f"{e.op}({', '.join(_expr(x) for x in e.args)})"
    return str(e)


def _short(s: str) -> str:
    return s if len(s) <= _MAX_LABEL else s[:_MAX_LABEL - 1] + "…"


def _kind(n: Node) -> str:
    if n.op in _SOURCES:
        return "source"
    if n.op in _EXITS:
        return "exit"
    if n.op == "fixpoint":
        return "fixpoint"
    return "op"


def _by_stratum(g: Graph) -> dict[int, list[Node]]:
    out: dict[int, list[Node]] = {}
    for n in g.nodes:
        out.setdefault(n.stratum, []).append(n)
    return dict(sorted(out.items()))


# --------------------------------------------------------------------------- DOT


_DOT_STYLE = {
    "source": 'shape=invhouse, style=filled, fillcolor="#dbeafe"',
    "exit": 'shape=house, style=filled, fillcolor="#dcfce7"',
    "fixpoint": 'shape=doubleoctagon, style=filled, fillcolor="#fef3c7"',
    "op": "shape=box",
}


def _dq(s: str) -> str:
    """A DOT quoted string; newlines become centred line breaks."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(g: Graph, name: str = "dfl") -> str:
    out = [f"digraph {_dq(name)} {{", "  rankdir=TB;", '  node [fontname="Helvetica", fontsize=10];',
           '  edge [fontname="Helvetica", fontsize=9];']
    edges: list[str] = []
    for stratum, nodes in _by_stratum(g).items():
        out.append(f"  subgraph {_dq(f'cluster_stratum_{stratum}')} {{")
        out.append(f'    label={_dq(f"stratum {stratum}")}; style=dashed; color="#9ca3af";')
        for n in nodes:
            _dot_node(n, "", "    ", out, edges)
        out.append("  }")
    out.extend("  " + e for e in edges)
    out.append("}")
    return "\n".join(out) + "\n"


def _dot_node(n: Node, prefix: str, indent: str, out: list[str], edges: list[str]) -> None:
    """Emits `n` (ids inside a body are prefixed with the fixpoint's path, so they stay unique)."""
    nid = prefix + n.id
    style = _DOT_STYLE[_kind(n)] + ("" if n.monotone else ", color=red, penwidth=2")
    for i in n.inputs:
        edges.append(f"{_dq(prefix + i)} -> {_dq(nid)};")
    body = n.attr("body") if n.op == "fixpoint" else None
    if not isinstance(body, Graph):
        out.append(f"{indent}{_dq(nid)} [label={_dq(label(n))}, {style}];")
        return
    out.append(f"{indent}subgraph {_dq('cluster_' + nid)} {{")
    out.append(f'{indent}  label={_dq("fixpoint " + n.id)}; style="rounded,filled"; fillcolor="#fffbeb";')
    out.append(f"{indent}  {_dq(nid)} [label={_dq(label(n))}, {style}];")
    inner = nid + "/"
    for b in body.nodes:
        _dot_node(b, inner, indent + "  ", out, edges)
        if b.op == "param":
            edges.append(f"{_dq(nid)} -> {_dq(inner + b.id)} [style=dashed, arrowhead=none];")
        elif b.op == "yield":
            edges.append(f"{_dq(inner + b.id)} -> {_dq(nid)} [style=dashed, constraint=false];")
    out.append(f"{indent}}}")


# --------------------------------------------------------------------------- Mermaid


@dataclass
class _Ids:
    """Mermaid ids must be plain words: each (path, node id) gets a sanitised unique one."""

    taken: dict[str, str] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)

    def __call__(self, path: str) -> str:
        if path not in self.taken:
            base = re.sub(r"[^A-Za-z0-9_]", "_", path) or "node"
            if not base[0].isalpha():
                base = "n_" + base
            mid, k = base, 1
            while mid in self.used or mid in ("end", "graph", "subgraph", "style", "class", "click"):
                k += 1
                mid = f"{base}_{k}"
            self.used.add(mid)
            self.taken[path] = mid
        return self.taken[path]


def _mq(s: str) -> str:
    """A Mermaid quoted label: quotes and angle brackets as entity codes, newlines as <br/>."""
    s = s.replace("#", "#35;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
    return '"' + s.replace("\n", "<br/>") + '"'


_MERMAID_SHAPE = {"source": ("[/", "\\]"), "exit": ("[\\", "/]"), "fixpoint": ("{{", "}}"), "op": ("[", "]")}


def to_mermaid(g: Graph) -> str:
    ids = _Ids()
    out = ["flowchart TD"]
    edges: list[str] = []
    classes: dict[str, list[str]] = {}
    for stratum, nodes in _by_stratum(g).items():
        out.append(f"  subgraph {ids(f'stratum {stratum}')} [{_mq(f'stratum {stratum}')}]")
        for n in nodes:
            _mermaid_node(n, "", "    ", ids, out, edges, classes)
        out.append("  end")
    out.extend("  " + e for e in edges)
    out.append("  classDef source fill:#dbeafe,stroke:#1d4ed8")
    out.append("  classDef exit fill:#dcfce7,stroke:#15803d")
    out.append("  classDef fixpoint fill:#fef3c7,stroke:#b45309")
    out.append("  classDef nonmonotone stroke:#dc2626,stroke-width:2px")
    for cls, members in classes.items():
        if members:
            out.append(f"  class {','.join(members)} {cls}")
    return "\n".join(out) + "\n"


def _mermaid_node(n: Node, prefix: str, indent: str, ids: _Ids, out: list[str], edges: list[str],
                  classes: dict[str, list[str]]) -> None:
    mid = ids(prefix + n.id)
    kind = _kind(n)
    if kind != "op":
        classes.setdefault(kind, []).append(mid)
    if not n.monotone:
        classes.setdefault("nonmonotone", []).append(mid)
    for i in n.inputs:
        edges.append(f"{ids(prefix + i)} --> {mid}")
    open_, close = _MERMAID_SHAPE[kind]
    body = n.attr("body") if n.op == "fixpoint" else None
    if not isinstance(body, Graph):
        out.append(f"{indent}{mid}{open_}{_mq(label(n))}{close}")
        return
    inner = prefix + n.id + "/"
    out.append(f"{indent}subgraph {ids(inner + '#cluster')} [{_mq('fixpoint ' + n.id)}]")
    out.append(f"{indent}  {mid}{open_}{_mq(label(n))}{close}")
    for b in body.nodes:
        _mermaid_node(b, inner, indent + "  ", ids, out, edges, classes)
        if b.op == "param":
            edges.append(f"{mid} -.- {ids(inner + b.id)}")
        elif b.op == "yield":
            edges.append(f"{ids(inner + b.id)} -.-> {mid}")
    out.append(f"{indent}end")


# --------------------------------------------------------------------------- images


def render_image(g: Graph, fmt: str, out_path: str) -> None:
    """Writes `g` as an SVG or PNG picture to `out_path`, through Graphviz's `dot`."""
    if fmt not in ("svg", "png"):
        raise DflError(f"cannot render the IR as {fmt!r}: the image formats are svg and png", kind="usage",
                       hint="use --format svg, png, dot or mermaid")
    dot = shutil.which("dot")
    if dot is None:
        raise DflError(f"cannot render {fmt}: Graphviz 'dot' is not installed (not found on PATH)", kind="usage",
                       hint="install graphviz (apt-get install graphviz) or use --format dot")
    try:
        proc = subprocess.run([dot, f"-T{fmt}", "-o", str(out_path)], input=to_dot(g).encode(),
                              capture_output=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise DflError(f"Graphviz 'dot' failed: {e}", kind="usage") from None
    if proc.returncode != 0:
        raise DflError(f"Graphviz 'dot' failed (exit {proc.returncode}): "
                       f"{proc.stderr.decode(errors='replace').strip()}", kind="usage")
