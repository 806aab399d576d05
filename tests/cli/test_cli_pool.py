"""The CLI's placement and worker-pool commands, in-process: `compile --emit placed`,
`explain`, `ir --placed`, `check --calm`, and `run --workers/--autoscale/--stats`."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import dfl
from benchmarks.workloads.join import DFL_SRC as JOIN_SRC
from benchmarks.workloads.tc import DFL_SRC as TC
from dfl.compiler.cost import CostModel
from dfl.compiler.placement import placement

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"

GROUP_BY = """
input  e(a: int, b: int)
output cnt(a: int, n: int)
cnt(a, count()) :- e(a, b).
"""

# examples with input files, for runs on the pool compared with one-process runs
RUN_EXAMPLES = ["reachability", "word_count"]


def _csvs(d: Path) -> dict[str, str]:
    return {p.relative_to(d).as_posix(): p.read_text() for p in sorted(d.rglob("*.csv"))}


# ---------------------------------------------------------------- compile / explain / ir


def test_compile_emit_placed(dfl_cli, write) -> None:
    prog = write("join.dfl", JOIN_SRC)
    r = dfl_cli("compile", prog, "--emit", "placed", "--workers", "3")
    assert r.returncode == 0, r.stderr
    assert re.search(r"= exchange\(", r.stdout), r.stdout
    assert "parts=3" in r.stdout and "parts=2" not in r.stdout
    assert 'mode="hash"' in r.stdout and 'dist="hash(' in r.stdout


def test_compile_emit_placed_to_file(dfl_cli, write, tmp_path) -> None:
    prog = write("join.dfl", JOIN_SRC)
    out = tmp_path / "placed.ir"
    r = dfl_cli("compile", prog, "--emit", "placed", "--workers", "3", "-o", out)
    assert r.returncode == 0 and r.stdout == ""
    from dfl.ir.text import parse_graph
    from dfl.ir.verify import verify

    verify(parse_graph(out.read_text()))


def test_compile_emit_placed_workers_0_is_a_usage_error(dfl_cli, write) -> None:
    prog = write("join.dfl", JOIN_SRC)
    r = dfl_cli("compile", prog, "--emit", "placed", "--workers", "0")
    assert r.returncode == 2
    assert "--workers" in r.stderr


def test_explain(dfl_cli, write) -> None:
    prog = write("join.dfl", JOIN_SRC)
    r = dfl_cli("explain", prog, "--workers", "2", "--rows", "fact=1000")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.rstrip("\n").split("\n")
    assert lines[0] == f"{prog}: placed over 2 partition(s)"
    assert any("assumed" in ln and "dim" in ln for ln in lines[1:3])
    # one line per placed operator, exchanges included
    p = dfl.compile(JOIN_SRC)
    placed = placement(p.graph, 2, CostModel(rows={"fact": 1000}))
    op_lines = [ln for ln in lines if ln.startswith("  ")]
    assert len(op_lines) == len(placed.graph.nodes) == len(placed.notes)
    for ln, n in zip(op_lines, placed.graph.nodes):
        assert ln.split()[:2] == [n.id, n.op]
        assert " rows " in ln
    nex = sum(1 for n in placed.graph.nodes if n.op == "exchange")
    assert nex > 0
    m = re.fullmatch(r"(\d+) exchange\(s\), est\. ([\d,]+) bytes moved", lines[-1])
    assert m, lines[-1]
    assert int(m.group(1)) == nex
    assert int(m.group(2).replace(",", "")) == placed.moved_bytes


def test_explain_naive_moves_more(dfl_cli, write) -> None:
    prog = write("join.dfl", JOIN_SRC)

    def moved(*extra: str) -> int:
        r = dfl_cli("explain", prog, "--workers", "4", *extra)
        assert r.returncode == 0, r.stderr
        last = r.stdout.rstrip("\n").split("\n")[-1]
        return int(re.search(r"est\. ([\d,]+) bytes", last).group(1).replace(",", ""))

    assert moved("--naive") > moved()


@pytest.mark.parametrize("bad", ["nope=1", "fact", "fact=x", "=3"])
def test_explain_bad_rows_is_a_usage_error(dfl_cli, write, bad: str) -> None:
    prog = write("join.dfl", JOIN_SRC)
    r = dfl_cli("explain", prog, "--rows", bad)
    assert r.returncode == 2
    assert "--rows" in r.stderr
    assert r.stdout == ""


def test_ir_placed_dot(dfl_cli, write) -> None:
    prog = write("join.dfl", JOIN_SRC)
    r = dfl_cli("ir", prog, "--placed", "--format", "dot")
    assert r.returncode == 0, r.stderr
    assert "digraph" in r.stdout
    assert "hash(" in r.stdout


def test_ir_placed_text_has_exchanges(dfl_cli, write) -> None:
    prog = write("tc.dfl", TC)
    r = dfl_cli("ir", prog, "--placed", "--workers", "4")
    assert r.returncode == 0, r.stderr
    assert 'mode="broadcast"' in r.stdout and "parts=4" in r.stdout


# ---------------------------------------------------------------- check --calm


def test_check_calm_aggregate_is_a_coordination_point(dfl_cli, write) -> None:
    prog = write("gb.dfl", GROUP_BY)
    r = dfl_cli("check", prog, "--calm")
    assert r.returncode == 0, r.stderr
    assert "coordination point" in r.stdout
    assert re.search(r"^\s*\^+\s*$", r.stdout, re.M), r.stdout  # a caret line under the rule
    line = Path(prog).read_text().splitlines().index("cnt(a, count()) :- e(a, b).") + 1
    assert f"{prog}:{line}:" in r.stdout  # points at the aggregate's rule
    assert "NOT monotone" in r.stdout


def test_check_calm_transitive_closure_is_monotone(dfl_cli, write) -> None:
    prog = write("tc.dfl", TC)
    r = dfl_cli("check", prog, "--calm")
    assert r.returncode == 0, r.stderr
    assert "output path: monotone" in r.stdout
    assert "0 coordination points" in r.stdout
    assert "NOT monotone" not in r.stdout


# ---------------------------------------------------------------- run on the pool


@pytest.mark.parametrize("example", RUN_EXAMPLES)
def test_run_on_workers_matches_one_process(dfl_cli, tmp_path, example: str) -> None:
    prog, ind = EXAMPLES / example / "prog.dfl", EXAMPLES / example / "in"
    one = dfl_cli("run", prog, "-I", ind, "-O", tmp_path / "one")
    assert one.returncode == 0, one.stderr
    pooled = dfl_cli("run", prog, "-I", ind, "-O", tmp_path / "pool", "--workers", "2")
    assert pooled.returncode == 0, pooled.stderr
    a, b = _csvs(tmp_path / "one"), _csvs(tmp_path / "pool")
    assert a and a == b


def test_run_stats_and_stats_json(dfl_cli, tmp_path) -> None:
    prog, ind = EXAMPLES / "reachability" / "prog.dfl", EXAMPLES / "reachability" / "in"
    sj = tmp_path / "stats.json"
    r = dfl_cli("run", prog, "-I", ind, "-O", tmp_path / "out", "--workers", "2", "--stats", "--stats-json", sj)
    assert r.returncode == 0, r.stderr
    assert "bytes exchanged" in r.stderr
    assert "billed" in r.stderr
    assert "bytes exchanged" not in r.stdout
    data = json.loads(sj.read_text())
    assert {"operators", "workers", "bytes", "pool"} <= set(data)
    assert data["partitions"] == 2
    assert data["operators"] and all({"node", "op", "dist"} <= set(o) for o in data["operators"])
    assert any(o["op"] == "exchange" for o in data["operators"])
    assert "exchanged" in data["bytes"] and "billed_worker_s" in data["pool"]
    assert _csvs(tmp_path / "out")


def test_run_stats_json_alone(dfl_cli, tmp_path) -> None:
    prog, ind = EXAMPLES / "word_count" / "prog.dfl", EXAMPLES / "word_count" / "in"
    sj = tmp_path / "s.json"
    r = dfl_cli("run", prog, "-I", ind, "-O", tmp_path / "out", "--workers", "2", "--stats-json", sj)
    assert r.returncode == 0, r.stderr
    assert "bytes exchanged" not in r.stderr
    assert {"operators", "workers", "bytes", "pool"} <= set(json.loads(sj.read_text()))


def test_autoscale_gives_the_same_output(dfl_cli, tmp_path) -> None:
    prog, ind = EXAMPLES / "word_count" / "prog.dfl", EXAMPLES / "word_count" / "in"
    one = dfl_cli("run", prog, "-I", ind, "-O", tmp_path / "one")
    assert one.returncode == 0, one.stderr
    auto = dfl_cli("run", prog, "-I", ind, "-O", tmp_path / "auto", "--autoscale", "0..2")
    assert auto.returncode == 0, auto.stderr
    a = _csvs(tmp_path / "one")
    assert a and a == _csvs(tmp_path / "auto")


def test_autoscale_without_a_range_takes_the_programs_replicas(dfl_cli, write, tmp_path) -> None:
    prog = write("rep.dfl", "@replicas(min = 0, max = 3)\n@slo(p99_ms = 200)\ninput e(a: int, b: int)\n"
                            "output c(a: int, n: int)\nc(a, count()) :- e(a, b).\n")
    ind = tmp_path / "in"
    ind.mkdir()
    (ind / "e.csv").write_text("a,b\n1,2\n1,3\n2,2\n")
    r = dfl_cli("run", prog, "-I", ind, "-O", tmp_path / "out", "--autoscale",
                "--stats-json", tmp_path / "s.json")
    assert r.returncode == 0, r.stderr
    stats = json.loads((tmp_path / "s.json").read_text())
    assert stats["partitions"] == 3  # @replicas max
    assert all(d["after"] <= 3 for d in stats["autoscale"]) and stats["autoscale"]
    assert "autoscale:" in r.stderr  # each decision is logged with its reason
    assert (tmp_path / "out" / "c.csv").read_text().splitlines()[1:] == ["1,2", "2,1"]
    bad = write("bad.dfl", "@replicas(min = 4, max = 2)\ninput e(a: int)\noutput o(a: int)\no(a) :- e(a).\n")
    r = dfl_cli("run", bad, "-I", ind, "--autoscale")
    assert r.returncode == 2 and "min" in r.stderr


def test_address_without_ray_is_a_usage_error(dfl_cli) -> None:
    prog, ind = EXAMPLES / "reachability" / "prog.dfl", EXAMPLES / "reachability" / "in"
    r = dfl_cli("run", prog, "-I", ind, "--address", "x")
    assert r.returncode == 2
    assert "--engine ray" in r.stderr


@pytest.mark.parametrize("n", ["0", "-1"])
def test_workers_below_one_is_a_usage_error(dfl_cli, tmp_path, n: str) -> None:
    prog, ind = EXAMPLES / "reachability" / "prog.dfl", EXAMPLES / "reachability" / "in"
    r = dfl_cli("run", prog, "-I", ind, "-O", tmp_path / "out", "--workers", n)
    assert r.returncode == 2
    assert "workers" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("bad", ["fact=1_", "fact=_1", "fact=1__0", "fact=\u00b2"])
def test_explain_malformed_underscored_rows_is_a_usage_error(dfl_cli, write, bad: str) -> None:
    prog = write("join.dfl", JOIN_SRC)
    r = dfl_cli("explain", prog, "--rows", bad)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "--rows" in r.stderr


@pytest.mark.parametrize("schedule", ["pipelined", "stages"])
def test_run_schedule_matches_one_process_and_is_reported(dfl_cli, tmp_path, schedule: str) -> None:
    prog, ind = EXAMPLES / "reachability" / "prog.dfl", EXAMPLES / "reachability" / "in"
    one = dfl_cli("run", prog, "-I", ind, "-O", tmp_path / "one")
    sj = tmp_path / "s.json"
    r = dfl_cli("run", prog, "-I", ind, "-O", tmp_path / "pool", "--workers", "2", "--schedule", schedule,
                "--stats", "--stats-json", sj)
    assert one.returncode == 0 and r.returncode == 0, r.stderr
    assert _csvs(tmp_path / "one") == _csvs(tmp_path / "pool")
    sc = json.loads(sj.read_text())["schedule"]
    assert sc["kind"] == schedule and sc["steps"] >= 2
    assert (f"{schedule}: " in r.stderr) and ("sealed" in r.stderr) == (schedule == "pipelined")


def test_schedule_without_pool_is_a_usage_error(dfl_cli) -> None:
    prog, ind = EXAMPLES / "reachability" / "prog.dfl", EXAMPLES / "reachability" / "in"
    r = dfl_cli("run", prog, "-I", ind, "--schedule", "stages")
    assert r.returncode == 2 and "--workers" in r.stderr
