"""Addresses and sends (LANGUAGE.md §8; lang/addresses.py, lang/sends.py, runtime/agents/sim.py),
on both targets: the interpreter is the oracle and the cpu target must agree."""
from __future__ import annotations

import pytest

import dfl
from dfl.errors import DflError
from dfl.runtime.agents.messages import Message
from dfl.runtime.agents.sim import simulate

TARGETS = ["interp", "cpu"]


def msg(time: int, agent: str, key: str, channel: str, *values, line: int = 0) -> Message:
    return Message(time, agent, key, channel, tuple(values), line)


def run(src: str, msgs: list[Message], target: str = "interp", seed: int | None = None):
    res = simulate(dfl.compile(src).agents, msgs, {}, target, seed=seed)
    assert res.quiescent
    return res


def rows(res, name: str) -> list[tuple]:
    return res.relations[name][1]


PING = """
agent Pinger {
  @public channel start(peer: str, n: int)
  channel pong(n: int, from: addr)
  table got(n: int, from: addr)
  ping@p(n, self) :- start(peer, n), p = Ponger(peer).
  next got(n, f) :- pong(n, f).
  ping@f(n - 1, self) :- pong(n, f), n > 0.
}
agent Ponger {
  channel ping(n: int, from: addr)
  table seen(n: int, from: str)
  next seen(n, agent_of(f) + ":" + key_of(f)) :- ping(n, f).
  pong@f(n, self) :- ping(n, f).
}
"""


@pytest.mark.parametrize("target", TARGETS)
def test_two_agents_play_ping_pong_through_their_addresses(target: str) -> None:
    res = run(PING, [msg(0, "Pinger", "a", "start", "b", 3)], target)
    assert rows(res, "Pinger.got") == [("a", n, "Ponger/b") for n in range(4)]
    assert rows(res, "Ponger.seen") == [("b", n, "Pinger:a") for n in range(4)]


SELFISH = """
agent Loop {
  @public channel go(n: int)
  channel again(n: int)
  table trail(n: int, me: addr)
  again@self(n) :- go(n).
  again@self(n - 1) :- again(n), n > 0.
  next trail(n, self) :- again(n).
}
"""


@pytest.mark.parametrize("target", TARGETS)
def test_a_send_to_self_arrives_at_a_later_tick_of_the_same_instance(target: str) -> None:
    res = run(SELFISH, [msg(0, "Loop", "x", "go", 2)], target)
    assert rows(res, "Loop.trail") == [("x", 0, "Loop/x"), ("x", 1, "Loop/x"), ("x", 2, "Loop/x")]
    assert res.ticks >= 4  # go, again 2, again 1, again 0: one tick each


KV = """
agent Kv {
  @public channel put(key: str, val: str)
  @public channel get(key: str, client: addr)
  table store(key: str, val: str)
  next store(k, v) :- put(k, v).
  got@c(k, v) :- get(k, c), store(k, v).
  missing@c(k) :- get(k, c), !store(k, _).
}
"""


@pytest.mark.parametrize("target", TARGETS)
def test_replies_go_back_to_the_outside_sender_labelled_with_their_channel(target: str) -> None:
    res = run(KV, [msg(0, "Kv", "m", "put", "a", "1"), msg(1, "Kv", "m", "get", "a", "@client/7"),
                   msg(1, "Kv", "m", "get", "z", "@client/8")], target)
    assert [(r.to, r.channel, r.row) for r in res.replies] == [("@client/7", "got", ("a", "1")),
                                                                 ("@client/8", "missing", ("z",))]


def test_an_outside_row_may_leave_out_its_last_addr_column(write, tmp_path, dfl_cli) -> None:
    p = write("kv.dfl", KV)
    m = write("m.csv", "time,agent,key,channel\n0,Kv,m,put,a,1\n1,Kv,m,get,a\n2,Kv,m,get,a,@client/x\n")
    out = tmp_path / "rep.csv"
    r = dfl_cli("run", p, "--messages", m, "-O", str(tmp_path / "o"), "--replies", str(out))
    assert r.returncode == 0, r.stderr
    assert out.read_text() == "to,channel,values...\n@client/3,got,a,1\n@client/x,got,a,1\n"
    r = dfl_cli("run", p, "--messages", m)
    assert "reply to @client/3: got(a, 1)" in r.stdout


def test_a_row_short_by_more_than_its_addr_is_an_input_error(write, dfl_cli) -> None:
    p = write("kv.dfl", KV)
    m = write("m.csv", "time,agent,key,channel\n0,Kv,m,get\n")
    r = dfl_cli("run", p, "--messages", m)
    assert r.returncode == 2 and "or one less: the last column is an addr" in r.stderr


ALLOW = """
agent Bank {
  @allow(Teller) channel credit(n: int)
  table balance(n: int)
  next balance(n) :- credit(n).
}
agent Teller {
  @public channel pay(n: int, to: addr)
  credit@t(n) :- pay(n, t).
}
agent Thief {
  @public channel steal(n: int, to: addr)
  credit@t(n) :- steal(n, t).
}
"""


@pytest.mark.parametrize("target", TARGETS)
def test_allow_refuses_at_run_time_a_sender_the_source_does_not_name(target: str) -> None:
    res = run(ALLOW, [msg(0, "Teller", "t", "pay", 5, "Bank/b"), msg(0, "Thief", "x", "steal", 9, "Bank/b")], target)
    assert rows(res, "Bank.balance") == [("b", 5)]
    assert len(res.refused) == 1 and "Thief/x -> Bank/b" in res.refused[0] and "@allow" in res.refused[0]


