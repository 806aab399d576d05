"""Bearer-token authentication (docs/serve.md, "Security"): one token, read from a file,
compared in constant time so the comparison leaks nothing about the token's prefix."""
from __future__ import annotations

import hmac
from pathlib import Path

from dfl.errors import DflError


def read_token(path: str) -> str:
    """The token in FILE: its first line, without surrounding blanks. An unreadable or empty
    file is a usage error: serving without the token the user asked for would be worse."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DflError(f"--token-file {path}: cannot read it: {e}", kind="usage") from None
    token = text.strip().splitlines()[0].strip() if text.strip() else ""
    if not token:
        raise DflError(f"--token-file {path}: the file is empty; it holds the token on its first line",
                       kind="usage")
    if any(c.isspace() or not c.isprintable() for c in token):
        raise DflError(f"--token-file {path}: the token must be one word of printable characters", kind="usage")
    return token


def authorized(header: str | None, token: str) -> bool:
    """Does an `Authorization` header carry `Bearer <token>`?"""
    if not header:
        return False
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())
