"""`-O DIR` gets its outputs as one set (runtime/io/output_set.py): a kill at any step leaves the
complete old set or the complete new one; stale outputs go; modes follow the umask; the
temporary folders of killed runs are reclaimed."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dfl.errors import DflError
from dfl.ir.types import Column, Schema, Type
from dfl.runtime.io import output, output_set
from dfl.runtime.io.output import write_each_tick, write_outputs

ONE = Schema((Column("v", Type.INT),))
OLD = {"a": (ONE, [(1,)]), "b": (ONE, [(2,)]), "stale": (ONE, [(3,)])}
NEW = {"a": (ONE, [(10,)]), "b": (ONE, [(20,)]), "c": (ONE, [(30,)])}
USERS = {"mine.txt": "mine\n", "sub/x.txt": "x\n"}  # in DIR, not written by DFL

pytestmark = pytest.mark.skipif(not output_set.supported("/tmp"), reason="needs renameat2 and user xattrs")

# Runs write_outputs(NEW) in a child that SIGKILLs itself at the k-th file-system step.
CHILD = textwrap.dedent("""
    import os, signal, sys
    from dfl.runtime.io import output, output_set
    from dfl.ir.types import Column, Schema, Type
    kill_at, out = int(sys.argv[1]), sys.argv[2]
    steps = 0

    def counted(fn):
        def step(*args, **kwargs):
            global steps
            steps += 1
            if steps == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
            return fn(*args, **kwargs)
        return step

    for name in ("rename", "replace", "link", "unlink", "rmdir", "mkdir", "setxattr", "open"):
        setattr(os, name, counted(getattr(os, name)))
    output_set.exchange = counted(output_set.exchange)
    one = Schema((Column("v", Type.INT),))
    output.write_outputs(out, {"a": (one, [(10,)]), "b": (one, [(20,)]), "c": (one, [(30,)])})
    print(steps)
