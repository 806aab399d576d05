"""Benchmark workloads. Each module defines:

- ``NAME``: the workload's name (used by ``--only``);
- ``configs(quick: bool) -> list[dict]``: the sizes to run, each with a ``label``;
- ``generate(cfg, dir, seed)``: writes the seeded data set into ``dir`` (not timed);
- ``SYSTEMS``: ``{system: setup}``; ``setup(cfg, dir)`` loads the data (not timed) and
  returns a ``Cell`` (see ``common.py``) whose ``run()`` is timed.
"""
from . import andersen, cc, cspa, groupby, join, sessions, sg, sssp, tc, wordcount

WORKLOADS = {m.NAME: m for m in (tc, groupby, join, sssp, wordcount)}
# the general recursive workloads of issue 14 (any recursive program, not a recognised shape)
RECURSIVE = {m.NAME: m for m in (andersen, cc, sg, cspa, sessions)}
WORKLOADS.update(RECURSIVE)
