"""The nightly fuzz run of `dfl check`: `python tests/fuzz/run_fuzz.py --cases N --seed S`.

Prints how many cases ran and the crash buckets (exit status, exception, innermost frame;
or "slow": a case over --slow seconds) with a count and the first case of each, saved
under --save DIR to reproduce it; exits 1 if any case crashed. tests/fuzz/test_fuzz_check.py runs a bounded slice of the same.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mutate import check_case, corpus, mutate  # noqa: E402


SLOW_S = 10.0


def run(cases: int, seed: int, save: Path | None = None, quiet: bool = False,
        slow_s: float | None = SLOW_S) -> dict[str, int]:
    """The crash buckets of `cases` cases; with slow_s, a case that takes longer is one too
    (off in the bounded test, where a loaded machine must not make it fail)."""
    rng = random.Random(seed)
    progs = corpus()
    buckets: Counter[str] = Counter()
    first: dict[str, str] = {}
    start = time.perf_counter()
    for i in range(cases):
        name, src = rng.choice(progs)
        case = mutate(src, rng)
        t0 = time.perf_counter()
        bucket = check_case(case)
        if bucket is None and slow_s is not None and time.perf_counter() - t0 > slow_s:
            bucket = f"slow: over {slow_s} s"  # a check that never ends is a crash too
        if bucket is not None:
            buckets[bucket] += 1
            if bucket not in first:
                first[bucket] = case
                if save is not None:
                    save.mkdir(parents=True, exist_ok=True)
                    (save / f"crash{len(first)}.dfl").write_text(case, encoding="utf-8", errors="surrogatepass")
                if not quiet:
                    print(f"case {i} (from {name}): {bucket}", flush=True)
    if not quiet:
        print(f"{cases} cases from {len(progs)} programs, seed {seed}, {time.perf_counter() - start:.1f} s: "
              f"{sum(buckets.values())} crashes in {len(buckets)} buckets")
        for b, n in buckets.most_common():
            print(f"  {n:5d}  {b}")
    return dict(buckets)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--save", type=Path, default=None, help="write the first case of each bucket here")
    ap.add_argument("--slow", type=float, default=SLOW_S, help="seconds after which a case counts as a crash")
    args = ap.parse_args()
    return 1 if run(args.cases, args.seed, args.save, slow_s=args.slow) else 0


if __name__ == "__main__":
    sys.exit(main())
