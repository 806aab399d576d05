"""The IR's text form: deterministic, human-readable, and read back exactly.

`parse_graph(print_graph(g)) == g` for every graph. The form, line by line::

    dfl-ir 1
    file "tc.dfl"
    relation edge(src: int, dst: int) kinds=[input]
    relation best(k: str, d: min<int>) kinds=[output, table] init=[("a", 3)]
    relation hop(src: int, dst: int) kinds=[input] derived @partition(src) @slo(p99_ms=50:int)
    n1 = source() {rel="edge", kind="input"} : (src: int, dst: int)  # stratum 0, at 3:1-3:30
    n2 = filter(n1) {pred=gt:bool($1:int, 1:int)} : (src: int, dst: int)  # stratum 1, at 7:1-7:40, @device(cpu)
    n9 = fixpoint(n2) {rels=["tc"], exts=[], body=graph} : ()  # stratum 2, at 5:1-5:20
      body {
        n3 = param() {name="full:tc"} : (src: int, dst: int)  # stratum 2
        ...
      }

- The version line comes first; `file` names the file of the spans printed without one.
- A node is `ID = OP(INPUTS) {ATTRS} : SCHEMA  # META`; `{ATTRS}` is left out when empty.
  META holds `stratum N`, `at L:C-L:C` (or `at "other.dfl":L:C-L:C`) for the span, and
  `monotone`/`nonmonotone` only where the flag differs from the op's default in `OPS`.
- Annotations (`ir/annotations.py`) close a relation line and a node's META:
  `@NAME(ARG, KEY=ARG)`, an ARG a name (`src`, `cuda`: bare, or quoted when it is not an
  identifier) or a typed constant (`50:int`, `"eu":str`). `derived` marks an input the
  program also gives rows.
- A graph-valued attribute prints as `key=graph`; the graph follows, indented, as a
  `key { ... }` block (nodes and relations as at the top level).
- Values: `"str"` (escapes `\\" \\\\ \\n \\t \\r \\xHH \\uHHHH \\UHHHHHHHH`; other printable
  unicode as is), ints `-3`, floats in `repr` form (`0.1`, `1e+300`, `-0.0`, `inf`, `nan`),
  `true`/`false`, `none`, tuples `[a, b]` (inner ones `(a, b)`; both read back as tuples).
- Expressions: `$0:int` (Col), `1:int` / `"a\\"b":str` / `1.5:float` (Lit: the value's own
  syntax decides its Python type, the suffix the IR type), `add:int($0:int, 1:int)` (Fn).
- An aggregate's `aggs` print as calls: `[count(*), sum($2:int)]` for `(("count", None), ("sum", Col(2, int)))`.
- Names (ids, ops, keys, relations, columns) are bare when they look like identifiers
  (letters, digits, `_`, `.`), else quoted. Blank lines and lines starting with `#` are ignored.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Any, Iterator

from dfl.errors import Span
from dfl.ir.annotations import Annotation
from dfl.ir.expr import Col, Fn, Lit
from dfl.ir.graph import OPS, Graph, Node, RelDecl
from dfl.ir.types import BASE_TYPES, Column, Schema, Type

VERSION = 1

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
# `inf` and `nan` read as floats, so names spelled like them are quoted
_NUMBER_WORDS = {"inf", "nan"}
_KEYWORDS = {"true": True, "false": False, "none": None}


# --------------------------------------------------------------------------- printing


def print_graph(g: Graph) -> str:
    """The text form of `g`, ending in a newline."""
    default_file = next(_span_files(g), None)
    out = [f"dfl-ir {VERSION}"]
    if default_file is not None:
        out.append(f"file {_quote(default_file)}")
    _Printer(default_file, out).block(g, "")
    return "\n".join(out) + "\n"


def _span_files(g: Graph) -> Iterator[str]:
    for n in g.nodes:
        if n.span is not None:
            yield n.span.file
        for _, v in n.attrs:
            if isinstance(v, Graph):
                yield from _span_files(v)


@dataclass
class _Printer:
    default_file: str | None
    out: list[str]

    def block(self, g: Graph, indent: str) -> None:
        for r in g.relations:
            self.out.append(indent + _relation(r))
        for n in g.nodes:
            self.out.append(indent + self.node_line(n))
            for key, v in n.attrs:
                if isinstance(v, Graph):
                    self.out.append(f"{indent}  {_name(key)} {{")
                    self.block(v, indent + "    ")
                    self.out.append(f"{indent}  }}")

    def node_line(self, n: Node) -> str:
        head = f"{_name(n.id)} = {_name(n.op)}({', '.join(_name(i) for i in n.inputs)})"
        if n.attrs:
            attrs = ", ".join(f"{_name(k)}={_attr_value(k, v)}" for k, v in n.attrs)
            head += f" {{{attrs}}}"
        meta = [f"stratum {n.stratum}"]
        if n.span is not None:
            meta.append("at " + self.span(n.span))
        if n.monotone != _default_monotone(n.op):
            meta.append("monotone" if n.monotone else "nonmonotone")
        meta.extend(_annotation(a) for a in n.annotations)
        return f"{head} : {_schema(n.schema)}  # {', '.join(meta)}"

    def span(self, s: Span) -> str:
        pos = f"{s.line}:{s.col}-{s.end_line}:{s.end_col}"
        if min(s.line, s.col, s.end_line, s.end_col) < 0:
            raise ValueError(f"cannot print a span with negative positions: {s}")
        return pos if s.file == self.default_file else f"{_quote(s.file)}:{pos}"


def _default_monotone(op: str) -> bool:
    spec = OPS.get(op)
    return spec.monotone if spec is not None else True


def _relation(r: RelDecl) -> str:
    text = f"relation {_name(r.name)}{_schema(r.schema)} kinds=[{', '.join(_name(k) for k in r.kinds)}]"
    if r.derived:
        text += " derived"
    if r.init:
        text += f" init={_value(r.init)}"
    return "".join([text] + [" " + _annotation(a) for a in r.annotations])


def _annotation(a: Annotation) -> str:
    if not isinstance(a, Annotation):
        raise ValueError(f"not an annotation: {a!r}")
    args = []
    for k, v in a.args:
        text = _name(v) if isinstance(v, str) else _expr(v)  # a name, else a typed constant
        args.append(text if k is None else f"{_name(k)}={text}")
    return f"@{_name(a.name)}({', '.join(args)})"


def _schema(s: Schema) -> str:
    return "(" + ", ".join(_column(c) for c in s.columns) + ")"


def _column(c: Column) -> str:
    t = f"{_name(c.lattice)}<{_type(c.type)}>" if c.lattice is not None else _type(c.type)
    return f"{_name(c.name)}: {t}"


def _type(t: Type) -> str:
    if not isinstance(t, Type):
        raise ValueError(f"not an IR type: {t!r}")
    return t.value


def _name(s: str) -> str:
    if not isinstance(s, str):
        raise ValueError(f"not a name: {s!r}")
    if _IDENT.fullmatch(s) and s not in _NUMBER_WORDS:
        return s
    return _quote(s)


def _quote(s: str) -> str:
    out = ['"']
    for ch in s:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        else:  # control characters, line/paragraph separators, lone surrogates: keep lines whole
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}
_UNESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r"}


def _attr_value(key: str, v: Any) -> str:
    if isinstance(v, Graph):
        return "graph"  # the body follows as a `key { ... }` block
    if key == "aggs" and isinstance(v, tuple) and all(_is_agg(a) for a in v):
        return "[" + ", ".join(f"{a[0]}({'*' if a[1] is None else _expr(a[1])})" for a in v) + "]"
    return _value(v)


def _is_agg(a: Any) -> bool:
    return (isinstance(a, tuple) and len(a) == 2 and isinstance(a[0], str) and _name(a[0]) == a[0]
            and (a[1] is None or isinstance(a[1], (Col, Lit, Fn))))


def _value(v: Any, outer: bool = True) -> str:
    if isinstance(v, bool):  # before int: bool is an int subclass
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return _float(v)
    if isinstance(v, str):
        return _quote(v)
    if v is None:
        return "none"
    if isinstance(v, (Col, Lit, Fn)):
        return _expr(v)
    if isinstance(v, tuple):
        inner = ", ".join(_value(x, False) for x in v)
        return f"[{inner}]" if outer else f"({inner})"
    raise ValueError(f"cannot print an IR value of type {type(v).__name__}: {v!r}")


def _float(x: float) -> str:
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return repr(x)  # the shortest text that reads back as the same float


def _expr(e: Any) -> str:
    if isinstance(e, Col):
        return f"${e.index}:{_type(e.type)}"
    if isinstance(e, Lit):
        return f"{_value(e.value, False)}:{_type(e.type)}"
    if isinstance(e, Fn):
        return f"{_name(e.op)}:{_type(e.type)}({', '.join(_expr(a) for a in e.args)})"
    raise ValueError(f"not an IR expression: {e!r}")


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class _Tok:
    kind: str  # STR NUM SPAN COL ID P (punctuation) END
    text: str
    value: Any
    col: int  # 1-based column in the line


_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<STR>"(?:[^"\\]|\\.)*")
  | (?P<SPAN>\d+:\d+-\d+:\d+)
  | (?P<NUM>-?(?:\d+\.\d*(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+|inf|nan|\d+)(?![A-Za-z0-9_.]))
  | (?P<COL>\$\d+)
  | (?P<ID>[A-Za-z_][A-Za-z0-9_.]*)
  | (?P<P>[=(){}\[\],:<>*\#@])
""", re.VERBOSE)


