"""Names and titles from git made safe to print: no control, line-separator or bidirectional-override characters.

Author names, trailers and subjects are whatever a commit recorded. A carriage return, U+0085 NEXT LINE or
U+2028 LINE SEPARATOR would break a list item over lines (or rewrite the terminal line), and U+202E
RIGHT-TO-LEFT OVERRIDE would show the reader text in another order than it is ("Trojan Source"). They become a
space (line breaks and other controls) or are dropped (bidirectional controls); ordinary names and titles are
returned unchanged, so NumPy-compatible output stays byte for byte the same.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["clean_text"]

# Explicit bidirectional formatting characters (Unicode UAX #9): embeddings, overrides, isolates, marks.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_SPACES = re.compile(r" {2,}")


def clean_text(text: str) -> str:
    """``text`` with control characters and line or paragraph separators as spaces, bidi controls removed."""
    if text.isprintable() and not _BIDI.intersection(text):
        return text
    out: list[str] = []
    for ch in text:
        if ch in _BIDI:
            continue
        category = unicodedata.category(ch)
        out.append(" " if category == "Cc" or category in ("Zl", "Zp") else ch)
    cleaned = "".join(out)
    return _SPACES.sub(" ", cleaned).strip(" ") if cleaned != text else text
