"""The Ray engine (runtime/pools/ray_engine.py): a placed graph run over 2 partitions on Ray
actors gives exactly what the reference interpreter gives, also when an actor is killed
in the middle of a tick. Skipped when Ray is not installed.

One local Ray serves the whole module: it takes seconds to start. It offers 4 logical
CPUs (Ray's bookkeeping, not a limit on the machine) so that a test's own 2-actor pool
can start while the module's shared pool holds its 2 actors.
"""
from __future__ import annotations

import pytest

ray = pytest.importorskip("ray")

import math  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

import dfl  # noqa: E402
from dfl.compiler.placement import placement  # noqa: E402
from dfl.errors import DflError  # noqa: E402
from dfl.runtime.io.csvio import find_input, read_relation  # noqa: E402
from dfl.runtime.dist.partitioned import PartitionedPlan  # noqa: E402
from dfl.runtime.dist.pipelined import PipelinedPlan  # noqa: E402
from dfl.runtime.pools.ray_engine import RayPool, shutdown  # noqa: E402
from dfl.runtime.ticks import run_ticks  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PARTS = 2


@pytest.fixture(scope="module")
def ray_session():
    """One local Ray for the module, with its files (and HOME, where Ray writes a token)
    under a short temporary folder (Ray's socket paths must stay short)."""
    tmp = tempfile.mkdtemp(prefix="dflray", dir="/tmp" if os.path.isdir("/tmp") else None)
    saved = {k: os.environ.get(k) for k in ("HOME", "RAY_TMPDIR")}
    os.environ["HOME"] = tmp
    os.environ["RAY_TMPDIR"] = tmp
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=4, include_dashboard=False, log_to_driver=False, _temp_dir=tmp)
    try:
        yield
    finally:
        if started:
            shutdown()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def pool(ray_session):
    """Two actors, shared by the parity tests (each run's graph is loaded on first use)."""
    p = RayPool(2)
    yield p
    p.close()


# ---------------------------------------------------------------- helpers


def values_equal(a, b) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def assert_rows(got: list[tuple], want: list[tuple], what: str) -> None:
    got, want = sorted(got), sorted(want)
    ok = len(got) == len(want) and all(
        len(g) == len(w) and all(values_equal(x, y) for x, y in zip(g, w)) for g, w in zip(got, want))
    assert ok, f"{what}:\n  ray:    {got!r}\n  interp: {want!r}"


def run_on_ray(prog, pool, rows, channels=None, on_stage=None, plan_cls=PartitionedPlan):
    placed = placement(prog.graph, PARTS).graph
    plan = plan_cls(placed, pool, PARTS, on_stage=on_stage)
    return run_ticks(prog.graph, plan, rows, channels), plan


def check_same(src: str, pool, plan_cls=PartitionedPlan, **rows) -> None:
    prog = dfl.compile(src)
    got, _ = run_on_ray(prog, pool, rows, plan_cls=plan_cls)
    want = prog.run(target="interp", **rows)
    for rel in prog.outputs:
        assert_rows(list(got.outputs.get(rel, ())), want[rel], f"relation {rel!r}")


def example_rows(prog, case: Path) -> tuple[dict, dict]:
    indir = str(case / "in") if (case / "in").is_dir() else None
    rows, chans = {}, {}
    for rel, schema in {**prog.inputs, **prog.channels}.items():
        is_chan = rel in prog.channels
        path = find_input(rel, indir, {})
        data = read_relation(path, schema, rel, tick_column=is_chan) if path is not None else []
        (chans if is_chan else rows)[rel] = data
    return rows, chans


# ---------------------------------------------------------------- programs

CLOSURE = """
input  edge(a: int, b: int)
output path(a: int, b: int)
path(x, y) :- edge(x, y).
path(x, z) :- path(x, y), edge(y, z).
"""
CLOSURE_ROWS = {"edge": [(i, i + 1) for i in range(30)] + [(30, 0), (40, 41), (41, 40), (7, 40)]}

GROUP_BY = """
input  sale(shop: int, item: int, amount: int)
output per_shop(shop: int, n: int, total: int)
output big(shop: int)
per_shop(s, count(), sum(a)) :- sale(s, i, a).
big(s) :- per_shop(s, n, t), t > 100.
"""
GROUP_BY_ROWS = {"sale": [(i % 7, i, (i * 37) % 50) for i in range(200)]}

