"""Putting a run's output files into `-O DIR` as one set: readers see all the old outputs or
all the new ones, never a mix, even if DFL is killed half-way (docs/runtime.md, "Outputs").

The new set is written into a fresh sibling folder `.dfl-tmp-<pid>-<name>-<random>` next to
DIR, and that folder and DIR trade places in one atomic `renameat2(RENAME_EXCHANGE)` (a plain
rename when DIR does not exist yet). Files in DIR that DFL did not write (the user's) are
carried across: hard-linked into the new folder before the exchange, and anything else (a
folder, a file that appeared meanwhile) moved after it. The old folder, now under the
temporary name, is then emptied and removed.

Which files of DIR are DFL's is recorded in DIR's manifest, an extended attribute
(`user.dfl.outputs`, a JSON list of paths relative to DIR) that lives on the folder itself,
so DIR holds nothing but outputs. Outputs of relations the program no longer writes are in the old
manifest and not in the new set: they go with the old folder.

A run killed mid-way leaves a `.dfl-tmp-<pid>-…` folder; the next write into the same parent
reclaims those of dead processes (`reclaim`), moving back any file of the user's that was in
transit and deleting only what a manifest says DFL wrote.

`supported(parent)` says whether the machine and file system allow all this (Linux's
renameat2 and user extended attributes); where they do not, the caller falls back to
renaming files one by one.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import errno
import json
import os
import re
import secrets

TMP_PREFIX = ".dfl-tmp-"
_TMP_RE = re.compile(r"\.dfl-tmp-(\d+)[-.]")  # `-` a set's folder, `.` a probe
MANIFEST_ATTR = "user.dfl.outputs"
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _libc_renameat2():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


_renameat2 = _libc_renameat2()


class NoExchange(OSError):
    """These two folders cannot be exchanged (a mount point, a file system without it):
    nothing was changed, the caller falls back to renaming files one by one."""


def exchange(a: str, b: str) -> None:
    """Swap the paths `a` and `b` atomically (both must exist)."""
    if _renameat2 is None:
        raise NoExchange(errno.ENOSYS, "renameat2 is not available", a)
    if _renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) != 0:
        e = ctypes.get_errno()
        raise NoExchange(e, os.strerror(e), a, None, b)


def supported(parent: str) -> bool:
    """Can folders be exchanged and tagged with a manifest in `parent`? Tried on two scratch
    folders, since both depend on the file system as much as on the kernel."""
    if _renameat2 is None:
        return False
    a = os.path.join(parent, f"{TMP_PREFIX}{os.getpid()}.probe-{secrets.token_hex(4)}")
    b = a + "b"
    try:
        os.mkdir(a)
        os.mkdir(b)
        write_manifest(a, [])
        exchange(a, b)
        return True
    except OSError:
        return False
    finally:
        for d in (a, b):
            try:
                os.rmdir(d)
            except OSError:
                pass


def read_manifest(folder: str) -> set[str]:
    """The files DFL wrote in `folder`, as paths relative to it with `/` (e.g. `r.csv`,
    `0/r.csv`); none when it has no manifest."""
    try:
        data = json.loads(os.getxattr(folder, MANIFEST_ATTR, follow_symlinks=False))
        ticks = data.get("ticks", {})
        return set(data["files"]) | {f"{t}/{rest}" for rest, n in ticks.items() for t in range(int(n))}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return set()


def write_manifest(folder: str, paths: list[str]) -> None:
    """Record `paths` on `folder`. An extended attribute holds a few KB (ext4: one block for
    all of them), so `--each-tick`'s `<t>/<rest>` for every t below N is written once, as
    `{"ticks": {rest: N}}`; an OSError says the manifest does not fit."""
    by_rest: dict[str, set[int]] = {}
    files = []
    for p in paths:
        tick, sep, rest = p.partition("/")
        if sep and tick.isascii() and tick.isdigit() and str(int(tick)) == tick:
            by_rest.setdefault(rest, set()).add(int(tick))
        else:
            files.append(p)
    ticks = {}
    for rest, seen in by_rest.items():
        if seen == set(range(len(seen))):
            ticks[rest] = len(seen)
        else:
            files += [f"{t}/{rest}" for t in seen]
    data = json.dumps({"files": sorted(files), "ticks": ticks}, separators=(",", ":"))
    os.setxattr(folder, MANIFEST_ATTR, data.encode(), follow_symlinks=False)


def top_names(paths: set[str]) -> set[str]:
    return {p.split("/", 1)[0] for p in paths}


def new_folder(out_dir: str) -> str:
    """A fresh temporary folder next to `out_dir`, named so that `reclaim` knows whose it is."""
    parent, name = os.path.split(os.path.abspath(out_dir))
    path = os.path.join(parent, f"{TMP_PREFIX}{os.getpid()}-{name[:64]}-{secrets.token_hex(4)}")
    os.mkdir(path)
    if os.path.isdir(out_dir):
        # The set replaces DIR: keep the permissions the user gave it.
        os.chmod(path, os.stat(out_dir).st_mode & 0o7777)
    return path


def link_foreign(out_dir: str, new: str, ours: set[str]) -> None:
    """Hard-link into `new` the user's files at the top of `out_dir` (in neither DFL's old
    manifest nor the new set `ours`), so they are there the moment the folders are exchanged."""
    if not os.path.isdir(out_dir):
        return
    taken = top_names(ours | read_manifest(out_dir))
    for entry in os.scandir(out_dir):
        if entry.name in taken or not entry.is_file(follow_symlinks=False):
            continue
        try:
            os.link(entry.path, os.path.join(new, entry.name))
        except OSError:
            pass  # moved after the exchange instead (settle)


def swap_in(new: str, out_dir: str) -> None:
    """Make `new` be `out_dir` in one atomic step, then empty and remove the old folder."""
    if not os.path.lexists(out_dir):
        os.rename(new, out_dir)  # nothing to exchange with: a plain rename is atomic
        return
    if not os.path.isdir(out_dir):
        raise NotADirectoryError(errno.ENOTDIR, "not a folder", out_dir)
    exchange(new, out_dir)
    settle(new, out_dir)


def settle(old: str, out_dir: str) -> bool:
    """Empty `old` (a folder that was `out_dir`, or was to become it) and remove it: DFL's
    files (in either manifest) are deleted, the user's moved into `out_dir` unless already
    there (hard-linked), folder by folder. Never deletes a user's file; says whether `old`
    is gone (it stays when a user's entry collides with an output)."""
    _settle(old, out_dir, _Ours(read_manifest(old) | read_manifest(out_dir)), "")
    return _rmdir(old)


class _Ours:
    """DFL's files, and the folders that hold them (a set each: ticks × relations can be many)."""

    def __init__(self, files: set[str]) -> None:
        self.files = files
        self.folders = {f.rsplit("/", i)[0] for f in files for i in range(1, f.count("/") + 1)}


def _settle(old: str, new: str | None, ours: _Ours, prefix: str) -> None:
    """Delete DFL's files under `old`, move the user's into `new` (None: leave them)."""
    for entry in list(os.scandir(old)):
        rel = prefix + entry.name
        there = os.path.join(new, entry.name) if new is not None else None
        if entry.is_dir(follow_symlinks=False):
            if rel not in ours.folders:
                if there is not None and not os.path.lexists(there):
                    os.rename(entry.path, there)  # the user's folder
                continue
            # A folder DFL wrote into (a tick's): its files go, the user's join `there`.
            into = there if there is not None and os.path.isdir(there) and not os.path.islink(there) else None
            _settle(entry.path, into, ours, rel + "/")
            if not _rmdir(entry.path) and there is not None and not os.path.lexists(there):
                os.rename(entry.path, there)
        elif rel in ours.files or (there is not None and _same_file(entry.path, there)):
            os.unlink(entry.path)  # DFL's, or a user's file already linked into `new`
        elif there is not None and not os.path.lexists(there):
            os.rename(entry.path, there)


def _rmdir(folder: str) -> bool:
    try:
        os.rmdir(folder)
        return True
    except OSError:
        return False


def reclaim(parent: str) -> None:
    """Settle the temporary folders in `parent` left by DFL processes that were killed, and
    delete their temporary files."""
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return
    for entry in entries:
        m = _TMP_RE.match(entry.name)
        if m is None or _alive(int(m.group(1))):
            continue
        if not entry.is_dir(follow_symlinks=False):
            try:  # a file being renamed into place one by one (the fallback) when it was killed
                os.unlink(entry.path)
            except OSError:
                pass
            continue
        out_dir = _target_of(parent, entry.name)
        try:
            if out_dir is not None and os.path.isdir(out_dir):
                settle(entry.path, out_dir)
            else:  # no DIR to give the user's entries back to: delete only what is DFL's
                discard(entry.path)
        except OSError:
            pass  # reclaiming is best effort; the run itself goes on


def discard(folder: str) -> None:
    """Delete what `folder`'s manifest says DFL wrote in it, and the folder if that empties it."""
    _settle(folder, None, _Ours(read_manifest(folder)), "")
    _rmdir(folder)


def _target_of(parent: str, tmp_name: str) -> str | None:
    """The DIR a temporary folder was made for: `.dfl-tmp-<pid>-<name>-<8 hex>`."""
    m = re.fullmatch(r"\.dfl-tmp-\d+-(.+)-[0-9a-f]{8}", tmp_name)
    return os.path.join(parent, m.group(1)) if m else None


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def _same_file(a: str, b: str) -> bool:
    try:
        sa, sb = os.lstat(a), os.lstat(b)
    except OSError:
        return False
    return (sa.st_ino, sa.st_dev) == (sb.st_ino, sb.st_dev)
