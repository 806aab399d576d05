"""`dfl run PROG --messages FILE`: read the messages and the top-level inputs the agents
read, and simulate (sim.py)."""
from __future__ import annotations

from dfl.runtime.agents.messages import read_messages
from dfl.runtime.agents.sim import SimResult, simulate


def run_messages(prog, path: str, input_dir: str | None, files: dict[str, str], target: str,
                 max_ticks: int | None = None) -> SimResult:
    """`prog`: a dfl.api.Program with agents."""
    msgs = read_messages(path, prog.agents)
    inputs = {}
    for name, at in prog.agents.items():
        p = at.program
        inputs[name] = {rel: p._read(rel, schema, input_dir, files, False) for rel, schema in p.inputs.items()}
    return simulate(prog.agents, msgs, inputs, target, max_ticks)
