"""`dfl run PROG --messages FILE`: read the messages and the top-level inputs the agents
read, and simulate (sim.py)."""
from __future__ import annotations

import csv

from dfl.runtime.agents.messages import read_messages
from dfl.runtime.agents.sim import Reply, SimResult, simulate
from dfl.ir.values import format_value


def run_messages(prog, path: str, input_dir: str | None, files: dict[str, str], target: str,
                 max_ticks: int | None = None, seed: int | None = None) -> SimResult:
    """`prog`: a dfl.api.Program with agents."""
    msgs = read_messages(path, prog.agents)
    return simulate(prog.agents, msgs, read_agent_inputs(prog, input_dir, files), target, max_ticks, seed)


def read_agent_inputs(prog, input_dir: str | None, files: dict[str, str]) -> dict[str, dict[str, list[tuple]]]:
    """The rows of the top-level inputs each agent type reads, from `-I DIR`/`--in` as a plain
    run reads them."""
    inputs = {}
    for name, at in prog.agents.items():
        p = at.program
        inputs[name] = {rel: p._read(rel, schema, input_dir, files, False) for rel, schema in at.inputs().items()}
    return inputs


def _field(v) -> str:
    return format_value(v)


def write_replies(path: str, replies: list[Reply]) -> None:
    """`--replies FILE`: CSV `to,channel,values...`, in the order the rows were sent."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["to", "channel", "values..."])
        for r in replies:
            w.writerow([r.to, r.channel, *map(_field, r.row)])


def reply_text(row: tuple) -> str:
    return "(" + ", ".join(_field(v) for v in row) + ")"
