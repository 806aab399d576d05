"""The on-disk cache of fused kernels (fuse.py), and loading them without trusting it.

numba caches the machine code of functions defined in real files only, so each kernel's
source is written as `k_<hash of its code>.py` in `~/.cache/dfl/kernels/` (or
`$DFL_CACHE_DIR/kernels/`), and numba keeps its index (.nbi) and code (.nbc) in the
`__pycache__` folder beside it. Both are run or unpickled when a kernel loads: whoever
can write that folder runs code as the user. So:

- the folder is created 0700 and used only when it, and every folder above it, can be
  changed by no one but the user (or root; a sticky folder such as /tmp is fine above
  it). Otherwise DFL says why, once, on stderr, and compiles kernels in memory without
  any cache: never a fallback to a shared temporary folder;
- a kernel file is never imported: DFL runs the source it generated itself, compiled
  under the file's name (which numba needs to find its cache); a file whose content
  differs from that source (tampered or truncated) is replaced, atomically;
- a kernel whose first call fails (numba's index or code damaged, or written by an older
  DFL) has its numba cache entries removed and is compiled again, once.

Example: `call(code, (x, y), n)` runs the `kernel` defined by `code` on columns x and y.
"""
from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import stat
import sys
import tempfile
import types
from typing import Any, Callable

HEADER = "# DFL fused pipeline kernel (generated; the name is a hash of this code)\n"

_LOADED: dict[str, Callable[..., Any]] = {}  # digest -> compiled kernel, for this process
_PROVEN: set[str] = set()  # digests whose kernel has run once in this process
_WARNED: list[str] = []  # the folder refused in this process, once warned about


def base_dir() -> str:
    return os.environ.get("DFL_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "dfl")


def why_unsafe(path: str) -> str | None:
    """Why the folder `path` (a real path, no symlinks) must not hold code we run, or None."""
    me = os.geteuid()
    st = os.stat(path)
    if not stat.S_ISDIR(st.st_mode):
        return f"{path} is not a folder"
    if st.st_uid != me:
        return f"{path} is owned by uid {st.st_uid}, not by you (uid {me})"
    if st.st_mode & 0o022:
        return f"{path} is writable by other users (mode {stat.S_IMODE(st.st_mode):o})"
    parent = os.path.dirname(path)
    while parent != path:  # whoever can write a folder above can swap this one
        path, st = parent, os.stat(parent)
        if st.st_uid not in (0, me):
            return f"{path}, above the cache, is owned by uid {st.st_uid}"
        if st.st_mode & 0o022 and not st.st_mode & stat.S_ISVTX:
            return f"{path}, above the cache, is writable by other users (mode {stat.S_IMODE(st.st_mode):o})"
        parent = os.path.dirname(path)
    return None


def cache_dir() -> str | None:
    """The private folder of kernel files, created 0700; None (warned once) when unusable."""
    path = os.path.join(base_dir(), "kernels")
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        real = os.path.realpath(path)
        why = why_unsafe(real)
    except OSError as e:
        why = f"{path} cannot be created ({e.strerror})"
    if why is None:
        return real
    if not _WARNED:
        _WARNED.append(path)
        sys.stderr.write(f"dfl: warning: not caching compiled kernels: {why}; "
                         f"each run compiles them again (set DFL_CACHE_DIR to a private folder)\n")
    return None


def digest(code: str) -> str:
    """A kernel's name: a hash of its code (a file of another content is not this kernel)."""
    return hashlib.sha256(code.encode()).hexdigest()[:20]


def load(code: str) -> Callable[..., Any]:
    """The `kernel` function that `code` (a module's source, from fuse.generate) defines."""
    fn = _LOADED.get(key := digest(code))
    if fn is None:
        fn = _LOADED[key] = _compile(code, key, cache_dir())
    return fn


def call(code: str, *args: Any) -> Any:
    """Runs code's kernel on args; a first call that fails is retried once from scratch."""
    key = digest(code)
    fn = load(code)
    if key in _PROVEN:
        return fn(*args)
    try:
        out = fn(*args)
    except Exception:
        folder = cache_dir()
        if folder is None:
            raise
        # numba's entries were damaged (a truncated or garbage index) or written by an
        # older DFL: drop them and compile again; a second failure is a real one
        _forget(fn, folder, key)
        fn = _LOADED[key] = _compile(code, key, folder)
        out = fn(*args)
    _PROVEN.add(key)
    return out


def _compile(code: str, key: str, folder: str | None) -> Callable[..., Any]:
    if folder is None:  # nothing on disk: numba compiles in memory only
        ns: dict[str, Any] = {}
        exec(compile(code.replace("@njit(cache=True)", "@njit"), f"<fused kernel {key}>", "exec"), ns)
        return ns["kernel"]
    path = os.path.join(folder, f"k_{key}.py")
    text = HEADER + code
    if _read(path) != text:
        _purge(os.path.join(folder, "__pycache__"), key)
        try:
            _write(folder, path, text)
        except OSError:  # e.g. the disk is full: this kernel goes uncached
            return _compile(code, key, None)
    # the file exists for numba (its cache is keyed by the file's path and stamp), but
    # what runs is the text just generated, never what the file holds
    module = types.ModuleType(f"dfl_kernel_{key}")
    module.__file__ = path
    # numba's cache records a kernel's module by name and imports it when it loads the
    # kernel in a later process: the module must be findable, else the kernel is filed
    # under numba's '<dynamic>' module, which no later process can import
    sys.modules[module.__name__] = module
    exec(compile(text, path, "exec"), module.__dict__)
    return module.kernel


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", newline="") as f:
            return f.read()
    except (OSError, UnicodeDecodeError):
        return None


def _write(folder: str, path: str, text: str) -> None:
    """Atomically: a process loading the kernel meanwhile sees the old file or the new."""
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _forget(fn: Callable[..., Any], folder: str, key: str) -> None:
    cache = getattr(fn, "_cache", None)
    where = getattr(cache, "cache_path", None) or os.path.join(folder, "__pycache__")
    _purge(where, key)


def _purge(where: str, key: str) -> None:
    """Removes numba's index and code files of one kernel."""
    for entry in glob.glob(os.path.join(glob.escape(where), f"k_{key}.*")):
        with contextlib.suppress(OSError):
            os.remove(entry)
