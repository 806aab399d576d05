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


def input_bytes(relations: Iterable[str], input_dir: str | None, files: Mapping[str, str]) -> dict[str, int]:
    from dfl.runtime.io.csvio import find_input

    out: dict[str, int] = {}
    for rel in relations:
        path = find_input(rel, input_dir, dict(files))
        try:
            out[rel] = os.path.getsize(path) if path is not None else 0
        except OSError:  # missing or unreadable: the reader says so, with the file's name
            out[rel] = 0
    return out
