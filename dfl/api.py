"""The Python API, a first-class host for DFL programs.

    prog = dfl.load("reach.dfl")                     # or dfl.compile(source), or an IR file: reach.dfir
    result = prog.run(edge=[(1, 2), (2, 3)])         # rows as Python values
    result["path"]                                   # [(1, 2), (1, 3), (2, 3)], sorted
    prog.run(input_dir="data/")                      # or read files, as `dfl run -I`
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Callable

from dfl.errors import DflError
from dfl.ir.graph import Graph
from dfl.ir.types import Schema, Type
from dfl.lang.check import CheckedProgram, check
from dfl.lang.parser import parse
from dfl.ir.values import INT_MAX, INT_MIN, sort_rows


@dataclass
class Result(Mapping):
    """Output relations as sorted lists of tuples; `ticks` is how many ticks ran."""

    relations: dict[str, list[tuple]]
    schemas: dict[str, Schema]
    ticks: int = 1
    quiescent: bool = True
    per_tick: list[dict[str, list[tuple]]] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)
    dist: Any = None  # on the worker pool: runtime/session.DistRun (placement, per-operator stats)
    tables: dict[str, set[tuple]] = field(default_factory=dict)  # each table's rows at the end of the run
    target: str = ""  # the backend that ran it (`auto` resolved: cpu, cuda, or cpu+cuda when split)
    profile: Any = None  # with RunOptions.profile, in one process: runtime/profile.Profile

    def __getitem__(self, name: str) -> list[tuple]:
        if name not in self.relations:
            raise KeyError(f"no output relation '{name}' (outputs: {', '.join(sorted(self.relations))})")
        rows = self.relations[name]
        return rows if isinstance(rows, list) else rows.rows()  # a list, or a Frame (columns)

    def frame(self, name: str):
        """The relation as columns (what the writers and to_arrow use: no tuple per row when
        the backend left it as columns)."""
        from dfl.backends.columnar.frame import Frame

        self[name]  # the KeyError for an unknown name
        return Frame.from_rows(self.relations[name], self.schemas[name]).sorted()

    def to_arrow(self, name: str):
        """The relation as a pyarrow.Table, rows sorted as in the output files."""
        return self.frame(name).to_arrow()

    def to_pandas(self, name: str):
        """The relation as a pandas DataFrame (pandas is optional: `pip install pandas`)."""
        return self.to_arrow(name).to_pandas()

    def to_polars(self, name: str):
        """The relation as a polars DataFrame (polars is optional: `pip install polars`)."""
        import polars as pl

        return pl.from_arrow(self.to_arrow(name))

    def __iter__(self):
        return iter(self.relations)

    def __len__(self) -> int:
        return len(self.relations)

    def as_dicts(self, name: str) -> list[dict[str, Any]]:
        names = self.schemas[name].names
        return [dict(zip(names, r)) for r in self[name]]


class Program:
    """A compiled program, ready to run any number of times.

    Everything a run needs comes from its IR graph (relations, their kinds and schemas,
    annotations), so a Program can be built from a Graph alone (`from_graph`, or `load`
    of an IR file); the checked AST, when there is one, serves `dfl check`, the AST and
    lowered forms and the checker's warnings, and the source text serves carets."""

    def __init__(self, checked: CheckedProgram | None, graph: Graph, *, file: str | None = None,
                 source: str | None = None) -> None:
        self.checked = checked
        self.graph = graph
        self._file = file
        self._source = source
        self._plans: dict[str, Any] = {}
        self.agents: dict[str, Any] = {}  # name -> runtime.agents.types.AgentType

    @classmethod
    def from_graph(cls, graph: Graph, file: str | None = None, source: str | None = None) -> "Program":
        """A program from its IR graph alone (checked with ir/verify.py by the caller). `file`
        names it in messages (default: the file its spans point into); `source`, the text
        of that file, lets a run-time error show its line."""
        return cls(None, graph, file=file, source=source)

    @property
    def file(self) -> str:
        if self.checked is not None:
            return self.checked.program.file
        if self._file is not None:
            return self._file
        return next((n.span.file for n in self.graph.nodes if n.span is not None), "<ir>")

    @property
    def source(self) -> str | None:
        return self.checked.program.source if self.checked is not None else self._source

    @property
    def warnings(self) -> list[DflError]:
        return self.checked.warnings if self.checked is not None else []

    @property
    def inputs(self) -> dict[str, Schema]:
        return {r.name: r.schema for r in self.graph.relations if "input" in r.kinds}

    @property
    def channels(self) -> dict[str, Schema]:
        return {r.name: r.schema for r in self.graph.relations if r.storage == "channel"}

    @property
    def outputs(self) -> dict[str, Schema]:
        return {r.name: r.schema for r in self.graph.relations if "output" in r.kinds}

    def derived(self, rel: str) -> bool:
        """Does the program itself give the input or channel rel rows (facts or rules)? Then
        its file may be absent."""
        return any(r.name == rel and r.derived for r in self.graph.relations)

    @property
    def ticked(self) -> bool:
        """Does the program evaluate in more than one tick (tables, channels, next, delete)?"""
        return any(r.storage != "rel" for r in self.graph.relations) or bool(self.graph.by_op("defer"))

    def plan(self, target: str = "cpu"):
        if target not in self._plans:
            from dfl.backends import registry

            self._plans[target] = registry.get(target).compile(self.graph)
        return self._plans[target]

    def run(self, inputs: Mapping[str, Iterable] | None = None, *, input_dir: str | None = None,
            files: Mapping[str, str] | None = None, target: str = "cpu", max_ticks: int | None = None,
            each_tick: bool = False, workers: int | None = None, autoscale=None, engine: str = "local",
            address: str | None = None, pool=None, on_stage=None, on_decision=None,
            schedule: str = "pipelined", memory_limit: int | str | None = None, force_workers: bool = False,
            **relations: Iterable) -> Result:
        """Runs the program. Rows come from keyword arguments / `inputs` (Python values),
        else from `files` (relation -> path) and `input_dir` (r.csv, else r.facts). The
        other keywords are those of runtime/options.RunOptions (`run_with` takes one).

        On the worker pool with `workers=N` (N partitions on N worker processes),
        `autoscale="MIN..MAX"` (or an autoscale.Policy), `engine="ray"` (with `address`),
        or a `pool` of your own (runtime/pools/pool.LocalPool, shared between runs); results
        are those of a one-process run. `Result.dist` then holds the placement and stats;
        `on_decision` is called with each autoscale decision. `schedule="pipelined"` (the
        default) runs monotone operators on rows as they arrive, with barriers only where
        an operator needs all of its input; `"stages"` puts a barrier at every exchange.

        `memory_limit` (bytes, or a size such as "4G"; 0 or "none": no limit; default: the
        DFL_MEMORY_LIMIT environment variable, else 60% of the machine's memory): an operator
        whose result would pass it fails the run with a run-time DflError naming it, before
        its rows are made; on the pool each worker checks its share. `workers` (or an
        autoscale maximum) past 4 x the cores is refused unless `force_workers`."""
        from dfl.runtime.options import RunOptions

        opts = RunOptions(target=target, max_ticks=max_ticks, each_tick=each_tick, workers=workers,
                          autoscale=autoscale, engine=engine, address=address, pool=pool, schedule=schedule,
                          on_stage=on_stage, on_decision=on_decision, memory_limit=memory_limit,
                          force_workers=force_workers)
        return self.run_with(opts, {**(inputs or {}), **relations}, input_dir=input_dir, files=files)

    def run_with(self, opts, rows: Mapping[str, Iterable] | None = None, *, input_dir: str | None = None,
                 files: Mapping[str, str] | None = None) -> Result:
        """Runs the program as `opts` (runtime/options.RunOptions) says, on `rows` (relation
        -> Python rows), else on `files` and `input_dir` as for `run`."""
        from dfl.runtime import limits

        limit = limits.resolve(opts.memory_limit)
        limits.check_workers(opts.workers, opts.autoscale, opts.force_workers)
        # the pool's modules (and numba) are imported only for a run on the pool
        given = dict(rows or {})
        unknown = [r for r in given if r not in self.inputs and r not in self.channels]
        if unknown:
            raise DflError(f"'{unknown[0]}' is not an input or channel relation of {self.file}", kind="usage",
                           hint=f"inputs: {', '.join(sorted(self.inputs) + sorted(self.channels)) or 'none'}")
        if opts.target == "cuda":
            from dfl.runtime.devices import require_cuda

            require_cuda()
        if opts.on_pool and opts.target not in ("cpu", "auto", "cuda"):
            raise DflError(f"the worker pool runs the cpu and cuda targets, not {opts.target}", kind="usage")
        early = None
        if opts.on_pool and opts.pool is None:
            from dataclasses import replace

            from dfl.runtime.session import close_pool, start_pool

            # the workers start (imports, kernels) while the driver reads the inputs
            early = start_pool(self, opts)
            opts = replace(opts, pool=early)
        try:
            with limits.limited(limit):
                return self._run(given, input_dir, files, opts)
        except limits.LimitExceeded as e:  # raised outside any operator (none known today)
            raise DflError(f"the run would produce {e.rows:,} rows, past the memory limit of "
                           f"{limits.size_text(e.limit)}", kind="runtime") from None
        except MemoryError:
            # the machine (or a ulimit) ran out before the limit's checks saw it coming
            raise DflError("the run ran out of memory", kind="runtime",
                           hint="set a lower --memory-limit (or DFL_MEMORY_LIMIT) to be told which operator "
                                "grows too large") from None
        finally:
            if early is not None:
                close_pool(early)

    def _run(self, given, input_dir, files, opts) -> Result:
        from dfl.runtime.ticks import run_ticks

        rows: dict[str, list[tuple]] = {}
        chans: dict[str, list[tuple]] = {}

        def read_all() -> None:
            for rel, schema in {**self.inputs, **self.channels}.items():
                is_chan = rel in self.channels
                if rel in given:
                    data = _given(rel, schema, given[rel], is_chan)
                else:
                    data = self._read(rel, schema, input_dir, dict(files or {}), is_chan,
                                      by_workers=opts.on_pool and not self.ticked)
                (chans if is_chan else rows)[rel] = data

        if opts.target == "cpu" and not opts.on_pool and _warming():
            _read_while_warming(read_all, self)
        else:
            read_all()
        dist = profile = None
        try:
            if opts.on_pool:
                from dfl.runtime.session import run_on_pool

                dist = run_on_pool(self, rows, chans, opts, opts.pool)
                run = dist.run
            else:
                target = opts.target
                plan = None
                if target == "auto":
                    sizes = {rel: len(r) for rel, r in {**rows, **chans}.items()}
                    placed = self.placed(sizes)
                    target = placed.run_device
                    if placed.split:  # strata on both devices: each on its own, where both have executors
                        from dfl.runtime.split import split_plan

                        plan = split_plan(placed.graph, {"cpu": "cpu", "cuda": "cuda"})
                        target = "cpu+cuda" if plan is not None else target
                plan = plan or self.plan(target)
                if opts.profile:
                    run, profile = _profiled(self.graph, plan, target, rows, chans, opts)
                else:
                    run = run_ticks(self.graph, plan, rows, chans, opts.max_ticks, opts.each_tick)
        except DflError as e:
            for err in e.all():  # run-time errors point into the program: show its line
                if err.source is None and err.span is not None and err.span.file == self.file:
                    err.source = self.source
            raise
        schemas = self.outputs
        outs = {rel: _in_order(run.outputs.get(rel, ()), s) for rel, s in schemas.items()}
        per = [{rel: _in_order(t.get(rel, ()), s) for rel, s in schemas.items()} for t in run.per_tick]
        ran = "cpu" if opts.on_pool else target
        return Result(outs, schemas, run.ticks, run.quiescent, per, run.stats, dist, run.tables, ran, profile)

    def placed(self, sizes: Mapping[str, int] | None = None, target: str = "auto", parts: int = 1):
        """The program placed for this machine and these input sizes (relation -> rows):
        each stratum's device and why, and the device a one-process run uses
        (`.run_device`; compiler/device_choice.py). Never cuda without a usable GPU."""
        from dfl.compiler.placement import placement
        from dfl.runtime.devices import cost_model

        return placement(self.graph, parts, cost_model(dict(sizes or {})), target=target)

    def run_columns(self, target: str = "cpu", *, workers: int | None = None, autoscale=None,
                    engine: str = "local", address: str | None = None, pool=None,
                    schedule: str = "pipelined", **columns) -> dict[str, dict]:
        """One tick on columnar data, with no per-row Python: `columns[rel]` is a sequence of
        numpy arrays (or a dict by column name) in declaration order; string columns may be
        numpy arrays of str (they are dictionary-encoded). Returns each output relation as a
        dict of numpy arrays (strings decoded to object arrays), unsorted. With `workers`
        (or `autoscale`, `engine`, `pool`) the tick runs partitioned on the worker pool,
        columns in and out (batches between processes, no rows)."""
        import numpy as np

        from dfl.backends.columnar.table import DTYPES, Table
        from dfl.runtime.options import RunOptions
        from dfl.runtime.session import columns_on_pool

        if target not in ("cpu", "cuda", "auto"):
            raise DflError("run_columns needs the cpu, cuda or auto target", kind="usage")
        if target == "auto":  # one process: the placement's device for these sizes; the pool runs cpu
            pooled_ask = workers is not None or autoscale is not None or engine != "local" or pool is not None
            target = "cpu" if pooled_ask else self.placed({r: _ncols(c) for r, c in columns.items()}).run_device
        if target == "cuda":
            from dfl.runtime.devices import require_cuda

            require_cuda()
            if workers is not None or autoscale is not None or engine != "local" or pool is not None:
                raise DflError("run_columns on cuda runs in one process (the pool runs cpu)", kind="usage")
        opts = RunOptions(target, workers=workers, autoscale=autoscale, engine=engine, address=address, pool=pool,
                          schedule=schedule)
        opts.check_schedule()
        pooled = opts.on_pool
        # the cuda plan takes and gives the same columnar Tables as the cpu plan (its
        # `pool` encodes strings, `run_columns` runs one tick): backends/cuda's contract
        plan = columns_on_pool(self, opts, {r: _ncols(c) for r, c in columns.items()}) if pooled \
            else self.plan(target)
        enc = {}
        for rel, cols in columns.items():
            schema = self.inputs.get(rel)
            if schema is None:
                raise DflError(f"'{rel}' is not an input relation of {self.file}", kind="usage")
            if isinstance(cols, Mapping):
                cols = [cols[n] for n in schema.names]
            arrs = []
            for c, t in zip(cols, schema.types):
                if t == Type.STR:
                    arrs.append(plan.pool.encode(list(c)))
                else:
                    arrs.append(np.ascontiguousarray(c, dtype=DTYPES[t]))
            enc[("input", rel)] = Table(arrs, len(arrs[0]) if arrs else 0)
        out = {}
        for rel, t in plan.run_columns(enc).items():
            schema = self.outputs[rel]
            out[rel] = {n: (np.array(plan.pool.decode(c), dtype=object) if ty == Type.STR else c)
                        for n, c, ty in zip(schema.names, t.cols, schema.types)}
        if pooled:
            plan.close()
        return out

    def _read(self, rel: str, schema: Schema, input_dir: str | None, files: dict[str, str],
              tick_column: bool, by_workers: bool = False):
        """The rows of an input read from its file; with `by_workers`, a large file the
        workers can read in parts is left to them (a FileInput)."""
        from dfl.runtime.io.csvio import find_input, input_candidates, missing_input
        from dfl.runtime.io.native import read_input

        path = find_input(rel, input_dir, files)
        if path is None:
            if self.derived(rel):
                return []
            raise missing_input(rel, input_candidates(rel, input_dir, files))
        if by_workers and not tick_column:
            from dfl.runtime.io.file_inputs import file_input

            fi = file_input(path, rel, schema)
            if fi is not None:
                return fi
        return read_input(path, schema, rel, tick_column=tick_column)


