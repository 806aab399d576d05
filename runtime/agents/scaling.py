"""The service's autoscale Policy from its agents' annotations (docs/service.md, "Autoscaling").
The policy itself and its rules are runtime/pools/autoscale.py's; the host is its pool."""
from __future__ import annotations

import math
import os

from dfl.runtime.pools.autoscale import Policy


def policy_for(prog, default_max: int | None = None) -> Policy | None:
    """The service's autoscale Policy from its agents' `@replicas(min, max)` and `@slo(p99_ms)`
    (agent-level annotations): the widest replica range and the tightest SLO of any agent;
    None when no agent has either."""
    defs = getattr(getattr(prog.checked, "program", None), "agents", ()) or ()
    rep, slo = {}, {}
    for d in defs:
        for a in d.annotations:
            vals = {k: getattr(v, "value", v) for k, v in a.args if k is not None}  # ast.Const -> value
            if a.name == "replicas":
                rep["min"] = max(rep.get("min", 0), vals.get("min", 0))
                if "max" in vals:
                    rep["max"] = max(rep.get("max", 0), vals["max"])
            elif a.name == "slo" and "p99_ms" in vals:
                slo["p99_ms"] = min(slo.get("p99_ms", math.inf), vals["p99_ms"])
    if not rep and not slo:
        return None
    return Policy.from_annotations(rep or None, slo or None, default_max or os.cpu_count() or 1)