class _Error(Exception):
    def __init__(self, message: str, col: int) -> None:
        super().__init__(message)
        self.col = col


def _tokenize(line: str) -> list[_Tok]:
    toks, pos = [], 0
    while pos < len(line):
        m = _TOKEN.match(line, pos)
        if m is None:
            raise _Error(f"unexpected character {line[pos]!r}", pos + 1)
        kind, text = m.lastgroup, m.group()
        if kind != "ws":
            toks.append(_Tok(kind, text, _token_value(kind, text, pos + 1), pos + 1))
        pos = m.end()
    toks.append(_Tok("END", "", None, len(line) + 1))
    return toks


def _token_value(kind: str, text: str, col: int) -> Any:
    if kind == "STR":
        return _unquote(text[1:-1], col)
    if kind == "NUM":
        return float(text) if any(c in text for c in ".eEn") else int(text)  # `n`: inf, nan
    if kind == "COL":
        return int(text[1:])
    return text


def _unquote(body: str, col: int) -> str:
    out, i = [], 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        esc = body[i + 1]
        if esc in _UNESCAPES:
            out.append(_UNESCAPES[esc])
            i += 2
            continue
        width = {"x": 2, "u": 4, "U": 8}.get(esc)
        digits = body[i + 2:i + 2 + width] if width else ""
        if not width or len(digits) != width or not all(c in "0123456789abcdefABCDEF" for c in digits):
            raise _Error(f"bad escape in string: {body[i:i + 2 + (width or 0)]!r}", col + i + 1)
        code = int(digits, 16)
        if code > 0x10FFFF:
            raise _Error(f"bad escape in string: code point {code:#x} is out of range", col + i + 1)
        out.append(chr(code))
        i += 2 + width
    return "".join(out)