def compile(source: str, file: str = "<string>") -> Program:  # noqa: A001 - the public name
    """Parses, checks, lowers and optimizes a program given as text."""
    from dfl.compiler.lower import lower
    from dfl.compiler.pipeline import optimize

    checked = check(parse(source, file))
    prog = Program(checked, optimize(lower(checked)))
    if checked.agents:
        from dfl.runtime.agents.types import AgentType

        # each agent type is a program of its own, compiled once (docs/agents.md)
        prog.agents = {name: AgentType(name, Program(a.checked, optimize(lower(a.checked))), a.public, a.allow,
                                       a.shared)
                       for name, a in checked.agents.items()}
    return prog


def load(path: str | os.PathLike) -> Program:
    """A program from its file: a .dfl program, or an IR file (.dfir text or .json, ir/files.py)."""
    path = os.fspath(path)
    from dfl.ir.files import is_ir_file, read_ir_file, read_source

    if is_ir_file(path):
        graph, _ = read_ir_file(path)
        return Program.from_graph(graph, file=path)
    return compile(read_source(path, "program file"), path)


def run(program: str | os.PathLike, *, memory_limit: int | str | None = None, **relations: Iterable) -> Result:
    """Loads a program (a path, or source text when it holds a newline or `:-`) and runs it
    (`memory_limit` as for Program.run)."""
    text = os.fspath(program)
    prog = compile(text) if ("\n" in text or ":-" in text) else load(text)
    return prog.run(memory_limit=memory_limit, **relations)


