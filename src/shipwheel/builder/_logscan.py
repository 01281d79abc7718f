"""The lines of a build log that say why it failed, for the summary (the whole log stays on disk)."""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["first_errors"]

# gcc/clang/MSVC diagnostics first (``file.c:3:2: error: ...``, ``file.c(3): error C2143``), then any other line
# that says error (setuptools' ``error: command 'gcc' failed``, meson's ``ERROR:``, Cython's ``Error compiling``).
_COMPILER = re.compile(r"^\S+?(:\d+(:\d+)?:|\(\d+\)\s*:)\s*(fatal )?error\b", re.IGNORECASE)
_ANY = re.compile(r"\b(fatal error|error:|error compiling|ERROR:)", re.IGNORECASE)
_MAX_LINE = 200


def first_errors(log: Path, limit: int = 3) -> list[str]:
    """Up to ``limit`` error lines of ``log``: the compiler's own first, else any line that says error."""
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    lines = [line.strip() for line in text.splitlines()]
    compiler = [line for line in lines if _COMPILER.match(line)]
    chosen = compiler or [line for line in lines if _ANY.search(line) and not line.startswith("$ ")]
    out: list[str] = []
    for line in chosen:
        short = line if len(line) <= _MAX_LINE else line[: _MAX_LINE - 1] + "…"
        if short not in out:
            out.append(short)
        if len(out) == limit:
            break
    return out
