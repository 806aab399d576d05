"""`dfl run --memory-limit`, `--workers` past the cores, and no fallback on exhaustion.

The 100k x 100k cross product runs in a child process under an address-space ulimit (so a
regression fails the test instead of the machine) and reports its peak resident set.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest

from dfl.backends.cpu import plan as cpu_plan
from dfl.compiler import engine_choice

CROSS = "input a(x: int)\ninput b(y: int)\noutput p(x: int, y: int)\np(x, y) :- a(x), b(y).\n"
N = 100_000

_CHILD = textwrap.dedent("""
    import resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))  # a safety net: 4 GB of address space
    from dfl.cli import main
    code = main(sys.argv[1:])
    # VmHWM: this program's own peak (ru_maxrss would include the forking pytest's memory,
    # which Linux carries across exec, and a long test session's pytest passes 600 MB)
    hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")]
    peak_kb = int(hwm[0].split()[1]) if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    sys.stderr.write(f"\\npeak_mb={peak_kb // 1024}\\n")
    sys.exit(code)
""")


@pytest.fixture
def cross(write):
    write("in/a.csv", "x\n" + "".join(f"{i}\n" for i in range(N)))
    write("in/b.csv", "y\n" + "".join(f"{i}\n" for i in range(N)))
    return write("p.dfl", CROSS)


def _child(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, float]:
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", _CHILD, *map(str, args)], capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})})
    return proc.returncode, proc.stderr, time.monotonic() - t0


def _peak_mb(err: str) -> int:
    return int(err.rsplit("peak_mb=", 1)[1].split()[0])


@pytest.mark.parametrize("target", ["cpu", "interp"])
def test_a_cross_product_past_the_limit_is_a_runtime_error_naming_the_join(cross, tmp_path, target):
    code, err, wall = _child("run", cross, "-I", tmp_path / "in", "--target", target, "--memory-limit", "1G")
    assert code == 3, err
    assert "run-time error: the join" in err and "10,000,000,000 rows" in err and "memory limit of 1.0 GB" in err
    assert "p(x, y) :- a(x), b(y)." in err  # the rule, with carets under it
    assert "Traceback" not in err and "bug in DFL" not in err and "interpreter instead" not in err
    assert _peak_mb(err) < 600 and wall < 60  # nothing of the 10^10 rows was allocated


def test_the_default_target_does_not_fall_back_on_the_limit(cross, tmp_path):
    code, err, _ = _child("run", cross, "-I", tmp_path / "in", "--memory-limit", "1G")
    assert code == 3 and "the join" in err and "interpreter" not in err


def test_the_environment_variable_sets_the_limit(cross, tmp_path):
    code, err, _ = _child("run", cross, "-I", tmp_path / "in", env={"DFL_MEMORY_LIMIT": "1G"})
    assert code == 3 and "memory limit of 1.0 GB" in err


def test_on_the_worker_pool_each_worker_checks_its_share(cross, tmp_path):
    code, err, _ = _child("run", cross, "-I", tmp_path / "in", "--workers", "2", "--memory-limit", "1G")
    assert code == 3, err
    assert "run-time error: the join" in err and "memory limit of 512.0 MB" in err  # 1G over 2 workers


def test_a_small_run_passes_under_a_limit_and_with_none(write, dfl_proc):
    # a process of its own: the limit counts the memory in use, and a long pytest session
    # alone can hold more than 1 GB
    prog = write("q.dfl", "input a(x: int)\noutput p(x: int, y: int)\np(x, y) :- a(x), a(y).\n")
    write("in/a.csv", "x\n1\n2\n")
    outs = set()
    for limit in ("1G", "0", "none"):
        r = dfl_proc("run", prog, "-I", prog.parent / "in", "--memory-limit", limit)
        assert r.returncode == 0, r.err
        outs.add(r.out)
    assert len(outs) == 1


def test_a_malformed_limit_is_a_usage_error(cross, tmp_path, dfl_cli):
    r = dfl_cli("run", cross, "-I", tmp_path / "in", "--memory-limit", "12Q")
    assert r.returncode == 2 and "a memory limit is a size like 4G" in r.err


def test_workers_past_four_per_core_are_a_usage_error(cross, tmp_path, dfl_cli):
    for flags in (["--workers", "100000"], ["--autoscale", "0..100000"]):
        t0 = time.monotonic()
        r = dfl_cli("run", cross, "-I", tmp_path / "in", *flags)
        assert r.returncode == 2 and "worker processes per core" in r.err and "--force-workers" in r.err
        assert time.monotonic() - t0 < 5  # refused before any process is started


def test_a_program_s_replicas_past_four_per_core_are_a_usage_error(write, dfl_cli):
    """`--autoscale` with no range takes the program's @replicas: its max is capped alike."""
    prog = write("r.dfl", "input a(x: int)\noutput p(x: int)\n@replicas(min = 0, max = 100000)\n"
                          "p(x) :- a(x).\n")
    write("in/a.csv", "x\n1\n")
    t0 = time.monotonic()
    r = dfl_cli("run", prog, "-I", prog.parent / "in", "--autoscale")
    assert r.returncode == 2 and "@replicas(max = ..) 100000" in r.err and "--force-workers" in r.err
    assert time.monotonic() - t0 < 5  # refused before any process is started


def test_memory_error_on_the_default_target_is_exit_3_not_a_fallback(write, dfl_cli, monkeypatch):
    def exhausted(self, inputs):
        raise MemoryError()

    monkeypatch.setattr(cpu_plan.CpuPlan, "_run", exhausted)
    monkeypatch.setattr(engine_choice, "INTERP_MAX_BYTES", 0)  # the default target is cpu for any input
    prog = write("q.dfl", "input a(x: int)\noutput p(x: int)\np(x) :- a(x).\n")
    write("in/a.csv", "x\n1\n")
    r = dfl_cli("run", prog, "-I", prog.parent / "in")
    assert r.returncode == 3 and "ran out of memory" in r.err and "interpreter" not in r.err