# ---------------------------------------------------------------- rows given from Python


def _ncols(cols) -> int:
    """Rows in a relation given as columns (for the placement's estimates)."""
    first = next(iter(cols.values() if isinstance(cols, Mapping) else cols), None)
    return len(first) if first is not None else 0


def _warming() -> bool:
    """Has this process asked for the cpu backend's warm-up (a large run: runtime/warmup.py)?"""
    import sys

    return "dfl.runtime.warmup" in sys.modules


def _read_while_warming(read_all: Callable[[], None], prog: "Program") -> None:
    """Read the inputs on a background thread while this thread builds the cpu plan and
    warms it up. The native readers spend their time in Arrow, without the GIL, and numba's
    first kernel call sets up its target for the calling thread only (its typing and
    lowering registries: ~0.5 s), so the thread that will run the kernels is the one that
    must pay it; the two overlap this way round and not the other. A reading error is
    raised here, as reading first would raise it."""
    import threading

    failure: list[BaseException] = []

    def guarded() -> None:
        try:
            read_all()
        except BaseException as e:  # noqa: BLE001 - re-raised on this thread below
            failure.append(e)

    reader = threading.Thread(target=guarded, name="dfl-read-inputs", daemon=True)
    reader.start()
    try:
        from dfl.backends import registry

        prog.plan("cpu")
        registry.warm("cpu", prog.graph)
    except Exception:  # noqa: BLE001 - a failed warm-up shows again when the run builds its plan
        pass
    reader.join()
    if failure:
        raise failure[0]


