"""The `dfl` command: run, check, ir, compile (LANGUAGE.md §7 for `run`'s contract).

Exit status: 0 success; 1 compile error; 2 bad input or usage; 3 run-time error.
An internal error (a bug of DFL's, not the user's mistake) keeps to these codes: 3 during
`run`, 1 during the other commands (they compile), with a message asking for a report.
Users never see a traceback for a mistake of theirs; `--debug` shows one.
"""
from __future__ import annotations

import argparse
import atexit
import os
import signal
import sys
import traceback

from dfl.errors import EXIT_COMPILE, EXIT_RUNTIME, DflError
from dfl.terminal import printable


def internal_exit_code(command: str) -> int:
    """The status of an internal error: only §7's codes are documented, so a bug during
    `run` is a run-time error (3) and one while checking or compiling a compile error (1)."""
    return EXIT_RUNTIME if command in ("run", "serve") else EXIT_COMPILE


class _Parser(argparse.ArgumentParser):
    """argparse exits with 2 on usage errors, as the contract wants; keep its message short."""

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(2, f"dfl: usage error: {message}\n")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--debug", action="store_true", help="show Python tracebacks (for DFL's developers)")


def build_parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="dfl", description="DFL: a disorderly dataflow language and its compiler.")
    ap.add_argument("--version", action="version", version=f"dfl {_version()}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    r = sub.add_parser("run", help="run a program", description="Run a program (README, \"Running programs\").")
    r.add_argument("program", help="the program: a .dfl file, or an IR file (.dfir text or .json, as `dfl ir` writes it)")
    r.add_argument("-I", "--input-dir", metavar="DIR",
                   help="read input relation r from DIR/r.csv, else DIR/r.facts, .parquet, .arrow, .feather, .jsonl")
    r.add_argument("-O", "--output-dir", metavar="DIR", help="write output relation r to DIR/r.csv")
    r.add_argument("--output-format", default="csv", choices=["csv", "parquet", "arrow", "jsonl"],
                   help="with -O: the format of the output files, DIR/r.csv (default), r.parquet, r.arrow, r.jsonl")
    r.add_argument("--in", dest="inputs", metavar="NAME=FILE", action="append", default=[],
                   help="read input relation NAME from FILE (.csv, .facts, .parquet, .arrow/.feather, .jsonl)")
    r.add_argument("--target", default=None, choices=["interp", "cpu", "cuda", "auto"],
                   help="where to run: cpu (compiled), interp (the reference interpreter; without --target, small "
                        "inputs run there and larger ones on cpu: dfl compile --emit plan -I DIR says which), "
                        "cuda (the GPU; exit 2 without a usable one), auto (cpu or cuda by the cost model for the "
                        "input sizes, never cuda without a GPU; interp without numba, saying so; dfl explain "
                        "says why)")
    r.add_argument("--max-ticks", type=int, metavar="N", help="stop after N ticks (default 10000)")
    r.add_argument("--each-tick", action="store_true", help="write DIR/<tick>/<rel>.csv for every tick")
    r.add_argument("--messages", metavar="FILE",
                   help="simulate the program's agents on the messages in FILE (CSV: time,agent,key,channel,"
                        "values...) and write DIR/<Agent>.<relation>.csv (docs/agents.md)")
    r.add_argument("--seed", type=int, metavar="N",
                   help="with --messages: vary the order and delays of the messages agents send each other, "
                        "drawn from N (a confluent program's results do not change)")
    r.add_argument("--replies", metavar="FILE",
                   help="with --messages: write the rows sent to outside senders' reply addresses to FILE "
                        "(CSV: to,channel,values...)")
    r.add_argument("--max-rows", type=int, default=1000, metavar="N",
                   help="without -O, print at most N rows per relation (default 1000)")
    r.add_argument("--workers", type=int, metavar="N",
                   help="run over N partitions on a pool of N worker processes (default: one process)")
    r.add_argument("--autoscale", metavar="MIN..MAX", nargs="?", const="program",
                   help="a worker pool sized by the autoscaler between MIN and MAX workers (MAX partitions); "
                        "with no range, the program's @replicas(min = .., max = ..), else 0..cores")
    r.add_argument("--engine", default="local", choices=["local", "ray"],
                   help="the worker pool: local processes (default) or Ray actors (needs dfl[ray])")
    r.add_argument("--address", metavar="ADDR", help="with --engine ray: the Ray cluster (default: a local Ray)")
    r.add_argument("--schedule", default="pipelined", choices=["pipelined", "stages"],
                   help="on the worker pool: pipelined (monotone operators run on rows as they arrive; "
                        "barriers only before aggregation, negation and outputs; the default) or stages "
                        "(bulk-synchronous: a barrier at every exchange)")
    r.add_argument("--force-workers", action="store_true",
                   help="allow --workers (or an --autoscale maximum) past 4 worker processes per core")
    r.add_argument("--memory-limit", metavar="SIZE",
                   help="fail (exit 3, naming the operator) rather than build a result that would take the run "
                        "past SIZE, e.g. 4G or 500M; 0 or none: no limit (default: $DFL_MEMORY_LIMIT, else 60%% "
                        "of the machine's memory); on the worker pool each worker checks its share")
    r.add_argument("--stats", action="store_true",
                   help="print a profile (stderr): rules busiest first with their source lines, rows in and out "
                        "of each join, each fixpoint's strategy and iterations, index builds; on the worker "
                        "pool also per-worker statistics and billed worker-seconds (docs/profiling.md)")
    r.add_argument("--stats-json", metavar="FILE",
                   help="write the same statistics as JSON to FILE (schema: docs/profiling.md)")
    _common(r)

    c = sub.add_parser("check", help="check a program; print its relations, strata and recursion")
    c.add_argument("program", help="the .dfl program (with --calm, an IR file too)")
    c.add_argument("--calm", action="store_true",
                   help="CALM analysis: which outputs are monotone, and where coordination is needed and why")
    _common(c)

    i = sub.add_parser("ir", help="print or render the program's IR graph")
    i.add_argument("program", help="the program: a .dfl file, or an IR file (.dfir text or .json, as `dfl ir` writes it)")
    i.add_argument("--format", default="text", choices=["text", "json", "dot", "mermaid", "svg", "png"])
    i.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")
    i.add_argument("--unoptimized", action="store_true", help="the IR as lowered, before the passes")
    i.add_argument("--placed", action="store_true", help="the IR after placement (partitions, devices, exchanges)")
    i.add_argument("--workers", type=int, default=2, metavar="N", help="with --placed: partitions (default 2)")
    _common(i)

    k = sub.add_parser("compile", help="stop after a compiler stage and print it")
    k.add_argument("program", help="the program: a .dfl file, or an IR file (.dfir text or .json, as `dfl ir` writes it)")
    k.add_argument("--emit", default="opt", choices=["ast", "ir", "opt", "placed", "plan", "llvm", "ptx"],
                   help="ast: the checked AST; ir: the IR as lowered; opt: after the passes (default); "
                        "placed: after placement over --workers partitions; "
                        "plan: the cpu target's physical plan (kernels, data structures); "
                        "llvm: the LLVM IR of the cpu target's native kernels; "
                        "ptx: the PTX (sm_90) of every kernel of the cuda target's plan")
    k.add_argument("-o", "--output", metavar="FILE")
    k.add_argument("-I", "--input-dir", metavar="DIR",
                   help="with --emit plan: the inputs `dfl run` would read; the plan then starts with the engine "
                        "`dfl run` without --target picks for their sizes (the interpreter for small files)")
    k.add_argument("--in", dest="inputs", metavar="NAME=FILE", action="append", default=[],
                   help="with --emit plan: an input file, as for `dfl run`")
    k.add_argument("--workers", type=int, default=2, metavar="N", help="with --emit placed: partitions (default 2)")
    _common(k)

    e = sub.add_parser("explain", help="explain the placement: per operator, where it runs and why, rows and bytes moved")
    e.add_argument("program", help="the program: a .dfl file, or an IR file (.dfir text or .json, as `dfl ir` writes it)")
    e.add_argument("--workers", type=int, default=2, metavar="N", help="partitions (default 2)")
    e.add_argument("--rows", metavar="REL=N", action="append", default=[],
                   help="the size of an input relation, for the estimates (default 100,000 rows)")
    e.add_argument("--naive", action="store_true", help="the naive plan (every join input shuffled), to compare")
    e.add_argument("--target", default="auto", choices=["cpu", "cuda", "auto"],
                   help="the devices' rule: every stratum on cpu, on cuda, or auto (the cost model; the default)")
    _common(e)

    s = sub.add_parser("serve", help="host the program's agents behind an HTTP API (docs/serve.md)",
                       description="Host the program's agents behind an HTTP API (docs/serve.md; needs dfl[serve]).")
    s.add_argument("program", help="the .dfl program with agents")
    s.add_argument("--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1, loopback only)")
    s.add_argument("--port", type=int, default=8080, help="the port (default 8080; 0 picks a free one)")
    s.add_argument("--state", metavar="DIR",
                   help="keep the agents' state and messages in DIR (SQLite); without it, state is in memory")
    s.add_argument("--workers", type=int, default=1, metavar="N", help="worker processes for the instances (default 1)")
    s.add_argument("--autoscale", metavar="MIN..MAX", nargs="?", const="program",
                   help="size the workers between MIN and MAX by the agents' @slo; with no range, @replicas")
    s.add_argument("--engine", default="local", choices=["local", "ray"], help="the workers: local processes or Ray")
    s.add_argument("--target", default=None, choices=["interp", "cpu"],
                   help="how instances run their ticks (default interp: the fastest for small ticks)")
    s.add_argument("-I", "--input-dir", metavar="DIR", help="the top-level inputs the agents read, DIR/r.csv")
    s.add_argument("--in", dest="inputs", metavar="NAME=FILE", action="append", default=[],
                   help="read top-level input NAME from FILE")
    s.add_argument("--token-file", metavar="FILE",
                   help="require 'Authorization: Bearer <token>' on every request, the token on FILE's first line")
    s.add_argument("--ssl-certfile", metavar="FILE", help="serve HTTPS with this certificate (PEM)")
    s.add_argument("--ssl-keyfile", metavar="FILE", help="the certificate's private key (PEM)")
    s.add_argument("--max-body", type=int, default=1 << 20, metavar="BYTES",
                   help="refuse request bodies over BYTES with 413 (default 1 MiB)")
    s.add_argument("--idle", type=float, default=60.0, metavar="SECONDS",
                   help="deactivate an instance after this long without messages (default 60)")
    s.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])
    _common(s)
    return ap


