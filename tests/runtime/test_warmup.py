"""runtime/warmup.py and runtime/input_sizes.py: the cpu backend loads in a thread while
inputs are read; a failing import there is kept, not raised, and the plan reports it."""
from __future__ import annotations

import pytest

import subprocess
import sys

from dfl.backends import registry
from dfl.runtime.input_sizes import input_bytes
from dfl.runtime.warmup import Warmup, start_warmup


def test_warmup_imports_numba_and_the_kernels_in_a_thread() -> None:
    # a fresh process: this one may have numba already
    code = ("import sys, threading\n"
            "from dfl.runtime.warmup import start_warmup\n"
            "w = start_warmup('cpu')\n"
            "assert w._thread is not threading.main_thread()\n"
            "assert w.wait(120) and w.error is None, w.error\n"
            "assert 'numba' in sys.modules and 'dfl.backends.cpu.kernels' in sys.modules\n"
            "import dfl\n"
            "p = dfl.compile('input e(a: int)\\noutput o(a: int)\\no(a) :- e(a), a > 1.\\n')\n"
            "print(sorted(p.run(e=[(1,), (2,), (3,)], target='cpu')['o']))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[(2,), (3,)]"


def test_a_failing_import_is_kept_not_raised(monkeypatch) -> None:
    def broken(name: str) -> None:
        raise ImportError("no module named numba (simulated)")

    monkeypatch.setattr(registry, "preload", broken)
    w = Warmup("cpu")  # a fresh one: start_warmup gives the process's first
    assert w.wait(30)
    assert isinstance(w.error, ImportError) and "simulated" in str(w.error)


def test_an_unknown_target_is_kept_too() -> None:
    w = Warmup("no-such-target")
    assert w.wait(30) and w.error is not None and "unknown target" in str(w.error)


def test_input_bytes_from_dir_and_files(tmp_path) -> None:
    (tmp_path / "edge.csv").write_text("a,b\n1,2\n")
    (tmp_path / "other.csv").write_text("x\n1\n2\n")
    sizes = input_bytes(["edge", "node", "x"], str(tmp_path), {"x": str(tmp_path / "other.csv")})
    assert sizes == {"edge": 8, "node": 0, "x": 6}
    assert input_bytes(["gone"], None, {"gone": str(tmp_path / "missing.csv")}) == {"gone": 0}


def test_start_warmup_is_once_per_target() -> None:
    assert start_warmup("no-such-target-2") is start_warmup("no-such-target-2")


def test_inputs_read_on_a_thread_while_warming_give_the_same_rows_and_errors(tmp_path) -> None:
    """With the warm-up in play (a large run), the inputs are read on a background thread
    while the cpu plan warms up: the same answers, and a bad line is the same input error."""
    import dfl
    import dfl.runtime.warmup  # noqa: F401 - what a large `dfl run` has imported
    from dfl.errors import DflError

    prog = dfl.compile("input e(a: int, b: int)\noutput p(a: int, b: int)\n"
                       "p(a, b) :- e(a, b).\np(a, c) :- p(a, b), e(b, c).\n")
    (tmp_path / "e.csv").write_text("a,b\n" + "".join(f"{i},{i + 1}\n" for i in range(50)))
    got = prog.run(input_dir=str(tmp_path), target="cpu")
    assert got["p"] == prog.run(input_dir=str(tmp_path), target="interp")["p"] and len(got["p"]) == 1275
    (tmp_path / "e.csv").write_text("a,b\n1,2\n3,x\n")
    with pytest.raises(DflError) as e:
        prog.run(input_dir=str(tmp_path), target="cpu")
    assert e.value.kind == "input" and e.value.span.line == 3 and "column 2 (b)" in e.value.message