def _in_order(rows, schema: Schema):
    """An output relation in the contract's order: a Frame sorts its columns (and is often
    sorted already by the backend), rows are sorted as tuples."""
    if isinstance(rows, (list, tuple, set, frozenset)):  # rows (the interpreter's): no numpy needed
        return sort_rows(rows, schema.types)
    return rows.sorted()  # a Frame


def _profiled(graph: Graph, plan, target: str, rows, chans, opts):
    """run_ticks with a profiler in the plan's contexts (runtime/profile.py): the backends
    that evaluate node by node (interp, cpu) hold one; another target's run is timed whole."""
    from dfl.runtime.profile import Profile
    from dfl.runtime.ticks import run_ticks

    profile = Profile()
    profile.target = target
    profile.graphs[""] = getattr(plan, "graph", graph)
    hooked = hasattr(plan, "profile")
    if hooked:
        plan.profile = profile
    try:
        with profile:
            run = run_ticks(graph, plan, rows, chans, opts.max_ticks, opts.each_tick)
    finally:
        if hooked:
            plan.profile = None  # plans are cached on the Program: the next run is not profiled
    return run, profile


def _given(rel: str, schema: Schema, value: Any, is_chan: bool):
    """A relation the caller gave: rows (checked), or columns (a table, a data frame, numpy
    arrays: runtime/io/dataframes.py) kept as columns."""
    from dfl.runtime.io.dataframes import frame_of_value, is_columnar

    if is_columnar(value):
        from dfl.runtime.io.native import with_tick

        frame = frame_of_value(value, with_tick(schema) if is_chan else schema, rel)
        if is_chan and frame.n and int(frame.cols[0].min()) < 0:
            raise DflError(f"{rel}: column tick holds {int(frame.cols[0].min())}; a tick is an int >= 0", kind="input")
        return frame
    return validate_rows(rel, schema, value, tick_column=is_chan)


