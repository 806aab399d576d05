"""A long string literal costs memory in proportion to its length, not ~300 bytes a character
(a lexer pattern that repeats a group per character made Python's re keep backtracking state)."""
from __future__ import annotations

import subprocess
import sys
import textwrap

_MEASURE = textwrap.dedent("""
    import resource, sys
    import dfl
    size = int(sys.argv[1])
    source = 'output o(s: str)\\no("' + "x" * size + '\\\\"y").\\n'
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    prog = dfl.compile(source)
    assert prog.checked.program.rules[0].head.args[0].value == "x" * size + '"y'
    print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
""")


def _peak_growth_mb(size: int) -> int:
    out = subprocess.run([sys.executable, "-c", _MEASURE, str(size)], capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def test_a_one_megabyte_string_literal_checks_in_modest_memory():
    # before the fix: ~290 MB more than a small program; after: a few copies of the text
    assert _peak_growth_mb(1_000_000) < 60