_GRAPH = object()  # the `graph` placeholder of a graph-valued attribute


class _LineParser:
    """Recursive descent over the tokens of one line."""

    def __init__(self, line: str) -> None:
        self.toks = _tokenize(line)
        self.i = 0

    def peek(self, k: int = 0) -> _Tok:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def next(self) -> _Tok:
        t = self.peek()
        self.i += 1
        return t

    def at(self, text: str) -> bool:
        t = self.peek()
        return t.kind in ("P", "ID") and t.text == text

    def expect(self, text: str) -> _Tok:
        t = self.next()
        if t.kind not in ("P", "ID") or t.text != text:
            raise _Error(f"expected {text!r}, found {_show(t)}", t.col)
        return t

    def end(self) -> None:
        t = self.peek()
        if t.kind != "END":
            raise _Error(f"unexpected {_show(t)}", t.col)

    def name(self) -> str:
        t = self.next()
        if t.kind in ("ID", "STR"):
            return t.value
        raise _Error(f"expected a name, found {_show(t)}", t.col)

    def int(self) -> int:
        t = self.next()
        if t.kind != "NUM" or not isinstance(t.value, int):
            raise _Error(f"expected an integer, found {_show(t)}", t.col)
        return t.value

    def sequence(self, close: str, item) -> list:
        items = []
        while not self.at(close):
            items.append(item())
            if not self.at(close):
                self.expect(",")
        self.expect(close)
        return items

    def type(self) -> Type:
        t = self.next()
        if t.kind == "ID" and t.text in BASE_TYPES:
            return BASE_TYPES[t.text]
        raise _Error(f"expected a type ({', '.join(BASE_TYPES)}), found {_show(t)}", t.col)

    def schema(self) -> Schema:
        self.expect("(")
        return Schema(tuple(self.sequence(")", self.column)))

    def column(self) -> Column:
        name = self.name()
        self.expect(":")
        if self.peek(1).text == "<" and self.peek(1).kind == "P":
            lattice = self.name()
            self.expect("<")
            t = self.type()
            self.expect(">")
            return Column(name, t, lattice)
        return Column(name, self.type())

    def value(self) -> Any:
        t = self.next()
        if t.kind == "P" and t.text in "[(":
            v: Any = tuple(self.sequence("]" if t.text == "[" else ")", self.value))
            if any(x is _GRAPH for x in v):
                raise _Error("`graph` stands only for a whole attribute value", t.col)
        elif t.kind == "COL":
            self.expect(":")
            return Col(t.value, self.type())
        elif t.kind == "ID" and self.at("("):  # an aggregate call: count(*), sum(expr)
            self.next()
            if self.at("*"):
                self.next()
                arg = None
            else:
                arg = self.value()
            self.expect(")")
            return (t.text, arg)
        elif t.kind == "ID" and t.text == "graph" and not self.at(":"):
            return _GRAPH
        elif t.kind in ("STR", "NUM"):
            v = t.value
        elif t.kind == "ID" and t.text in _KEYWORDS:
            v = _KEYWORDS[t.text]
        elif t.kind == "ID" and self.at(":"):
            v = None  # only a function name can come here: checked below
        else:
            raise _Error(f"expected a value, found {_show(t)}", t.col)
        if not self.at(":"):
            return v
        self.next()
        typ = self.type()
        if self.at("("):
            if t.kind not in ("ID", "STR"):
                raise _Error(f"expected a function name, found {_show(t)}", t.col)
            self.next()
            args = self.sequence(")", self.value)
            for a in args:
                if not isinstance(a, (Col, Lit, Fn)):
                    raise _Error(f"the arguments of {t.value!r} must be expressions", t.col)
            return Fn(t.value, tuple(args), typ)
        if t.kind == "ID" and t.text not in _KEYWORDS:
            raise _Error(f"expected '(' after the function {t.text}:{typ.value}", self.peek().col)
        return Lit(v, typ)

    def annotation(self) -> Annotation:
        self.expect("@")
        name = self.name()
        self.expect("(")

        def arg() -> tuple[str | None, Any]:
            key = None
            if self.peek().kind in ("ID", "STR") and self.peek(1).kind == "P" and self.peek(1).text == "=":
                key = self.name()
                self.next()
            t = self.peek()
            if t.kind in ("ID", "STR") and not (self.peek(1).kind == "P" and self.peek(1).text == ":"):
                self.next()
                return key, t.value  # a name
            v = self.value()
            if not isinstance(v, Lit):
                raise _Error("an annotation's argument is a name or a typed constant such as 50:int", t.col)
            return key, v

        return Annotation(name, tuple(self.sequence(")", arg)))

    def attrs(self) -> list[tuple[str, Any]]:
        self.expect("{")

        def item() -> tuple[str, Any]:
            key = self.name()
            self.expect("=")
            return key, self.value()

        return self.sequence("}", item)


