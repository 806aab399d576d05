"""The one user-facing error type: a message, a source span, a hint, rendered with a caret line."""
from __future__ import annotations

from dataclasses import dataclass, field

from dfl.terminal import printable


@dataclass(frozen=True)
class Span:
    """A region of a source text; lines and columns are 1-based, `end_col` is exclusive."""

    file: str
    line: int
    col: int
    end_line: int
    end_col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


# Exit statuses of the I/O contract (LANGUAGE.md §7).
EXIT_COMPILE = 1
EXIT_INPUT = 2
EXIT_RUNTIME = 3


@dataclass
class DflError(Exception):
    """A mistake of the user's: printed as `file:line:col: error: msg`, the line, carets, a hint.

    `kind` decides the exit status: "compile" (1), "input"/"usage"/"output" (2: §7's I/O
    problems; "output" when writing the outputs fails), "runtime" (3).
    `source` is the text the span points into (when known), so the line can be shown.
    `related` holds further errors reported in the same run (several errors at once).
    """

    message: str
    span: Span | None = None
    hint: str | None = None
    kind: str = "compile"
    source: str | None = None
    related: list["DflError"] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.render()

    @property
    def exit_code(self) -> int:
        return {"compile": EXIT_COMPILE, "input": EXIT_INPUT, "usage": EXIT_INPUT, "output": EXIT_INPUT,
                "runtime": EXIT_RUNTIME}.get(self.kind, EXIT_COMPILE)

    def all(self) -> list["DflError"]:
        return [self, *self.related]

    def render_one(self) -> str:
        label = {"runtime": "run-time error", "input": "input error", "usage": "usage error",
                 "output": "output error"}.get(self.kind, "error")
        # Messages may quote input data and file names: no raw control character reaches the terminal.
        message = printable(self.message, keep_newlines=True)
        if self.span is None:
            out = [f"{label}: {message}"]
        else:
            out = [f"{printable(str(self.span))}: {label}: {message}"]
            caret = caret_lines(self.source, self.span)
            if caret:
                out.append(caret)
        if self.hint:
            out.append(f"  hint: {printable(self.hint, keep_newlines=True)}")
        return "\n".join(out)

    def render(self) -> str:
        parts = [e.render_one() for e in self.all()]
        if len(parts) > 1:
            parts.append(f"{len(parts)} errors")
        return "\n".join(parts)


# At most this many characters of a source or input line are shown under an error (a 1 GB
# one-line CSV must not echo 1 GB): a window around the span, `…` where the line goes on.
CARET_WINDOW = 200


def caret_lines(source: str | None, span: Span) -> str:
    """The span's first source line (at most CARET_WINDOW characters of it, around the span,
    control characters escaped), and carets under the spanned part of it."""
    if source is None:
        return ""
    lines = source.splitlines()
    if not 1 <= span.line <= len(lines):
        return ""
    text = lines[span.line - 1].replace("\t", " ")
    start = max(span.col - 1, 0)
    end = span.end_col - 1 if span.end_line == span.line else len(text)
    lo, hi = _window(len(text), start)
    head = "…" if lo > 0 else ""
    shown = head + printable(text[lo:hi]) + ("…" if hi < len(text) else "")
    # Columns as displayed: an escaped character is several wide, the window cuts the left.
    indent = len(head) + len(printable(text[lo:min(start, hi)]))
    width = max(len(printable(text[max(start, lo):min(end, hi)])), 1)
    gutter = f"{span.line:>4} | "
    return f"{gutter}{shown}\n{' ' * len(gutter)}{' ' * indent}{'^' * width}"


def _window(length: int, start: int) -> tuple[int, int]:
    """The [lo, hi) slice of a line of `length` characters to show for a span at `start`:
    the whole line when it fits, else CARET_WINDOW characters with the span's start inside."""
    if length <= CARET_WINDOW:
        return 0, length
    lo = max(0, start - CARET_WINDOW // 2)
    hi = min(length, lo + CARET_WINDOW)
    return max(0, hi - CARET_WINDOW), hi


def errors(errs: list[DflError]) -> DflError:
    """One error that carries several (the first, with the rest as `related`)."""
    first = errs[0]
    first.related = [*first.related, *errs[1:]]
    return first
