"""The reStructuredText check of release notes: docutils parses the document before it is written.

Release notes go into Sphinx documentation, so Sphinx's own roles and directives (``:ref:``, ``:func:``,
``.. versionadded::``) are valid there although plain docutils does not know them: those reports are left out.
What docutils reports as an error (a title without its underline, a title inside a list, inconsistent heading
levels) makes the document invalid. Its warnings (an inline literal left open, as in NumPy's own 2.3.0 changelog
from a pull-request title) are returned for the caller to show: docutils and Sphinx still build such a document.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

from ..errors import ProjectError

__all__ = ["check_rst"]

# docutils' own wording for a role or directive it does not know (Sphinx and its extensions define them).
_UNKNOWN = ("Unknown interpreted text role", "Unknown directive type", 'No role entry for "')


def _problems(text: str) -> list[tuple[int, int | None, str]]:
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
    found: list[tuple[int, int | None, str]] = []
    for msg in doctree.findall(docutils.nodes.system_message):
        if msg["level"] < docutils.utils.Reporter.WARNING_LEVEL:
            continue
        first = msg.children[0].astext() if msg.children else ""
        if first.startswith(_UNKNOWN):
            continue
        line = msg.get("line")
        found.append((msg["level"], int(line) if line is not None else None, " ".join(first.split())))
    return found


def _fragment_at(text: str, line: int, files: Sequence[tuple[Path, str]]) -> Path | None:
    """The fragment whose rendered text holds ``line`` (1-based) of ``text``, if any.

    A fragment starts where its first line appears (after a bullet, indented or wrapped) and runs for its own
    number of lines plus the few that carry its issue links; a problem past that is the template's.
    """
    lines = [ln.strip().lstrip("-*").strip() for ln in text.splitlines()]
    best: tuple[int, int, Path] | None = None
    for path, content in files:
        own = content.strip("\n").splitlines()
        first = next((ln.strip().lstrip("-*").strip() for ln in own if ln.strip()), "")
        if not first:
            continue
        for i, ln in enumerate(lines[:line], start=1):
            if ln.startswith(first) and (best is None or i > best[0]):
                best = (i, i + len(own) + 2, path)
    return best[2] if best is not None and line <= best[1] else None


def _describe(text: str, line: int | None, message: str, files: Sequence[tuple[Path, str]]) -> str:
    where = f"line {line}" if line is not None else "the document"
    fragment = _fragment_at(text, line, files) if line is not None else None
    return f"{where}, in the fragment {fragment}: {message}" if fragment else f"{where}: {message}"


def check_rst(text: str, files: Sequence[tuple[Path, str]] = ()) -> list[str]:
    """Raise :class:`ProjectError` when ``text`` is not valid reStructuredText, naming the fragment at fault.

    :param files: the news fragment files (path and text) the document was rendered from.
    :returns: docutils' warnings, each with its line (and fragment).
    """
    from docutils.utils import Reporter

    problems = _problems(text)
    errors = [(line, msg) for level, line, msg in problems if level >= Reporter.ERROR_LEVEL]
    warnings = [
        _describe(text, line, msg, files) for level, line, msg in problems if level < Reporter.ERROR_LEVEL
    ]
    if not errors:
        return warnings
    line, message = errors[0]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    fragment = _fragment_at(text, line, files) if line is not None else None
    if fragment is not None:
        hint = (
            "fix the fragment (check it with `towncrier build --draft`), or set all_bullets = false and a "
            "template in [tool.towncrier] for fragments with titles"
        )
    else:
        hint = "fix the notes template (notes.template) or the towncrier template"
    raise ProjectError(
        f"the release notes are not valid reStructuredText at {_describe(text, line, message, files)}{more}",
        hint=hint,
    )
