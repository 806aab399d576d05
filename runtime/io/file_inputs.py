"""Input files read by the workers, each its own part ("ship code to data"): on the worker
pool the driver does not read an input file, it cuts it into byte ranges at line ends,
and each partition parses its range. Results and error messages (file, line, column) are
those of reading the whole file in one process.

A file is cut only where that is safe and worth it: a `.facts` file, or a `.csv` file
with no double quote (a quoted field may hold a line end), of a relation with columns (in
a zero-column relation blank lines are rows), at least `min_bytes` long; a `.parquet`
file with more than one row group is cut between row groups. Otherwise the driver reads
it as before. Each part is read by the same native readers as a whole file
(runtime/io/native.py), csvio judging where Arrow would not read it as csvio does.
"""
from __future__ import annotations

import mmap
import os
from dataclasses import dataclass

from dfl.ir.types import Schema
from dfl.runtime.io import csvio, native

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

    def rows(self):
        """This part's rows: a Frame (columns) from the native reader, else csvio's rows."""
        if self.fmt == "parquet":
            return _row_groups(self)
        with open(self.path, "rb") as f:
            f.seek(self.start)
            data = f.read(self.end - self.start)
        head = (self.header + "\n").encode("utf-8") if self.header and self.start > 0 else b""
        frame = native.text_frame(head + data, self.fmt, self.schema, header=self.fmt == "csv")
        if frame is not None:
            return frame
        text = csvio._decode(self.path, data) if self.start == 0 else _decode_part(self, data)
        if self.start > 0:
            lead = self.first_line - (2 if self.header else 1)  # blank lines keep line numbers
            text = (self.header + "\n" if self.header else "") + "\n" * lead + text
        return csvio.parse_relation(self.path, text, self.fmt, self.schema, self.relation)


def _row_groups(c: FileChunk):
    """Row groups [start, end) of a Parquet file, checked as reading the whole file is."""
    import pyarrow.parquet as pq

    from dfl.runtime.io import typed

    f = pq.ParquetFile(c.path)
    names = [n for n in c.schema.names if n in f.schema_arrow.names]
    table = f.read_row_groups(list(range(c.start, c.end)), columns=names, use_threads=True,
                              use_pandas_metadata=False)
    return typed.frame_of_table(table, c.schema, c.relation, where=c.path)


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
    if fmt == "parquet":
        return _parquet_input(path, relation, schema, tried)
    if fmt not in native.TEXT_FORMATS:
        return None  # Arrow IPC and JSON lines: read whole by the driver
    try:
        size = os.path.getsize(path)
    except FileNotFoundError:
        raise csvio.file_not_found(path, relation, tried) from None
    except OSError:
        return None
    if size < MIN_BYTES or not schema.arity:
        return None
    if fmt == "csv":
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            if m.find(b'"') >= 0:
                return None
    return FileInput(path, relation, schema, fmt)


def _parquet_input(path: str, relation: str, schema: Schema, tried: list[str] | None) -> FileInput | None:
    """A Parquet file of several row groups, checked now (columns and types) so that a
    wrong file is reported once, by the driver, as reading it whole would."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from dfl.runtime.io import typed

    if not os.path.exists(path):
        raise csvio.file_not_found(path, relation, tried)
    try:
        f = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError):
        return None  # reading it whole reports it
    if f.metadata.num_row_groups < 2 or not schema.arity:
        return None
    typed.frame_of_table(f.schema_arrow.empty_table(), schema, relation, where=path)
    return FileInput(path, relation, schema, "parquet")


def chunks(fi: FileInput, parts: int) -> list[FileChunk]:
    """The file cut into `parts` ranges at line ends (some may be empty); a Parquet file
    into `parts` runs of row groups."""
    if fi.fmt == "parquet":
        import pyarrow.parquet as pq

        groups = pq.ParquetFile(fi.path).metadata.num_row_groups
        cuts = [groups * p // parts for p in range(parts + 1)]
        return [FileChunk(fi.path, fi.relation, fi.schema, fi.fmt, cuts[p], cuts[p + 1], 1, "")
                for p in range(parts)]
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
    """For the placement's estimates: about 8 bytes a field (a Parquet file says)."""
    if fi.fmt == "parquet":
        import pyarrow.parquet as pq

        return max(1, pq.ParquetFile(fi.path).metadata.num_rows)
    try:
        return max(1, os.path.getsize(fi.path) // (8 * max(1, fi.schema.arity)))
    except OSError:
        return 1
