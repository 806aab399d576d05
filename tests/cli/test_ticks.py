"""Ticks (LANGUAGE.md §8): tables persist, channels arrive at their tick, `next`/`delete`,
insertion wins over deletion, `--max-ticks`, `--each-tick`, quiescence."""
from __future__ import annotations

import pytest

import dfl

KV = """
table   store(k: str, v: int)
channel put(k: str, v: int)
output  cur(k: str, v: int)
output  arrived(k: str)
next    store(k, v) :- put(k, v).
delete  store(k, old) :- put(k, _), store(k, old).
cur(k, v) :- store(k, v).
arrived(k) :- put(k, _).
"""


def kv(**kw):
    return dfl.compile(KV).run(each_tick=True, **kw)


def seq(res, rel: str, expected: list, quiet=None) -> None:
    """rel, tick by tick, is `expected`; the run may add one quiet tick after the last message and
    change (§8 stops once nothing is pending and nothing changed), in which rel is `quiet`
    (by default: as in the last expected tick)."""
    got = [t[rel] for t in res.per_tick]
    assert got[:len(expected)] == expected, got
    assert len(got) <= len(expected) + 1, got
    if len(got) > len(expected):
        assert got[-1] == (expected[-1] if quiet is None else quiet), got
    assert res.ticks == len(got) and res.quiescent


def test_tables_persist_and_channels_are_seen_only_at_their_tick() -> None:
    res = kv(put=[(0, "a", 1), (2, "b", 5)])
    seq(res, "arrived", [[("a",)], [], [("b",)], []], quiet=[])
    seq(res, "cur", [[], [("a", 1)], [("a", 1)], [("a", 1), ("b", 5)]])
    assert res["cur"] == [("a", 1), ("b", 5)]  # the last tick's outputs
    assert res["arrived"] == []


def test_next_inserts_and_delete_removes_at_the_next_tick() -> None:
    res = kv(put=[(0, "a", 1), (1, "a", 2)])
    seq(res, "cur", [[], [("a", 1)], [("a", 2)]])


def test_insertion_wins_over_deletion() -> None:
    # at tick 1, store(a, 1) is both deleted (old value) and inserted (put again): it stays
    res = kv(put=[(0, "a", 1), (1, "a", 1), (3, "b", 2)])
    seq(res, "cur", [[], [("a", 1)], [("a", 1)], [("a", 1)], [("a", 1), ("b", 2)]])
    # nothing changes in tick 1 and nothing else is pending: the run is quiescent (at most a quiet tick later)
    res = kv(put=[(0, "a", 1), (1, "a", 1)])
    seq(res, "cur", [[], [("a", 1)]])


def test_ticks_without_messages_are_run() -> None:
    res = kv(put=[(3, "late", 7)])
    seq(res, "arrived", [[], [], [], [("late",)], []], quiet=[])
    assert res["cur"] == [("late", 7)]


def test_no_messages_at_all_is_one_tick() -> None:
    res = kv(put=[])
    assert res.ticks == 1 and res.quiescent
    assert res["cur"] == []


def test_table_facts_are_the_initial_state() -> None:
    src = KV + 'store("config", 1).\n'
    res = dfl.compile(src).run(put=[(0, "config", 2)], each_tick=True)
    seq(res, "cur", [[("config", 1)], [("config", 2)]])


def test_rel_and_output_are_recomputed_every_tick() -> None:
    src = """
table   t(n: int)
channel c(n: int)
output  now(n: int)
output  all(n: int)
next t(n) :- c(n).
now(n) :- c(n).
all(n) :- t(n).
"""
    res = dfl.compile(src).run(c=[(0, 1), (1, 2)], each_tick=True)
    seq(res, "now", [[(1,)], [(2,)], []], quiet=[])
    seq(res, "all", [[], [(1,)], [(1,), (2,)]])


def test_next_into_a_rel_is_visible_for_one_tick() -> None:
    src = """
channel c(n: int)
rel     later(n: int)
output  o(n: int)
next later(n + 100) :- c(n).
o(n) :- later(n).
"""
    res = dfl.compile(src).run(c=[(0, 1)], each_tick=True)
    got = [t["o"] for t in res.per_tick]
    assert got[:2] == [[], [(101,)]] and all(o == [] for o in got[2:]) and len(got) <= 3
    assert res.quiescent


