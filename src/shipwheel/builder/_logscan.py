"""The lines of a build log that say why it failed, for the summary (the whole log stays on disk).

Each tool says it its own way; the first kind found in this order wins, because the later kinds only repeat the
earlier ones (ninja's ``FAILED:`` names the command whose compiler error came first, setuptools' ``error: command
'gcc' failed`` follows the compiler's own):

1. the compiler's diagnostics (``file.c:3:2: error: ...``, MSVC's ``file.c(3): error C2143``), meson's located
   ``meson.build:12:0: ERROR: ...``;
2. CMake's ``CMake Error at CMakeLists.txt:29 (message):`` with the first line of the message below it;
3. meson's unlocated ``ERROR: ...``, ninja's ``FAILED: target`` and ``ninja: build stopped``;
4. any other line that says error (setuptools' ``error: command 'gcc' failed``, Cython's ``Error compiling``).
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["first_errors"]

_COMPILER = re.compile(r"^\S+?(:\d+(:\d+)?:|\(\d+\)\s*:)\s*(fatal )?error\b", re.IGNORECASE)
_CMAKE = re.compile(r"^CMake Error\b")
_TOOL = re.compile(r"^(ERROR:|FAILED:|ninja: build stopped)")
_ANY = re.compile(r"\b(fatal error|error:|error compiling|ERROR:)", re.IGNORECASE)
_MAX_LINE = 200


def _cmake_errors(lines: list[str]) -> list[str]:
    """Each ``CMake Error`` line joined with the first line of its indented message."""
    out = []
    for i, line in enumerate(lines):
        if _CMAKE.match(line.strip()):
            detail = next((n.strip() for n in lines[i + 1 : i + 4] if n.strip()), "")
            out.append(f"{line.strip()} {detail}".strip())
    return out


def first_errors(log: Path, limit: int = 3) -> list[str]:
    """Up to ``limit`` error lines of ``log``, of the first kind (above) the log has."""
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    raw = text.splitlines()
    lines = [line.strip() for line in raw]
    chosen = (
        [line for line in lines if _COMPILER.match(line)]
        or _cmake_errors(raw)
        or [line for line in lines if _TOOL.match(line)]
        or [line for line in lines if _ANY.search(line) and not line.startswith("$ ")]
    )
    out: list[str] = []
    for line in chosen:
        short = line if len(line) <= _MAX_LINE else line[: _MAX_LINE - 1] + "…"
        if short not in out:
            out.append(short)
        if len(out) == limit:
            break
    return out
