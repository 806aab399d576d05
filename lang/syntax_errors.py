"""Syntax errors in words a person understands: Lark's `match_examples` maps the parser
state of an error onto a known mistake; otherwise we say what was found and what fits."""
from __future__ import annotations

from functools import lru_cache

import lark

from dfl.errors import DflError, Span
from dfl.lang.parse_table import grammar

# label -> (message, hint, example programs that make this mistake)
_MISTAKES: dict[str, tuple[str, str, list[str]]] = {
    "missing_dot": (
        "a rule or fact must end with `.`",
        "add `.` at the end of the previous rule or fact",
        ["p(x) :- q(x)\np(y) :- q(y).", "edge(1, 2)\nedge(2, 3).", "p(x) :- q(x), r(x)\ninput a(x: int)",
         "p(x) :- q(x)"],
    ),
    "missing_rpar": (
        "missing `)`",
        "close the parenthesis opened earlier on this line",
        ["p(x) :- q(x.", "p(x) :- q(x, y.", "p(x) :- q(x), r(x, y :- s(x).", "edge(1, 2.", "p(x :- q(x)."],
    ),
    "colon_eq": (
        "`:-` separates a rule's head from its body (not `:=` or `:`)",
        "write `head :- body.`",
        ["p(x) := q(x).", "p(x) : q(x)."],
    ),
    "chained_cmp": (
        "comparisons do not chain",
        "write `a < b, b < c` instead of `a < b < c`",
        ["p(x) :- q(x), 1 < x < 3.", "p(x) :- q(x), 1 = x = 3.", "p(x) :- q(x), 1 < x <= 3."],
    ),
    "missing_comma": (
        "two literals must be joined by `,` (and) or `;` (or)",
        "put `,` between the literals",
        ["p(x) :- q(x) r(x).", "p(x) :- q(x) !r(x)."],
    ),
    "not_keyword": (
        "negation is written `!r(...)`",
        "write `!r(x)` instead of `not r(x)`",
        ["p(x) :- q(x), not r(x)."],
    ),
    "souffle_decl": (
        "declarations are written `input`, `output` or `rel` (no Soufflé `.decl`)",
        "e.g. `input edge(src: int, dst: int)`",
        [".decl edge(x: int)", "p(1).\n.decl edge(x: int)"],
    ),
}

_TOKEN_WORDS = {
    "NAME": "a name", "INT": "an integer", "FLOAT": "a float", "STRING": "a string",
    "LPAR": "`(`", "RPAR": "`)`", "COMMA": "`,`", "DOT": "`.`", "SEMICOLON": "`;`",
    "COLON": "`:`", "IF_NECK": "`:-`", "$END": "the end of the file", "LBRACE": "`{`", "RBRACE": "`}`",
    "EQUAL": "`=`", "BANG": "`!`", "AT": "`@`", "MINUS": "`-`", "PLUS": "`+`", "STAR": "`*`",
    "SLASH": "`/`", "DSLASH": "`//`", "PERCENT": "`%`", "LT": "`<`", "GT": "`>`", "LE": "`<=`",
    "GE": "`>=`", "NE": "`!=`", "TRUE": "`true`", "FALSE": "`false`", "IN": "`in`", "IF": "`if`",
    "THEN": "`then`", "ELSE": "`else`", "INPUT": "`input`", "OUTPUT": "`output`", "REL": "`rel`",
    "TABLE": "`table`", "CHANNEL": "`channel`", "AGENT": "`agent`", "FN": "`fn`", "NEXT": "`next`",
    "DELETE": "`delete`", "NECK": "`:-`", "ARROW": "`->`",
}


def _word(term: str) -> str:
    if term in _TOKEN_WORDS:
        return _TOKEN_WORDS[term]
    for t in grammar().terminals:
        if t.name == term and hasattr(t.pattern, "value") and t.pattern.type == "str":
            return f"`{t.pattern.value}`"
    return term.lower()


@lru_cache(maxsize=1)
def _examples() -> dict[str, list[str]]:
    # The parser's state differs for the first item of a file and the later ones, so each
    # example is also given after an item.
    prefixes = ("", "r(1).\n", "input r(a: int)\n")
    return {label: [p + x for p in prefixes for x in ex] for label, (_, _, ex) in _MISTAKES.items()}


def syntax_error(e: lark.exceptions.UnexpectedInput, source: str, file: str) -> DflError:
    line, col = getattr(e, "line", -1), getattr(e, "column", -1)
    if line is None or line < 1:  # at the end of the input: point after the last character
        lines = source.splitlines() or [""]
        line, col = len(lines), len(lines[-1]) + 1
    found, width = _found(e, source)
    span = Span(file, line, col, line, col + max(width, 1))
    label = _heuristic(e, source, line, col)
    if label is None and isinstance(e, lark.exceptions.UnexpectedToken):
        try:
            label = e.match_examples(grammar().parse, _examples(), use_accepts=True)
        except Exception:  # match_examples re-parses the examples; never let it hide the real error
            label = None
    if isinstance(e, lark.exceptions.UnexpectedCharacters) and found == "character '\"'":
        return DflError("syntax error: unterminated string", span, source=source,
                        hint='a string closes with `"` on the same line; write \\" for a quote inside it')
    if label:
        msg, hint, _ = _MISTAKES[label]
        return DflError(f"syntax error: {msg} (found {found})", span, hint=hint, source=source)
    expected = sorted({_word(t) for t in _expected(e)})
    if len(expected) > 8:
        expected = expected[:8] + ["…"]
    msg = f"syntax error: unexpected {found}"
    hint = f"expected {', '.join(expected)}" if expected else None
    return DflError(msg, span, hint=hint, source=source)


def _heuristic(e: lark.exceptions.UnexpectedInput, source: str, line: int, col: int) -> str | None:
    """Mistakes recognised from what was expected, wherever they happen."""
    if not isinstance(e, lark.exceptions.UnexpectedToken):
        return None
    expected = _expected(e)
    text = source.splitlines()[line - 1][:col - 1] if 0 < line <= len(source.splitlines()) else ""
    if "RPAR" in expected and e.token.type in ("DOT", "$END", "NECK") \
            and text.count("(") > text.count(")"):
        return "missing_rpar"
    if e.token.type == "$END" and "DOT" in expected:
        return "missing_dot"
    return None


def _expected(e: lark.exceptions.UnexpectedInput) -> set[str]:
    if isinstance(e, lark.exceptions.UnexpectedToken):
        return set(e.accepts or e.expected)
    if isinstance(e, lark.exceptions.UnexpectedCharacters):
        return set(e.allowed or ())
    return set()


def _found(e: lark.exceptions.UnexpectedInput, source: str) -> tuple[str, int]:
    if isinstance(e, lark.exceptions.UnexpectedToken):
        tok = e.token
        if tok.type == "$END":
            return "the end of the file", 1
        return f"`{tok}`", len(str(tok))
    if isinstance(e, lark.exceptions.UnexpectedCharacters):
        ch = source[e.pos_in_stream] if 0 <= e.pos_in_stream < len(source) else "?"
        return f"character {ch!r}", 1
    return "the end of the file", 1
