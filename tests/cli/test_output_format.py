"""`dfl run` with typed files: inputs found by extension after .csv and .facts, and
`--output-format` writing every output in one format (all files or none)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pyarrow")

PROG = """
input edge(a: int, b: str)
output path(a: int, b: str)
output n(c: int)
path(a, b) :- edge(a, b).
n(count()) :- edge(_, _).
"""


def dfl(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dfl.cli", *args], cwd=cwd, capture_output=True, text=True)


@pytest.mark.parametrize("fmt", ["csv", "parquet", "arrow", "jsonl"])
def test_each_output_format_reads_back_as_input(tmp_path: Path, fmt: str) -> None:
    (tmp_path / "p.dfl").write_text(PROG)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "edge.csv").write_text('a,b\n2,"x,y"\n1,z\n1,z\n')
    r = dfl("run", "p.dfl", "-I", "in", "-O", "out", "--output-format", fmt, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    ext = {"csv": "csv", "parquet": "parquet", "arrow": "arrow", "jsonl": "jsonl"}[fmt]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"n.{ext}", f"path.{ext}"]
    # the outputs, renamed as the input, give the same answers again
    (tmp_path / "again").mkdir()
    (tmp_path / "out" / f"path.{ext}").rename(tmp_path / "again" / f"edge.{ext}")
    r = dfl("run", "p.dfl", "-I", "again", "-O", "csv_out", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "csv_out" / "path.csv").read_text() == 'a,b\n1,z\n2,"x,y"\n'
    assert (tmp_path / "csv_out" / "n.csv").read_text() == "c\n2\n"


def test_output_format_needs_an_output_dir(tmp_path: Path) -> None:
    (tmp_path / "p.dfl").write_text(PROG)
    r = dfl("run", "p.dfl", "--output-format", "parquet", cwd=tmp_path)
    assert r.returncode == 2 and "needs -O DIR" in r.stderr


def test_a_typed_input_of_the_wrong_type_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "p.dfl").write_text(PROG)
    (tmp_path / "in").mkdir()
    pq.write_table(pa.table({"a": ["1"], "b": ["x"]}), str(tmp_path / "in" / "edge.parquet"))
    r = dfl("run", "p.dfl", "-I", "in", "-O", "out", cwd=tmp_path)
    assert r.returncode == 2
    assert "column a of relation edge has type string, declared int" in r.stderr
    assert not (tmp_path / "out").exists()


def test_csv_comes_before_the_typed_formats(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "p.dfl").write_text(PROG)
    pq.write_table(pa.table({"a": [5], "b": ["parquet"]}), str(tmp_path / "edge.parquet"))
    (tmp_path / "edge.csv").write_text("a,b\n1,csv\n")
    r = dfl("run", "p.dfl", "-I", ".", "-O", "out", cwd=tmp_path)
    assert r.returncode == 0 and (tmp_path / "out" / "path.csv").read_text() == "a,b\n1,csv\n"


def test_typed_files_in_and_out_never_import_pandas(tmp_path: Path) -> None:
    """pyarrow's convenience functions import pandas (a third of a second) where it is
    installed; the readers and writers build Arrow arrays from buffers instead."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "p.dfl").write_text(PROG)
    (tmp_path / "in").mkdir()
    pq.write_table(pa.table({"a": list(range(3000)), "b": [f"s{i % 7}" for i in range(3000)]}),
                   str(tmp_path / "in" / "edge.parquet"))
    code = ("import sys; from dfl.cli import main; "
            "rc = main(['run', 'p.dfl', '-I', 'in', '-O', 'out', '--output-format', 'parquet', '--target', 'cpu']); "
            "print(rc, 'pandas' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert r.stdout.split() == ["0", "False"], r.stderr
    assert pq.read_table(str(tmp_path / "out" / "path.parquet")).num_rows == 3000
