"""The checker on agent blocks (LANGUAGE.md §8, lang/agents.py): errors point at the fault."""
from __future__ import annotations

import pytest

from dfl.errors import DflError
from dfl.lang.check import check
from dfl.lang.parser import parse


def error(src: str) -> DflError:
    with pytest.raises(DflError) as e:
        check(parse(src, "p.dfl"))
    return e.value


def test_an_agent_cannot_write_a_top_level_relation() -> None:
    err = error("input cfg(k: str)\nagent A {\n  channel c(k: str)\n  cfg(k) :- c(k).\n}\n")
    assert "cannot write the top-level relation 'cfg'" in err.message
    assert (err.span.line, err.span.col) == (4, 3)


def test_an_agent_reads_top_level_inputs() -> None:
    c = check(parse("input cfg(k: str)\nagent A {\n  channel c(k: str)\n  output o(k: str)\n"
                    "  o(k) :- c(k), cfg(k).\n}\n"))
    assert "cfg" in c.agents["A"].checked.relations


def test_reading_a_top_level_rule_relation_is_an_error() -> None:
    err = error("rel t(k: str)\nagent A {\n  channel c(k: str)\n  output o(k: str)\n  o(k) :- c(k), t(k).\n}\n")
    assert "make 't' a table" in err.hint and "'t'" in err.message
    assert (err.span.line, err.span.col) == (5, 17)


def test_public_is_for_channels() -> None:
    err = error("agent A {\n  @public table t(k: str)\n}\n")
    assert "@public is for channels" in err.message and err.span.line == 2


def test_allow_names_agent_types() -> None:
    err = error("agent A {\n  @allow(B) channel c(k: str)\n}\n")
    assert "there is no agent B" in err.message and err.span.line == 2


def test_public_is_unknown_at_the_top_level() -> None:
    err = error("@public channel c(k: str)\n")
    assert "unknown annotation @public" in err.message


def test_errors_inside_an_agent_point_into_it() -> None:
    err = error("agent A {\n  channel c(k: str)\n  output o(k: int)\n  o(k) :- c(k).\n}\n")
    assert err.span.line == 4 and "str" in err.message


def test_an_agent_is_declared_once() -> None:
    err = error("agent A {\n}\nagent A {\n}\n")
    assert "declared twice" in err.message and err.span.line == 3


def test_a_name_both_top_level_and_in_an_agent_is_an_error() -> None:
    err = error("input c(k: str)\nagent A {\n  channel c(k: str)\n}\n")
    assert "both at the top level and in agent A" in err.message and err.span.line == 3


def test_a_send_with_next_before_it_is_an_error() -> None:
    err = error("agent A {\n  channel c(k: str, to: addr)\n  next c@to(k, to) :- c(k, to).\n}\n")
    assert "cannot stand before a send" in err.message and err.span.line == 3


def test_self_outside_an_agent_is_an_error() -> None:
    err = error("input e(a: str)\noutput o(a: str)\no(self) :- e(self).\n")
    assert "only inside an agent" in err.message and (err.span.line, err.span.col) == (3, 3)


def test_self_is_an_addr_not_a_str() -> None:
    err = error("agent A {\n  channel c(k: str)\n  table t(k: str)\n  next t(k) :- c(k), k = self.\n}\n")
    assert "is addr elsewhere but column 'k' of c is str" in err.message and err.span.line == 4


def test_an_agent_has_no_inputs_of_its_own() -> None:
    err = error("agent A {\n  input i(k: str)\n}\n")
    assert "declares the input 'i'" in err.message and err.span.line == 2


def test_an_agent_inside_an_agent_is_an_error() -> None:
    err = error("agent A {\n  agent B {\n  }\n}\n")
    assert "inside another agent" in err.message and err.span.line == 2


def test_annotations_on_an_agent_are_checked() -> None:
    err = error("@frob\nagent A {\n}\n")
    assert "unknown annotation @frob" in err.message and err.span.line == 1


def test_public_needs_no_parentheses_and_is_kept_per_channel() -> None:
    c = check(parse("agent A {\n  @public channel p(k: str)\n  @public() channel q(k: str)\n  channel r(k: str)\n}\n"))
    assert c.agents["A"].public == {"p", "q"}