def _version() -> str:
    from dfl import __version__

    return __version__


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command is None:
        build_parser().print_help(sys.stderr)
        return 2
    try:
        from dfl import commands

        return getattr(commands, f"cmd_{args.command}")(args)
    except DflError as e:
        if args.debug:
            traceback.print_exc()
        _print_error(e)
        return e.exit_code
    except KeyboardInterrupt:
        print("dfl: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as e:  # a bug of ours, not the user's mistake
        if args.debug:
            traceback.print_exc()
        print(f"dfl: internal error: {type(e).__name__}: {printable(str(e))}\n"
              f"  this is a bug in DFL; run again with --debug for a traceback and please report it",
              file=sys.stderr)
        return internal_exit_code(args.command)


def _print_error(e: DflError) -> None:
    print(e.render(), file=sys.stderr)


def entry() -> None:
    """The console script: main(), then the cleanup (pools, shared-memory files,
    multiprocessing's folder: runtime/pools/shutdown.py), then a fast exit (the interpreter's
    shutdown with numba loaded takes ~0.3 s and has nothing left to do by then).
    SIGTERM unwinds the run like ^C and exits with 143."""
    from dfl.runtime.pools import shutdown

    shutdown.raise_on_sigterm()
    try:
        try:
            code = main()
        finally:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)  # nothing may cut the cleanup short
    except shutdown.Terminated:
        print("dfl: terminated", file=sys.stderr)
        code = shutdown.EXIT_TERMINATED
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):
        pass
    shutdown.run_exit_hooks()
    atexit._run_exitfuncs()  # multiprocessing's (its temporary folder), which os._exit would skip
    os._exit(code)


if __name__ == "__main__":
    entry()
