"""Input files read by the workers, each its own part ("ship code to data"): on the worker
pool the driver does not read an input file, it cuts it into byte ranges at line ends,
and each partition parses its range. Results and error messages (file, line, column) are
those of reading the whole file in one process.

A file is cut only where that is safe and worth it: a `.facts` file, or a `.csv` file
with no double quote (a quoted field may hold a line end), of a relation with columns (in
a zero-column relation blank lines are rows), at least `min_bytes` long. Otherwise the
driver reads it as before.
"""
from __future__ import annotations

import mmap
import os
from dataclasses import dataclass

from dfl.errors import DflError
from dfl.ir.types import Schema
from dfl.runtime.io import csvio

MIN_BYTES = 1 << 20  # smaller files: the driver reads them, cutting would not pay


@dataclass(frozen=True)
class FileInput:
    """An input relation still in its file (a tick's input, in place of its rows)."""
    path: str
    relation: str
    schema: Schema
    fmt: str


@dataclass(frozen=True)
class FileChunk:
    """Bytes [start, end) of a file, starting at line `first_line`, for one partition."""
    path: str
    relation: str
    schema: Schema
    fmt: str
    start: int
    end: int
    first_line: int
    header: str  # a .csv file's header line ("" for .facts)

    def rows(self) -> list[tuple]:
        with open(self.path, "rb") as f:
            f.seek(self.start)
            data = f.read(self.end - self.start)
        text = csvio._decode(self.path, data) if self.start == 0 else _decode_part(self, data)
        if self.start > 0:
            lead = self.first_line - (2 if self.header else 1)  # blank lines keep line numbers
            text = (self.header + "\n" if self.header else "") + "\n" * lead + text
        return csvio.parse_relation(self.path, text, self.fmt, self.schema, self.relation)


def _decode_part(c: FileChunk, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:  # report it as reading the whole file would
        with open(c.path, "rb") as f:
            csvio._decode(c.path, f.read())
        raise


def file_input(path: str, relation: str, schema: Schema, tried: list[str] | None = None) -> FileInput | None:
    """A FileInput when the file can be cut (else None: read it whole); a missing or
    unreadable file is reported here, as reading it would."""
    fmt = csvio.format_of(path, relation)
    try:
        size = os.path.getsize(path)
    except FileNotFoundError:
        also = f" (tried {', '.join(tried)})" if tried and tried != [path] else ""
        raise DflError(f"{path}: file not found, wanted as input for relation {relation}{also}",
                       kind="input") from None
    except OSError:
        return None
    if size < MIN_BYTES or not schema.arity:
        return None
    if fmt == "csv":
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            if m.find(b'"') >= 0:
                return None
    return FileInput(path, relation, schema, fmt)


def chunks(fi: FileInput, parts: int) -> list[FileChunk]:
    """The file cut into `parts` ranges at line ends (some may be empty)."""
    with open(fi.path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        size = len(m)
        header = ""
        body = 0
        if fi.fmt == "csv":
            nl = m.find(b"\n")
            body = size if nl < 0 else nl + 1
            header = bytes(m[:body]).decode("utf-8", "replace").removeprefix("\ufeff").rstrip("\r\n")
        cuts = [0]
        for p in range(1, parts):
            at = max(body, size * p // parts, cuts[-1])
            nl = m.find(b"\n", at) if at < size else -1
            cuts.append(size if nl < 0 else nl + 1)
        cuts.append(size)
        out = []
        line = 1
        for p in range(parts):
            start, end = cuts[p], cuts[p + 1]
            out.append(FileChunk(fi.path, fi.relation, fi.schema, fi.fmt, start, end, line, header))
            line += m[start:end].count(b"\n")
        return out


def estimated_rows(fi: FileInput) -> int:
    """For the placement's estimates: about 8 bytes a field."""
    try:
        return max(1, os.path.getsize(fi.path) // (8 * max(1, fi.schema.arity)))
    except OSError:
        return 1
