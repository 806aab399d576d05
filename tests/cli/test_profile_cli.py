"""`dfl run --stats` / `--stats-json` on every run: in one process (interp, cpu) the profile
by rule and fixpoint iteration, on the worker pool the pool's report with each round of a
distributed fixpoint; the JSON follows docs/profile.schema.json."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "docs" / "profile.schema.json").read_text(encoding="utf-8"))

NONLINEAR_TC = """\
input edge(a: int, b: int)
output path(a: int, b: int)
path(x, y) :- edge(x, y).
path(x, z) :- path(x, y), path(y, z).
"""
RECURSIVE_RULE = "path(x, z) :- path(x, y), path(y, z)."
N = 24  # a chain of N edges: N(N+1)/2 paths


@pytest.fixture
def tc(write) -> tuple[Path, Path]:
    prog = write("tc.dfl", NONLINEAR_TC)
    write("in/edge.csv", "a,b\n" + "".join(f"{i},{i + 1}\n" for i in range(N)))
    return prog, prog.parent / "in"


def _deltas(data: dict) -> list[int]:
    (fx,) = data["fixpoints"]
    return [it["delta"]["path"] for it in fx["iterations"]]


@pytest.mark.parametrize("target", ["interp", "cpu"])
def test_stats_in_one_process_prints_the_rules_with_their_lines(dfl_cli, tc, tmp_path, target: str) -> None:
    prog, ind = tc
    plain = dfl_cli("run", prog, "-I", ind, "--target", target)
    r = dfl_cli("run", prog, "-I", ind, "--target", target, "--stats")
    assert plain.returncode == 0 and r.returncode == 0, r.stderr
    assert r.stdout == plain.stdout  # the profile goes to stderr only
    assert "rules, busiest first" in r.stderr and RECURSIVE_RULE in r.stderr
    assert "path(x, y) :- edge(x, y)." in r.stderr
    assert "semi-naive" in r.stderr and "path new" in r.stderr and "joins, busiest first" in r.stderr


@pytest.mark.parametrize("target", ["interp", "cpu"])
def test_stats_json_in_one_process_follows_the_schema(dfl_cli, tc, tmp_path, target: str) -> None:
    prog, ind = tc
    sj = tmp_path / "s.json"
    r = dfl_cli("run", prog, "-I", ind, "--target", target, "--stats-json", sj, "-O", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    assert "rules, busiest first" not in r.stderr  # --stats-json alone prints nothing
    data = json.loads(sj.read_text())
    jsonschema.validate(data, SCHEMA)
    assert data["mode"] == "process" and data["target"] == target
    assert [x["text"] for x in data["rules"] if x["line"] == 4] == [RECURSIVE_RULE]
    assert sum(_deltas(data)) + N == N * (N + 1) // 2


def test_the_schema_refuses_a_document_missing_a_documented_key(dfl_cli, tc, tmp_path) -> None:
    prog, ind = tc
    sj = tmp_path / "s.json"
    assert dfl_cli("run", prog, "-I", ind, "--target", "interp", "--stats-json", sj).returncode == 0
    data = json.loads(sj.read_text())
    del data["fixpoints"][0]["iterations"][0]["delta"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, SCHEMA)


def test_stats_on_the_pool_show_the_same_rounds_as_one_process(dfl_cli, tc, tmp_path) -> None:
    prog, ind = tc
    one, pool = tmp_path / "one.json", tmp_path / "pool.json"
    assert dfl_cli("run", prog, "-I", ind, "--target", "cpu", "--stats-json", one).returncode == 0
    r = dfl_cli("run", prog, "-I", ind, "--workers", "2", "--stats", "--stats-json", pool)
    assert r.returncode == 0, r.stderr
    assert "billed" in r.stderr and "distributed semi-naive" in r.stderr
    data = json.loads(pool.read_text())
    jsonschema.validate(data, SCHEMA)
    assert data["mode"] == "pool" and data["partitions"] == 2
    assert _deltas(data) == _deltas(json.loads(one.read_text()))


# partitioned by x with edge broadcast: each partition runs the fixpoint alone (not a closure
# kernel: the filter), so the pool sums the partitions' own profiles
LOCAL_TC = """\
input edge(a: int, b: int)
output path(a: int, b: int)
path(x, y) :- edge(x, y).
path(x, z) :- path(x, y), edge(y, z), z != x.
"""


def _rules(doc: dict) -> list[tuple]:
    return sorted((r["line"], r["derived"], r["new"]) for r in doc["rules"] if r["scope"])


@pytest.mark.parametrize("schedule", ["pipelined", "stages"])
def test_the_pool_sums_the_partitions_profiles_of_a_local_fixpoint(dfl_cli, write, tmp_path, schedule) -> None:
    prog = write("local.dfl", LOCAL_TC)
    write("in/edge.csv", "a,b\n" + "".join(f"{i},{i + 1}\n" for i in range(N)))
    one, pool = tmp_path / "one.json", tmp_path / "pool.json"
    # interp for the one-process side: the cpu target there claims rows in its joins
    # (claim_join.py), so its rules produce fewer rows than the pool's partitions, which cannot
    assert dfl_cli("run", prog, "-I", tmp_path / "in", "--target", "interp", "--stats-json", one).returncode == 0
    r = dfl_cli("run", prog, "-I", tmp_path / "in", "--workers", "2", "--schedule", schedule, "--stats",
                "--stats-json", pool)
    assert r.returncode == 0, r.stderr
    assert "partitions' profiles" in r.stderr and "path(x, z) :- path(x, y), edge(y, z), z != x." in r.stderr
    data, single = json.loads(pool.read_text()), json.loads(one.read_text())
    jsonschema.validate(data, SCHEMA)
    prof = data["profile"]
    assert prof["mode"] == "partitions" and data["fixpoints"] == []  # no rounds between partitions
    (fx,), (fx1,) = prof["fixpoints"], single["fixpoints"]
    assert fx["seed"] == fx1["seed"] and _deltas(prof) == _deltas(single) == list(range(N - 1, -1, -1))
    assert _rules(prof) == _rules(single)


def test_a_distributed_fixpoints_rules_are_profiled_on_the_workers(dfl_cli, tc, tmp_path) -> None:
    prog, ind = tc
    one, pool = tmp_path / "one.json", tmp_path / "pool.json"
    assert dfl_cli("run", prog, "-I", ind, "--target", "interp", "--stats-json", one).returncode == 0  # no claims
    assert dfl_cli("run", prog, "-I", ind, "--workers", "2", "--stats-json", pool).returncode == 0
    derived = lambda doc: sorted((r["line"], r["derived"]) for r in doc["rules"] if r["scope"])  # noqa: E731
    assert derived(json.loads(pool.read_text())["profile"]) == derived(json.loads(one.read_text()))
