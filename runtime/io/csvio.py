"""Reading input relations from `.csv` and `.facts` files (LANGUAGE.md §2, §7).

Every problem is a `DflError(kind="input")` (exit status 2) whose message names the
file, the line as counted in the file and, where one is at fault, the column.
"""
from __future__ import annotations

import csv
import io
import json
import os
import re
import sys
from dataclasses import dataclass
from typing import Any, Callable, Iterator, NoReturn

from dfl.errors import DflError, Span
from dfl.ir.types import Schema, Type
from dfl.ir.values import INT_MAX, INT_MIN

def _lift_field_size_limit() -> None:
    """The csv module rejects a field over 131,072 characters as malformed; a string column
    may hold more. Raised process-wide (the limit is global), here where every reader of
    input files (the driver's and each worker's) passes. sys.maxsize overflows a C long on
    some platforms, so halve it until it fits."""
    limit = sys.maxsize
    while True:
        try:
            csv.field_size_limit(limit)
            return
        except OverflowError:
            limit //= 2


_lift_field_size_limit()

_INT_RE = re.compile(r"\s*[+-]?[0-9]+\s*\Z", re.ASCII)
FORMATS = {".csv": "csv", ".facts": "facts", ".parquet": "parquet", ".arrow": "arrow", ".feather": "arrow",
           ".ipc": "arrow", ".jsonl": "jsonl"}
INPUT_EXTENSIONS = (".csv", ".facts", ".parquet", ".arrow", ".feather", ".jsonl")  # looked for in -I DIR, in order


class _BadValue(Exception):
    """A field that does not parse; the message is what was expected."""


def input_candidates(name: str, input_dir: str | None, explicit: dict[str, str]) -> list[str]:
    """The paths §7 looks at for input relation `name`, in the order it looks."""
    if name in explicit:
        return [explicit[name]]
    if input_dir is None:
        return []
    # §7's two first, in its order; then the typed formats (runtime/io/native.py)
    return [os.path.join(input_dir, f"{name}{ext}") for ext in INPUT_EXTENSIONS]


def find_input(name: str, input_dir: str | None, explicit: dict[str, str]) -> str | None:
    """`--in name=FILE` (even when FILE is missing, so reading it reports that), else the
    first of `DIR/name.csv`, `DIR/name.facts`, `.parquet`, `.arrow`, `.feather`, `.jsonl`
    that exists, else None."""
    if name in explicit:
        return explicit[name]
    for path in input_candidates(name, input_dir, explicit):
        if os.path.exists(path):
            return path
    return None


def missing_input(relation: str, tried: list[str]) -> DflError:
    """The error for an input relation that has no file and no facts or rules."""
    where = f"tried {', '.join(tried)}" if tried else "no -I DIR or --in given"
    return DflError(
        f"no input file for relation {relation} ({where})",
        kind="input",
        hint=f"give it with --in {relation}=FILE or -I DIR, or add facts or rules for {relation}",
    )


def read_relation(path: str, schema: Schema, relation: str, tick_column: bool = False,
                  tried: list[str] | None = None) -> list[tuple]:
    """The rows of `relation` in `path`, in file order, duplicates kept.

    `.csv` is read with the csv module and starts with a header row naming the columns in
    declaration order (`tick` first when `tick_column`); `.facts` is Soufflé's format: one
    row a line, fields split on tab, no quoting, no header. Values are int, float, str or
    bool (a lattice column is read as its base type); with `tick_column` each row is
    `(tick, *values)`.

    - An empty file is an empty relation, and so is a `.csv` holding only its header.
    - A wholly empty line is skipped, except in a relation with zero columns (and no tick),
      where an empty line is its one row: the relation holds. So in a one-column `.facts`
      file an empty line is not the empty string (in `.csv` that is written `""`).
    - Both `\\n` and `\\r\\n` end lines; a UTF-8 byte-order mark at the start is ignored;
      header names may have surrounding spaces; a malformed quoted CSV field is an error.
    - int: optional sign and decimal digits, spaces around allowed, within 64 bits;
      float: whatever Python's float() takes (`1e-3`, `inf`, `nan`); bool: true/false in
      any case, spaces around allowed; str: the field exactly as written.
    - `tried`: the paths looked at, named in the message when the file is missing.
    """
    fmt = format_of(path, relation)
    if fmt not in ("csv", "facts"):
        raise DflError(f"{path}: the exact reader reads .csv and .facts files; this is {fmt}", kind="usage",
                       hint="read it with runtime/io/native.read_input")
    data = _read_bytes(path, relation, tried)
    return parse_relation(path, _decode(path, data), fmt, schema, relation, tick_column)


def format_of(path: str, relation: str) -> str:
    """An input file's format by its extension: csv and facts (read here), parquet, arrow,
    jsonl (runtime/io/native.py, typed.py)."""
    fmt = FORMATS.get(os.path.splitext(path)[1].lower())
    if fmt is None:
        raise DflError(f"{path}: cannot tell the format of the input for relation {relation}",
                       kind="input",
                       hint="name it .csv (comma-separated, with a header row), .facts (tab-separated, "
                            "no header), .parquet, .arrow / .feather (Arrow IPC) or .jsonl (a JSON object a line)")
    return fmt


