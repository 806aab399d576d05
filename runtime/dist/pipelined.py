"""The pipelined driver: a partitioned run with no barrier between stages, only before
the operators that need one (runtime/dist/flow.py says which).

The bulk-synchronous driver (runtime/dist/partitioned.py) runs a tick stage by stage, so
every exchange is a barrier: no partition starts stage s+1 before every partition has
finished stage s. Here each worker is kept busy on its own: as soon as a worker answers,
the rows its exchanges sent are routed to their partitions, and any worker that is free
and has rows waiting is given them at once. A partition runs its monotone operators on
each piece as it comes; an operator that needs all of its input (an aggregate, the
negated side of a negation, a collected output) fires when every sender has *sealed*
the exchanges it depends on, which each does when it has finished that exchange's input.

So the only waits are the coordination points CALM finds (compiler/calm.py), plus the
rounds of a distributed fixpoint, which run when every partition has its inputs and no
other work is in flight (their termination check is global).

Faults: the driver keeps every partition's steps in order. A lost worker is replaced and
its partitions replay their steps (the answers, already routed, are dropped; a step's
answer depends only on the steps before it, so the replay is exact), then the lost step is
sent again. A loss after a distributed fixpoint's rounds restarts the tick, as there.
"""
from __future__ import annotations

from collections import Counter, defaultdict

from dfl.runtime.dist.partitioned import PartitionedPlan, _LostInRound
from dfl.runtime.pools.pool import WorkerLost
from dfl.runtime.dist.flow import iterative
from dfl.runtime.dist.worker import StageOut


class PipelinedPlan(PartitionedPlan):
    schedule = "pipelined"

    def _stages(self, home: dict[int, int], begins, slots: list[int], retries: list[int]) -> dict:
        parts = range(self.parts)
        self._prepare(home, begins, set(slots))
        fixpoints = {n.id: n for n in self.graph.nodes if iterative(n)}
        queue: dict[int, list[tuple]] = {p: [] for p in parts}  # events waiting for each partition
        history: dict[int, list[list[tuple]]] = {p: [] for p in parts}  # each partition's steps so far
        started: set[int] = set()
        inflight: dict[int, list[tuple[int, list[tuple]]]] = {}  # slot -> the (partition, events) sent
        seals: Counter = Counter()
        ready: Counter = Counter()
        finished: set[int] = set()
        collected: dict[str, list] = defaultdict(list)
        rounds_ran = False
        wave = 0
        try:
            while len(finished) < self.parts:
                wave = self._dispatch(home, queue, history, started, inflight, wave)
                if not inflight:
                    due = [f for f, k in ready.items() if k == self.parts]
                    if not due:
                        raise RuntimeError("pipelined run stalled: no partition has work and "
                                           f"{self.parts - len(finished)} are not finished")
                    for fid in due:  # every partition has its inputs, nothing else in flight
                        self._iterate(home, fixpoints[fid])
                        rounds_ran = True
                        del ready[fid]
                        for p in parts:
                            queue[p].append(("fixed", fid))
                    continue
                for slot, res in self.pool.answers(list(inflight)):
                    sent = inflight.pop(slot)
                    if isinstance(res, WorkerLost):
                        self._count_losses([res], home, retries)
                        if rounds_ran:
                            raise _LostInRound([res])  # its replay would need the rounds again
                        self._replay(slot, home, begins, history, sent, queue, started)
                        continue
                    self._check(res)
                    for (p, _), out in zip(sent, res):
                        self._route(p, out, queue, seals, ready, finished, collected)
        except Exception:
            self._drain(inflight)  # no answer may be left in a pipe for the pool's next user
            raise
        except BaseException:  # ^C, SIGTERM: no waiting for the steps out, their workers go
            self.pool.abandon(list(inflight))
            raise
        return self._collect_all(home, collected)

    def _dispatch(self, home, queue, history, started: set[int], inflight, wave: int) -> int:
        """Sends each free worker the events waiting for its partitions (and their first
        step); returns the wave count (the on_stage hook's `stage`)."""
        todo: dict[int, list[tuple[int, list[tuple]]]] = defaultdict(list)
        for p, slot in home.items():
            if slot in inflight or (p in started and not queue[p]):
                continue
            todo[slot].append((p, queue[p]))
            queue[p] = []
            started.add(p)
        if not todo:
            return wave
        if self.on_stage is not None:  # before every wave of steps (fault tests)
            self.on_stage(self.tick, wave, (self.pool, home))
        self.stats.waves += 1
        for slot, sent in todo.items():
            for p, events in sent:
                history[p].append(events)
            inflight[slot] = sent
            self.pool.submit(slot, [("flow", (p, events)) for p, events in sent])
        return wave + 1

    def _route(self, p: int, out: StageOut, queue, seals: Counter, ready: Counter, finished: set[int],
               collected) -> None:
        self._account(out)
        for ex, dests in out.sends.items():
            for d, b in dests.items():
                queue[d].append(("push", ex, b))
        for ex, b in out.broadcasts.items():
            for d in range(self.parts):
                queue[d].append(("push", ex, b))
        for ex in out.sealed:  # every sender's rows of ex are queued before its seal
            seals[ex] += 1
            if seals[ex] == self.parts:
                self.stats.seals += 1
                for d in range(self.parts):
                    queue[d].append(("seal", ex))
        for fid in out.ready:
            ready[fid] += 1
        if out.finished:
            finished.add(p)
            for node, b in out.collected.items():
                collected[node].append((p, b))

    def _replay(self, slot: int, home, begins, history, sent, queue, started: set[int]) -> None:
        """A new process for a lost worker: its partitions replay their steps before the
        lost one, which goes back to the front of their queues."""
        self.pool.replace(slot)
        lost = {p: events for p, events in sent}
        for p, events in lost.items():
            history[p].pop()  # sent again by the next dispatch
            queue[p] = events + queue[p]
            if not history[p]:
                started.discard(p)  # its first step (which may have no events) is still due
        mine = [p for p, sl in home.items() if sl == slot]
        reqs = [self._load()]
        reqs += [("begin", (p, begins[p])) for p in mine]
        for p in mine:
            reqs += [("flow", (p, events)) for events in history[p]]
        res = self.pool.call({slot: reqs})[slot]
        if isinstance(res, WorkerLost):
            return  # died again: the resent step finds it and counts the retry
        self._check(res)
        self.pool.procs[slot].loaded = self.key

    def _drain(self, inflight) -> None:
        while inflight:
            for slot, _ in self.pool.answers(list(inflight)):
                inflight.pop(slot)

