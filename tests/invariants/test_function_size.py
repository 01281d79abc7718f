"""Invariant: no function of the package is longer than one screen.

A function is counted from its ``def`` line to its last line, docstring included. One that grows past the limit
is split by phase (a frozen context for what travels together, one function per phase), not cut at a line.
"""

from __future__ import annotations

import ast
from pathlib import Path

import shipwheel

SRC = Path(shipwheel.__file__).parent
LIMIT = 80

#: Functions allowed over the limit for now, as ``module.py:function``: none.
ALLOWED: set[str] = set()


def long_functions(root: Path, limit: int = LIMIT) -> dict[str, int]:
    """``{"path/module.py:function": lines}`` of the functions (methods and nested ones included) of the modules
    under ``root`` longer than ``limit`` lines."""
    found: dict[str, int] = {}
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > limit:
                    found[f"{path.relative_to(root).as_posix()}:{node.name}"] = lines
    return found


def test_no_function_is_longer_than_the_limit() -> None:
    offenders = {name: n for name, n in long_functions(SRC).items() if name not in ALLOWED}
    assert not offenders, f"functions over {LIMIT} lines (split them by phase): {offenders}"


def test_each_allowed_exception_is_still_long() -> None:
    # an entry whose function was split (or renamed) goes, so that the list only shrinks
    stale = ALLOWED - set(long_functions(SRC))
    assert not stale, f"no longer over {LIMIT} lines, remove from ALLOWED: {sorted(stale)}"


def test_the_counter_sees_a_long_function(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(LIMIT))
    (tmp_path / "mod.py").write_text(f"def short():\n    pass\n\n\ndef long():\n{body}\n", encoding="utf-8")
    assert long_functions(tmp_path) == {"mod.py:long": LIMIT + 1}
