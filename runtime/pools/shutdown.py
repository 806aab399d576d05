"""What a run leaves behind (worker processes, shared-memory files, multiprocessing's
temporary folder), removed on every way out, and reclaimed from runs that were killed.

The `dfl` command ends with os._exit (a fast exit: see dfl/cli.py), which skips `atexit`;
so it calls `run_exit_hooks` first. A library user's interpreter runs them at exit. SIGTERM
becomes `Terminated`, an exception, so that every `finally` on the way out runs (pools
closed, partial outputs removed) before the command exits with 143.

Everything a run leaves outside its own process is named with the driver's pid, so the
next run can tell what a dead driver left (`pid_alive`) from what a live one uses.
"""
from __future__ import annotations

import atexit
import glob
import os
import shutil
import signal
import tempfile
from typing import Callable

EXIT_TERMINATED = 128 + signal.SIGTERM  # what a shell reports for a process SIGTERM ended

_HOOKS: dict[Callable[[], None], int] = {}  # hook -> order (lower first)


def at_exit(hook: Callable[[], None], order: int = 0) -> None:
    """Runs hook once at exit: pools first (order 0), then the files they wrote (1)."""
    _HOOKS.setdefault(hook, order)


def run_exit_hooks() -> None:
    """Runs the hooks (each once); a failing hook does not stop the others."""
    while _HOOKS:
        hook = min(_HOOKS, key=_HOOKS.__getitem__)
        del _HOOKS[hook]
        try:
            hook()
        except Exception:  # noqa: BLE001 - cleaning up must not turn an exit into a crash
            pass


atexit.register(run_exit_hooks)


class Terminated(BaseException):
    """SIGTERM, raised in the main thread. A BaseException, as KeyboardInterrupt: no
    `except Exception` on the way out takes it for an error of the run."""


def raise_on_sigterm() -> None:
    def handler(signum, frame) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second one must not cut the cleanup short
        raise Terminated()
    signal.signal(signal.SIGTERM, handler)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


_TEMP_PREFIX = "pymp-dfl"


def own_temp_dir() -> None:
    """Gives multiprocessing (whose fork server puts its socket there) a temporary folder
    named with this process's pid, before it makes its own `pymp-*` one, so a later run
    can remove it if this process is killed. It is removed at exit as multiprocessing's."""
    from multiprocessing import current_process, util

    config = current_process()._config  # where multiprocessing keeps it (util.get_temp_dir)
    if config.get("tempdir") is not None:
        return
    path = tempfile.mkdtemp(prefix=f"{_TEMP_PREFIX}{os.getpid()}-")
    util.Finalize(None, shutil.rmtree, args=(path, True), exitpriority=-100)
    config["tempdir"] = path


def reclaim_temp_dirs() -> None:
    """Removes the temporary folders of dfl drivers that are gone (killed: no exit hook ran)."""
    for path in glob.glob(os.path.join(tempfile.gettempdir(), f"{_TEMP_PREFIX}*-*")):
        try:
            pid = int(os.path.basename(path)[len(_TEMP_PREFIX):].split("-")[0])
        except ValueError:
            continue
        if pid != os.getpid() and not pid_alive(pid):
            shutil.rmtree(path, ignore_errors=True)
