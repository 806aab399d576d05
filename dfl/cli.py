"""The `dfl` command: run, check, ir, compile (LANGUAGE.md §7 for `run`'s contract).

Exit status: 0 success; 1 compile error; 2 bad input or usage; 3 run-time error.
Users never see a traceback for a mistake of theirs; `--debug` shows one.
"""
from __future__ import annotations

import argparse
import os
import sys
import traceback

from dfl.errors import DflError

EXIT_INTERNAL = 70


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

    r = sub.add_parser("run", help="run a program", description="Run a program (LANGUAGE.md §7).")
    r.add_argument("program", help="the .dfl file")
    r.add_argument("-I", "--input-dir", metavar="DIR", help="read input relation r from DIR/r.csv or DIR/r.facts")
    r.add_argument("-O", "--output-dir", metavar="DIR", help="write output relation r to DIR/r.csv")
    r.add_argument("--in", dest="inputs", metavar="NAME=FILE", action="append", default=[],
                   help="read input relation NAME from FILE (.csv or .facts)")
    r.add_argument("--target", default=None, choices=["interp", "cpu", "cuda", "auto"],
                   help="where to run: cpu (compiled, the default), interp (the reference interpreter), "
                        "auto (cpu, else interp, saying so)")
    r.add_argument("--max-ticks", type=int, metavar="N", help="stop after N ticks (default 10000)")
    r.add_argument("--each-tick", action="store_true", help="write DIR/<tick>/<rel>.csv for every tick")
    r.add_argument("--max-rows", type=int, default=1000, metavar="N",
                   help="without -O, print at most N rows per relation (default 1000)")
    _common(r)

    c = sub.add_parser("check", help="check a program; print its relations, strata and recursion")
    c.add_argument("program")
    _common(c)

    i = sub.add_parser("ir", help="print or render the program's IR graph")
    i.add_argument("program")
    i.add_argument("--format", default="text", choices=["text", "json", "dot", "mermaid", "svg", "png"])
    i.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")
    i.add_argument("--unoptimized", action="store_true", help="the IR as lowered, before the passes")
    _common(i)

    k = sub.add_parser("compile", help="stop after a compiler stage and print it")
    k.add_argument("program")
    k.add_argument("--emit", default="opt", choices=["ast", "ir", "opt", "plan", "llvm"],
                   help="ast: the checked AST; ir: the IR as lowered; opt: after the passes (default); "
                        "plan: the cpu target's physical plan (kernels, data structures); "
                        "llvm: the LLVM IR of the cpu target's native kernels")
    k.add_argument("-o", "--output", metavar="FILE")
    _common(k)
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
        print(f"dfl: internal error: {type(e).__name__}: {e}\n"
              f"  this is a bug in DFL; run again with --debug for a traceback and please report it",
              file=sys.stderr)
        return EXIT_INTERNAL


def _print_error(e: DflError) -> None:
    print(e.render(), file=sys.stderr)


def entry() -> None:
    """The console script: main(), then a fast exit (the interpreter's shutdown with numba
    loaded takes ~0.3 s and has nothing left to do once the outputs are flushed)."""
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):
        pass
    os._exit(code)


if __name__ == "__main__":
    entry()