""")


def _child(kill_at: int, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", CHILD, str(kill_at), str(out)], capture_output=True, text=True,
                          timeout=120)


def _outputs(out: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in out.iterdir() if p.suffix == ".csv"}


def _expected(relations) -> dict[str, str]:
    return {f"{name}.csv": "v\n" + "".join(f"{v}\n" for (v,) in rows) for name, (_, rows) in relations.items()}


def _old_dir(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    write_outputs(str(out), OLD)
    for rel, text in USERS.items():
        (out / rel).parent.mkdir(exist_ok=True)
        (out / rel).write_text(text)
    return out


def _temps(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(output_set.TMP_PREFIX)]


def test_a_kill_at_any_step_leaves_the_old_set_or_the_new_one(tmp_path: Path) -> None:
    out = _old_dir(tmp_path / "count")
    done = _child(0, out)
    assert done.returncode == 0, done.stderr
    total = int(done.stdout)
    assert total > 5
    seen = set()
    for k in range(1, total + 1):
        out = _old_dir(tmp_path / str(k))
        r = _child(k, out)
        assert r.returncode == -signal.SIGKILL, (k, r.stderr)
        got = _outputs(out)
        assert got in (_expected(OLD), _expected(NEW)), f"kill at step {k} of {total}: {sorted(got)}"
        seen.add("new" if got == _expected(NEW) else "old")
        assert (out / "mine.txt").read_text() == "mine\n"
        # The next write reclaims what the killed one left: no temporary, the user's files back.
        write_outputs(str(out), NEW)
        assert _outputs(out) == _expected(NEW)
        assert _temps(out.parent) == [], k
        assert {rel: (out / rel).read_text() for rel in USERS} == USERS
    assert seen == {"old", "new"}  # the kills fell both before and after the swap


def test_stale_outputs_go_and_the_users_files_stay(tmp_path: Path) -> None:
    out = _old_dir(tmp_path)
    (out / "notes.csv").write_text("the user's, not DFL's\n")  # never written by DFL: kept
    write_outputs(str(out), NEW)
    assert sorted(p.name for p in out.iterdir()) == ["a.csv", "b.csv", "c.csv", "mine.txt", "notes.csv", "sub"]
    assert _outputs(out) == {**_expected(NEW), "notes.csv": "the user's, not DFL's\n"}
    assert (out / "sub" / "x.txt").read_text() == "x\n"
    assert _temps(tmp_path) == []


def test_each_tick_set_replaces_the_old_ticks(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_each_tick(str(out), [{"a": (ONE, [(t,)])} for t in range(3)])
    write_each_tick(str(out), [{"a": (ONE, [(t + 5,)])} for t in range(2)])
    assert sorted(p.name for p in out.iterdir()) == ["0", "1"]
    assert (out / "1" / "a.csv").read_text() == "v\n6\n"


@pytest.mark.parametrize("atomic", [True, False])
def test_output_files_get_the_mode_the_umask_says(tmp_path: Path, monkeypatch, atomic: bool) -> None:
    if not atomic:
        monkeypatch.setattr(output.output_set, "supported", lambda parent: False)
    old = os.umask(0o027)
    try:
        write_outputs(str(tmp_path / "out"), NEW)
    finally:
        os.umask(old)
    assert {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "out").iterdir()} == \
        {"a.csv": 0o640, "b.csv": 0o640, "c.csv": 0o640}


def test_the_folder_keeps_its_mode(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir(mode=0o700)
    os.chmod(out, 0o750)
    write_outputs(str(out), NEW)
    assert out.stat().st_mode & 0o777 == 0o750


def test_leftovers_of_a_dead_process_are_reclaimed_not_those_of_a_live_one(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    left = tmp_path / f"{output_set.TMP_PREFIX}{pid}-out-0123abcd"
    left.mkdir()
    output_set.write_manifest(str(left), ["a.csv"])
    (left / "a.csv").write_text("v\n1\n")
    live = tmp_path / f"{output_set.TMP_PREFIX}{os.getppid()}-out-0123abce"
    live.mkdir()
    write_outputs(str(tmp_path / "out"), NEW)
    assert not left.exists()
    assert live.exists()  # its owner may still be writing


def test_a_dir_that_is_a_symlink_stays_one(tmp_path: Path) -> None:
    real = _old_dir(tmp_path)
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    write_outputs(str(link), NEW)
    assert link.is_symlink() and os.path.samefile(link, real)
    assert _outputs(real) == _expected(NEW)
    assert {rel: (real / rel).read_text() for rel in USERS} == USERS
    assert _temps(tmp_path) == []


def test_the_fallback_reclaims_temporary_files_of_a_dead_process(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(output.output_set, "supported", lambda parent: False)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    out = tmp_path / "out"
    out.mkdir()
    (out / f"{output_set.TMP_PREFIX}{int(dead.stdout)}.x1y2.tmp").write_text("v\n")
    write_outputs(str(out), NEW)
    assert sorted(p.name for p in out.iterdir()) == ["a.csv", "b.csv", "c.csv"]


# `dfl run` itself, killed just before and just after the exchange that swaps the set in.
RUN_CHILD = textwrap.dedent("""
    import os, signal, sys
    from dfl.runtime.io import output_set
    from dfl.cli import main
    where, args = sys.argv[1], sys.argv[2:]

    def killer(fn, before):
        def step(*a, **kw):
            if ".probe-" in a[0]:  # supported() trying the file system out
                return fn(*a, **kw)
            if before:
                os.kill(os.getpid(), signal.SIGKILL)
            fn(*a, **kw)
            os.kill(os.getpid(), signal.SIGKILL)
        return step

    output_set.exchange = killer(output_set.exchange, where == "before")
    sys.exit(main(args))
