"""Text from input data made safe to print on a terminal.

Input files and programs may hold control characters: an ESC (`\\x1b`) starts an ANSI
sequence that can recolour, move the cursor, retitle the window or hide what follows, and a
carriage return can overwrite a message. Everything DFL prints that may quote user data (error
messages, the source line under them, the tables of `dfl run`) passes through `printable`.
"""
from __future__ import annotations

import re

# C0 controls but tab, DEL, and C1 controls; newline only where the caller says so.
_CONTROLS = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f]")
_CONTROLS_BUT_NEWLINE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_NAMED = {"\n": "\\n", "\r": "\\r"}


def _escape(m: re.Match[str]) -> str:
    ch = m.group()
    return _NAMED.get(ch) or f"\\x{ord(ch):02x}"


def printable(text: str, keep_newlines: bool = False) -> str:
    """`text` with each control character written as Python's repr writes it (`\\x1b`,
    `\\r`, and `\\n` unless `keep_newlines`); tabs and everything else are kept.

    >>> printable("a\\x1b[31mred\\r")
    'a\\\\x1b[31mred\\\\r'
    """
    pattern = _CONTROLS_BUT_NEWLINE if keep_newlines else _CONTROLS
    return pattern.sub(_escape, text)