def validate_rows(rel: str, schema: Schema, rows: Iterable, tick_column: bool = False) -> list[tuple]:
    """Checks Python rows against a schema; an int stands for a float. Errors are bad input (exit 2)."""
    out = []
    types = ([Type.INT] if tick_column else []) + list(schema.types)
    names = (["tick"] if tick_column else []) + list(schema.names)
    if isinstance(rows, (str, bytes)) or not isinstance(rows, Iterable):
        raise DflError(f"rows for '{rel}' must be a list of tuples, not {type(rows).__name__}", kind="input")
    rows = rows if isinstance(rows, list) else list(rows)
    exact = _exact_checker(tuple(types), tick_column)
    if all(map(exact, rows)):  # the common case: tuples of exactly the declared types
        return rows[:]
    for n, row in enumerate(rows, start=1):
        if not isinstance(row, (tuple, list)):
            if len(types) != 1 or row is None:
                raise DflError(f"{rel} row {n}: expected a tuple of {len(types)} value(s), got {row!r}",
                               kind="input")
            row = (row,)
        row = tuple(row)
        if len(row) != len(types):
            raise DflError(f"{rel} row {n}: expected {len(types)} column(s), got {len(row)}: {row!r}", kind="input")
        vals = []
        for i, (v, t) in enumerate(zip(row, types)):
            ok, v2 = _coerce(v, t)
            if not ok:
                raise DflError(f"{rel} row {n}: column {i + 1} ({names[i]}): expected {t}, got {v!r}",
                               kind="input")
            vals.append(v2)
        if tick_column and vals[0] < 0:
            raise DflError(f"{rel} row {n}: tick must be >= 0, got {vals[0]}", kind="input")
        out.append(tuple(vals))
    return out


