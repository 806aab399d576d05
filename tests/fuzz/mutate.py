"""Mutated DFL programs for fuzzing `dfl check` (tests/fuzz/test_fuzz_check.py, run_fuzz.py).

The corpus is every examples/*/prog.dfl (always there) and, when present beside the
clone, every ../shared/acceptance/*/prog.dfl. A case is one corpus program changed by one
to three mutations at the token level (delete, duplicate, swap, insert a random token,
truncate) or the structural level (deep nesting, huge literals, odd characters, a line
repeated). `check_case` runs `dfl check` in-process and says whether it crashed: an exit
status other than 0 or 1, a message-less failure, or an internal error (exit 70).
"""
from __future__ import annotations

import contextlib
import io
import random
import re
import tempfile
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|\d+\.\d+(?:e[-+]?\d+)?|\d+|[A-Za-z_]\w*|:-|//|<=|>=|!=|\S|\s+')
VOCAB = ["input", "output", "rel", "table", "channel", "agent", "fn", "next", "delete", "if", "then", "else",
         "in", "true", "false", "int", "float", "str", "bool", "addr", "min<int>", "max<float>", "count", "sum",
         "min", "max", "mean", ":", ":-", ".", ",", ";", "(", ")", "{", "}", "!", "=", "!=", "<", "<=", ">", ">=",
         "+", "-", "*", "/", "//", "%", "@", "@partition(x)", "@device(cpu)", "_", "x", "y", "\n", "#",
         '"', '""', '"\\"', "->", "abs", "split", "range", "hash", "to_int", "pow", "len", "substr", "sqrt",
         "0", "-1", "1e999", "1e-999", "9223372036854775808", "-9223372036854775808", "0.0", "-0.0",
         "\u00e9", "\x00", "\t", "\\", "'", "`", "$", "?", "[", "]"]
HUGE = ["9" * 40, "1e999", "-1e999", "1" + "0" * 19, "9223372036854775807", "-9223372036854775808",
        '"' + "a" * 5000 + '"', "1.0e308", "4.9e-324", "0.0000000000000000000001"]
NEST = ["({})", "abs({})", "-({})", "(if true then {} else 0)", "({} + 1)", "!({})", "(({}), x)"]


def corpus() -> list[tuple[str, str]]:
    """(name, source) of every corpus program: the examples, then the acceptance suite if present."""
    files = sorted((REPO / "examples").glob("*/prog.dfl"))
    shared = REPO.parent / "shared" / "acceptance"
    if shared.is_dir():
        files += sorted(shared.glob("*/prog.dfl"))
    return [(f"{p.parent.parent.name}/{p.parent.name}", p.read_text(encoding="utf-8")) for p in files]


def mutate(src: str, rng: random.Random) -> str:
    for _ in range(rng.randint(1, 3)):
        src = rng.choice(_MUTATIONS)(src, rng)
    return src


def _tokens(src: str) -> list[str]:
    return TOKEN.findall(src) or [""]


def _solid(toks: list[str], rng: random.Random) -> int:
    """The index of a random token that is not whitespace (0 if there is none)."""
    idx = [i for i, t in enumerate(toks) if not t.isspace()]
    return rng.choice(idx) if idx else 0


def _delete(src, rng):
    toks = _tokens(src)
    del toks[_solid(toks, rng)]
    return "".join(toks)


def _duplicate(src, rng):
    toks = _tokens(src)
    i = _solid(toks, rng)
    toks.insert(i, toks[i])
    return "".join(toks)


def _swap(src, rng):
    toks = _tokens(src)
    i, j = _solid(toks, rng), _solid(toks, rng)
    toks[i], toks[j] = toks[j], toks[i]
    return "".join(toks)


def _insert(src, rng):
    toks = _tokens(src)
    toks.insert(rng.randrange(len(toks) + 1), rng.choice(VOCAB + [rng.choice(toks)]))
    return "".join(toks)


def _truncate(src, rng):
    return src[:rng.randrange(len(src) + 1)]


def _nest(src, rng):
    """Wraps one token in a few hundred levels of parentheses, calls or negations."""
    toks = _tokens(src)
    i = _solid(toks, rng)
    wrap = rng.choice(NEST)
    t = toks[i]
    for _ in range(rng.choice([5, 60, 250, 300, 700])):
        t = wrap.format(t)
    toks[i] = t
    return "".join(toks)


def _huge(src, rng):
    toks = _tokens(src)
    nums = [i for i, t in enumerate(toks) if t[:1].isdigit() or t[:1] == '"'] or [_solid(toks, rng)]
    toks[rng.choice(nums)] = rng.choice(HUGE)
    return "".join(toks)


def _odd_chars(src, rng):
    i = rng.randrange(len(src) + 1)
    return src[:i] + rng.choice(["\x00", "\ufeff", "\u2028", "\r", "\x1b[0m", "\U0001f600", "\\"]) + src[i:]


def _repeat_line(src, rng):
    lines = src.splitlines(keepends=True) or [""]
    i = rng.randrange(len(lines))
    return "".join(lines[:i] + [lines[i]] * rng.choice([2, 50, 400]) + lines[i:])


_MUTATIONS = [_delete, _duplicate, _swap, _insert, _insert, _truncate, _nest, _huge, _odd_chars, _repeat_line]


def check_case(src: str) -> str | None:
    """None when `dfl check` ends with 0, or with 1 and a message; else the crash's bucket:
    the exit status and the innermost frame of the traceback (from a second run with --debug)."""
    from dfl import cli

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "prog.dfl"
        path.write_text(src, encoding="utf-8", errors="surrogatepass")
        rc, err = _main(cli, ["check", str(path)])
        if rc == 0 or (rc == 1 and err.strip() and "Traceback" not in err and "internal error" not in err):
            return None
        _, debug = _main(cli, ["check", "--debug", str(path)])
    frames = re.findall(r'File "([^"]+)", line (\d+)', debug)
    last = next((f"{Path(f).name}:{n}" for f, n in reversed(frames) if "/site-packages/" not in f), "?")
    kind = (re.findall(r"^(\w+(?:Error|Exception)\w*)", debug, re.M) or [err.strip()[:60] or "no message"])[-1]
    return re.sub(r"/\S*/prog\.dfl", "prog.dfl", f"exit {rc}: {kind} at {last}")


def _main(cli, argv: list[str]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = cli.main(argv)
        except SystemExit as e:
            rc = e.code if isinstance(e.code, int) else 2
        except BaseException:  # main() itself must never raise
            traceback.print_exc(file=err)
            rc = -1
    return rc, err.getvalue()