""")
PROG = "input e(v: int)\noutput a(v: int)\noutput c(v: int)\na(x) :- e(x).\nc(y) :- e(x), y = x * 10.\n"


@pytest.mark.parametrize("where", ["before", "after"])
def test_dfl_run_killed_around_the_swap(tmp_path: Path, where: str) -> None:
    out = _old_dir(tmp_path)
    (tmp_path / "p.dfl").write_text(PROG)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "e.csv").write_text("v\n1\n2\n")
    args = ["run", str(tmp_path / "p.dfl"), "-I", str(tmp_path / "in"), "-O", str(out), "--target", "interp"]
    r = subprocess.run([sys.executable, "-c", RUN_CHILD, where, *args], capture_output=True, text=True, timeout=120)
    assert r.returncode == -signal.SIGKILL, r.stderr
    new = {"a.csv": "v\n1\n2\n", "c.csv": "v\n10\n20\n"}
    assert _outputs(out) == (_expected(OLD) if where == "before" else new)
    assert _temps(tmp_path)  # the killed run's folder is still there
    done = subprocess.run([sys.executable, "-m", "dfl", *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert _outputs(out) == new and _temps(tmp_path) == []
    assert {rel: (out / rel).read_text() for rel in USERS} == USERS


def test_the_working_folder_is_written_in_place(tmp_path: Path, monkeypatch) -> None:
    out = _old_dir(tmp_path)
    inode = out.stat().st_ino
    monkeypatch.chdir(out)
    write_outputs(".", NEW)
    assert out.stat().st_ino == inode  # the same folder, so a shell in it still sees the outputs
    assert {n: t for n, t in _outputs(out).items() if n != "stale.csv"} == _expected(NEW)
    assert output_set.read_manifest(str(out)) >= {"a.csv", "b.csv", "c.csv"}  # recorded for the next set


def test_each_tick_keeps_the_users_files_in_a_tick_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_each_tick(str(out), [{"a": (ONE, [(t,)])} for t in range(3)])
    (out / "0" / "notes.txt").write_text("mine\n")
    (out / "2" / "notes.txt").write_text("mine too\n")
    write_each_tick(str(out), [{"a": (ONE, [(t + 5,)])} for t in range(2)])
    assert (out / "0" / "notes.txt").read_text() == "mine\n"
    assert sorted(p.name for p in (out / "2").iterdir()) == ["notes.txt"]  # tick 2's output went
    assert (out / "0" / "a.csv").read_text() == "v\n5\n"
    assert _temps(tmp_path) == []


def test_a_users_folder_named_like_an_output_is_never_deleted(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "a.csv").mkdir(parents=True)
    (out / "a.csv" / "keep.txt").write_text("mine\n")
    with pytest.raises(DflError) as info:
        write_outputs(str(out), NEW)  # as before the set: an output cannot replace a folder
    assert info.value.kind == "output" and "is a folder" in info.value.message
    assert (out / "a.csv" / "keep.txt").read_text() == "mine\n"
    assert sorted(p.name for p in out.iterdir()) == ["a.csv"] and _temps(tmp_path) == []


def test_many_ticks_fit_the_manifest(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_each_tick(str(out), [{"a": (ONE, [(t,)]), "b": (ONE, [])} for t in range(600)])
    assert len(output_set.read_manifest(str(out))) == 1200
    write_each_tick(str(out), [{"a": (ONE, [(t,)])} for t in range(3)])
    assert sorted(p.name for p in out.iterdir()) == ["0", "1", "2"]
    assert [p.name for p in (out / "2").iterdir()] == ["a.csv"]


def test_outputs_too_many_for_the_manifest_are_written_one_by_one(tmp_path: Path) -> None:
    out = tmp_path / "out"
    many = {f"relation_{i}": (ONE, [(i,)]) for i in range(1500)}
    write_outputs(str(out), many)
    assert len(list(out.iterdir())) == 1500 and (out / "relation_7.csv").read_text() == "v\n7\n"
    assert _temps(tmp_path) == []
