"""The reStructuredText check of release notes: docutils parses the document before it is written.

Release notes go into Sphinx documentation, so Sphinx's own roles and directives (``:ref:``, ``:func:``,
``.. versionadded::``) are valid there although plain docutils does not know them: those reports are left out.
Everything else docutils reports as a warning or worse (a title without its underline, an unindented list
continuation, inconsistent heading levels) makes the document invalid.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

from ..errors import ProjectError

__all__ = ["check_rst"]

# docutils' own wording for a role or directive it does not know (Sphinx and its extensions define them).
_UNKNOWN = ("Unknown interpreted text role", "Unknown directive type", 'No role entry for "')


def _problems(text: str) -> list[tuple[int | None, str]]:
    import docutils.core
    import docutils.nodes
    import docutils.utils

    doctree = docutils.core.publish_doctree(
        text,
        settings_overrides={
            "warning_stream": io.StringIO(),
            "report_level": docutils.utils.Reporter.SEVERE_LEVEL + 1,
            "halt_level": docutils.utils.Reporter.SEVERE_LEVEL + 1,
            "file_insertion_enabled": False,
            "raw_enabled": False,
            "input_encoding": "unicode",
        },
    )
    found: list[tuple[int | None, str]] = []
    for msg in doctree.findall(docutils.nodes.system_message):
        if msg["level"] < docutils.utils.Reporter.WARNING_LEVEL:
            continue
        first = msg.children[0].astext() if msg.children else ""
        if first.startswith(_UNKNOWN):
            continue
        line = msg.get("line")
        found.append((int(line) if line is not None else None, " ".join(first.split())))
    return found


def _fragment_at(text: str, line: int, files: Sequence[tuple[Path, str]]) -> Path | None:
    """The fragment whose text begins last at or before ``line`` (1-based) of the rendered ``text``."""
    lines = [ln.strip().lstrip("-*").strip() for ln in text.splitlines()]
    best: tuple[int, Path] | None = None
    for path, content in files:
        first = next((ln.strip().lstrip("-*").strip() for ln in content.splitlines() if ln.strip()), "")
        if not first:
            continue
        for i, ln in enumerate(lines[:line], start=1):
            if ln.startswith(first) and (best is None or i > best[0]):
                best = (i, path)
    return best[1] if best else None


def check_rst(text: str, files: Sequence[tuple[Path, str]] = ()) -> None:
    """Raise :class:`ProjectError` when ``text`` is not valid reStructuredText, naming the fragment at fault.

    :param files: the news fragment files (path and text) the document was rendered from.
    """
    problems = _problems(text)
    if not problems:
        return
    line, message = problems[0]
    where = f"line {line}" if line is not None else "the document"
    fragment = _fragment_at(text, line, files) if line is not None else None
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    if fragment is not None:
        raise ProjectError(
            f"the release notes are not valid reStructuredText at {where}, in the fragment {fragment}: "
            f"{message}{more}",
            hint="fix the fragment (check it with `towncrier build --draft`), or set all_bullets = false and a "
            "template in [tool.towncrier] for fragments with titles",
        )
    raise ProjectError(
        f"the release notes are not valid reStructuredText at {where}: {message}{more}",
        hint="fix the notes template (notes.template) or the towncrier template",
    )
