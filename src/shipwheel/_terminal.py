"""Text that reaches a terminal: control characters made visible, one rule for every string shipwheel prints.

A commit title, a file name from a wheelhouse, a record's detail or a server's error page may hold escape
sequences (``\\x1b]0;...``, ``\\x1b[2J``), a carriage return that overwrites what was printed before it, or
Unicode controls that reorder the line (``\\u202e``). Printed as they are, they move the cursor, retitle the
window or hide text from the person reading. :func:`visible` writes each such character as its escape
(``\\x1b``, ``\\r``, ``\\u202e``), so the person sees what was there and the terminal obeys nothing.

The consoles of the command line (``cli/_common``) pass every string they print through :func:`visible`; the
library returns data and never prints, so this is the only place the rule lives.
"""

from __future__ import annotations

import re

__all__ = ["visible"]

# C0 controls but tab and newline, DEL, C1 controls; line and paragraph separators; the bidirectional
# embeddings, overrides and isolates and the marks that reorder or hide text (Trojan Source, CVE-2021-42574).
_CONTROLS = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]"
)
_CONTROLS_AND_LINES = re.compile(_CONTROLS.pattern[:-1] + "\t\n]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match[0])
    return {9: "\\t", 10: "\\n", 13: "\\r"}.get(code) or (
        f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    )


def visible(text: str, *, lines: bool = True) -> str:
    """``text`` with every control character written as its escape (``\\x1b``, ``\\r``, ``\\u202e``).

    ``lines`` keeps newlines and tabs (a table, a changelog); with ``lines=False`` they are escaped too, for a
    value that must stay on one line (a file name, a header)."""
    pattern = _CONTROLS if lines else _CONTROLS_AND_LINES
    return pattern.sub(_escape, text) if pattern.search(text) else text