_EXACT_CACHE: dict[tuple, Callable[[Any], bool]] = {}
_EXACT_TEST = {Type.INT: "type(r[{i}]) is int and -9223372036854775808 <= r[{i}] <= 9223372036854775807",
               Type.FLOAT: "type(r[{i}]) is float", Type.STR: "type(r[{i}]) is str", Type.BOOL: "type(r[{i}]) is bool"}


def _exact_checker(types: tuple[Type, ...], tick_column: bool) -> Callable[[Any], bool]:
    """A generated test: is this row a tuple of values already of the declared Python
    types (and a tick >= 0)? Rows that pass need no conversion; others go through the
    general checks, which convert (an int for a float, numpy scalars) or report."""
    key = (types, tick_column)
    if key not in _EXACT_CACHE:
        tests = [f"type(r) is tuple and len(r) == {len(types)}"]
        tests += [_EXACT_TEST[t].format(i=i) if t in _EXACT_TEST else "False" for i, t in enumerate(types)]
        if tick_column:
            tests.append("r[0] >= 0")
        ns: dict[str, Any] = {}
        exec(f"def _ok(r):\n    return {' and '.join(tests)}\n", ns)  # noqa: S102 - our own generated code
        _EXACT_CACHE[key] = ns["_ok"]
    return _EXACT_CACHE[key]


def _coerce(v: Any, t: Type) -> tuple[bool, Any]:
    import numbers

    if t == Type.BOOL:
        if type(v).__module__ == "numpy" and type(v).__name__ in ("bool_", "bool"):
            return True, bool(v)  # a numpy bool, as numpy data gives
        return isinstance(v, bool), v
    if isinstance(v, bool) or (type(v).__module__ == "numpy" and type(v).__name__ in ("bool_", "bool")):
        return False, v  # a bool is not a number here
    if t == Type.INT:
        if isinstance(v, numbers.Integral) and INT_MIN <= int(v) <= INT_MAX:
            return True, int(v)
        return False, v
    if t == Type.FLOAT:
        if isinstance(v, numbers.Real):
            return True, float(v)
        return False, v
    if t == Type.STR:
        return isinstance(v, str), v
    return False, v