def _show(t: _Tok) -> str:
    return "end of line" if t.kind == "END" else repr(t.text)


class TextError(ValueError):
    """A malformed text: the message names the line; `line`/`col` (1-based; col may be
    None) locate it for a caret (ir/files.py)."""

    def __init__(self, text: str, message: str, line: int, col: int | None) -> None:
        super().__init__(text)
        self.message, self.line, self.col = message, line, col


def parse_graph(text: str) -> Graph:
    """Reads the text form back; a malformed text raises ValueError naming the line."""
    return _Reader(text).read()


class _Reader:
    def __init__(self, text: str) -> None:
        # split on "\n" only: printed strings never hold a raw line break of any kind
        self.lines = [ln[:-1] if ln.endswith("\r") else ln for ln in text.split("\n")]
        self.pos = 0  # index of the next line
        self.default_file: str | None = None

    def error(self, lineno: int, message: str, col: int | None = None) -> ValueError:
        where = f"line {lineno}" + (f", column {col}" if col is not None else "")
        return TextError(f"{where}: {message}: {self.lines[lineno - 1].strip()!r}"
                         if 0 < lineno <= len(self.lines) else f"{where}: {message}", message, lineno, col)

    def next_line(self) -> tuple[int, str] | None:
        """The next line that is not blank or a comment, with its 1-based number."""
        while self.pos < len(self.lines):
            self.pos += 1
            line = self.lines[self.pos - 1]
            if line.strip() and not line.lstrip().startswith("#"):
                return self.pos, line
        return None

    def parse_line(self, lineno: int, line: str, fn):
        try:
            p = _LineParser(line)
            result = fn(p)
            p.end()
            return result
        except _Error as e:
            raise self.error(lineno, str(e), e.col) from None

    def read(self) -> Graph:
        first = self.next_line()
        if first is None:
            raise TextError("line 1: empty text: expected the version line 'dfl-ir 1'",
                            "empty text: expected the version line 'dfl-ir 1'", 1, None)
        lineno, line = first
        m = re.fullmatch(r"\s*dfl-ir\s+(\d+)\s*", line)
        if m is None:
            raise self.error(lineno, f"expected the version line 'dfl-ir {VERSION}'")
        if int(m.group(1)) != VERSION:
            raise self.error(lineno, f"unsupported dfl-ir version {m.group(1)} (this reader knows {VERSION})")
        save = self.pos
        nxt = self.next_line()
        if nxt is not None and re.match(r"\s*file\s+\"", nxt[1]):
            def file_line(p: _LineParser) -> str:
                p.expect("file")
                t = p.next()
                if t.kind != "STR":
                    raise _Error(f"expected a quoted file name, found {_show(t)}", t.col)
                return t.value

            self.default_file = self.parse_line(*nxt, file_line)
        else:
            self.pos = save
        return self.block(None)

    def block(self, opened: tuple[int, str] | None) -> Graph:
        """Nodes and relations up to the `}` closing `opened` (the block's key and line), or the end."""
        nodes: list[Node] = []
        relations: list[RelDecl] = []
        while True:
            nxt = self.next_line()
            if nxt is None:
                if opened is not None:
                    raise self.error(opened[0], f"the block {opened[1]!r} opened here is not closed")
                return Graph(tuple(nodes), tuple(relations))
            lineno, line = nxt
            stripped = line.strip()
            if stripped == "}":
                if opened is None:
                    raise self.error(lineno, "'}' closes no block")
                return Graph(tuple(nodes), tuple(relations))
            try:
                toks = _tokenize(line)
            except _Error as e:
                raise self.error(lineno, str(e), e.col) from None
            if toks[1].kind == "P" and toks[1].text == "=":
                node, graph_keys = self.parse_line(lineno, line, self.node)
                nodes.append(self.fill_graphs(node, graph_keys, lineno))
            elif toks[0].kind == "ID" and toks[0].text == "relation":
                relations.append(self.parse_line(lineno, line, self.relation))
            else:
                raise self.error(lineno, "expected a node 'ID = op(...) ...', a 'relation', or '}'")

    def fill_graphs(self, node: Node, graph_keys: list[str], lineno: int) -> Node:
        """Reads the `key { ... }` block of each `key=graph` attribute, in order."""
        bodies = {}
        for key in graph_keys:
            nxt = self.next_line()
            if nxt is None:
                raise self.error(lineno, f"the attribute {key}=graph has no '{key} {{' block after it")
            blineno, bline = nxt

            def opener(p: _LineParser) -> str:
                name = p.name()
                p.expect("{")
                return name

            got = self.parse_line(blineno, bline, opener)
            if got != key:
                raise self.error(blineno, f"expected the block '{key} {{' of node {node.id}")
            bodies[key] = self.block((blineno, key))
        attrs = []
        for k, v in node.attrs:
            if v is _GRAPH:
                v = bodies[k]
            attrs.append((k, v))
        return replace(node, attrs=tuple(attrs))

    def node(self, p: _LineParser) -> tuple[Node, list[str]]:
        nid = p.name()
        p.expect("=")
        op = p.name()
        p.expect("(")
        inputs = tuple(p.sequence(")", p.name))
        attrs = p.attrs() if p.at("{") else []
        graph_keys = [k for k, v in attrs if v is _GRAPH]
        if len(set(graph_keys)) != len(graph_keys):
            raise _Error("two graph attributes share a key", p.peek().col)
        p.expect(":")
        schema = p.schema()
        stratum, span, monotone = 0, None, _default_monotone(op)
        annotations: list[Annotation] = []
        if p.at("#"):
            p.next()
            while True:
                t = p.next()
                if t.text == "@" and t.kind == "P":
                    p.i -= 1
                    annotations.append(p.annotation())
                elif t.text == "stratum" and t.kind == "ID":
                    stratum = p.int()
                elif t.text == "at" and t.kind == "ID":
                    span = self.span(p)
                elif t.text in ("monotone", "nonmonotone") and t.kind == "ID":
                    monotone = t.text == "monotone"
                else:
                    raise _Error(f"expected 'stratum', 'at', 'monotone', 'nonmonotone' or an @annotation, "
                                 f"found {_show(t)}", t.col)
                if not p.at(","):
                    break
                p.next()
        return Node(nid, op, inputs, tuple(attrs), schema, stratum, monotone, span, tuple(annotations)), graph_keys

    def span(self, p: _LineParser) -> Span:
        t = p.next()
        file = self.default_file
        if t.kind == "STR":
            file = t.value
            p.expect(":")
            t = p.next()
        if t.kind != "SPAN":
            raise _Error(f"expected a span LINE:COL-LINE:COL, found {_show(t)}", t.col)
        if file is None:
            raise _Error("a span without a file, and no 'file' line at the top", t.col)
        a, b = t.text.split("-")
        line, col = map(int, a.split(":"))
        end_line, end_col = map(int, b.split(":"))
        return Span(file, line, col, end_line, end_col)

    def relation(self, p: _LineParser) -> RelDecl:
        p.expect("relation")
        name = p.name()
        schema = p.schema()
        p.expect("kinds")
        p.expect("=")
        p.expect("[")
        kinds = tuple(p.sequence("]", p.name))
        derived = p.at("derived")
        if derived:
            p.next()
        init: tuple = ()
        if p.at("init"):
            p.next()
            p.expect("=")
            t = p.peek()
            init = p.value()
            if not isinstance(init, tuple) or not all(isinstance(r, tuple) for r in init):
                raise _Error("init must be a list of rows", t.col)
        annotations = []
        while p.at("@"):
            annotations.append(p.annotation())
        return RelDecl(name, kinds, schema, init, tuple(annotations), derived)