def parse_relation(path: str, text: str, fmt: str, schema: Schema, relation: str,
                   tick_column: bool = False) -> list[tuple]:
    """read_relation on a file's text (already decoded): for a worker reading its part
    of a file, the text is the header (CSV) and blank lines up to the part's first line,
    so line numbers in messages are the file's."""
    src = _Source(path, text)
    names = (["tick"] if tick_column else []) + list(schema.names)
    convs = ([_parse_tick] if tick_column else []) + [_CONVERTERS[t] for t in schema.types]
    records = _csv_records(src, names) if fmt == "csv" else _facts_records(src)
    rows: list[tuple] = []
    width = len(names)
    for first, last, fields in records:
        if not fields and width:  # a blank line
            continue
        if len(fields) != width:
            _count_error(src, _Record(src, first, last, fields, fmt == "csv"), names)
        try:
            rows.append(tuple([conv(f) for conv, f in zip(convs, fields)]))
        except _BadValue:
            _value_error(src, _Record(src, first, last, fields, fmt == "csv"), names, convs)
    if not names:
        return rows[:1]  # a relation with no columns holds or not; any number of lines say "holds"
    return rows


@dataclass
class _Source:
    path: str
    text: str

    def error(self, line: int, message: str, cols: tuple[int, int] | None = None,
              hint: str | None = None) -> NoReturn:
        """Raise an error at `line`, pointing at 0-based character range `cols` (else the whole line)."""
        if cols is None:
            cols = (0, len(_line_text(self.text, line)))
        span = Span(self.path, line, cols[0] + 1, line, cols[1] + 1)
        raise DflError(message, span=span, kind="input", hint=hint,  # the span gives file:line:col
                       source=self.text)


# A record as the readers yield it: its first and last line, and its fields.
_Raw = tuple[int, int, list[str]]


class _Record:
    """A record that is at fault: what an error message needs to point into it."""

    def __init__(self, src: _Source, first: int, last: int, fields: list[str], is_csv: bool) -> None:
        self.line = first
        self.fields = fields
        self.text = _line_text(src.text, first)
        self.positions = self._positions(first == last, is_csv)

    def _positions(self, one_line: bool, is_csv: bool) -> list[tuple[int, int]] | None:
        """0-based [start, end) of each field in `text`; None when unknown (several lines)."""
        if not one_line:
            return None
        spans = _csv_positions(self.text) if is_csv else _tab_positions(self.fields)
        return spans if len(spans) == len(self.fields) else None


def file_not_found(path: str, relation: str, tried: list[str] | None = None) -> DflError:
    """The error for an input file that is not there (every reader's, and the pool's)."""
    also = f" (tried {', '.join(tried)})" if tried and tried != [path] else ""
    return DflError(f"{path}: file not found, wanted as input for relation {relation}{also}", kind="input")


def _read_bytes(path: str, relation: str, tried: list[str] | None) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise file_not_found(path, relation, tried) from None
    except OSError as e:
        raise DflError(f"{path}: cannot read the input for relation {relation}: {e.strerror or e}",
                       kind="input") from None


def _decode(path: str, data: bytes) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        start = data.rfind(b"\n", 0, e.start) + 1
        col = len(data[start:e.start].decode("utf-8", "replace"))
        _Source(path, data.decode("utf-8", "replace")).error(
            line, f"invalid UTF-8 (byte 0x{data[e.start]:02x} at character {col + 1})",
            (col, col + 1), hint="input files must be UTF-8")
    return text.removeprefix("\ufeff")


def _line_text(text: str, line: int) -> str:
    # Same line splitting as DflError's caret line, so columns agree with what it shows.
    lines = text.splitlines()
    return lines[line - 1] if 1 <= line <= len(lines) else ""


def _csv_records(src: _Source, names: list[str]) -> Iterator[_Raw]:
    """The records after a checked header; none for an empty file."""
    # newline="" keeps quoted line breaks inside fields, as the csv module wants.
    reader = csv.reader(io.StringIO(src.text, newline=""), strict=True)
    header = True
    while True:
        first = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            src.error(reader.line_num, f"malformed CSV: {e}")
        if header:
            _check_header(src, _Record(src, first, reader.line_num, fields, True), names)
            header = False
        else:
            yield first, reader.line_num, fields


def _csv_positions(text: str) -> list[tuple[int, int]]:
    """Where each field of a one-line CSV record lies (an empty line has no fields)."""
    if not text:
        return []
    spans, start, quoted = [], 0, False
    for i, ch in enumerate(text):
        if ch == '"':
            quoted = not quoted
        elif ch == "," and not quoted:
            spans.append((start, i))
            start = i + 1
    spans.append((start, len(text)))
    return spans


