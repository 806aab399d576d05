"""Loading the cpu backend (numba, llvmlite, the kernels' module: ~0.5 s) in a background
thread while the main thread reads the input files, for a run known to be large before
it reads them (file sizes on disk: runtime/input_sizes.py).

The thread only imports; it never raises. An import that fails there (numba missing or
broken) is forgotten: the plan's own import, on the main thread, fails again and reports
it as it always has (the fallback to the interpreter included). Python's per-module import
locks make the main thread wait for a module the thread is halfway through importing,
never import it twice.

Only the imports happen here; numba's target set-up and the program's kernels are loaded
on the main thread while the inputs are read on another (dfl/api.py `_read_while_warming`).

Example: `w = start_warmup(); rows = read(...); plan = prog.plan("cpu")` (the plan's
imports find numba loaded, or wait for the rest of it); `w.wait()` in tests.
"""
from __future__ import annotations

import threading


class Warmup:
    """A handle on the background import: `done()`, `wait(timeout)`, and `error` (the
    exception the import raised, kept for tests and --debug; never re-raised here)."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._load, name=f"dfl-warmup-{target}", daemon=True)
        self._thread.start()

    def _load(self) -> None:
        try:
            from dfl.backends import registry

            registry.preload(self.target)
        except BaseException as e:  # noqa: BLE001 - the main thread's import reports it
            self.error = e

    def done(self) -> bool:
        return not self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return self.done()


_STARTED: dict[str, Warmup] = {}


def start_warmup(target: str = "cpu") -> Warmup:
    """Start importing `target`'s backend (and its kernels) in a daemon thread; returns at
    once. Once per process and target: a second call returns the first one's handle."""
    if target not in _STARTED:
        _STARTED[target] = Warmup(target)
    return _STARTED[target]

