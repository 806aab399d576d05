"""What `dfl run --workers` leaves behind, on every way out (runtime/pools/shutdown.py): nothing
after a normal run or a SIGTERM; after a SIGKILL of the driver, workers that exit quietly
and leftovers that the next run removes.

Each run gets its own TMPDIR (multiprocessing's `pymp-*` folder goes there); its /dev/shm
files are named with the driver's pid (`dfl_<pid>_*`), so runs of others do not count.
"""
from __future__ import annotations

import glob
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

COPY = """
input  e(a: int, b: int)
output r(a: int, b: int)
r(x, y) :- e(x, y).
"""

TC = """
input  edge(a: int, b: int)
output path(a: int, b: int)
path(x, y) :- edge(x, y).
path(x, z) :- path(x, y), edge(y, z).
"""

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc, uses /dev/shm")


def _start(prog: Path, ind: Path, out: Path, tmp: Path, err: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONHASHSEED"}
    env["TMPDIR"] = str(tmp)
    with open(err, "w") as stderr:
        return subprocess.Popen([sys.executable, "-m", "dfl", "run", str(prog), "-I", str(ind), "-O", str(out),
                                 "--workers", "2"], stdout=subprocess.DEVNULL, stderr=stderr,
                                stdin=subprocess.DEVNULL, env=env, cwd=REPO)


def _children(pid: int) -> list[int]:
    out = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat, "rb") as f:
                s = f.read()
        except OSError:
            continue
        if int(s[s.rfind(b")") + 2:].split()[1]) == pid:
            out.append(int(os.path.basename(os.path.dirname(stat))))
    return out


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            s = f.read()
    except OSError:
        return False
    return s[s.rfind(b")") + 2:s.rfind(b")") + 3] != b"Z"  # a zombie has exited


def _leftovers(tmp: Path, pid: int) -> list[str]:
    return sorted(glob.glob(str(tmp / "pymp-*")) + glob.glob(f"/dev/shm/dfl_{pid}_*"))


def _workers_busy(driver: subprocess.Popen) -> list[int]:
    """The driver's helper processes and the workers under its fork server, once the
    workers have been working for a moment."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and driver.poll() is None:
        helpers = _children(driver.pid)
        workers = [w for h in helpers for w in _children(h)]
        if len(workers) >= 2:
            time.sleep(1.5)
            return helpers + workers
        time.sleep(0.1)
    pytest.fail("the run ended (or never started its workers) before the test could signal it")


@pytest.fixture
def copy_run(tmp_path: Path):
    """A run whose columns (150,000 rows per partition) go through /dev/shm."""
    ind = tmp_path / "copy_in"
    ind.mkdir()
    (ind / "e.csv").write_text("a,b\n" + "".join(f"{i},{i * 7 % 1000}\n" for i in range(300_000)))
    prog = tmp_path / "copy.dfl"
    prog.write_text(COPY)
    return prog, ind


@pytest.fixture
def long_run(tmp_path: Path):
    """A transitive closure that runs for tens of seconds on two workers."""
    rng = random.Random(5)
    ind = tmp_path / "tc_in"
    ind.mkdir()
    (ind / "edge.csv").write_text("a,b\n" + "".join(f"{rng.randrange(3000)},{rng.randrange(3000)}\n"
                                                   for _ in range(9000)))
    prog = tmp_path / "tc.dfl"
    prog.write_text(TC)
    return prog, ind


def test_a_pool_run_leaves_nothing_behind(tmp_path: Path, copy_run) -> None:
    prog, ind = copy_run
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    p = _start(prog, ind, tmp_path / "out", tmp, tmp_path / "err")
    assert p.wait(timeout=120) == 0, (tmp_path / "err").read_text()
    assert (tmp_path / "out" / "r.csv").stat().st_size > 1_000_000
    assert _leftovers(tmp, p.pid) == []


def test_a_killed_driver_s_workers_exit_quietly_and_the_next_run_reclaims_its_files(
        tmp_path: Path, long_run, copy_run) -> None:
    prog, ind = long_run
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    err = tmp_path / "err"
    p = _start(prog, ind, tmp_path / "out", tmp, err)
    helpers = _workers_busy(p)
    p.kill()
    p.wait(timeout=10)
    deadline = time.monotonic() + 10
    while any(_alive(h) for h in helpers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(h) for h in helpers), "workers outlived their driver by 10 s"
    assert "Traceback" not in err.read_text(), err.read_text()
    # what the killed run left: its pymp folder, and (were it killed mid-tick) shm files
    assert glob.glob(str(tmp / f"pymp-dfl{p.pid}-*"))
    left = Path(f"/dev/shm/dfl_{p.pid}_0123abcd_{p.pid}_0.col")
    left.write_bytes(b"\0" * 1024)
    try:
        prog2, ind2 = copy_run
        q = _start(prog2, ind2, tmp_path / "out2", tmp, tmp_path / "err2")
        assert q.wait(timeout=120) == 0, (tmp_path / "err2").read_text()
        assert _leftovers(tmp, p.pid) == [] and _leftovers(tmp, q.pid) == []
    finally:
        left.unlink(missing_ok=True)


def test_sigterm_to_the_driver_exits_143_and_leaves_nothing_behind(tmp_path: Path, long_run) -> None:
    prog, ind = long_run
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    err = tmp_path / "err"
    p = _start(prog, ind, tmp_path / "out", tmp, err)
    helpers = _workers_busy(p)
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=30) == 143
    assert err.read_text().strip() == "dfl: terminated"
    assert not (tmp_path / "out").exists()  # no partial output
    deadline = time.monotonic() + 10
    while any(_alive(h) for h in helpers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(h) for h in helpers)
    assert _leftovers(tmp, p.pid) == []
