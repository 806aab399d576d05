"""The bytes on disk of a run's input files, known before any is read: what the default
engine is chosen by (compiler/engine_choice.py) and what starts the cpu backend loading
early (runtime/warmup.py).

Example: `input_bytes(["edge"], "in", {})` -> `{"edge": 31}` for a 31-byte in/edge.csv;
a relation without a file (its facts are in the program) or one that cannot be read counts
0 here, and reading it later reports the problem.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping


# A Parquet file is compressed: it holds about this many times the rows of a CSV file of
# its size (2M rows of three ints: 7.6 MB of Parquet, 30 MB of CSV), so its bytes count so
# many times toward the engine's limits.
PARQUET_FACTOR = 4


def input_bytes(relations: Iterable[str], input_dir: str | None, files: Mapping[str, str]) -> dict[str, int]:
    from dfl.runtime.io.csvio import find_input

    out: dict[str, int] = {}
    for rel in relations:
        path = find_input(rel, input_dir, dict(files))
        out[rel] = _bytes(path) if path is not None else 0
    return out


def _bytes(path: str) -> int:
    try:
        size = os.path.getsize(path)
    except OSError:  # missing or unreadable: the reader says so, with the file's name
        return 0
    return size * PARQUET_FACTOR if path.lower().endswith(".parquet") else size


def folder_bytes(input_dir: str | None, files: Mapping[str, str]) -> int:
    """The input files' bytes before the program is known: every input-like file in DIR
    (by extension) and every --in file; a cheap early hint, not the engine's choice."""
    from dfl.runtime.io.csvio import INPUT_EXTENSIONS

    total = sum(_bytes(p) for p in files.values())
    if input_dir is not None:
        try:
            entries = list(os.scandir(input_dir))
        except OSError:
            return total
        total += sum(_bytes(e.path) for e in entries if e.name.lower().endswith(INPUT_EXTENSIONS))
    return total
