"""Fuzzing `dfl check` ("checks that stay"): mutated corpus programs (tests/fuzz/mutate.py)
only ever end with exit 0, or 1 and a message, never a traceback or an internal error.

Bounded and seeded (the same cases every run, ~10 s on one core); the nightly runner
`python tests/fuzz/run_fuzz.py --cases N --seed S` runs as many as wanted and groups
crashes into buckets.
"""
from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mutate import check_case, corpus, mutate  # noqa: E402
from run_fuzz import run  # noqa: E402

CASES = 800
SEED = 20261202


def test_the_corpus_holds_the_examples() -> None:
    names = [n for n, _ in corpus()]
    assert sum(n.startswith("examples/") for n in names) >= 10


def test_mutations_change_programs_deterministically() -> None:
    src = dict(corpus())["examples/reachability"]
    a = [mutate(src, random.Random(s)) for s in range(20)]
    assert a == [mutate(src, random.Random(s)) for s in range(20)]
    assert sum(m != src for m in a) >= 15


@pytest.mark.parametrize("src", [
    "input a(x: int)\noutput o(y: int)\no(y) :- a(x), y = " + "(" * 600 + "x" + ")" * 600 + ".\n",
    "input a(x: int)\noutput o(y: int)\no(" + "abs(" * 700 + "y" + ")" * 700 + ") :- a(y).\n",
    "fn f(x: int) -> int = " + "-(" * 500 + "x" + ")" * 500 + "\n",
    'input t(s: str)\noutput o(w: str)\no(w) :- t(s), w in split(s, " "), w in split(s, ",").\n',
], ids=["deep-parentheses", "deep-head", "deep-fn-body", "two-generators"])
def test_known_crashes_stay_fixed(src: str) -> None:
    assert check_case(src) is None


def test_fuzzed_programs_never_crash_the_checker() -> None:
    buckets = run(CASES, SEED, quiet=True, slow_s=None)
    assert not buckets, f"dfl check crashed: {buckets} (reproduce: python tests/fuzz/run_fuzz.py " \
                        f"--cases {CASES} --seed {SEED} --save DIR)"