JOIN_NEGATION = """
input  person(id: int, city: int)
input  banned(city: int)
input  likes(a: int, b: int)
output ok(id: int, city: int)
output pair(a: int, b: int)
ok(p, c) :- person(p, c), !banned(c).
pair(a, b) :- likes(a, b), ok(a, c), ok(b, c), !likes(b, a).
"""
JOIN_NEGATION_ROWS = {
    "person": [(i, i % 5) for i in range(60)],
    "banned": [(3,)],
    "likes": [(i, (i * 7) % 60) for i in range(60)] + [(5, 10), (10, 5)],
}

STRINGS = """
input  doc(id: int, text: str)
output word(w: str, n: int)
output shout(id: int, s: str)
word(w, count()) :- doc(id, t), w in split(lower(t), " "), w != "".
shout(id, upper(t) + "!") :- doc(id, t), len(t) > 5.
"""
STRINGS_ROWS = {"doc": [(1, "The cat sat"), (2, "the dog  ran"), (3, "Héllo wörld ünïcode"),
                        (4, ""), (5, "a b c a b"), (6, "CAT dog")]}

PROGRAMS = {
    "transitive_closure": (CLOSURE, CLOSURE_ROWS),
    "group_by_count_sum": (GROUP_BY, GROUP_BY_ROWS),
    "join_with_negation": (JOIN_NEGATION, JOIN_NEGATION_ROWS),
    "strings": (STRINGS, STRINGS_ROWS),
}


@pytest.mark.parametrize("plan_cls", [PartitionedPlan, PipelinedPlan], ids=["stages", "pipelined"])
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_program_matches_interp(name: str, plan_cls, pool) -> None:
    src, rows = PROGRAMS[name]
    check_same(src, pool, plan_cls, **rows)


@pytest.mark.parametrize("case", sorted(d for d in EXAMPLES.iterdir() if (d / "prog.dfl").is_file()),
                         ids=lambda c: c.name)
def test_example_matches_interp(case: Path, pool) -> None:
    prog = dfl.load(case / "prog.dfl")
    rows, chans = example_rows(prog, case)
    got, _ = run_on_ray(prog, pool, rows, chans)
    kw = {"input_dir": str(case / "in")} if (case / "in").is_dir() else {}
    want = prog.run(target="interp", **kw)
    assert got.ticks == want.ticks
    for rel in prog.outputs:
        assert_rows(list(got.outputs.get(rel, ())), want[rel], f"{case.name}: relation {rel!r}")


def test_worker_error_is_a_dfl_error(pool) -> None:
    prog = dfl.compile("input n(x: int)\noutput o(q: int)\no(10 // x) :- n(x).")
    with pytest.raises(DflError) as e:
        run_on_ray(prog, pool, {"n": [(2,), (0,), (5,)]})
    assert e.value.kind == "runtime"


# ---------------------------------------------------------------- faults


@pytest.mark.parametrize("plan_cls", [PartitionedPlan, PipelinedPlan], ids=["stages", "pipelined"])
def test_actor_killed_mid_run(plan_cls, ray_session) -> None:
    prog = dfl.compile(CLOSURE)
    killed = []

    def kill_once(tick: int, stage: int, pool_home) -> None:
        p, home = pool_home
        if stage == 1 and not killed:
            killed.append((tick, home[0]))
            p.kill(home[0])

    with RayPool(2) as p:
        got, plan = run_on_ray(prog, p, CLOSURE_ROWS, on_stage=kill_once, plan_cls=plan_cls)
        assert killed, "the placed graph has no stage 1: nothing was killed"
        assert plan.stats.retries >= 1
        assert p.stats.replaced >= 1
        assert p.size() == 2
    want = prog.run(target="interp", **CLOSURE_ROWS)
    assert_rows(got.outputs["path"], want["path"], "path after a killed actor")


def test_pool_lifecycle(ray_session) -> None:
    p = RayPool(2)
    try:
        assert p.size() == 2
        slots = p.acquire(2)
        assert sorted(slots) == [0, 1]
        assert p.load().busy == 2
        res = p.call({s: [] for s in slots})
        assert res == {0: [], 1: []}
        p.release(slots)
        p.resize(1)
        assert p.size() == 1
    finally:
        p.close()
    assert p.size() == 0
    assert p.stats.stopped == 2 and p.stats.busy_s > 0
    assert p.stats.billed_s >= p.stats.busy_s  # each call billed rounded up to the millisecond
    with pytest.raises(RuntimeError):
        p.acquire(1)


def test_without_ray_is_a_usage_error(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    with pytest.raises(DflError) as e:
        RayPool(2)
    assert e.value.kind == "usage"
    assert "pip install 'dfl[ray]'" in e.value.message
