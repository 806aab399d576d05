"""IR files: a program given as its IR graph, `.dfir` (the text form) or `.json` (the JSON form).

`dfl run`, `dfl explain`, `dfl ir` and `dfl compile` take one wherever they take a `.dfl`
program. The file holds the graph that runs, as `dfl ir` prints it (the optimized graph):
it is verified and then run as it is, with no pass re-run (the passes are not all
idempotent, and a graph from another front end is its author's to optimize). A mistake
in the file (its syntax, its JSON, a broken invariant) is a DflError at file:line:col
with the line and a caret: for an invariant, the line of the node or relation it names.
"""
from __future__ import annotations

import json
import re

from dfl.errors import DflError, Span
from dfl.ir import json_io, text
from dfl.ir.graph import Graph
from dfl.ir.verify import IRError, verify

SUFFIXES = (".dfir", ".json")


def is_ir_file(path: str) -> bool:
    return path.lower().endswith(SUFFIXES)


def read_source(path: str, what: str, kind: str = "usage", newline: str | None = None) -> str:
    """A file's text (`what`: "program file", "IR file", "messages file"); a missing or
    unreadable file, or one that is not UTF-8, is an error of `kind` naming it. `newline=""`
    keeps line ends as written (for the csv module)."""
    try:
        with open(path, encoding="utf-8", newline=newline) as f:
            return f.read()
    except FileNotFoundError:
        raise DflError(f"no such {what}: {path}", kind=kind) from None
    except UnicodeDecodeError as e:
        raise DflError(f"{path} is not valid UTF-8 (byte {e.start})", kind=kind) from None
    except OSError as e:
        raise DflError(f"cannot read {path}: {e.strerror}", kind=kind) from None


def read_ir_file(path: str) -> tuple[Graph, str]:
    """The verified graph of an IR file, with the file's text (for carets)."""
    source = read_source(path, "IR file")
    return parse_ir(source, path), source


def parse_ir(source: str, path: str) -> Graph:
    """The verified graph of an IR file's text; JSON when the name ends in .json."""
    is_json = path.lower().endswith(".json")
    try:
        g = _json(source, path) if is_json else text.parse_graph(source)
    except text.TextError as e:
        raise _error(f"malformed IR text: {e.message}", path, source, e.line, e.col) from None
    except ValueError as e:
        line, col = _locate(str(e), source, is_json)
        raise _error(f"malformed IR {'JSON' if is_json else 'text'}: {e}", path, source, line, col) from None
    try:
        verify(g)
    except IRError as e:
        line, col = _locate(str(e), source, is_json)
        raise _error(f"invalid IR: {e}", path, source, line, col,
                     hint="the verifier's invariants are listed in ir/verify.py") from None
    return g


def _json(source: str, path: str) -> Graph:
    try:
        doc = json.loads(source)
    except json.JSONDecodeError as e:
        raise _error(f"malformed IR JSON: {e.msg}", path, source, e.lineno, e.colno) from None
    return json_io.from_json(doc)


def _error(message: str, path: str, source: str, line: int, col: int | None, hint: str | None = None) -> DflError:
    col = col or _first_col(source, line)
    return DflError(message, Span(path, line, col, line, col + 1), hint=hint, source=source)


def _first_col(source: str, line: int) -> int:
    lines = source.split("\n")
    text_line = lines[line - 1] if 0 < line <= len(lines) else ""
    return len(text_line) - len(text_line.lstrip()) + 1


def _locate(message: str, source: str, is_json: bool) -> tuple[int, int | None]:
    """The line of the node or relation a message names (the first named), else line 1."""
    named = re.search(r"\bnode (\S+?)[ )]|\brelation (\S+?)[:\s]", message + " ")
    if named is not None:
        node, rel = named.groups()
        if is_json:
            key = "id" if node else "name"
            pattern = rf'"{key}"\s*:\s*{re.escape(json.dumps(node or rel))}'
        else:
            pattern = rf"^\s*{re.escape(node)} = " if node else rf"^\s*relation {re.escape(rel)}\("
        m = re.search(pattern, source, re.MULTILINE)
        if m is not None:
            line = source.count("\n", 0, m.start()) + 1
            return line, None
    return 1, None