def _check_header(src: _Source, rec: _Record, names: list[str]) -> None:
    got = [f.strip() for f in rec.fields]
    if got == names:
        return
    want = ",".join(names) if names else "an empty line (the relation has no columns)"
    hint = ("a .csv input starts with a header row naming the columns in declaration order; "
            "a .facts file (tab-separated) has no header")
    wrong = [i for i, (g, n) in enumerate(zip(got, names)) if g != n]
    if wrong:
        i = wrong[0]
        src.error(rec.line, f"bad header: column {i + 1} is named {_show(rec.fields[i])}, "
                            f"expected {names[i]} (the header must be {want})", _at(rec, i), hint)
    if len(got) > len(names):
        src.error(rec.line, f"bad header: column {len(names) + 1} is one too many "
                            f"(the header must be {want})", _at(rec, len(names)), hint)
    src.error(rec.line, f"bad header: {_column(names, len(got))} is missing "
                        f"(the header must be {want})", (len(rec.text), len(rec.text) + 1), hint)


def _at(rec: _Record, i: int) -> tuple[int, int] | None:
    return rec.positions[i] if rec.positions else None


def _facts_records(src: _Source) -> Iterator[_Raw]:
    lines = src.text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the piece after the last line's newline
    for n, raw in enumerate(lines, start=1):
        text = raw.removesuffix("\r")
        yield n, n, (text.split("\t") if text else [])


def _tab_positions(fields: list[str]) -> list[tuple[int, int]]:
    spans, start = [], 0
    for f in fields:
        spans.append((start, start + len(f)))
        start += len(f) + 1
    return spans


def _column(names: list[str], i: int) -> str:
    return f"column {i + 1} ({names[i]})"


def _count_error(src: _Source, rec: _Record, names: list[str]) -> NoReturn:
    found, want = len(rec.fields), len(names)
    listed = f" ({', '.join(names)})" if names else ""
    message = f"expected {want} column(s){listed}, found {found}"
    end = len(rec.text)
    if found > want:
        start = rec.positions[want][0] if rec.positions else 0
        message, cols = f"column {want + 1}: {message}", (start, end)
    else:
        message, cols = f"{_column(names, found)} is missing: {message}", (end, end + 1)
    hint = None
    if src.path.lower().endswith(".facts") and found == 1 and "," in rec.text:
        hint = "a .facts file is tab-separated; name a comma-separated file .csv (with a header)"
    elif src.path.lower().endswith(".csv") and found == 1 and "\t" in rec.text:
        hint = "a .csv file is comma-separated; name a tab-separated file .facts (no header)"
    src.error(rec.line, message, cols if rec.positions is not None else None, hint)


def _value_error(src: _Source, rec: _Record, names: list[str],
                 convs: list[Callable[[str], Any]]) -> NoReturn:
    for i, (conv, field) in enumerate(zip(convs, rec.fields)):
        try:
            conv(field)
        except _BadValue as e:
            src.error(rec.line, f"{_column(names, i)}: {e}", _at(rec, i))
    raise AssertionError("a value failed to parse once but not twice")


def _show(text: str) -> str:
    """A field as the message quotes it: JSON-style, so control characters are visible."""
    if len(text) > 40:
        text = text[:40] + "…"
    return json.dumps(text, ensure_ascii=False)


def _parse_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        v = None
    # int() alone would also take "1_000", non-ASCII digits, and refuses very long strings.
    if v is None or "_" in text or not text.isascii():
        if _INT_RE.match(text) is None:
            raise _BadValue(f"expected int, got {_show(text)}") from None
        raise _BadValue(f"int out of the 64-bit range, got {_show(text)}")
    if not INT_MIN <= v <= INT_MAX:
        raise _BadValue(f"int out of the 64-bit range, got {_show(text)}")
    return v


def _parse_float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise _BadValue(f"expected float, got {_show(text)}") from None


def _parse_bool(text: str) -> bool:
    word = text.strip(" \t").lower()
    if word not in ("true", "false"):
        raise _BadValue(f"expected bool (true or false), got {_show(text)}")
    return word == "true"


# an address as it is printed, Name/key (LANGUAGE.md §8): every reader checks addr values with it
ADDRESS = re.compile(r"(?:@client|[A-Za-z_][A-Za-z0-9_]*)/.*", re.S)


def _parse_addr(text: str) -> str:
    """An address as it is printed, `Name/key` (LANGUAGE.md §8): held as that very string."""
    if not ADDRESS.fullmatch(text):
        raise _BadValue(f"expected an address Name/key (e.g. Counter/alice), got {_show(text)}")
    return text


def _parse_tick(text: str) -> int:
    try:
        tick = _parse_int(text)
    except _BadValue:
        tick = -1
    if tick < 0:
        raise _BadValue(f"expected a tick (an int >= 0), got {_show(text)}")
    return tick


_CONVERTERS: dict[Type, Callable[[str], Any]] = {
    Type.INT: _parse_int,
    Type.FLOAT: _parse_float,
    Type.STR: str,
    Type.BOOL: _parse_bool,
    Type.ADDR: _parse_addr,
}

# One field's parser by column type, for readers of other layouts (runtime/agents/messages.py);
# a parser raises BadValue with the message to show.
CONVERTERS = _CONVERTERS
BadValue = _BadValue
