"""The parser shipped in the package (lang/parse_table.py): fresh, faithful, and the only one.

Lark's `cache=True` kept the built parser as a pickle in the temporary folder under a
predictable name and unpickled it before checking anything, so a file another local
user planted there ran as the next user of `dfl check`.
"""
from __future__ import annotations

import glob
import os
import pickle
import subprocess
import sys
from pathlib import Path

import lark
import pytest

from dfl.lang import parse_table

ROOT = Path(__file__).resolve().parents[2]


def _positions(t: lark.Tree | lark.Token) -> list:
    """A tree as comparable values, with the positions of every subtree and token."""
    if isinstance(t, lark.Token):
        return [t.type, str(t), t.line, t.column, t.end_line, t.end_column]
    m = t.meta
    spot = [getattr(m, k, None) for k in ("line", "column", "end_line", "end_column")]
    return [t.data, spot, [_positions(c) for c in t.children]]


def test_the_shipped_table_is_built_from_the_current_grammar() -> None:
    # (Lark numbers its states in an order that varies between processes, so the table's
    # text is not compared with a rebuild; its stamp and its parses are)
    assert parse_table.shipped(parse_table.grammar_text()) is not None, \
        "stale parser: run `python -m dfl.lang.parse_table`"


def test_a_stale_table_is_not_used() -> None:
    text = parse_table.grammar_text() + "\n// edited\n"
    assert parse_table.shipped(text) is None
    assert parse_table.shipped(parse_table.grammar_text()) is not None


@pytest.mark.parametrize("path", sorted(glob.glob(str(ROOT / "examples" / "*" / "*.dfl"))),
                         ids=lambda p: Path(p).parent.name)
def test_the_shipped_parser_parses_as_the_grammar_does(path: str) -> None:
    text = parse_table.grammar_text()
    source = Path(path).read_text(encoding="utf-8")
    shipped, built = parse_table.shipped(text), parse_table.build(text)
    assert shipped is not None, "stale parser: run `python -m dfl.lang.parse_table`"
    assert _positions(shipped.parse(source)) == _positions(built.parse(source))


class _Planted:
    """Unpickling this creates the marker file: proof that a planted pickle was loaded."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_file_planted_in_the_temp_folder_is_never_read(tmp_path) -> None:
    shared = tmp_path / "shared-tmp"
    shared.mkdir()
    marker = tmp_path / "planted-code-ran"
    env = {**os.environ, "TMPDIR": str(shared)}
    # learn the name Lark's cache gives this grammar and these options (what DFL used
    # to load), then plant a pickle there, as another local user could
    learn = ("import lark; from importlib import resources\n"
             "text = resources.files('dfl.lang').joinpath('dfl.lark').read_text(encoding='utf-8')\n"
             "lark.Lark(text, parser='lalr', lexer='basic', strict=True, propagate_positions=True,"
             " maybe_placeholders=False, cache=True)\n")
    subprocess.run([sys.executable, "-c", learn], env=env, check=True)
    cached = list(shared.glob(".lark*"))
    assert cached
    for path in cached:
        path.write_bytes(b"0\n" + pickle.dumps(_Planted(str(marker))))
    # every file opened under the shared folder while DFL parses and checks a program
    run = (f"import sys\nshared = {str(shared)!r}\n"
           "sys.addaudithook(lambda ev, a: ev == 'open' and isinstance(a[0], str)"
           " and a[0].startswith(shared) and print('opened', a[0]))\n"
           "import dfl\n"
           "dfl.compile('input a(x: int)\\noutput b(x: int)\\nb(x) :- a(x), x > 1.\\n')\n")
    r = subprocess.run([sys.executable, "-c", run], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    assert not marker.exists()
    assert "opened" not in r.stdout
