"""The native reader (Arrow, runtime/io/native.py) against the exact one (runtime/io/csvio.py):
the same rows, or the same error at the same line and column, on a corpus of edge-case
files and on generated CSV files; and the native path really is the one taken on the
files it can read."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dfl.errors import DflError
from dfl.ir.types import Column, Schema, Type
from dfl.runtime.io import csvio, native

pytest.importorskip("pyarrow")

EDGE = Schema((Column("src", Type.INT), Column("dst", Type.INT)))
MIXED = Schema((Column("i", Type.INT), Column("f", Type.FLOAT), Column("s", Type.STR), Column("b", Type.BOOL)))
ONE = Schema((Column("s", Type.STR),))
ADDR = Schema((Column("a", Type.ADDR),))


def _key(v):
    """A value as compared here: floats by their bits' meaning (NaN equal to NaN, -0.0 apart)."""
    if isinstance(v, float):
        return ("nan",) if math.isnan(v) else ("float", v, math.copysign(1, v))
    return (type(v).__name__, v)


def outcome(fn, *args, **kw):
    try:
        rows = list(fn(*args, **kw))
    except DflError as e:
        span = (e.span.line, e.span.col, e.span.end_col) if e.span else None
        return ("error", e.message, span, e.hint)
    return ("rows", [tuple(_key(v) for v in r) for r in rows])


@pytest.fixture(autouse=True)
def native_on_small_files(monkeypatch):
    monkeypatch.setattr(native, "NATIVE_MIN_BYTES", 0)


def both(path: str, schema: Schema, tick_column: bool = False):
    exact = outcome(csvio.read_relation, path, schema, "r", tick_column=tick_column)
    fast = outcome(native.read_input, path, schema, "r", tick_column=tick_column)
    return exact, fast


CORPUS: list[tuple[str, Schema, bytes]] = [
    ("plain.csv", EDGE, b"src,dst\n1,2\n3,4\n"),
    ("crlf.csv", EDGE, b"src,dst\r\n1,2\r\n3,4\r\n"),
    ("nofinal.csv", EDGE, b"src,dst\n1,2\n3,4"),
    ("bom.csv", EDGE, b"\xef\xbb\xbfsrc,dst\n1,2\n"),
    ("spaces_header.csv", EDGE, b" src , dst \n1,2\n"),
    ("quoted_header.csv", EDGE, b'"src","dst"\n1,2\n'),
    ("quoted_header_space.csv", EDGE, b'"src", "dst"\n1,2\n'),
    ("quoted_header_bad.csv", EDGE, b'"src"x,dst\n1,2\n'),
    ("quoted_header_open.csv", EDGE, b'"src,dst\n1,2\n'),
    ("blank.csv", EDGE, b"src,dst\n\n1,2\n\n\n3,4\n"),
    ("signs.csv", EDGE, b"src,dst\n-1,+2\n 3,4 \n007,-0\n"),
    ("limits.csv", EDGE, b"src,dst\n9223372036854775807,-9223372036854775808\n"),
    ("overflow.csv", EDGE, b"src,dst\n9223372036854775808,1\n"),
    ("underscore.csv", EDGE, b"src,dst\n1_000,1\n"),
    ("float_in_int.csv", EDGE, b"src,dst\n1.0,1\n"),
    ("empty_field.csv", EDGE, b"src,dst\n,1\n"),
    ("too_many.csv", EDGE, b"src,dst\n1,2,3\n"),
    ("too_few.csv", EDGE, b"src,dst\n1,2\n3\n"),
    ("tab_in_csv.csv", EDGE, b"src,dst\n1\t2\n"),
    ("bad_header.csv", EDGE, b"a,dst\n1,2\n"),
    ("header_only.csv", EDGE, b"src,dst\n"),
    ("empty.csv", EDGE, b""),
    ("mixed.csv", MIXED, b"i,f,s,b\n1,1e-3,hello,true\n2,inf,\xc3\xa9t\xc3\xa9,False\n3,nan,,TRUE\n4,-0.0, x ,false\n"),
    ("floats.csv", MIXED, b"i,f,s,b\n1,Infinity,a,true\n2,.5,b,true\n3,5.,c,true\n4,1E5,d,true\n5,-inf,e,true\n"),
    ("float_forms.csv", MIXED, b"i,f,s,b\n1,1_0.5,a,true\n2, 1.5 ,b,true\n"),
    ("bad_float.csv", MIXED, b"i,f,s,b\n1,1.5e,a,true\n"),
    ("bool_case.csv", MIXED, b"i,f,s,b\n1,1,a,tRuE\n2,2,b, false \n"),
    ("bool_digit.csv", MIXED, b"i,f,s,b\n1,1,a,1\n"),
    ("null_words.csv", MIXED, b"i,f,s,b\n1,1,NULL,true\n2,2,NA,false\n3,3,null,true\n4,4,N/A,true\n"),
    ("quoted.csv", MIXED, b'i,f,s,b\n1,1,"a,b",true\n2,2,"say ""hi""",true\n3,3,"two\nlines",false\n4,4,"",true\n'),
    ("quoted_crlf.csv", MIXED, b'i,f,s,b\r\n1,1,"a\r\nb",true\r\n'),
    ("quote_mid.csv", MIXED, b'i,f,s,b\n1,1,a"b,true\n'),
    ("quote_after.csv", MIXED, b'i,f,s,b\n1,1,"a"b,true\n'),
    ("quote_open.csv", MIXED, b'i,f,s,b\n1,1,"abc,true\n'),
    ("quoted_number.csv", MIXED, b'i,f,s,b\n"1","2.5",x,"true"\n'),
    ("space_quote.csv", MIXED, b'i,f,s,b\n1,1, "a",true\n'),
    ("lone_cr.csv", MIXED, b"i,f,s,b\r1,1,a,true\r"),
    ("nul.csv", MIXED, b"i,f,s,b\n1,1,a\x00b,true\n"),
    ("bad_utf8.csv", MIXED, b"i,f,s,b\n1,1,a\xffb,true\n"),
    ("one_col_empty.csv", ONE, b's\n""\nx\n'),
    ("one_col_blank.csv", ONE, b"s\nx\n\ny\n"),
    ("plain.facts", EDGE, b"1\t2\n3\t4\n"),
    ("crlf.facts", EDGE, b"1\t2\r\n3\t4\r\n"),
    ("commas.facts", EDGE, b"1,2\n"),
    ("raw.facts", MIXED, b'1\t2.5\t"quoted"\ttrue\n2\t3\ta,b\tfalse\n'),
    ("blank.facts", ONE, b"x\n\ny\n"),
    ("lone_cr.facts", ONE, b"a\rb\n"),
    ("cr_field.facts", MIXED, b"1\t2\tx\r\ttrue\n"),
    ("addr.csv", ADDR, b"a\nCounter/alice\n@client/7\n"),
    ("bad_addr.csv", ADDR, b"a\nalice\n"),
]

