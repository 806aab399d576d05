"""The one user-facing error type: a message, a source span, a hint, rendered with a caret line."""
from __future__ import annotations

from dataclasses import dataclass, field


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

    `kind` decides the exit status: "compile" (1), "input"/"usage" (2), "runtime" (3).
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
        return {"compile": EXIT_COMPILE, "input": EXIT_INPUT, "usage": EXIT_INPUT,
                "runtime": EXIT_RUNTIME}.get(self.kind, EXIT_COMPILE)

    def all(self) -> list["DflError"]:
        return [self, *self.related]

    def render_one(self) -> str:
        label = {"runtime": "run-time error", "input": "input error", "usage": "usage error"}.get(self.kind, "error")
        if self.span is None:
            out = [f"{label}: {self.message}"]
        else:
            out = [f"{self.span}: {label}: {self.message}"]
            caret = caret_lines(self.source, self.span)
            if caret:
                out.append(caret)
        if self.hint:
            out.append(f"  hint: {self.hint}")
        return "\n".join(out)

    def render(self) -> str:
        parts = [e.render_one() for e in self.all()]
        if len(parts) > 1:
            parts.append(f"{len(parts)} errors")
        return "\n".join(parts)


def caret_lines(source: str | None, span: Span) -> str:
    """The span's first source line, and carets under the spanned part of it."""
    if source is None:
        return ""
    lines = source.splitlines()
    if not 1 <= span.line <= len(lines):
        return ""
    text = lines[span.line - 1].replace("\t", " ")
    start = max(span.col - 1, 0)
    end = span.end_col - 1 if span.end_line == span.line else len(text)
    width = max(end - start, 1)
    gutter = f"{span.line:>4} | "
    return f"{gutter}{text}\n{' ' * len(gutter)}{' ' * start}{'^' * width}"


def errors(errs: list[DflError]) -> DflError:
    """One error that carries several (the first, with the rest as `related`)."""
    first = errs[0]
    first.related = [*first.related, *errs[1:]]
    return first
