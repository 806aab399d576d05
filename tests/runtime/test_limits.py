"""The memory limit (runtime/limits.py): sizes, its sources, and the operators that check it."""
from __future__ import annotations

import os

import numpy as np
import pytest

import dfl
from dfl.errors import DflError
from dfl.ir.types import Column, Schema, Type
from dfl.runtime import limits

CROSS = "input a(x: int)\ninput b(y: int)\noutput p(x: int, y: int)\np(x, y) :- a(x), b(y).\n"
KEYED = "input c(x: int, k: int)\noutput p(x: int, y: int)\np(x, y) :- c(x, k), c(y, k).\n"
RANGE = "input a(x: int)\noutput p(x: int, y: int)\np(x, y) :- a(x), y in range(0, 1000000000).\n"


@pytest.mark.parametrize("text, size", [("4G", 4 << 30), ("500M", 500 << 20), ("1.5g", 3 << 29), ("64KiB", 64 << 10),
                                        ("123", 123), ("0", None), ("none", None), (" 2 GB ", 2 << 30)])
def test_sizes(text, size):
    assert limits.parse_size(text) == size


@pytest.mark.parametrize("text", ["", "4X", "-1G", "G", "1..2"])
def test_bad_sizes_are_usage_errors(text):
    with pytest.raises(DflError) as e:
        limits.parse_size(text)
    assert e.value.kind == "usage"


def test_the_default_is_a_share_of_the_machine(monkeypatch):
    monkeypatch.delenv(limits.ENV, raising=False)
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert limits.resolve(None) == int(total * limits.DEFAULT_SHARE)
    monkeypatch.setenv(limits.ENV, "3G")
    assert limits.resolve(None) == 3 << 30
    assert limits.resolve("1G") == 1 << 30 and limits.resolve(0) is None and limits.resolve(1000) == 1000


@pytest.mark.parametrize("target", ["cpu", "interp"])
@pytest.mark.parametrize("src, inputs, op, rows", [
    (CROSS, {"a": [(i,) for i in range(20_000)], "b": [(i,) for i in range(20_000)]}, "join", "400,000,000"),
    (KEYED, {"c": [(i, 1) for i in range(20_000)]}, "join", None),
    (RANGE, {"a": [(1,), (2,)]}, "flat_map", None),
])
def test_an_operator_past_the_limit_fails_naming_itself(target, src, inputs, op, rows):
    with pytest.raises(DflError) as e:
        dfl.compile(src).run(target=target, memory_limit="300M", **inputs)
    msg = str(e.value)
    assert e.value.kind == "runtime" and e.value.span is not None and e.value.span.line == src.count("\n")  # the rule
    assert f"the {op} n" in msg and "past the memory limit of 300.0 MB" in msg
    if rows:  # known before any row is made, on both targets
        assert f"would produce {rows} rows" in msg


def test_the_cpu_join_counts_before_it_allocates():
    # a keyed join of 2 * 10^9 pairs: counted by the kernel, never built
    c = [(i, i % 2) for i in range(2 * 31_623)]
    with pytest.raises(DflError, match=r"would produce 2,000,\d{3},\d{3} rows"):
        dfl.compile(KEYED).run(target="cpu", memory_limit="1G", c=c)


def test_no_limit_and_a_large_enough_one_give_the_same_rows():
    inputs = {"a": [(i,) for i in range(300)], "b": [(i,) for i in range(300)]}
    prog = dfl.compile(CROSS)
    assert prog.run(memory_limit=0, **inputs)["p"] == prog.run(memory_limit="4G", **inputs)["p"]
    assert len(prog.run(memory_limit="none", **inputs)["p"]) == 90_000


def test_fixpoint_growth_is_checked_before_the_columns_grow():
    from dfl.backends.cpu.fixpoint import Growing

    g = Growing(Schema((Column("a", Type.INT), Column("b", Type.INT))))
    cols = [np.arange(1_000_000), np.arange(1_000_000)]
    with limits.limited(1 << 20), pytest.raises(limits.LimitExceeded) as e:
        g.append(cols, 1_000_000)
    assert e.value.rows == 1_000_000 and g.n == 0
    g.append(cols, 1_000_000)  # no limit outside the block
    assert g.n == 1_000_000


def test_the_api_refuses_workers_past_four_per_core():
    prog = dfl.compile(CROSS)
    with pytest.raises(DflError, match="worker processes per core") as e:
        prog.run(workers=100_000, a=[], b=[])
    assert e.value.kind == "usage"
    limits.check_workers(100_000, None, force=True)  # forced: the caller means it
    limits.check_workers(limits.max_workers(), f"1..{limits.max_workers()}")


def test_a_closure_past_the_limit_stops_counting_early(monkeypatch):
    """The closure kernel counts its result before it builds it; under a limit it counts
    the sources in pieces and stops once the running total is past the room left, so a
    closure of billions of pairs is refused after a fraction of its count."""
    from dfl.backends.cpu import kernels as K
    from dfl.backends.cpu import special

    counted: list[int] = []
    bfs = K.closure_bfs

    def recording(src_off, *args):
        if args[-1]:  # the counting pass
            counted.append(len(src_off) - 1)
        return bfs(src_off, *args)

    monkeypatch.setattr(K, "closure_bfs", recording)
    n = 2000  # one cycle: every node reaches all n, so the closure has n * n rows
    edges = [(i, (i + 1) % n) for i in range(n)]
    prog = dfl.compile("input edge(a: int, b: int)\noutput path(a: int, b: int)\n"
                       "path(x, y) :- edge(x, y).\npath(x, z) :- path(x, y), edge(y, z).\n")
    room = 10 << 20  # ~437k rows of 24 bytes: past it within the first pieces of 4M
    with pytest.raises(DflError) as e:
        prog.run(target="cpu", edge=edges, memory_limit=limits.resident() + room)
    assert e.value.kind == "runtime" and "fixpoint" in e.value.message and "at least" in e.value.message
    assert sum(counted) < n // 2, counted
    assert len(counted) <= 4 and special.COUNT_CHUNKS >= 8