# files Arrow reads itself (the fallback to csvio must not be the whole story)
NATIVE = {"plain.csv", "quoted_header.csv", "crlf.csv", "nofinal.csv", "bom.csv", "spaces_header.csv", "blank.csv", "limits.csv",
          "mixed.csv", "floats.csv", "null_words.csv", "quoted.csv", "quoted_crlf.csv", "quoted_number.csv",
          "one_col_blank.csv", "plain.facts", "crlf.facts", "raw.facts", "blank.facts", "addr.csv"}


@pytest.mark.parametrize("name,schema,data", CORPUS, ids=[c[0] for c in CORPUS])
def test_native_and_exact_agree(tmp_path: Path, name: str, schema: Schema, data: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    exact, fast = both(str(path), schema)
    assert fast == exact


@pytest.mark.parametrize("name,schema,data", [c for c in CORPUS if c[0] in NATIVE], ids=sorted(NATIVE, key=[
    c[0] for c in CORPUS].index))
def test_native_path_is_taken(name: str, schema: Schema, data: bytes) -> None:
    fmt = "csv" if name.endswith(".csv") else "facts"
    assert native.text_frame(data, fmt, schema) is not None


def test_tick_column_agrees(tmp_path: Path) -> None:
    ok = tmp_path / "ok.csv"
    ok.write_bytes(b"tick,src,dst\n0,1,2\n3,4,5\n")
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"tick,src,dst\n0,1,2\n-1,4,5\n")
    for p in (ok, bad):
        exact, fast = both(str(p), EDGE, tick_column=True)
        assert fast == exact
    assert native.text_frame(ok.read_bytes(), "csv", native.with_tick(EDGE), tick_column=True) is not None


# ----------------------------------------------------------------- generated files

_FLOAT_TEXT = st.one_of(st.floats(allow_nan=True).map(repr), st.sampled_from(
    ["1e-3", "inf", "-inf", "nan", "NaN", ".5", "5.", "1E5", " 2.5", "1_0", "+1.5", "1.5e", "0x1"]),
    st.integers(-10**20, 10**20).map(str))
_INT_TEXT = st.one_of(st.integers(-2**63, 2**63 - 1).map(str), st.sampled_from(
    ["+5", " 5", "5 ", "007", "-0", "1.0", "", "9223372036854775808", "x"]))
_BOOL_TEXT = st.sampled_from(["true", "false", "True", "FALSE", "tRue", " true", "1", "0", ""])
_STR_TEXT = st.lists(st.sampled_from(list('ab ,"é\t\n\r') + ["\r\n"]), max_size=6).map("".join)


def _csv_field(text: str, quote: bool) -> str:
    return '"' + text.replace('"', '""') + '"' if quote else text


@st.composite
def csv_files(draw) -> bytes:
    rows = draw(st.lists(st.tuples(_INT_TEXT, _FLOAT_TEXT, _STR_TEXT, _BOOL_TEXT), max_size=8))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    lines = ["i,f,s,b"]
    for r in rows:
        fields = [_csv_field(v, draw(st.booleans()) or any(c in v for c in ',"\r\n')) for v in r]
        if draw(st.integers(0, 9)) == 0:  # now and then a raw quote or a missing field
            fields = fields[:-1] if draw(st.booleans()) else [fields[0], 'x"y', *fields[2:]]
        lines.append(",".join(fields))
        if draw(st.integers(0, 9)) == 0:
            lines.append("")
    text = newline.join(lines) + (newline if draw(st.booleans()) else "")
    return (b"\xef\xbb\xbf" if draw(st.integers(0, 9)) == 0 else b"") + text.encode("utf-8")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=csv_files())
def test_generated_csv_files_agree(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "gen.csv"
    path.write_bytes(data)
    exact, fast = both(str(path), MIXED)
    assert fast == exact


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(st.integers(-2**63, 2**63 - 1), st.floats(), _STR_TEXT.filter(
    lambda s: "\t" not in s and "\n" not in s and "\r" not in s), st.booleans()), min_size=1, max_size=8))
def test_generated_facts_files_agree(tmp_path: Path, rows) -> None:
    text = "".join(f"{i}\t{f!r}\t{s}\t{'true' if b else 'false'}\n" for i, f, s, b in rows)
    path = tmp_path / "gen.facts"
    path.write_bytes(text.encode("utf-8"))
    exact, fast = both(str(path), MIXED)
    assert fast == exact
    assert fast[0] == "rows"
