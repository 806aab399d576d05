"""The fused-kernel cache (backends/cpu/kernel_cache.py) runs no code it did not write.

Kernel files are Python and numba's index and code files beside them are pickles, so
whoever can write the folder runs code as the user. Each case runs a fused program in a
fresh process (a process keeps the kernels it loaded) and checks its rows, that it was
fused, and that a planted kernel never ran (it would create a marker file).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dfl.backends.cpu import kernel_cache

PROGRAM = ("import dfl\n"
           "p = dfl.compile('input n(i: int, x: int)\\noutput o(i: int, y: int)\\n"
           "o(i, y) :- n(i, x), x > 2, y = x * 3 + i.\\n')\n"
           "r = p.run(n=[(i, i % 5) for i in range(50)])\n"
           "print(sum(y for _, y in r['o']), r.stats.get('fused', 0))\n")
EXPECTED = f"{sum(i % 5 * 3 + i for i in range(50) if i % 5 > 2)} 1"


def _run(cache: Path | str, tmp_path: Path) -> subprocess.CompletedProcess:
    shared = tmp_path / "shared-tmp"
    shared.mkdir(exist_ok=True)
    env = {**os.environ, "DFL_FUSE_MIN_ROWS": "0", "DFL_CACHE_DIR": str(cache), "TMPDIR": str(shared)}
    r = subprocess.run([sys.executable, "-c", PROGRAM], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.split() == EXPECTED.split()  # the right rows, from a fused kernel
    assert not list(shared.iterdir()), "nothing goes to the shared temporary folder"
    return r


def _kernel_names(tmp_path: Path) -> list[str]:
    """The kernel files PROGRAM uses, from a run on a cache of its own."""
    good = tmp_path / "good"
    _run(good, tmp_path)
    names = [p.name for p in (good / "kernels").glob("k_*.py")]
    assert names
    return names


def _plant(folder: Path, names: list[str], marker: Path) -> None:
    for name in names:
        (folder / name).write_text(f"open({str(marker)!r}, 'w').close()\nfrom numba import njit\n"
                                   "@njit\ndef kernel(*a):\n    return None\n")


def test_the_cache_folder_is_created_private(tmp_path) -> None:
    _run(tmp_path / "new", tmp_path)
    assert (tmp_path / "new" / "kernels").stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize("how", ["mode 0777", "another owner"])
def test_a_folder_others_can_write_is_refused(tmp_path, how: str) -> None:
    names = _kernel_names(tmp_path)
    folder = tmp_path / "hostile" / "kernels"
    folder.mkdir(parents=True)
    marker = tmp_path / "planted-code-ran"
    _plant(folder, names, marker)
    if how == "mode 0777":
        os.chmod(folder, 0o777)
        reason = "writable by other users (mode 777)"
    else:
        if os.geteuid() != 0:
            pytest.skip("giving a folder to another user needs root")
        os.chown(folder, 65534, 65534)
        reason = "owned by uid 65534"
    r = _run(tmp_path / "hostile", tmp_path)
    assert not marker.exists()
    assert r.stderr.count("dfl: warning: not caching compiled kernels") == 1 and reason in r.stderr
    assert sorted(p.name for p in folder.iterdir()) == sorted(names)  # nothing written there


def test_a_folder_under_one_others_can_write_is_refused(tmp_path) -> None:
    open_dir = tmp_path / "open"
    (open_dir / "cache" / "kernels").mkdir(parents=True, mode=0o700)
    os.chmod(open_dir, 0o777)
    why = kernel_cache.why_unsafe(str(open_dir / "cache" / "kernels"))
    assert why is not None and str(open_dir) in why and "writable by other users" in why
    os.chmod(open_dir, 0o1777)  # sticky, as /tmp: no one can rename what is not theirs
    assert kernel_cache.why_unsafe(str(open_dir / "cache" / "kernels")) is None


def test_a_cache_dir_that_is_a_regular_file_is_refused(tmp_path) -> None:
    path = tmp_path / "a-file"
    path.write_text("not a folder\n")
    r = _run(path, tmp_path)  # and nothing in TMPDIR: no fallback to a shared folder
    assert r.stderr.count("dfl: warning: not caching compiled kernels") == 1
    assert str(path) in r.stderr
    assert path.read_text() == "not a folder\n"


def test_a_tampered_kernel_file_is_not_imported_but_rewritten(tmp_path) -> None:
    names = _kernel_names(tmp_path)
    folder = tmp_path / "good" / "kernels"
    generated = {n: (folder / n).read_text() for n in names}
    marker = tmp_path / "planted-code-ran"
    _plant(folder, names, marker)
    r = _run(tmp_path / "good", tmp_path)
    assert not marker.exists()
    assert not r.stderr
    assert {n: (folder / n).read_text() for n in names} == generated


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_numba_cache_is_rebuilt(tmp_path, damage: str) -> None:
    _kernel_names(tmp_path)
    numba_files = list((tmp_path / "good" / "kernels" / "__pycache__").glob("k_*.nb[ic]"))
    assert any(p.suffix == ".nbi" for p in numba_files) and any(p.suffix == ".nbc" for p in numba_files)
    for p in numba_files:
        data = p.read_bytes()
        p.write_bytes(b"\x80\x05garbage" if damage == "garbage" else data[:len(data) // 2])
    _run(tmp_path / "good", tmp_path)
    # the entries were rebuilt: a third run loads them as they are
    for p in (tmp_path / "good" / "kernels" / "__pycache__").glob("k_*.nbi"):
        assert b"garbage" not in p.read_bytes()
    _run(tmp_path / "good", tmp_path)
