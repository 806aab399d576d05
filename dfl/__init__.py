"""DFL: a disorderly dataflow language and its compiler.

The public API: `dfl.compile(source)` and `dfl.load(path)` give a `Program`;
`Program.run(edge=[(1, 2)], ...)` gives a `Result` whose items are rows.
"""
from __future__ import annotations

from dfl.errors import DflError, Span

__all__ = ["DflError", "Span", "compile", "connect", "load", "run"]
__version__ = "0.1.0"


def __getattr__(name: str):
    # The API pulls in the compiler; import it lazily so `import dfl` stays cheap.
    if name in ("compile", "load", "run", "Program", "Result"):
        from dfl import api

        return getattr(api, name)
    if name == "connect":  # the client of `dfl serve` (dfl[serve])
        from dfl.client import connect

        return connect
    raise AttributeError(name)
