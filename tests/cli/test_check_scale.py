"""`dfl check` on many rules: its summary must be linear in the program's size.

Counting rules per relation by scanning every rule for each relation made `dfl check` on
10,000 rules take minutes (while `dfl run` of the same program took seconds). Timing is
too noisy for a test, so this counts how often the summary reads a rule's head.
"""
from __future__ import annotations

from dfl.lang.check import CheckedRule


def test_check_summary_reads_each_rule_a_bounded_number_of_times(dfl_cli, write, monkeypatch) -> None:
    n = 300
    text = "input e(x: int, y: int)\n" + "".join(f"output r{i}(x: int)\n" for i in range(n)) \
        + "".join(f"r{i}(x) :- e(x, y), y > {i}.\n" for i in range(n))
    prog = write("many.dfl", text)
    reads = 0
    original = CheckedRule.head

    def counted(self: CheckedRule):
        nonlocal reads
        reads += 1
        return original.fget(self)

    from dfl import api

    api_prog = api.load(str(prog))  # compile before counting: only the summary is measured
    monkeypatch.setattr("dfl.commands._load", lambda path: api_prog)
    monkeypatch.setattr(CheckedRule, "head", property(counted))
    r = dfl_cli("check", prog)
    assert r.returncode == 0, r.stderr
    assert f"r{n - 1}(x: int)   1 rule(s), 0 fact(s)" in r.stdout
    assert reads <= 4 * n, f"{reads} head reads for {n} rules: quadratic"
