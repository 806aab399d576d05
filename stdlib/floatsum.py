"""The sum of floats as the language defines it: exactly rounded, whatever the row order.

`math.fsum` gives it, except that it refuses a sum whose partial sums overflow (even when
the exact total is finite) and one holding both infinities. Here an exact total beyond the
float range is ±inf, and inf with -inf is nan (IEEE), so a sum is never a run-time error.
"""
from __future__ import annotations

import math
from fractions import Fraction


def exact_sum(vals: list[float]) -> float:
    try:
        return math.fsum(vals)
    except ValueError:  # inf and -inf, or a nan
        return math.nan if any(math.isnan(v) for v in vals) or (math.inf in vals and -math.inf in vals) \
            else sum(vals)
    except OverflowError:  # partial sums beyond the float range: add exactly
        total = sum((Fraction(v) for v in vals), Fraction(0))
        try:
            return float(total)
        except OverflowError:
            return math.inf if total > 0 else -math.inf
