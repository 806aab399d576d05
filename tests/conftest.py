"""Shared fixtures: running the `dfl` command (in-process or as a subprocess) and writing files.

Most CLI tests run `dfl.cli.main` in-process (milliseconds per call); the few that must see
what a user sees from a real process (exit status, no traceback, `--debug`) use `dfl_proc`.
"""
from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def out(self) -> str:
        return self.stdout

    @property
    def err(self) -> str:
        return self.stderr


def _run_in_process(*args: str) -> CliResult:
    from dfl import cli

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = cli.main([str(a) for a in args])
        except SystemExit as e:  # argparse usage errors and --version exit this way
            rc = e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    return CliResult(rc, out.getvalue(), err.getvalue())


def _run_subprocess(*args: str, env: dict[str, str] | None = None, cwd: str | os.PathLike | None = None) -> CliResult:
    full_env = dict(os.environ)
    full_env.pop("PYTHONHASHSEED", None)
    if env:
        full_env.update(env)
    proc = subprocess.run([sys.executable, "-m", "dfl", *[str(a) for a in args]], capture_output=True, text=True,
                          errors="replace", env=full_env, cwd=cwd, timeout=120, stdin=subprocess.DEVNULL)
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def dfl_cli():
    """`dfl_cli("run", prog, "-O", out)` runs the CLI in-process; returns rc, stdout, stderr."""
    return _run_in_process


@pytest.fixture
def dfl_proc():
    """`dfl_proc("run", prog, ...)` runs `python -m dfl ...` as a real process."""
    return _run_subprocess


@pytest.fixture
def write(tmp_path: Path):
    """`write("prog.dfl", text)` writes tmp_path/prog.dfl (dedented; folders made) and returns its path.
    Bytes are written as they are."""

    def _write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
        return path

    return _write


def files_under(folder: Path) -> list[str]:
    """Relative paths of every file under folder (none when it does not exist)."""
    if not folder.exists():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


@pytest.fixture
def list_files():
    return files_under
