"""Every agent example (examples/*/ with `--messages`) through the simulation: on both targets,
and under many seeds, which vary the order and delays of what agents send each other. The
examples are confluent, so neither may change a file (LANGUAGE.md §8); tests/test_examples.py
checks the default run against out/ byte for byte. The replies each example sends to its
outside senders are checked here too."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import dfl
from dfl.runtime.agents.messages import read_messages
from dfl.runtime.agents.run import read_agent_inputs
from dfl.runtime.agents.sim import simulate

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
AGENT_EXAMPLES = sorted(d.name for d in EXAMPLES.iterdir()
                        if (d / "expect.json").is_file() and "--messages" in json.loads((d / "expect.json").read_text()).get("args", []))
SEEDS = range(25)


def simulated(name: str, target: str = "interp", seed: int | None = None):
    d = EXAMPLES / name
    prog = dfl.load(str(d / "prog.dfl"))
    msgs = read_messages(str(d / "in" / "messages.csv"), prog.agents)
    res = simulate(prog.agents, msgs, read_agent_inputs(prog, str(d / "in"), {}), target, seed=seed)
    assert res.quiescent and not res.refused
    return res


def test_there_are_agent_examples() -> None:
    assert {"counter", "kv_store", "shopping_cart", "chat_room", "two_phase_commit"} <= set(AGENT_EXAMPLES)


@pytest.mark.parametrize("name", AGENT_EXAMPLES)
def test_cpu_agrees_with_the_interpreter(name: str) -> None:
    a, b = simulated(name), simulated(name, "cpu")
    assert a.relations == b.relations
    assert sorted((r.to, r.channel, r.row) for r in a.replies) == sorted((r.to, r.channel, r.row) for r in b.replies)


@pytest.mark.parametrize("name", AGENT_EXAMPLES)
def test_no_seed_changes_a_confluent_example(name: str) -> None:
    base = simulated(name)
    replies = sorted((r.to, r.channel, r.row) for r in base.replies)
    for seed in SEEDS:
        res = simulated(name, seed=seed)
        assert res.relations == base.relations, f"seed {seed}"
        assert sorted((r.to, r.channel, r.row) for r in res.replies) == replies, f"seed {seed}"


def replies(name: str) -> list[tuple]:
    return sorted((r.to, r.channel, r.row) for r in simulated(name).replies)


def test_kv_store_replies_to_each_get() -> None:
    assert replies("kv_store") == [("@client/10", "got", ("bob", "ops")), ("@client/6", "got", ("alice", "admin")),
                                   ("@client/8", "missing", ("grass",)), ("@client/9", "missing", ("alice",))]


def test_the_cart_sends_its_order_at_checkout() -> None:
    assert replies("shopping_cart") == [
        ("@client/10", "order", ("fig", 1)), ("@client/10", "order_total", (1,)),
        ("@client/9", "order", ("apple", 1)), ("@client/9", "order", ("plum", 1)), ("@client/9", "order_total", (2,))]


def test_the_cart_coordinates_only_at_checkout() -> None:
    from dfl.compiler.calm import analyze

    report = analyze(dfl.load(str(EXAMPLES / "shopping_cart" / "prog.dfl")).agents["Cart"].program.graph)
    assert report.tables["adds"] and report.tables["removes"]  # monotone: no coordination
    assert not report.tables["ordered"] and not any(report.outputs.values())  # the checkout path


def test_two_phase_commit_commits_with_all_yes_and_aborts_on_a_no() -> None:
    assert replies("two_phase_commit") == [("@client/3", "result", ("t1", "commit")),
                                           ("@client/4", "result", ("t2", "abort"))]


def test_a_chat_message_from_a_non_member_is_refused_politely() -> None:
    assert replies("chat_room") == [("@client/6", "not_a_member", ("lobby",))]