def test_next_into_a_channel_arrives_at_the_next_tick() -> None:
    src = """
channel ping(n: int)
output  seen(n: int)
next ping(n + 1) :- ping(n), n < 3.
seen(n) :- ping(n).
"""
    res = dfl.compile(src).run(ping=[(0, 0)], each_tick=True)
    seq(res, "seen", [[(0,)], [(1,)], [(2,)], [(3,)]], quiet=[])


def test_a_counter_that_never_settles_stops_at_max_ticks() -> None:
    src = "table c(n: int)\noutput o(n: int)\nc(0).\nnext c(n + 1) :- c(n).\ndelete c(n) :- c(n).\no(n) :- c(n).\n"
    res = dfl.compile(src).run(max_ticks=5)
    assert res.ticks == 5 and not res.quiescent
    assert res["o"] == [(4,)]


def test_a_rule_deriving_the_same_next_row_every_tick_settles() -> None:
    # `next` derives the same row from the same input every tick: from tick 1 on every tick is
    # the same as the one before, so the run is quiescent (it must not run to the tick limit)
    src = "input e(a: int)\nrel r(a: int)\noutput o(a: int)\nnext r(a + 1) :- e(a).\no(a) :- r(a).\n"
    res = dfl.compile(src).run(e=[(1,)], max_ticks=50)
    assert res["o"] == [(2,)]
    assert res.quiescent and res.ticks < 50


def test_negation_in_a_next_rule_over_a_table() -> None:
    src = """
table   seen(k: str)
channel hit(k: str)
output  first(k: str)
table   firsts(k: str)
next seen(k) :- hit(k).
next firsts(k) :- hit(k), !seen(k).
first(k) :- firsts(k).
"""
    res = dfl.compile(src).run(hit=[(0, "a"), (1, "a"), (1, "b"), (2, "b")])
    assert res["first"] == [("a",), ("b",)]


# ---------------------------------------------------------------- the CLI