def test_allow_is_a_compile_error_where_the_destination_is_known() -> None:
    src = ALLOW.replace("credit@t(n) :- steal(n, t).", 'credit@t(n) :- steal(n, _), t = Bank("b").')
    with pytest.raises(DflError) as e:
        dfl.compile(src)
    assert "Bank.credit accepts messages only from Teller" in e.value.message and e.value.span.line == 13


@pytest.mark.parametrize("target", TARGETS)
def test_sends_the_runtime_cannot_deliver_are_refused_and_counted(target: str) -> None:
    src = """
agent A {
  @public channel go(to: addr)
  channel hello(n: int)
  hello@t(1) :- go(t).
}
agent B {
  channel other(n: int)
}
"""
    res = run(src, [msg(0, "A", "a", "go", "B/b"), msg(0, "A", "a", "go", "Nobody/x")], target)
    assert sorted(r.split(": ", 1)[1] for r in res.refused) == ["agent B has no channel hello",
                                                               "there is no agent Nobody"]


def test_send_errors_point_at_the_rule() -> None:
    cases = {
        "agent A {\n  table t(n: int)\n  t@self(1) :- t(_).\n}\n": "is a table of agent A; a send goes to a channel",
        "agent A {\n  channel c(n: int)\n  c@self(1, 2) :- c(_).\n}\n": "has 1 column(s) but this send gives 2",
        'agent A {\n  channel c(n: int)\n  x@d(1) :- c(_), d = B("k").\n}\nagent B {\n}\n': "agent B has no channel 'x'",
        'agent A {\n  channel c(t: addr)\n  r@t(1) :- c(t).\n  r@t("s") :- c(t).\n}\n':
            "the sends on 'r' give rows of different types",
        "agent A {\n  channel c(n: int)\n  c@self(1) :- c(_), A(1, 2) = self.\n}\n": "takes one argument",
        'agent A {\n  channel c(n: int)\n  c@d(1) :- c(_), d = A(3).\n}\n': "needs a str key",
        "agent A {\n  channel c(n: int)\n  c@self(1) :- c(_), self < self.\n}\n": "only be compared with = and !=",
        "agent A {\n  table __x(n: int)\n}\n": "reserved",
    }
    for src, words in cases.items():
        with pytest.raises(DflError) as e:
            dfl.compile(src)
        assert words in e.value.message, (src, e.value.message)


def test_an_addr_column_prints_name_slash_key_and_compares_as_that_string() -> None:
    src = """
input who(k: str)
output addrs(a: addr, ag: str, key: str, same: bool)
addrs(a, agent_of(a), key_of(a), a = B("x/y")) :- who(k), a = B(k).
agent B {
}
"""
    for target in TARGETS:
        res = dfl.compile(src).run({"who": [("x/y",), ("z",)]}, target=target)
        assert sorted(res["addrs"]) == [("B/x/y", "B", "x/y", True), ("B/z", "B", "z", False)]


@pytest.mark.parametrize("seed", range(12))
def test_a_confluent_exchange_gives_one_result_under_every_seed(seed: int) -> None:
    base = run(PING, [msg(0, "Pinger", "a", "start", "b", 5), msg(0, "Pinger", "c", "start", "b", 2)])
    res = run(PING, [msg(0, "Pinger", "a", "start", "b", 5), msg(0, "Pinger", "c", "start", "b", 2)], seed=seed)
    assert res.relations == base.relations


def test_a_seed_changes_delivery_ticks_for_an_order_sensitive_program() -> None:
    """A program that keeps only the first message it gets is not confluent: some seed must
    show it (else the seed would not vary anything)."""
    src = """
agent Src {
  @public channel go(n: int)
  first@s(n) :- go(n), s = Sink("s").
}
agent Sink {
  channel first(n: int)
  table kept(n: int)
  table any(b: bool)
  next kept(n) :- first(n), !any(true).
  next any(true) :- first(_).
}
"""
    msgs = [msg(0, "Src", str(i), "go", i) for i in range(4)]
    seen = {tuple(run(src, msgs, seed=s).relations["Sink.kept"][1]) for s in range(20)}
    assert len(seen) > 1


SHARED = """
input price_in(item: str, p: int)
table price(item: str, p: int)
price("tea", 3).
next price(i, p) :- price_in(i, p).
rel cheap(item: str)
cheap(i) :- price(i, p), p < 4.
agent Shop {
  @public channel buy(item: str, client: addr)
  table sold(item: str, p: int)
  next sold(i, p) :- buy(i, _), price(i, p).
  cost@c(i, p) :- buy(i, c), price(i, p).
}
"""


@pytest.mark.parametrize("target", TARGETS)
def test_agents_read_a_top_level_table_as_the_top_level_run_leaves_it(write, tmp_path, dfl_cli, target) -> None:
    p = write("shop.dfl", SHARED)
    write("in/price_in.csv", "item,p\ncoffee,5\n")
    m = write("in/m.csv", "time,agent,key,channel\n0,Shop,a,buy,tea\n0,Shop,a,buy,coffee\n")
    r = dfl_cli("run", p, "-I", str(tmp_path / "in"), "--messages", m, "-O", str(tmp_path / "o"), "--target", target)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "o" / "Shop.sold.csv").read_text() == "instance,item,p\na,coffee,5\na,tea,3\n"


def test_an_agent_reads_no_top_level_rule_relation() -> None:
    with pytest.raises(DflError) as e:
        dfl.compile(SHARED.replace("next sold(i, p) :- buy(i, _), price(i, p).", "next sold(i, 1) :- buy(i, _), cheap(i)."))
    assert "reads the top-level rel 'cheap'" in e.value.message and "agents read top-level inputs and tables only" in e.value.message
