"""A program run on the worker pool: placement for the run's inputs, the pool (local or
Ray, fixed or autoscaled), the partitioned driver, and the run's statistics.

`Program.run(..., workers=N)` and `dfl run --workers N` come here; without workers (and
without --autoscale / --engine ray) a run stays in one process (runtime/ticks.py alone).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Callable

from dfl.compiler.cost import CostModel
from dfl.compiler.placement import Hints, Placed, placement
from dfl.errors import DflError
from dfl.ir.hints import program_values
from dfl.runtime.dist.partitioned import PartitionedPlan
from dfl.runtime.options import RunOptions
from dfl.runtime.pools.autoscale import Decision, Policy
from dfl.runtime import limits
from dfl.runtime.ticks import TickRun, run_ticks



@dataclass
class DistRun:
    run: TickRun
    placed: Placed
    plan: PartitionedPlan
    pool_stats: object
    workers_seen: int
    wall_s: float


PROGRAM_RANGE = "program"  # `--autoscale` with no range: the program's @replicas


def policy_for(prog, opts: RunOptions) -> Policy | None:
    """The autoscale policy: the command line's MIN..MAX, or with none the program's
    @replicas (0..cores when it has none); the program's @slo sets the latency target."""
    if opts.autoscale is None:
        return None
    if isinstance(opts.autoscale, Policy):
        return opts.autoscale
    try:
        ann = Policy.from_annotations(program_values(prog.graph, "replicas"),
                                      program_values(prog.graph, "slo"), os.cpu_count() or 1)
        base = ann if opts.autoscale == PROGRAM_RANGE else Policy.parse_range(opts.autoscale)
    except ValueError as e:
        raise DflError(str(e), kind="usage") from None
    if opts.autoscale == PROGRAM_RANGE:  # a command-line range was checked with --workers
        limits.check_worker_count("@replicas(max = ..)", base.max_workers, opts.force_workers)
    # a queued task is a partition waiting for a worker: one worker per partition
    return Policy(min_workers=base.min_workers, max_workers=base.max_workers,
                  target_latency_s=ann.target_latency_s, backlog_per_worker=1.0)


def parts_for(opts: RunOptions, policy: Policy | None) -> int:
    if opts.workers is not None:
        if opts.workers < 1:
            raise DflError("--workers must be at least 1", kind="usage")
        return opts.workers
    if policy is not None:
        return max(1, policy.max_workers)
    return 2


def make_pool(opts: RunOptions, size: int, policy: Policy | None, on_decision: Callable[[Decision], None] | None):
    if opts.engine == "ray":
        from dfl.runtime.pools.ray_engine import RayPool

        return RayPool(size if policy is None else max(policy.min_workers, 0), address=opts.address, policy=policy,
                       log=on_decision)
    if opts.engine != "local":
        raise DflError(f"--engine {opts.engine} is not known", kind="usage", hint="use --engine local or ray")
    from dfl.runtime.pools.pool import LocalPool

    return LocalPool(size if policy is None else None, policy=policy, log=on_decision)


def close_pool(pool) -> None:
    """Stops a pool this run made, and the local Ray it started, if it started one (Ray's
    helper processes would outlive the command otherwise)."""
    pool.close()
    if getattr(pool, "started_ray", False):
        from dfl.runtime.pools.ray_engine import shutdown

        shutdown()


def start_pool(prog, opts: RunOptions):
    """The pool a run on the pool will use, started now (its workers start in the
    background); the caller closes it with close_pool."""
    policy = policy_for(prog, opts)
    return make_pool(opts, parts_for(opts, policy), policy, opts.on_decision)


def _placed(prog, opts: RunOptions, sizes: dict[str, int], read_by_workers=frozenset()):
    """The program placed over the partitions the options ask for, with the run's sizes."""
    parts = parts_for(opts, policy_for(prog, opts))
    # the pool runs one backend on every worker (pool_target): its placement puts every stratum
    # there; a worker's GPU (LocalPool.gpu_slots) is not given cuda strata yet (docs/placement.md)
    target = pool_target(opts)
    return placement(prog.graph, parts, CostModel(rows=sizes), Hints(set(read_by_workers)),
                     target=target if target in ("cpu", "cuda") else "cpu"), parts


def make_plan(graph, pool, parts: int, opts: RunOptions) -> PartitionedPlan:
    """The driver for a placed graph: pipelined (barriers only where an operator needs
    all of its input) or bulk-synchronous stages (a barrier at every exchange)."""
    if opts.schedule == "pipelined":
        from dfl.runtime.dist.pipelined import PipelinedPlan

        return PipelinedPlan(graph, pool, parts, max_retries=opts.max_retries, on_stage=opts.on_stage,
                             target=pool_target(opts))
    return PartitionedPlan(graph, pool, parts, max_retries=opts.max_retries, on_stage=opts.on_stage,
                           target=pool_target(opts))


def pool_target(opts: RunOptions) -> str:
    """The backend whose executor runs the partitions: `auto` is cpu on the pool."""
    return "cpu" if opts.target == "auto" else opts.target


def run_on_pool(prog, rows: dict[str, list[tuple]], chans: dict[str, list[tuple]], opts: RunOptions,
                pool) -> DistRun:
    """The ticks of a run on `pool` (start_pool's, or the caller's own)."""
    from dfl.runtime.io.file_inputs import FileInput, estimated_rows

    sizes = {rel: estimated_rows(r) if isinstance(r, FileInput) else len(r) for rel, r in rows.items()}
    placed, parts = _placed(prog, opts, sizes, {rel for rel, r in rows.items() if isinstance(r, FileInput)})
    t0 = time.monotonic()
    plan = make_plan(placed.graph, pool, parts, opts)
    if opts.profile:  # each partition profiles its nodes; the driver sums them (runtime/profile.py)
        from dfl.runtime.profile import Profile

        prof = plan.stats.profile = Profile()
        prof.target = f"{pool_target(opts)} on {parts} partitions"
        prof.graphs[""] = placed.graph
        prof.graphs.update({n.id: n.attr("body") for n in placed.graph.by_op("fixpoint")})
    run = run_ticks(prog.graph, plan, rows, chans, opts.max_ticks, opts.each_tick)
    seen = len({pid for pid in plan.stats.workers})
    return DistRun(run, placed, plan, pool.stats, seen, time.monotonic() - t0)


class ColumnsOnPool:
    """A partitioned plan for one `run_columns` tick: `.pool` is the driver's string pool
    (for encoding inputs and decoding outputs), `.run_columns` the tick, `.close` gives
    back a pool it created."""

    def __init__(self, plan: PartitionedPlan, own_pool) -> None:
        self.plan = plan
        self.pool = plan.local.pool
        self.own = own_pool

    def run_columns(self, tables):
        return self.plan.run_columns(tables)

    def close(self) -> None:
        if self.own is not None:
            close_pool(self.own)


def columns_on_pool(prog, opts: RunOptions, sizes: dict[str, int]) -> ColumnsOnPool:
    """One columnar tick on `opts.pool`, else on a pool started for it."""
    placed, parts = _placed(prog, opts, sizes)
    own = start_pool(prog, opts) if opts.pool is None else None
    return ColumnsOnPool(make_plan(placed.graph, own or opts.pool, parts, opts), own)