def test_channel_file_with_a_tick_column(dfl_cli, write, tmp_path) -> None:
    prog = write("prog.dfl", KV)
    write("in/put.csv", "tick,k,v\n2,a,2\n0,a,1\n0,b,9\n")
    r = dfl_cli("run", prog, "-I", tmp_path / "in", "-O", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out" / "cur.csv").read_text() == "k,v\na,2\nb,9\n"
    assert (tmp_path / "out" / "arrived.csv").read_text() == "k\n"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["arrived.csv", "cur.csv"]


def test_channel_facts_file_with_a_tick_column(dfl_cli, write, tmp_path) -> None:
    prog = write("prog.dfl", KV)
    write("in/put.facts", "0\ta\t1\n1\ta\t3\n")
    r = dfl_cli("run", prog, "-I", tmp_path / "in", "-O", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out" / "cur.csv").read_text() == "k,v\na,3\n"


def test_each_tick_writes_one_folder_per_tick(dfl_cli, write, tmp_path, list_files) -> None:
    prog = write("prog.dfl", KV)
    write("in/put.csv", "tick,k,v\n0,a,1\n2,a,2\n")
    r = dfl_cli("run", prog, "-I", tmp_path / "in", "-O", tmp_path / "out", "--each-tick")
    assert r.returncode == 0, r.stderr
    out = tmp_path / "out"
    assert list_files(out) == [f"{t}/{rel}.csv" for t in range(4) for rel in ("arrived", "cur")]
    assert [(out / str(t) / "cur.csv").read_text() for t in range(4)] == [
        "k,v\n", "k,v\na,1\n", "k,v\na,1\n", "k,v\na,2\n"]
    assert [(out / str(t) / "arrived.csv").read_text() for t in range(4)] == ["k\na\n", "k\n", "k\na\n", "k\n"]


def test_each_tick_needs_an_output_dir(dfl_cli, write) -> None:
    prog = write("prog.dfl", KV)
    r = dfl_cli("run", prog, "--each-tick")
    assert r.returncode == 2 and "-O" in r.stderr


@pytest.mark.parametrize("n", ["0", "-1"])
def test_max_ticks_must_be_positive(dfl_cli, write, n: str) -> None:
    prog = write("prog.dfl", KV)
    r = dfl_cli("run", prog, "--max-ticks", n)
    assert r.returncode == 2


COUNTER = "table c(n: int)\noutput o(n: int)\nc(0).\nnext c(n + 1) :- c(n).\ndelete c(n) :- c(n).\no(n) :- c(n).\n"


def test_max_ticks_stops_the_run(dfl_cli, write, tmp_path) -> None:
    prog = write("prog.dfl", COUNTER)
    r = dfl_cli("run", prog, "-O", tmp_path / "out", "--max-ticks", "3")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out" / "o.csv").read_text() == "n\n2\n"
    assert "warning" not in r.stderr  # the user asked for the limit


def test_max_ticks_with_each_tick(dfl_cli, write, tmp_path, list_files) -> None:
    prog = write("prog.dfl", COUNTER)
    r = dfl_cli("run", prog, "-O", tmp_path / "out", "--max-ticks", "4", "--each-tick")
    assert r.returncode == 0, r.stderr
    assert list_files(tmp_path / "out") == ["0/o.csv", "1/o.csv", "2/o.csv", "3/o.csv"]
    assert (tmp_path / "out" / "3" / "o.csv").read_text() == "n\n3\n"


def test_default_tick_limit_warns(dfl_cli, write, tmp_path) -> None:
    prog = write("prog.dfl", COUNTER)
    r = dfl_cli("run", prog, "-O", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    assert "warning" in r.stderr and "quiescence" in r.stderr and "--max-ticks" in r.stderr
    assert "Traceback" not in r.stderr


def test_quiescent_run_does_not_warn(dfl_cli, write, tmp_path) -> None:
    prog = write("prog.dfl", KV)
    write("in/put.csv", "tick,k,v\n0,a,1\n")
    r = dfl_cli("run", prog, "-I", tmp_path / "in", "-O", tmp_path / "out")
    assert r.returncode == 0 and r.stderr == ""


def test_bad_tick_values(dfl_cli, write, tmp_path) -> None:
    prog = write("prog.dfl", KV)
    for content, col in (("tick,k,v\n-1,a,1\n", 1), ("tick,k,v\nsoon,a,1\n", 1)):
        f = write("put.csv", content)
        r = dfl_cli("run", prog, "--in", f"put={f}", "-O", tmp_path / "out")
        assert r.returncode == 2
        assert r.stderr.startswith(f"{f}:2:{col}: input error:") and "tick" in r.stderr
        assert not (tmp_path / "out").exists()


def test_channel_file_without_a_tick_column(dfl_cli, write, tmp_path) -> None:
    prog = write("prog.dfl", KV)
    f = write("put.csv", "k,v\na,1\n")
    r = dfl_cli("run", prog, "--in", f"put={f}", "-O", tmp_path / "out")
    assert r.returncode == 2
    assert r.stderr.startswith(f"{f}:1:") and "tick" in r.stderr and "header" in r.stderr


def test_channel_file_may_be_given_with_in(dfl_cli, write, tmp_path) -> None:
    prog = write("prog.dfl", KV)
    f = write("msgs.csv", "tick,k,v\n1,z,26\n")
    r = dfl_cli("run", prog, "--in", f"put={f}", "-O", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out" / "cur.csv").read_text() == "k,v\nz,26\n"


def test_missing_channel_file(dfl_cli, write, tmp_path) -> None:
    prog = write("prog.dfl", KV)
    r = dfl_cli("run", prog, "-I", tmp_path, "-O", tmp_path / "out")
    assert r.returncode == 2 and "put" in r.stderr


def test_ticked_run_in_a_real_process(dfl_proc, write, tmp_path) -> None:
    prog = write("prog.dfl", KV)
    write("in/put.csv", "tick,k,v\n0,a,1\n1,b,2\n")
    r = dfl_proc("run", prog, "-I", tmp_path / "in", "-O", tmp_path / "out", "--each-tick")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out" / "2" / "cur.csv").read_text() == "k,v\na,1\nb,2\n"
