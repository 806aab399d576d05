"""The CLI's commands, one function each: `cmd_<name>(args) -> exit status`."""
from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from dataclasses import replace
from typing import Callable, TypeVar

from dfl.errors import DflError
from dfl.terminal import printable


def _load(path: str):
    from dfl.api import load

    prog = load(path)
    for w in prog.warnings:
        print(w.render().replace(": error:", ": warning:", 1), file=sys.stderr)
    return prog


def _parse_ins(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise DflError(f"--in takes NAME=FILE, got '{item}'", kind="usage")
        out[name] = path
    return out


def cmd_run(args: argparse.Namespace) -> int:
    _skip_blas_probe()
    from dfl.runtime.io.output import print_tables, write_each_tick, write_outputs

    from dfl.runtime import limits
    from dfl.runtime.options import RunOptions

    files = _parse_ins(args.inputs)
    limit = limits.resolve(args.memory_limit)  # a malformed size is a usage error before any work
    limits.check_workers(args.workers, args.autoscale, args.force_workers)
    if args.max_ticks is not None and args.max_ticks < 1:
        raise DflError("--max-ticks must be at least 1", kind="usage")
    if args.each_tick and not args.output_dir:
        raise DflError("--each-tick writes DIR/<tick>/<rel>.csv and needs -O DIR", kind="usage")
    if args.output_format != "csv" and not args.output_dir:
        raise DflError(f"--output-format {args.output_format} says how -O DIR's files are written, and needs -O DIR",
                       kind="usage")
    _warm_early(args, files)
    prog = _load(args.program)
    for name in files:
        if name not in prog.inputs and name not in prog.channels:
            raise DflError(f"--in {name}=…: '{name}' is not an input or channel relation of {args.program}",
                           kind="usage",
                           hint=f"inputs: {', '.join(sorted(prog.inputs) + sorted(prog.channels)) or 'none'}")
    target = _target(args.target or "cpu")
    if args.messages is not None:
        return _run_messages(args, prog, files, target)
    for flag, on in (("--seed", args.seed is not None), ("--replies", args.replies is not None)):
        if on:
            raise DflError(f"{flag} goes with --messages (the agents' simulation)", kind="usage")
    if prog.agents:
        print(f"dfl: note: {args.program}'s agents run only on messages (dfl run --messages FILE); "
              f"this run is its top-level part", file=sys.stderr)
    opts = RunOptions(target=target, max_ticks=args.max_ticks, each_tick=args.each_tick,
                      memory_limit=limit or 0, force_workers=args.force_workers)
    on_pool = args.workers is not None or args.autoscale is not None or args.engine != "local"
    profile = bool(args.stats or args.stats_json)  # in one process: the profiler (runtime/profile.py)
    if args.stats_json:
        _check_writable_file(args.stats_json, "--stats-json")
    if args.schedule != "pipelined" and not on_pool:
        raise DflError("--schedule says how a run on the worker pool waits between partitions", kind="usage",
                       hint="add --workers N (or --autoscale MIN..MAX, or --engine ray)")
    if args.address and args.engine != "ray":
        raise DflError("--address names a Ray cluster and needs --engine ray", kind="usage")
    if on_pool and target != "interp":  # the interpreter runs in this process: the pool's options do not apply
        opts = replace(opts, workers=args.workers, autoscale=args.autoscale, engine=args.engine,
                       address=args.address, schedule=args.schedule)
    if on_pool and args.autoscale:  # every decision, with its reason, as it is taken
        opts = replace(opts, on_decision=lambda d: print(f"dfl: autoscale: {d.reason}", file=sys.stderr, flush=True))
    if args.target is None and not on_pool:
        target = _default_engine(prog, args.input_dir, files).target
        opts = replace(opts, target=target)
    opts = replace(opts, profile=profile)
    run = lambda o: prog.run_with(o, input_dir=args.input_dir, files=files)  # noqa: E731
    interp = RunOptions(target="interp", max_ticks=args.max_ticks, each_tick=args.each_tick,
                        memory_limit=limit or 0, force_workers=args.force_workers, profile=profile)
    result, _ = _with_fallback(args, target, lambda t: run(opts if t == target else interp))
    if not result.quiescent and args.max_ticks is None:
        print(f"dfl: warning: stopped after {result.ticks} ticks without reaching quiescence; "
              f"the outputs are those of the last tick (set the limit with --max-ticks N)", file=sys.stderr)
    if result.dist is not None:
        from dfl.runtime.stats import print_stats, write_stats_json

        if args.stats:
            print_stats(result.dist, source=prog.source)
        if args.stats_json:
            write_stats_json(result.dist, args.stats_json, prog.source)
    elif result.profile is not None:
        from dfl.runtime.profile_print import print_profile, write_json
        from dfl.runtime.profile_report import profile_json

        data = profile_json(result.profile, prog.source)
        if args.stats:
            print_profile(data)
        if args.stats_json:
            write_json(data, args.stats_json)
    # the rows as the run left them: columns (a Frame) from a columnar backend, not tuples
    relations = {rel: (schema, result.relations[rel]) for rel, schema in prog.outputs.items()}
    if args.output_dir:
        if args.each_tick:
            ticks = [{rel: (schema, t[rel]) for rel, schema in prog.outputs.items()} for t in result.per_tick]
            write_each_tick(args.output_dir, ticks, args.output_format)
        else:
            write_outputs(args.output_dir, relations, args.output_format)
    else:
        print_tables(relations, max_rows=args.max_rows)
    return 0


def _skip_blas_probe() -> None:
    """numba probes for BLAS when it loads (numba.np.arraymath imports scipy.linalg: 0.2-0.5 s
    of every compiled run's start-up here); no DFL kernel calls BLAS (no np.dot, no linalg),
    so the `dfl` process tells numba there is none. Only the command line does this: a
    Python program embedding DFL keeps its numba as it is."""
    if "numba" not in sys.modules:
        sys.modules.setdefault("scipy.linalg.cython_blas", None)  # type: ignore[assignment]


def _warm_early(args: argparse.Namespace, files: dict[str, str]) -> None:
    """Start loading the cpu backend before the program is even compiled when the input
    files alone say the run is large (more than the interpreter's largest limit in -I DIR
    and --in files), so that numba's loading overlaps compiling and reading."""
    if args.target not in (None, "cpu") or args.messages is not None:
        return
    from dfl.compiler.engine_choice import INTERP_MAX_BYTES
    from dfl.runtime.input_sizes import folder_bytes

    if folder_bytes(args.input_dir, files) > INTERP_MAX_BYTES:
        from dfl.runtime.warmup import start_warmup

        start_warmup("cpu")


def _default_engine(prog, input_dir: str | None, files: dict[str, str]):
    """`dfl run` without --target: the interpreter for small input files, else cpu, whose
    loading (numba, kernels) then starts in a thread while the files are read
    (compiler/engine_choice.py; an explicit --target is always honoured)."""
    from dfl.compiler.engine_choice import choose_engine
    from dfl.runtime.input_sizes import input_bytes

    choice = choose_engine(prog.graph, input_bytes({**prog.inputs, **prog.channels}, input_dir, files))
    if choice.target == "cpu":
        from dfl.runtime.warmup import start_warmup

        start_warmup("cpu")
    return choice


T = TypeVar("T")


def _with_fallback(args: argparse.Namespace, target: str, attempt: Callable[[str], T]) -> tuple[T, str]:
    """attempt(target), and the target that gave the answer. A bug of ours in the compiled
    target must not cost the user their answer: when they did not ask for a target, say so
    and run on the reference interpreter. A DflError (the memory limit's among them: a run
    that is too large is too large on any target) and running out of memory do not fall back."""
    try:
        return attempt(target), target
    except DflError:
        raise
    except MemoryError:
        raise DflError("the run ran out of memory", kind="runtime") from None
    except Exception as e:
        if args.target is not None or target == "interp" or args.debug:
            raise
        print(f"dfl: warning: the cpu target failed ({type(e).__name__}: {printable(str(e))}); this is a bug in DFL, "
              f"please report it. Running on the reference interpreter instead.", file=sys.stderr)
        return attempt("interp"), "interp"

def _run_messages(args: argparse.Namespace, prog, files: dict[str, str], target: str) -> int:
    """`dfl run --messages`: the agents' simulation (runtime/agents/), then the top-level
    program as a plain run would, its outputs written beside the agents'."""
    from dfl.runtime.agents.run import reply_text, run_messages, write_replies
    from dfl.runtime.io.output import print_tables, write_outputs

    if not prog.agents:
        raise DflError(f"--messages: {args.program} declares no agent", kind="usage",
                       hint="messages go to agent instances: declare `agent Name { ... }`")
    for flag, on in (("--each-tick", args.each_tick), ("--workers", args.workers is not None),
                     ("--autoscale", args.autoscale is not None), ("--engine", args.engine != "local")):
        if on:
            raise DflError(f"{flag} is not supported with --messages yet", kind="usage")
    if args.replies:
        _check_writable_file(args.replies, "--replies")
    target = "cpu" if target == "auto" else target  # the agents' simulation runs one backend: cpu
    sim, target = _with_fallback(
        args, target, lambda t: run_messages(prog, args.messages, args.input_dir, files, t, args.max_ticks,
                                             args.seed))
    if not sim.quiescent and args.max_ticks is None:
        print("dfl: warning: the agents stopped at the tick limit without reaching quiescence "
              "(set the limit with --max-ticks N)", file=sys.stderr)
    if sim.refused:
        print(f"dfl: warning: {len(sim.refused)} message(s) sent between agents were refused:", file=sys.stderr)
        for why in sim.refused[:20]:
            print(f"  {printable(why)}", file=sys.stderr)
        if len(sim.refused) > 20:
            print(f"  … and {len(sim.refused) - 20} more", file=sys.stderr)
    if args.replies:
        write_replies(args.replies, sim.replies)
    elif sim.replies:
        for r in sim.replies:
            print(printable(f"reply to {r.to}: {r.channel}{reply_text(r.row)}"))
    relations = dict(sim.relations)
    if prog.outputs:
        from dfl.runtime.options import RunOptions

        top = prog.run_with(RunOptions(target=target, max_ticks=args.max_ticks), input_dir=args.input_dir,
                            files=files)
        relations.update({rel: (schema, top.relations[rel]) for rel, schema in prog.outputs.items()})
    if args.output_dir:
        write_outputs(args.output_dir, relations, args.output_format)
    else:
        print_tables(relations, max_rows=args.max_rows)
    return 0


def _check_writable_file(path: str, flag: str) -> None:
    """A usage error now, before the run, if `path` cannot be written as a file: finding out
    after a long run would lose its statistics. Opening it for append tests exactly what
    the write will do (a folder, a missing folder, no permission) without truncating it."""
    if os.path.isdir(path):
        raise DflError(f"{flag} {path}: is a folder; it takes the name of a file to write",
                       kind="usage", hint=f"e.g. {flag} {os.path.join(path, 'stats.json')}")
    existed = os.path.exists(path)
    try:
        with open(path, "a", encoding="utf-8"):
            pass
    except OSError as e:
        raise DflError(f"{flag} {path}: cannot write it: {e.strerror or e}", kind="usage") from None
    if not existed:
        os.remove(path)  # made only to test; a failed run must not leave an empty file behind


def _target(name: str) -> str:
    from dfl.backends import registry

    if name == "auto":
        try:
            import numba  # noqa: F401 - the cpu target's one requirement
        except ImportError:
            print("dfl: --target auto: numba is not installed, running on the interpreter", file=sys.stderr)
            return "interp"
        # cpu or cuda, chosen by the placement for the run's input sizes (Program.run_with);
        # never cuda without a usable GPU (runtime/devices.py)
        return "auto"
    if name == "cuda":
        from dfl.runtime.devices import require_cuda

        require_cuda()  # no usable GPU (or no cuda backend): a usage error, exit 2, before any work
        return name
    if name not in registry.names():
        raise DflError(f"--target {name} is not available in this release", kind="usage",
                       hint=f"use --target {' or '.join(registry.names())}")
    return name


def cmd_check(args: argparse.Namespace) -> int:
    prog = _load(args.program)
    if args.calm:
        from dfl.compiler.calm import analyze

        # an IR file's spans point into the program it came from, not into the IR file
        file = prog.file if prog.checked is not None else None
        _emit(analyze(prog.graph).render(prog.source, file), None)
        for name, at in sorted(prog.agents.items()):  # each agent type is a program of its own
            _emit(f"\n# agent {name}\n" + analyze(at.program.graph).render(prog.source, file), None)
        return 0
    c = _checked(prog, "dfl check (without --calm)")
    # Counted in one pass over the rules: a count per relation was quadratic (10,000 rules took minutes).
    nrules = Counter(r.head.rel for r in c.rules if not r.rule.is_fact)
    nfacts = Counter(r.head.rel for r in c.rules if r.rule.is_fact)
    print(f"{args.program}: ok")
    print(f"relations ({len(c.relations)}):")
    for name, d in sorted(c.relations.items()):
        kinds = " ".join(k for k in ("input", "output", "rel", "table", "channel") if k in d.kinds)
        print(f"  {kinds:<13} {name}{d.schema}   {nrules[name]} rule(s), {nfacts[name]} fact(s)")
    if c.fns:
        print(f"functions ({len(c.fns)}): {', '.join(sorted(c.fns))}")
    print(f"strata ({len(c.strata)}):")
    for s in c.strata:
        rec = "  (recursive)" if s.recursive else ""
        print(f"  {s.index}: {', '.join(s.relations)}{rec}")
    rec = [s for s in c.strata if s.recursive]
    print(f"recursive components: {len(rec)}")
    if c.ticked:
        print("ticked: yes (tables, channels, next or delete)")
    for name, a in sorted(c.agents.items()):
        own = sorted(n for n, d in a.checked.relations.items() if "input" not in d.kinds and not n.startswith("__"))
        sends = sorted(n[len("__send_"):] for n in a.checked.relations if n.startswith("__send_"))
        public = f"; public channels: {', '.join(sorted(a.public))}" if a.public else ""
        sent = f"; sends on: {', '.join(sends)}" if sends else ""
        print(f"agent {name}: {', '.join(own) or 'no relations'}{public}{sent}")
    return 0


def _emit(text: str, path: str | None) -> None:
    if path:
        try:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        except OSError as e:  # the user's path, not a bug of ours
            raise DflError(f"cannot write output {path}: {e.strerror or e}", kind="output") from None
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


def _checked(prog, what: str):
    """The checked AST, which only a .dfl program has: an IR file holds its graph alone."""
    if prog.checked is None:
        raise DflError(f"{what} needs a .dfl program; {prog.file} is an IR file, which holds only the graph "
                       f"it was written with", kind="usage",
                       hint="its graph: dfl ir FILE (or dfl compile FILE --emit opt)")
    return prog.checked


def _graph(prog, optimized: bool):
    if optimized:
        return prog.graph
    from dfl.compiler.lower import lower

    return lower(_checked(prog, "the lowered (unoptimized) graph"))


def cmd_ir(args: argparse.Namespace) -> int:
    from dfl.ir import json_io, render, text

    prog = _load(args.program)
    if prog.agents and args.output and args.format in ("text", "json"):
        # an IR file holds one graph, and an agent type is a graph of its own (docs/agents.md)
        raise DflError(f"{args.program} has agents, and IR files cannot hold them yet", kind="usage",
                       hint="print the graphs to standard output (dfl ir PROG), or compile the .dfl program")
    g = _placed(prog, args.workers).graph if args.placed else _graph(prog, not args.unoptimized)
    fmt = args.format
    if fmt in ("svg", "png"):
        out = args.output or f"{args.program.rsplit('.', 1)[0]}.{fmt}"
        render.render_image(g, fmt, out)
        print(f"wrote {out}", file=sys.stderr)
        return 0
    emit = {"text": text.print_graph, "json": lambda g: json_io.dumps(g, indent=2), "dot": render.to_dot, "mermaid": render.to_mermaid}
    out = emit[fmt](g)
    if fmt == "text" and not args.placed:
        out = _with_agents(out, prog, lambda p: text.print_graph(_graph(p, not args.unoptimized)))
    _emit(out, args.output)
    return 0


def _with_agents(top: str, prog, show) -> str:
    """The top-level program's text, then each agent type's (docs/agents.md: an agent type is
    compiled as a program of its own), each under a `# agent Name` line."""
    if not prog.agents:
        return top
    parts = [top.rstrip("\n")]
    for name, at in sorted(prog.agents.items()):
        parts.append(f"\n# agent {name}\n" + show(at.program).rstrip("\n"))
    return "\n".join(parts) + "\n"


def cmd_compile(args: argparse.Namespace) -> int:
    prog = _load(args.program)
    if args.emit == "plan" and (args.input_dir or args.inputs):
        _emit(_engine_plan(prog, args.input_dir, _parse_ins(args.inputs)), args.output)
        return 0
    if args.emit in ("plan", "llvm"):
        from dfl.backends import registry

        cpu = registry.get("cpu")  # the physical plan is the cpu backend's
        show = cpu.plan_text if args.emit == "plan" else cpu.llvm_text
        _emit(_with_agents(show(prog.graph), prog, lambda p: show(p.graph)), args.output)
        return 0
    if args.emit == "ptx":
        from dfl.backends.cuda.ptx import ptx_text  # no GPU needed: NVVM writes the PTX

        _emit(_with_agents(ptx_text(prog.graph), prog, lambda p: ptx_text(p.graph)), args.output)
        return 0
    if args.emit == "ast":
        from dfl.lang import pretty

        _emit(pretty.program(_checked(prog, "--emit ast").program), args.output)
        return 0
    from dfl.ir import text

    if args.emit == "placed":
        _emit(text.print_graph(_placed(prog, args.workers).graph), args.output)
        return 0
    show = lambda p: text.print_graph(_graph(p, args.emit == "opt"))  # noqa: E731
    _emit(_with_agents(show(prog), prog, show), args.output)
    return 0


def _engine_plan(prog, input_dir: str | None, files: dict[str, str]) -> str:
    """`dfl compile --emit plan -I DIR`: the engine `dfl run` picks for these input files and
    why, then what that engine runs: the interpreter the optimized IR node by node, the cpu
    target its physical plan."""
    from dfl.compiler.engine_choice import choose_engine
    from dfl.runtime.input_sizes import input_bytes

    choice = choose_engine(prog.graph, input_bytes({**prog.inputs, **prog.channels}, input_dir, files))
    head = f"# engine: {choice.target} ({choice.reason}; --target overrides)\n"
    if choice.target == "interp":
        from dfl.ir import text

        show = lambda p: text.print_graph(p.graph)  # noqa: E731
        return head + "# the reference interpreter runs the optimized IR, node by node\n" + \
            _with_agents(show(prog), prog, show)
    from dfl.backends import registry

    plan_text = registry.get("cpu").plan_text
    return head + _with_agents(plan_text(prog.graph), prog, lambda p: plan_text(p.graph))


def _placed(prog, workers: int, rows: dict[str, int] | None = None, naive: bool = False, target: str = "auto"):
    """The program placed for this machine: the cuda device counts only where a usable GPU
    and the cuda backend are (runtime/devices.cost_model)."""
    from dfl.compiler.placement import placement
    from dfl.runtime.devices import cost_model

    if workers < 1:
        raise DflError("--workers must be at least 1", kind="usage")
    return placement(prog.graph, workers, cost_model(rows), naive=naive, target=target)


def cmd_explain(args: argparse.Namespace) -> int:
    """Each top-level operator: its placement and why, estimated rows; each exchange: the
    rows and bytes it moves."""
    from dfl.compiler.cost import DEFAULT_ROWS
    from dfl.compiler.passes.recursion_shapes import describe as describe_shape

    prog = _load(args.program)
    rows: dict[str, int] = {}
    for item in args.rows:
        name, sep, n = item.partition("=")
        count = int(n) if n.isascii() and n.isdigit() else None
        if not sep or count is None or name not in prog.inputs:
            raise DflError(f"--rows takes REL=N for an input relation, got '{item}'", kind="usage",
                           hint=f"inputs: {', '.join(sorted(prog.inputs)) or 'none'}")
        rows[name] = count
    target = getattr(args, "target", None) or "auto"
    placed = _placed(prog, args.workers, rows, args.naive, target)
    lines = [f"{args.program}: placed over {placed.parts} partition(s)"
             + (" (naive plan: every join input shuffled)" if args.naive else "")]
    missing = sorted(set(prog.inputs) - set(rows))
    if missing:
        lines.append(f"input sizes assumed {DEFAULT_ROWS:,} rows for: {', '.join(missing)} (give them with --rows REL=N)")
    for n in placed.notes:
        at = f"line {n.span.line}" if n.span else ""
        lines.append(f"  {n.node:<10} {n.op:<13} {at:<9} est. {n.rows:>12,} rows  {n.text}")
        fix = placed.graph.node(n.node) if n.op == "fixpoint" else None
        if fix is not None and fix.attr("shape") is not None:  # compiler/passes/recursion_shapes.py
            lines.append(f"{'':<36}recursion shape: {describe_shape(fix.attr('shape'), fix.attr('rels')[0])}")
    lines += _device_lines(placed, target)
    ex = [n for n in placed.notes if n.op == "exchange"]
    lines.append(f"{len(ex)} exchange(s), est. {placed.moved_bytes:,} bytes moved")
    _emit("\n".join(lines), None)
    return 0


def _device_lines(placed, target: str) -> list[str]:
    """Where each stratum runs and why (compiler/device_choice.py), and what a run uses; not
    indented (the operators' lines are)."""
    from dfl.runtime.devices import cuda_target

    g = cuda_target()
    gpu = f"GPU: {g.name}" + (" (tests only)" if g.simulator else "") if g.available else f"GPU: none ({g.why})"
    ch = placed.devices
    out = [f"devices (target {target}; {gpu}):"]
    for c in ch.strata:
        out.append(f"stratum {c.stratum}: {c.device}  ({c.why})")
    if placed.split:
        out.append(f"a one-process run: {ch.run_why}")
    else:
        out.append(f"a one-process run uses {ch.run_device}: {ch.run_why}")
    if target == "cuda" and not g.available:
        out.append("dfl run --target cuda would refuse here: " + g.why)
    return out
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """`dfl serve` (docs/serve.md): runtime/serve/server.py does the work."""
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
        import prometheus_client  # noqa: F401
    except ImportError as e:
        raise DflError(f"dfl serve needs the serve extra ({e.name} is missing)", kind="usage",
                       hint="pip install 'dfl[serve]'") from None
    from dfl.runtime.serve.server import ServeOptions, serve

    if not 0 <= args.port <= 65535:
        raise DflError(f"--port must be 0..65535, got {args.port}", kind="usage")
    if args.workers < 1:
        raise DflError(f"--workers must be at least 1, got {args.workers}", kind="usage")
    if args.max_body < 1:
        raise DflError(f"--max-body must be at least 1 byte, got {args.max_body}", kind="usage")
    files = _parse_ins(args.inputs)
    prog = _load(args.program)
    opts = ServeOptions(program=args.program, host=args.host, port=args.port, state=args.state,
                        workers=args.workers, autoscale=args.autoscale, engine=args.engine,
                        target=args.target or "interp", input_dir=args.input_dir, files=files,
                        token_file=args.token_file, ssl_certfile=args.ssl_certfile, ssl_keyfile=args.ssl_keyfile,
                        max_body=args.max_body, idle_s=args.idle, log_level=args.log_level)
    return serve(opts, prog)
