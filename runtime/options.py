"""How a program runs, in one object: the target, the ticks, the worker pool and the
limits. `Program.run_with(options)` takes it, and the session and the CLI pass it on;
`Program.run(...)`'s keywords are a convenience that builds one."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from dfl.errors import DflError

if TYPE_CHECKING:
    from dfl.runtime.pools.autoscale import Decision, Policy

SCHEDULES = ("pipelined", "stages")


@dataclass(frozen=True)
class RunOptions:
    target: str = "cpu"  # a backend's name (backends/registry.py), or "auto" (placement chooses cpu/cuda
    #                      per run: compiler/device_choice.py); the pool runs cpu
    max_ticks: int | None = None  # None: runtime/ticks.DEFAULT_MAX_TICKS
    each_tick: bool = False  # keep every tick's outputs, not only the last
    # the worker pool: any of these runs the program on it, else in this process
    workers: int | None = None  # fixed pool size (and partitions)
    autoscale: "str | Policy | None" = None  # "MIN..MAX" or a Policy: partitions = MAX
    engine: str = "local"  # local | ray
    address: str | None = None  # a Ray cluster; a local Ray without it
    pool: Any = None  # a pool of the caller's own (runtime/pools/pool.LocalPool), shared between runs
    schedule: str = "pipelined"  # pipelined | stages (bulk-synchronous: a barrier at every exchange)
    max_retries: int = 3  # re-runs of a lost worker's partitions
    on_stage: Callable[[int, int, object], None] | None = None  # (tick, stage, (pool, home)): fault tests
    on_decision: "Callable[[Decision], None] | None" = None  # each autoscale decision
    # limits
    memory_limit: int | str | None = None  # bytes or "4G"; 0 / "none": none; None: the default
    force_workers: bool = False  # allow workers past 4 x the cores
    # in one process: profile the run (Result.profile: runtime/profile.Profile; `dfl run --stats`)
    profile: bool = False

    def __post_init__(self) -> None:
        if self.on_pool:
            self.check_schedule()

    def check_schedule(self) -> None:
        if self.schedule not in SCHEDULES:
            raise DflError(f"schedule {self.schedule!r} is not known", kind="usage",
                           hint=f"use one of: {', '.join(SCHEDULES)}")

    @property
    def wanted(self) -> bool:
        """A pool is asked for by its size, an autoscale range or an engine (not counting
        a pool given)."""
        return self.workers is not None or self.autoscale is not None or self.engine != "local"

    @property
    def on_pool(self) -> bool:
        return self.wanted or self.pool is not None
